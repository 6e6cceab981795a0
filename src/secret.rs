//! Secret value types: access tokens, refresh tokens, client secrets and DPoP keys.
//!
//! Each is a newtype over [`secrecy::SecretString`]: zeroized on drop, a redacted `Debug`, no
//! `Display`, and no `Serialize`. Reading the value is the explicit, grep-able
//! `expose_secret()`, which only a handful of places call: the HTTP request body or header,
//! the store write, and the one command whose job is to print a token.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SecretString);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }

            /// The secret itself. Every caller is a place where the secret leaves vouch's
            /// custody: keep them few.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// Length in bytes: safe to show.
            pub fn len(&self) -> usize {
                self.0.expose_secret().len()
            }

            pub fn is_empty(&self) -> bool {
                self.0.expose_secret().is_empty()
            }

            /// Constant-time-ish equality: both values are secrets, so compare without
            /// short-circuiting on the first differing byte.
            pub fn same_as(&self, other: &Self) -> bool {
                let (a, b) = (self.expose_secret().as_bytes(), other.expose_secret().as_bytes());
                a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted {} bytes])"), self.len())
            }
        }
    };
}

secret_type!(
    /// A bearer access token.
    AccessToken
);
secret_type!(
    /// A refresh token: the long-lived part of a user grant.
    RefreshToken
);
secret_type!(
    /// A confidential client's secret: the long-lived credential of a client-credentials profile.
    ClientSecret
);
secret_type!(
    /// An RFC 8628 device code: whoever holds it can collect the tokens once approved.
    DeviceCode
);
secret_type!(
    /// An authorization code from the browser redirect.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636).
    CodeVerifier
);
secret_type!(
    /// A DPoP private key (RFC 9449): the P-256 scalar `d`, base64url. Kept only in the
    /// profile's record in the credential store; see [`crate::dpop`].
    DpopKey
);
secret_type!(
    /// An OpenID Connect ID token (a JWT about the user); checked, never stored.
    IdToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let t = AccessToken::new("canary-access-123");
        let shown = format!("{t:?} {:?}", RefreshToken::new("canary-refresh-456"));
        assert!(!shown.contains("canary"), "{shown}");
        assert!(shown.contains("AccessToken([redacted 17 bytes])"), "{shown}");
    }

    #[test]
    fn deserializes_straight_into_the_secret_type() {
        #[derive(Deserialize, Debug)]
        struct Body {
            access_token: AccessToken,
        }
        let body: Body = serde_json::from_str(r#"{"access_token":"abc"}"#).unwrap();
        assert_eq!(body.access_token.expose_secret(), "abc");
        assert!(!format!("{body:?}").contains("abc"));
    }

    #[test]
    fn equality_compares_whole_values() {
        assert!(AccessToken::new("abc").same_as(&AccessToken::new("abc")));
        assert!(!AccessToken::new("abc").same_as(&AccessToken::new("abd")));
        assert!(!AccessToken::new("abc").same_as(&AccessToken::new("abcd")));
    }
}
