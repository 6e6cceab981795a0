//! HTTP to the provider: one blocking client with the policies every request must follow.
//!
//! - https only, except plain http to loopback hosts (RFC 8252 §8.3 treats loopback as local);
//! - redirects are never followed (a token or revocation endpoint that redirects would
//!   forward a credential somewhere else); a 3xx comes back as a response for the caller to
//!   refuse;
//! - response bodies are capped at 1 MiB and held in zeroizing buffers;
//! - every request has a time bound;
//! - transport failures are classified here: timeouts and refused connections are "try again
//!   later" (exit 5), TLS failures and oversized bodies are a provider problem (exit 9).
//!
//! `-v` logging of requests happens here, through the context, and shows the method, the URL
//! without its query string, and the status. Never headers or bodies.

use crate::context::Context;
use crate::error::Error;
use crate::secret::AccessToken;
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

/// The largest response body vouch reads.
pub const MAX_BODY: u64 = 1024 * 1024;

/// The default bound on a whole request, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client. Cheap to keep, built once per process on first use.
pub struct Http {
    agent: ureq::Agent,
}

/// A response with its body read (and capped).
pub struct Response {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a request sends.
pub enum Body<'a> {
    None,
    /// application/x-www-form-urlencoded; values may be secrets and are never logged.
    Form(&'a [(&'a str, &'a str)]),
}

/// How the request authenticates.
pub enum Auth<'a> {
    None,
    Bearer(&'a AccessToken),
    /// HTTP Basic with already form-urlencoded id and secret (RFC 6749 §2.3.1).
    Basic(&'a str, &'a str),
}

impl Http {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
            .build();
        Http { agent: config.new_agent() }
    }

    fn send(
        &self,
        method: &str,
        url: &Url,
        auth: &Auth<'_>,
        body: &Body<'_>,
    ) -> Result<Response, ureq::Error> {
        use base64::Engine;
        let authorization = match auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(Zeroizing::new(format!("Bearer {}", token.expose_secret()))),
            Auth::Basic(id, secret) => {
                let pair = Zeroizing::new(format!("{id}:{secret}"));
                let encoded =
                    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
                Some(Zeroizing::new(format!("Basic {}", encoded.as_str())))
            }
        };
        let mut response = match method {
            "POST" => {
                let mut req = self.agent.post(url.as_str()).header("Accept", "application/json");
                if let Some(value) = &authorization {
                    req = req.header("Authorization", value.as_str());
                }
                match body {
                    Body::Form(pairs) => req.send_form(pairs.iter().copied())?,
                    Body::None => req.send_empty()?,
                }
            }
            _ => {
                let mut req = self.agent.get(url.as_str()).header("Accept", "application/json");
                if let Some(value) = &authorization {
                    req = req.header("Authorization", value.as_str());
                }
                req.call()?
            }
        };
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let www_authenticate = header("www-authenticate");
        let retry_after = header("retry-after");
        let status = response.status().as_u16();
        let body = Zeroizing::new(response.body_mut().with_config().limit(MAX_BODY).read_to_vec()?);
        Ok(Response { status, body, www_authenticate, retry_after })
    }
}

/// Send a request through the context's client, logging it under `-v`.
pub fn request(
    ctx: &mut Context,
    method: &str,
    url: &Url,
    auth: Auth<'_>,
    body: Body<'_>,
) -> Result<Response, Error> {
    let shown = redact(url);
    ctx.log(format_args!("{method} {shown}"));
    let result = ctx.http().send(method, url, &auth, &body);
    match result {
        Ok(response) => {
            ctx.log(format_args!("{method} {shown} -> {}", response.status));
            if (300..400).contains(&response.status) {
                return Err(Error::Protocol {
                    endpoint: shown,
                    reason: format!(
                        "it answered with a redirect ({}), which vouch never follows",
                        response.status
                    ),
                });
            }
            Ok(response)
        }
        Err(err) => {
            let err = classify(&shown, err);
            ctx.log(format_args!("{method} {shown} -> error class {}", err.class()));
            Err(err)
        }
    }
}

/// A URL as it may be shown: scheme, host, port and path; no query, fragment or userinfo.
pub fn redact(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path());
    shown
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether vouch may send credentials to this URL: https, or http to loopback.
pub fn is_allowed(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url),
        _ => false,
    }
}

/// Parse and check a URL the user supplied (exit 2 when refused).
pub fn user_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|_| Error::usage(format!("'{text}' is not a valid URL")))?;
    if !is_allowed(&url) {
        return Err(Error::InsecureUrl { url: redact(&url) });
    }
    Ok(url)
}

/// Parse and check a URL the provider supplied (exit 9 when refused).
pub fn provider_url(text: &str, from: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|_| Error::Protocol {
        endpoint: from.to_string(),
        reason: "it advertised an endpoint that is not a valid URL".to_string(),
    })?;
    if !is_allowed(&url) {
        return Err(Error::Protocol {
            endpoint: from.to_string(),
            reason: format!("it advertised {}, which is neither https nor loopback", redact(&url)),
        });
    }
    Ok(url)
}

fn classify(endpoint: &str, err: ureq::Error) -> Error {
    use ureq::Error as E;
    let unavailable =
        |reason: &str| Error::Unavailable { endpoint: endpoint.to_string(), reason: reason.to_string() };
    let protocol =
        |reason: &str| Error::Protocol { endpoint: endpoint.to_string(), reason: reason.to_string() };
    match err {
        E::Timeout(_) | E::BodyStalled => unavailable("it did not answer in time"),
        E::HostNotFound => unavailable("its host name did not resolve"),
        E::ConnectionFailed => unavailable("the connection failed"),
        // rustls reports a failed handshake (an untrusted certificate, say) as InvalidData.
        E::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            protocol("its TLS certificate or handshake was not acceptable")
        }
        E::Io(_) => unavailable("the connection broke"),
        E::ConnectProxyFailed(_) => unavailable("the proxy connection failed"),
        E::BodyExceedsLimit(_) => protocol("its answer is larger than 1 MiB"),
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired => {
            protocol("its TLS certificate or handshake was not acceptable")
        }
        E::Protocol(_) | E::LargeResponseHeader(..) => protocol("its answer was not valid HTTP"),
        E::RequireHttpsOnly(_) => protocol("it is not https"),
        _ => unavailable("the request failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_allowed() {
        for ok in [
            "https://example.com/x",
            "http://127.0.0.1:8080/",
            "http://127.9.9.9/",
            "http://[::1]:9/",
            "http://localhost:1/",
        ] {
            assert!(user_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://localhost.evil.com/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
        ] {
            let err = user_url(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert_eq!(provider_url("http://example.com/token", "x").unwrap_err().exit_code(), 9);
    }

    #[test]
    fn redaction_drops_query_and_userinfo() {
        let url = Url::parse("https://user:pw@example.com:8443/cb?code=secret#frag").unwrap();
        assert_eq!(redact(&url), "https://example.com:8443/cb");
    }
}
