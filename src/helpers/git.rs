//! git's credential protocol (gitcredentials(7)) to and from the shared [`Resource`].
//!
//! - A request's `protocol`, `host` and `path` become an [`Address`] that the profiles' host
//!   patterns match; a request without them asks for nothing.
//! - A [`Grant`] becomes the answer: when git advertised `capability[]=authtype` (git 2.46 and
//!   later), `authtype` and `credential` (`Basic` over the profile's git username, default
//!   `oauth2`, and the token; or `Bearer` and the token for `git_auth = "bearer"`) with
//!   `ephemeral=true`, so that git's other helpers never keep it: `store` and `cache` only save
//!   a username and password, and `cache` refuses ephemeral credentials outright. An older git
//!   gets `username` and `password`. Either way with `password_expiry_utc`.
//! - An `erase` names the token git saw rejected: its `password`, a `Bearer` credential, or
//!   the password inside a `Basic` one ([`rejected_token`]).
//!
//! Parsing and formatting the lines themselves is [`crate::git`]'s.

use super::{Address, Grant, Resource, Target};
use crate::config::GitAuth;
use crate::git::{self, Request};
use zeroize::Zeroizing;

/// git's own margin: answer with a token that is good for at least this long.
pub const MIN_TTL: u64 = 60;

/// The address a request is for, if it names one.
pub fn address(request: &Request) -> Option<Address> {
    Some(Address {
        protocol: request.get("protocol")?.to_ascii_lowercase(),
        host: request.get("host")?.to_ascii_lowercase(),
        path: request.get("path").map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty()),
    })
}

/// The shared request for a `get`, if the request names an address.
pub fn resource(request: &Request) -> Option<Resource> {
    address(request).map(|address| Resource { target: Target::Address(address), min_ttl: MIN_TTL })
}

/// The answer lines for `grant`.
pub fn answer(request: &Request, grant: &Grant) -> Zeroizing<String> {
    let token = grant.token();
    let username = grant.settings.git_username.as_deref().unwrap_or("oauth2");
    let expiry = grant.expires_at().map(|at| at.to_string());
    let basic = basic_credential(username, token);
    let mut answer: Vec<(&str, &str)> = Vec::new();
    if request.has_capability("authtype") {
        let (authtype, credential) = match grant.settings.git_auth {
            Some(GitAuth::Bearer) => ("Bearer", token),
            _ => ("Basic", basic.as_str()),
        };
        answer.extend([("capability[]", "authtype"), ("authtype", authtype), ("credential", credential)]);
        answer.push(("ephemeral", "true"));
    } else {
        answer.push(("username", username));
        answer.push(("password", token));
    }
    if let Some(expiry) = &expiry {
        answer.push(("password_expiry_utc", expiry));
    }
    git::format(&answer)
}

/// The HTTP Basic credential (RFC 7617) for `username` and `token`: base64 of `user:token`.
fn basic_credential(username: &str, token: &str) -> Zeroizing<String> {
    use base64::Engine;
    let pair = Zeroizing::new(format!("{username}:{token}"));
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()))
}

/// The token git says was rejected: its `password`, a `Bearer` credential, or the password
/// inside a `Basic` one.
pub fn rejected_token(request: &Request) -> Option<Zeroizing<String>> {
    if let Some(password) = request.get("password") {
        return Some(Zeroizing::new(password.to_string()));
    }
    let credential = request.get("credential")?;
    if !request.get("authtype").is_some_and(|t| t.eq_ignore_ascii_case("basic")) {
        return Some(Zeroizing::new(credential.to_string()));
    }
    use base64::Engine;
    let decoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(credential).ok()?);
    let pair = std::str::from_utf8(&decoded).ok()?;
    pair.split_once(':').map(|(_, token)| Zeroizing::new(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_become_addresses() {
        let r = Request::parse(b"protocol=HTTPS\nhost=Git.Example.com\npath=/org/repo.git\n");
        let a = address(&r).unwrap();
        assert_eq!((a.protocol.as_str(), a.host.as_str()), ("https", "git.example.com"));
        assert_eq!(a.path.as_deref(), Some("org/repo.git"));
        assert!(address(&Request::parse(b"host=x\n")).is_none());
        assert!(resource(&Request::parse(b"")).is_none());
    }

    #[test]
    fn the_rejected_token_is_found_in_every_shape() {
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode("oauth2:tok");
        for input in [
            "password=tok\n".to_string(),
            "authtype=Bearer\ncredential=tok\n".to_string(),
            format!("authtype=basic\ncredential={basic}\n"),
        ] {
            assert_eq!(
                rejected_token(&Request::parse(input.as_bytes())).as_deref().map(String::as_str),
                Some("tok")
            );
        }
        assert!(rejected_token(&Request::parse(b"authtype=Basic\ncredential=%%%\n")).is_none());
        assert!(rejected_token(&Request::parse(b"username=u\n")).is_none());
    }
}
