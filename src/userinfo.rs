//! Server confirmation of an access token: ask the provider's userinfo (or verify) endpoint.
//!
//! This is how vouch knows a token is real before storing it, and how `status --verify`
//! checks one later. It owns the mapping of the endpoint's answers: 2xx accepted (with the
//! account name when the answer says who it is), 401 rejected (exit 4), 429/5xx unavailable
//! (exit 5), anything else a protocol problem (exit 9).

use crate::context::Context;
use crate::error::Error;
use crate::http::{self, Body};
use crate::resource;
use crate::secret::{AccessToken, DpopKey};
use url::Url;

/// Ask `url` whether `token`, minted by `issuer`, is valid. Returns the account name when the
/// answer has one.
pub fn confirm(
    ctx: &mut Context,
    issuer: &str,
    url: &Url,
    token: &AccessToken,
    dpop: Option<&DpopKey>,
    profile: &str,
) -> Result<Option<String>, Error> {
    let sent = resource::Sent { method: "GET", url, body: Body::None, headers: &[] };
    let response = resource::send(ctx, &sent, token, dpop, issuer).map_err(|f| f.error)?;
    let shown = http::redact(url);
    let rejected = |reason: String| Error::Rejected { profile: profile.to_string(), reason };
    match response.status {
        200..=299 => Ok(account_name(&response.body, token)),
        401 => Err(rejected(format!("{shown} answered 401 to the token"))),
        // A token without the scope to read userinfo is still a token the server accepted.
        403 if response.www_authenticate.as_deref().is_some_and(|h| h.contains("insufficient_scope")) => {
            Ok(None)
        }
        403 => Err(rejected(format!("{shown} answered 403 to the token"))),
        429 | 500..=599 => {
            Err(Error::Unavailable { endpoint: shown, reason: format!("HTTP {}", response.status) })
        }
        other => Err(Error::Protocol {
            endpoint: shown,
            reason: format!("unexpected HTTP {other} from the verification endpoint"),
        }),
    }
}

/// The most human name in a userinfo-like JSON answer: OIDC `preferred_username`, `email`,
/// GitHub's `login`, then `sub`. Provider text, cleaned of `token` (the bearer it answered).
fn account_name(body: &[u8], token: &AccessToken) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["preferred_username", "email", "login", "sub"]
        .iter()
        .find_map(|key| value.get(key).and_then(|v| v.as_str()).filter(|s| !s.is_empty()))
        .map(|s| crate::oauth::Redactor::default().with(token.expose_secret()).clean(s))
}

#[cfg(test)]
mod tests {
    use super::account_name;
    use crate::secret::AccessToken;

    #[test]
    fn account_prefers_human_names() {
        let token = AccessToken::new("canary-bearer-token");
        assert_eq!(
            account_name(br#"{"sub":"1","email":"a@x","preferred_username":"al"}"#, &token).as_deref(),
            Some("al")
        );
        assert_eq!(account_name(br#"{"sub":"1","login":"octo"}"#, &token).as_deref(), Some("octo"));
        assert_eq!(account_name(br#"{"sub":"1"}"#, &token).as_deref(), Some("1"));
        assert_eq!(account_name(b"ok", &token), None);
        let echoed = format!(r#"{{"preferred_username":"x{}"}}"#, token.expose_secret());
        assert_eq!(account_name(echoed.as_bytes(), &token).as_deref(), Some("x[redacted]"));
    }
}
