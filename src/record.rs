//! The stored record: what vouch keeps in the credential store for one profile.
//!
//! One store entry per profile (service `vouch`, user = profile name) holds one small versioned
//! JSON document, written in a single store call so it is replaced atomically:
//!
//! ```json
//! {"version":1,"generation":3,"access_token":"…","token_type":"Bearer",
//!  "expires_at":1767225600,"refresh_token":"…","scope":"openid","account":"alice"}
//! ```
//!
//! A client-credentials profile also keeps its `client_secret` there.
//!
//! This module owns the format: encoding, decoding, and the version check. It never touches a
//! store. Decoding errors describe *where* the document is broken, never what it contains,
//! because a corrupt record may still hold secret bytes.

use crate::secret::{AccessToken, ClientSecret, RefreshToken};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The record format version this build reads and writes.
pub const RECORD_VERSION: u32 = 1;

/// One profile's credential as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// Bumped on every write, so a process that loaded generation N can tell whether someone
    /// else has written since.
    pub generation: u64,
    pub access_token: AccessToken,
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Unix seconds; `None` when the provider did not say.
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Unix seconds when the refresh token stops working, when the provider said (GitHub Apps).
    #[serde(default)]
    pub refresh_expires_at: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
    /// The account the provider confirmed (a username, email or subject), when known.
    #[serde(default)]
    pub account: Option<String>,
    /// The provider session the credential was issued in (the ID token's `sid`), when known.
    #[serde(default)]
    pub session: Option<String>,
    /// A client-credentials profile's client secret: its long-lived credential, which mints
    /// new access tokens.
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// The provider refused this record's refresh token (invalid_grant): the session is dead
    /// and is not retried until the user logs in again.
    #[serde(default)]
    pub reauth_required: bool,
}

fn bearer() -> String {
    "Bearer".to_string()
}

/// The serialized shape. Borrowing the secrets here is the store-write exposure point.
#[derive(Serialize)]
struct Stored<'a> {
    version: u32,
    generation: u64,
    access_token: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reauth_required: bool,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<serde_json::Value>,
}

impl Record {
    /// Serialize for the store. The buffer is zeroized when dropped.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let stored = Stored {
            version: RECORD_VERSION,
            generation: self.generation,
            access_token: self.access_token.expose_secret(),
            token_type: &self.token_type,
            expires_at: self.expires_at,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret()),
            refresh_expires_at: self.refresh_expires_at,
            scope: self.scope.as_deref(),
            account: self.account.as_deref(),
            session: self.session.as_deref(),
            client_secret: self.client_secret.as_ref().map(|s| s.expose_secret()),
            reauth_required: self.reauth_required,
        };
        // Serializing plain strings and integers into a Vec cannot fail.
        Zeroizing::new(serde_json::to_vec(&stored).unwrap_or_default())
    }

    /// Parse a stored record. The error string is safe to show: it never quotes the input.
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        let head: VersionOnly = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        match head.version {
            None => return Err("it has no format version".to_string()),
            Some(v) if v.as_u64() == Some(u64::from(RECORD_VERSION)) => {}
            Some(v) => {
                let shown = v.as_u64().map_or("?".to_string(), |n| n.to_string());
                return Err(format!(
                    "unknown record format version {shown}; it may have been written by a newer vouch"
                ));
            }
        }
        let record: Record = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        if record.access_token.is_empty() {
            return Err("its access token is empty".to_string());
        }
        Ok(record)
    }

    /// Whether the refresh token (if any) can still be used at `now`.
    pub fn can_refresh(&self, now: u64) -> bool {
        self.refresh_token.is_some() && self.refresh_expires_at.is_none_or(|at| at > now)
    }

    /// Seconds until the access token expires (negative once expired); `None` if unknown.
    pub fn expires_in(&self, now: u64) -> Option<i64> {
        self.expires_at.map(|at| seconds_between(now, at))
    }
}

/// `to - from` in seconds, saturating instead of overflowing for absurd stored values.
pub fn seconds_between(from: u64, to: u64) -> i64 {
    (i128::from(to) - i128::from(from)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Describe a serde_json error by its category and position only: serde_json's own message
/// can quote the offending value, which may be secret.
fn describe_json_error(err: serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "it could not be read",
        Category::Syntax => "it is not valid JSON",
        Category::Data => "a field is missing or has the wrong type",
        Category::Eof => "it is truncated",
    };
    format!("{what} (line {}, column {})", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            generation: 7,
            access_token: AccessToken::new("at-secret"),
            token_type: "Bearer".into(),
            expires_at: Some(1_800_000_000),
            refresh_token: Some(RefreshToken::new("rt-secret")),
            refresh_expires_at: None,
            scope: Some("openid".into()),
            account: Some("alice".into()),
            session: None,
            client_secret: None,
            reauth_required: false,
        }
    }

    #[test]
    fn round_trips() {
        let bytes = sample().encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"version":1,"generation":7,"#), "{text}");
        let back = Record::decode(&bytes).unwrap();
        assert_eq!(back.generation, 7);
        assert_eq!(back.access_token.expose_secret(), "at-secret");
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "rt-secret");
        assert_eq!(back.expires_at, Some(1_800_000_000));
        assert_eq!(back.account.as_deref(), Some("alice"));
    }

    #[test]
    fn expiry_arithmetic_saturates_on_absurd_values() {
        let mut r = sample();
        r.expires_at = Some(u64::MAX);
        assert_eq!(r.expires_in(1_700_000_000), i64::MAX.into());
        r.expires_at = Some(1u64 << 63);
        assert!(r.expires_in(1_700_000_000).unwrap() > 0);
        assert_eq!(seconds_between(u64::MAX, 0), i64::MIN);
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let r = Record::decode(br#"{"version":1,"generation":1,"access_token":"x"}"#).unwrap();
        assert_eq!(r.token_type, "Bearer");
        assert!(r.refresh_token.is_none() && r.expires_at.is_none());
    }

    #[test]
    fn rejects_unknown_versions_and_garbage_without_quoting_them() {
        let cases: &[&[u8]] = &[
            br#"{"version":2,"generation":1,"access_token":"leak-me"}"#,
            br#"{"generation":1,"access_token":"leak-me"}"#,
            br#"{"version":1,"generation":"leak-me","access_token":"x"}"#,
            br#"{"version":1,"generation":1,"access_token":""}"#,
            b"leak-me",
            b"{\"version\":1,\"access_token\":\"leak-me",
            b"\xff\xfe leak-me",
        ];
        for bytes in cases {
            let err = Record::decode(bytes).unwrap_err();
            assert!(!err.contains("leak-me"), "{err}");
        }
        assert!(Record::decode(br#"{"version":2}"#).unwrap_err().contains("version 2"));
    }
}
