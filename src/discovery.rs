//! Provider metadata discovery: where a provider's endpoints are.
//!
//! Tries OpenID Connect Discovery (`{issuer}/.well-known/openid-configuration`) first, then
//! RFC 8414 (`{origin}/.well-known/oauth-authorization-server{path}`). The document must name
//! exactly the issuer that was asked for (OIDC Discovery §4.3, RFC 8414 §3.3); anything else
//! is refused, because a mismatched document could send credentials to another party. Every
//! advertised endpoint must be https, or http on loopback.
//!
//! Returns `None` when the provider publishes neither document, so callers can fall back to
//! endpoint overrides. [`fetch`] also returns the document's caching headers; keeping it is
//! [`crate::metadata_cache`]'s business, and choosing between the two [`crate::provider`]'s.

use crate::context::Context;
use crate::error::Error;
use crate::http::{self, Auth, Body};
use serde::{Deserialize, Serialize};
use url::Url;

/// The endpoints vouch uses, from a discovery document.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Option<Url>,
    pub token_endpoint: Option<Url>,
    pub device_authorization_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub revocation_endpoint: Option<Url>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// `scopes_supported`, when published.
    pub scopes_supported: Option<Vec<String>>,
    /// RFC 9207: the provider puts `iss` in every authorization response.
    pub iss_parameter_supported: bool,
    /// True when the document came from OpenID Connect discovery.
    pub openid: bool,
}

/// A discovery document: as a provider publishes it, and as the metadata cache keeps it.
#[derive(Deserialize, Serialize)]
pub struct Document {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// The two well-known URLs for `issuer`, in the order they are tried.
pub fn well_known_urls(issuer: &Url) -> [(Url, bool); 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    oidc.set_query(None);
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    oauth.set_query(None);
    [(oidc, true), (oauth, false)]
}

/// A discovery document as fetched: the metadata, and how long it may be reused.
pub struct Fetched {
    pub metadata: Metadata,
    pub lifetime: crate::metadata_cache::Lifetime,
}

/// Fetch the provider's metadata, or `None` if it publishes none.
pub fn discover(ctx: &mut Context, issuer_text: &str) -> Result<Option<Metadata>, Error> {
    Ok(fetch(ctx, issuer_text)?.map(|fetched| fetched.metadata))
}

/// [`discover`], with the lifetime the answer's `Cache-Control` and `Age` headers give it.
pub fn fetch(ctx: &mut Context, issuer_text: &str) -> Result<Option<Fetched>, Error> {
    let issuer = http::user_url(issuer_text)?;
    for (url, openid) in well_known_urls(&issuer) {
        let response = http::request(ctx, "GET", &url, Auth::None, Body::None, None)?;
        let shown = http::redact(&url);
        match response.status {
            200 => {
                let metadata = parse(&response.body, issuer_text, openid, &shown)?;
                let lifetime = crate::metadata_cache::lifetime(
                    response.cache_control.as_deref(),
                    response.age.as_deref(),
                );
                return Ok(Some(Fetched { metadata, lifetime }));
            }
            // Not published here: try the next well-known location.
            400 | 401 | 403 | 404 | 405 | 410 => continue,
            429 | 500..=599 => return Err(crate::oauth::unexpected_status(&response, &url)),
            other => {
                return Err(Error::Protocol { endpoint: shown, reason: format!("unexpected HTTP {other}") });
            }
        }
    }
    Ok(None)
}

/// Parse and check one discovery document.
pub fn parse(body: &[u8], expected_issuer: &str, openid: bool, from: &str) -> Result<Metadata, Error> {
    let doc: Document = serde_json::from_slice(body).map_err(|_| Error::Protocol {
        endpoint: from.to_string(),
        reason: "its discovery document is not valid JSON".into(),
    })?;
    check(doc, expected_issuer, openid, from)
}

/// Check a discovery document (from the provider, or kept in the metadata cache): it names
/// exactly `expected_issuer`, and every endpoint is https or loopback.
pub fn check(doc: Document, expected_issuer: &str, openid: bool, from: &str) -> Result<Metadata, Error> {
    let protocol = |reason: String| Error::Protocol { endpoint: from.to_string(), reason };
    let issuer = doc.issuer.ok_or_else(|| protocol("its discovery document has no issuer".into()))?;
    if issuer != expected_issuer {
        return Err(protocol(format!(
            "its discovery document names issuer '{}', not '{expected_issuer}' (issuers must match exactly; \
             for Microsoft Entra use the tenant ID in the issuer, not common or organizations)",
            crate::oauth::sanitize(&issuer)
        )));
    }
    let endpoint = |value: Option<String>| value.map(|v| http::provider_url(&v, from)).transpose();
    Ok(Metadata {
        issuer,
        authorization_endpoint: endpoint(doc.authorization_endpoint)?,
        token_endpoint: endpoint(doc.token_endpoint)?,
        device_authorization_endpoint: endpoint(doc.device_authorization_endpoint)?,
        userinfo_endpoint: endpoint(doc.userinfo_endpoint)?,
        revocation_endpoint: endpoint(doc.revocation_endpoint)?,
        token_endpoint_auth_methods_supported: doc.token_endpoint_auth_methods_supported,
        scopes_supported: doc.scopes_supported,
        iss_parameter_supported: doc.authorization_response_iss_parameter_supported,
        openid,
    })
}

impl Document {
    /// The issuer the document names.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

impl From<&Metadata> for Document {
    fn from(m: &Metadata) -> Self {
        let url = |u: &Option<Url>| u.as_ref().map(Url::to_string);
        Document {
            issuer: Some(m.issuer.clone()),
            authorization_endpoint: url(&m.authorization_endpoint),
            token_endpoint: url(&m.token_endpoint),
            device_authorization_endpoint: url(&m.device_authorization_endpoint),
            userinfo_endpoint: url(&m.userinfo_endpoint),
            revocation_endpoint: url(&m.revocation_endpoint),
            token_endpoint_auth_methods_supported: m.token_endpoint_auth_methods_supported.clone(),
            scopes_supported: m.scopes_supported.clone(),
            authorization_response_iss_parameter_supported: m.iss_parameter_supported,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_follow_both_specs() {
        let [(oidc, _), (oauth, _)] = well_known_urls(&Url::parse("https://idp.example/tenant/x/").unwrap());
        assert_eq!(oidc.as_str(), "https://idp.example/tenant/x/.well-known/openid-configuration");
        assert_eq!(oauth.as_str(), "https://idp.example/.well-known/oauth-authorization-server/tenant/x");
        let [(oidc, _), (oauth, _)] = well_known_urls(&Url::parse("https://idp.example").unwrap());
        assert_eq!(oidc.as_str(), "https://idp.example/.well-known/openid-configuration");
        assert_eq!(oauth.as_str(), "https://idp.example/.well-known/oauth-authorization-server");
    }

    #[test]
    fn issuer_must_match_exactly_and_endpoints_must_be_secure() {
        let doc = br#"{"issuer":"https://a.example","userinfo_endpoint":"https://a.example/me"}"#;
        let meta = parse(doc, "https://a.example", true, "x").unwrap();
        assert_eq!(meta.userinfo_endpoint.unwrap().as_str(), "https://a.example/me");
        assert_eq!(parse(doc, "https://a.example/", true, "x").unwrap_err().exit_code(), 9);
        assert_eq!(parse(doc, "https://b.example", true, "x").unwrap_err().exit_code(), 9);
        let insecure = br#"{"issuer":"https://a.example","token_endpoint":"http://a.example/t"}"#;
        assert_eq!(parse(insecure, "https://a.example", true, "x").unwrap_err().exit_code(), 9);
        assert_eq!(parse(b"<html>", "https://a.example", true, "x").unwrap_err().exit_code(), 9);
    }
}
