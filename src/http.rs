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
//! - **a credential goes only to its own provider**: every request that carries one names the
//!   issuer that minted it, and is refused unless its URL is an endpoint that this issuer's
//!   metadata (or the profile's own endpoint settings for it) named in this process. This is
//!   the one check every credential-carrying request passes, whatever command sent it.
//!
//! Proxies are decided here, per request, from the context's environment snapshot (never from
//! the process environment, which ureq would read on its own): loopback never goes through a
//! proxy (a refresh token to a local provider would cross the proxy in cleartext); remote https
//! honours `https_proxy`/`HTTPS_PROXY`, then `all_proxy`/`ALL_PROXY`, unless `no_proxy`/
//! `NO_PROXY` lists the host, as curl does. `HTTP_PROXY` never applies: vouch sends plain http
//! only to loopback. Only http:// and https:// proxies are supported.
//!
//! `-v` logging of requests happens here, through the caller's [`Transport`], and shows the
//! method, the URL without its query string, and the status. Never headers (a DPoP proof, an
//! `Authorization`, `vouch api -H` values) or bodies.
//!
//! The DPoP nonces servers send (`DPoP-Nonce`) are kept here per origin for the process;
//! [`crate::context::Context`] also keeps them on disk.
//!
//! This module does not know the [`crate::context::Context`]; the context implements
//! [`Transport`] for it.

use crate::env::Env;
use crate::error::Error;
use crate::secret::AccessToken;
use std::time::Duration;
use url::Url;
use zeroize::Zeroizing;

/// The largest response body vouch reads.
pub const MAX_BODY: u64 = 1024 * 1024;

/// The default bound on a whole request, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What [`request`] needs from its caller: the client, and a place for `-v` log lines.
pub trait Transport {
    fn http(&mut self) -> &Http;
    /// The environment snapshot (proxy settings).
    fn env(&self) -> &Env;
    fn log(&mut self, args: std::fmt::Arguments<'_>);
}

/// The client. Cheap to keep, built once per process on first use.
pub struct Http {
    agent: ureq::Agent,
    /// Issuer (without a trailing `/`) → the endpoints its metadata or the profile named.
    endpoints: std::cell::RefCell<std::collections::HashMap<String, Vec<String>>>,
    /// Origin (`scheme://host:port`) → the latest `DPoP-Nonce` it sent (RFC 9449 §8, §9).
    nonces: std::cell::RefCell<std::collections::HashMap<String, String>>,
}

/// A response with its body read (and capped). `Default` is an empty answer with status 0,
/// for tests and fuzz targets that build one by hand.
#[derive(Default)]
pub struct Response {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
    /// The `Date` header (`vouch doctor` compares it with the local clock).
    pub date: Option<String>,
    /// Every `Cache-Control` header, joined with commas (discovery documents).
    pub cache_control: Option<String>,
    /// `Age`: how long a cache on the way already held this answer, in seconds.
    pub age: Option<String>,
    /// `DPoP-Nonce` (RFC 9449 §8, §9): the nonce the server wants in the next proof.
    pub dpop_nonce: Option<String>,
    /// Every header, in order, as (name, value): `vouch api -i` shows them.
    pub headers: Vec<(String, String)>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a request sends.
#[derive(Clone, Copy)]
pub enum Body<'a> {
    None,
    /// application/x-www-form-urlencoded; values may be secrets and are never logged.
    Form(&'a [(&'a str, &'a str)]),
    /// Raw bytes (`vouch api --data`), with the caller's `Content-Type` among the extra
    /// headers; never logged.
    Bytes(&'a [u8]),
}

/// What a request sends besides its method, URL, authentication and body.
#[derive(Default, Clone, Copy)]
pub struct Extra<'a> {
    /// A DPoP proof (RFC 9449), sent as the `DPoP` header. Never logged.
    pub dpop_proof: Option<&'a str>,
    /// More headers (`vouch api -H`), never logged. Never `Authorization`: [`Auth`] sets that.
    pub headers: &'a [(String, String)],
}

/// How the request authenticates.
pub enum Auth<'a> {
    None,
    Bearer(&'a AccessToken),
    /// HTTP Basic with already form-urlencoded id and secret (RFC 6749 §2.3.1).
    Basic(&'a str, &'a str),
    /// `Authorization: DPoP TOKEN` (RFC 9449 §7.1); the proof goes in [`Extra::dpop_proof`].
    DPoP(&'a AccessToken),
}

impl Http {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("vouch/", env!("CARGO_PKG_VERSION")))
            // ureq's default reads the process environment; `request` decides per request.
            .proxy(None)
            .build();
        Http { agent: config.new_agent(), endpoints: Default::default(), nonces: Default::default() }
    }

    /// Record that `urls` are endpoints of `issuer` (see the module docs).
    pub fn register_endpoints<'a>(&self, issuer: &str, urls: impl IntoIterator<Item = &'a Url>) {
        let mut map = self.endpoints.borrow_mut();
        let known = map.entry(issuer.trim_end_matches('/').to_string()).or_default();
        for url in urls {
            let url = endpoint_id(url);
            if !known.contains(&url) {
                known.push(url);
            }
        }
    }

    /// The DPoP nonce `url`'s server asked for last, if any.
    pub fn dpop_nonce(&self, url: &Url) -> Option<String> {
        self.nonces.borrow().get(&origin(url)).cloned()
    }

    /// Remember the DPoP nonce `url`'s server sent; returns whether it is new.
    pub fn remember_dpop_nonce(&self, url: &Url, nonce: &str) -> bool {
        let nonce: String = nonce.chars().filter(|c| c.is_ascii_graphic()).take(512).collect();
        self.nonces.borrow_mut().insert(origin(url), nonce.clone()).as_deref() != Some(nonce.as_str())
    }

    /// Whether `url` is a registered endpoint of `issuer`.
    fn belongs_to(&self, url: &Url, issuer: &str) -> bool {
        self.endpoints
            .borrow()
            .get(issuer.trim_end_matches('/'))
            .is_some_and(|urls| urls.contains(&endpoint_id(url)))
    }

    fn send(
        &self,
        method: &str,
        url: &Url,
        auth: &Auth<'_>,
        body: &Body<'_>,
        extra: Extra<'_>,
        proxy: Option<ureq::Proxy>,
    ) -> Result<Response, ureq::Error> {
        use base64::Engine;
        let authorization = match auth {
            Auth::None => None,
            Auth::Bearer(token) => Some(Zeroizing::new(format!("Bearer {}", token.expose_secret()))),
            Auth::DPoP(token) => Some(Zeroizing::new(format!("DPoP {}", token.expose_secret()))),
            Auth::Basic(id, secret) => {
                let pair = Zeroizing::new(format!("{id}:{secret}"));
                let encoded =
                    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
                Some(Zeroizing::new(format!("Basic {}", encoded.as_str())))
            }
        };
        let general =
            !matches!(method, "GET" | "POST") || matches!(body, Body::Bytes(_)) || !extra.headers.is_empty();
        let mut response = match method {
            _ if general => {
                let mut req = ureq::http::Request::builder()
                    .method(method)
                    .uri(url.as_str())
                    .header("Accept", "application/json, */*;q=0.5");
                if let Some(value) = &authorization {
                    req = req.header("Authorization", value.as_str());
                }
                if let Some(proof) = extra.dpop_proof {
                    req = req.header("DPoP", proof);
                }
                for (name, value) in extra.headers {
                    req = req.header(name.as_str(), value.as_str());
                }
                let bytes: Vec<u8> = match body {
                    Body::None => Vec::new(),
                    Body::Bytes(bytes) => bytes.to_vec(),
                    Body::Form(pairs) => url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs.iter())
                        .finish()
                        .into_bytes(),
                };
                let has_body = !matches!(body, Body::None);
                if matches!(body, Body::Form(_)) {
                    req = req.header("Content-Type", "application/x-www-form-urlencoded");
                }
                let req = req.body(bytes).map_err(ureq::Error::Http)?;
                let req = self.agent.configure_request(req).proxy(proxy).build();
                let (parts, bytes) = req.into_parts();
                if has_body {
                    self.agent.run(ureq::http::Request::from_parts(parts, bytes))?
                } else {
                    self.agent.run(ureq::http::Request::from_parts(parts, ()))?
                }
            }
            "POST" => {
                let mut req = self
                    .agent
                    .post(url.as_str())
                    .config()
                    .proxy(proxy)
                    .build()
                    .header("Accept", "application/json");
                if let Some(value) = &authorization {
                    req = req.header("Authorization", value.as_str());
                }
                if let Some(proof) = extra.dpop_proof {
                    req = req.header("DPoP", proof);
                }
                match body {
                    Body::Form(pairs) => req.send_form(pairs.iter().copied())?,
                    Body::None | Body::Bytes(_) => req.send_empty()?,
                }
            }
            _ => {
                let mut req = self
                    .agent
                    .get(url.as_str())
                    .config()
                    .proxy(proxy)
                    .build()
                    .header("Accept", "application/json");
                if let Some(value) = &authorization {
                    req = req.header("Authorization", value.as_str());
                }
                if let Some(proof) = extra.dpop_proof {
                    req = req.header("DPoP", proof);
                }
                req.call()?
            }
        };
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let www_authenticate = header("www-authenticate");
        let retry_after = header("retry-after");
        let age = header("age");
        let cache_control: Vec<&str> =
            response.headers().get_all("cache-control").iter().filter_map(|v| v.to_str().ok()).collect();
        let cache_control = (!cache_control.is_empty()).then(|| cache_control.join(", "));
        let date = header("date");
        let dpop_nonce = header("dpop-nonce");
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())
            })
            .collect();
        let status = response.status().as_u16();
        let body = if method == "HEAD" {
            Zeroizing::new(Vec::new())
        } else {
            Zeroizing::new(response.body_mut().with_config().limit(MAX_BODY).read_to_vec()?)
        };
        Ok(Response {
            status,
            body,
            www_authenticate,
            retry_after,
            cache_control,
            age,
            date,
            dpop_nonce,
            headers,
        })
    }
}

/// A URL's origin, `scheme://host:port`: what a DPoP nonce belongs to.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// An endpoint as compared: the URL without query or fragment.
fn endpoint_id(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// A request that failed, and whether it may have reached the server before it did: a
/// refresh token in a request that may have arrived may have been consumed.
pub struct Failure {
    pub error: Error,
    pub maybe_delivered: bool,
    /// Nothing is there: the host name did not resolve, or the connection was refused. Nothing
    /// was sent; an endpoint from cached metadata may have moved.
    pub unreachable: bool,
}

/// Send a request through the caller's client, logging it under `-v`. `minted_by` names the
/// issuer of the credential the request carries (in `auth` or in the form), `None` when it
/// carries none; a credential is only sent to an endpoint of its own issuer.
pub fn request<T: Transport + ?Sized>(
    ctx: &mut T,
    method: &str,
    url: &Url,
    auth: Auth<'_>,
    body: Body<'_>,
    minted_by: Option<&str>,
) -> Result<Response, Error> {
    send_tracked(ctx, method, url, auth, body, minted_by).map_err(|f| f.error)
}

/// [`request`], telling a failure before anything was sent (no connection, a refused
/// credential check) from one after the request may have arrived (a reset, a time-out
/// waiting for the answer, an answer that is not HTTP).
pub fn send_tracked<T: Transport + ?Sized>(
    ctx: &mut T,
    method: &str,
    url: &Url,
    auth: Auth<'_>,
    body: Body<'_>,
    minted_by: Option<&str>,
) -> Result<Response, Failure> {
    send_with(ctx, method, url, auth, body, Extra::default(), minted_by)
}

/// [`send_tracked`] with a DPoP proof or more headers: the one function every request goes
/// through.
pub fn send_with<T: Transport + ?Sized>(
    ctx: &mut T,
    method: &str,
    url: &Url,
    auth: Auth<'_>,
    body: Body<'_>,
    extra: Extra<'_>,
    minted_by: Option<&str>,
) -> Result<Response, Failure> {
    let shown = redact(url);
    let not_sent = |error| Failure { error, maybe_delivered: false, unreachable: false };
    match minted_by {
        None if !matches!(auth, Auth::None) => {
            return Err(not_sent(Error::internal(
                "a credential was about to be sent without naming its provider",
            )));
        }
        Some(issuer) if !ctx.http().belongs_to(url, issuer) => {
            return Err(not_sent(Error::usage(format!(
                "vouch refused to send a credential issued by {issuer} to {shown}, which is not an endpoint of \
                 that provider; check the profile's issuer and endpoint settings, or run `vouch login` again"
            ))));
        }
        _ => {}
    }
    let proxy = proxy_for(url, &ProxyEnv::from_env(ctx.env())).map_err(not_sent)?;
    match &proxy {
        Some(p) => ctx.log(format_args!("{method} {shown} (through the proxy {}:{})", p.host(), p.port())),
        None => ctx.log(format_args!("{method} {shown}")),
    }
    let result = ctx.http().send(method, url, &auth, &body, extra, proxy);
    match result {
        Ok(response) => {
            ctx.log(format_args!("{method} {shown} -> {}", response.status));
            if (300..400).contains(&response.status) {
                return Err(Failure {
                    error: Error::Protocol {
                        endpoint: shown,
                        reason: format!(
                            "it answered with a redirect ({}), which vouch never follows",
                            response.status
                        ),
                    },
                    // A redirect is an answer: the grant was not processed there.
                    maybe_delivered: false,
                    unreachable: false,
                });
            }
            Ok(response)
        }
        Err(err) => {
            let maybe_delivered = may_have_arrived(&err);
            let unreachable = is_not_there(&err);
            let error = classify(&shown, err);
            ctx.log(format_args!(
                "{method} {shown} -> error class {}{}",
                error.class(),
                if maybe_delivered { " (the request may have arrived)" } else { "" }
            ));
            Err(Failure { error, maybe_delivered, unreachable })
        }
    }
}

/// Whether a transport error says nothing is at that address: the name does not resolve, or
/// nobody listens there. Never true of an error after the request may have arrived.
fn is_not_there(err: &ureq::Error) -> bool {
    use ureq::Error as E;
    match err {
        E::HostNotFound | E::ConnectionFailed => true,
        E::Io(e) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        _ => false,
    }
}

/// Whether a transport error happened after the request may have reached the server.
fn may_have_arrived(err: &ureq::Error) -> bool {
    use ureq::Error as E;
    use ureq::Timeout as T;
    match err {
        E::Timeout(T::Resolve | T::Connect) => false,
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => false,
        E::Tls(_) | E::Rustls(_) | E::Pem(_) | E::TlsRequired | E::RequireHttpsOnly(_) => false,
        // rustls reports a failed handshake as InvalidData: nothing was sent.
        E::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => false,
        E::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => false,
        _ => true,
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

/// The proxy variables of an environment, as curl reads them for an https URL: the lowercase
/// name first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProxyEnv {
    /// (variable name, value) of the proxy for https URLs.
    pub proxy: Option<(&'static str, String)>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    pub fn from_env(env: &crate::context::Env) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|name| env.get(name).map(|value| (*name, value.to_string())))
        };
        ProxyEnv {
            proxy: first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]),
            no_proxy: first(&["no_proxy", "NO_PROXY"]).map(|(_, v)| v),
        }
    }
}

/// The proxy a request to `url` goes through, if any (see the module docs).
pub fn proxy_for(url: &Url, env: &ProxyEnv) -> Result<Option<ureq::Proxy>, Error> {
    let Some((name, value)) = &env.proxy else { return Ok(None) };
    let Some(host) = url.host() else { return Ok(None) };
    if is_loopback(url) || url.scheme() != "https" {
        return Ok(None);
    }
    if env.no_proxy.as_deref().is_some_and(|list| no_proxy_matches(list, &host)) {
        return Ok(None);
    }
    let unusable = |why: &str| {
        Error::usage(format!(
            "{name} is not a proxy vouch can use ({why}); set it to http://HOST:PORT or https://HOST:PORT, \
             or list the provider's host in NO_PROXY"
        ))
    };
    let scheme = value.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    if scheme.as_deref().is_some_and(|s| s != "http" && s != "https") {
        // ureq without its socks feature would ignore (or panic on) a SOCKS proxy.
        return Err(unusable("only http:// and https:// proxies are supported"));
    }
    ureq::Proxy::new(value).map(Some).map_err(|_| unusable("it is not a valid proxy URL"))
}

/// Whether a `NO_PROXY` list names `host`, as curl reads it: entries separated by commas (or
/// spaces); `*` alone matches every host; a name matches itself and its subdomains, with or
/// without a leading dot, ignoring case and a trailing dot; an IP address matches itself, and a
/// CIDR block (`10.0.0.0/8`, `fd00::/8`) the addresses in it; IPv6 entries without brackets.
/// A port on an entry is ignored.
pub fn no_proxy_matches(list: &str, host: &url::Host<&str>) -> bool {
    use std::net::IpAddr;
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    };
    let name = match host {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        _ => String::new(),
    };
    list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        if let Some(ip) = ip {
            let entry = entry.trim_start_matches('[');
            let (addr, bits) = match entry.split_once('/') {
                Some((addr, bits)) => (addr, bits.parse::<u8>().ok()),
                None => (entry.split(']').next().unwrap_or(entry), None),
            };
            let Ok(net) = addr.trim_end_matches(']').parse::<IpAddr>() else { return false };
            return match (ip, net) {
                (IpAddr::V4(ip), IpAddr::V4(net)) => {
                    prefix_matches(&ip.octets(), &net.octets(), bits.unwrap_or(32).min(32))
                }
                (IpAddr::V6(ip), IpAddr::V6(net)) => {
                    prefix_matches(&ip.octets(), &net.octets(), bits.unwrap_or(128).min(128))
                }
                _ => false,
            };
        }
        let entry = entry.trim_start_matches('.');
        let entry = match entry.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => entry,
        };
        let entry = entry.trim_end_matches('.').to_ascii_lowercase();
        !entry.is_empty()
            && (name == entry || name.strip_suffix(&entry).is_some_and(|rest| rest.ends_with('.')))
    })
}

/// Whether the first `bits` bits of `a` and `b` are equal.
fn prefix_matches(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[whole] & mask == b[whole] & mask
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
        E::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            unavailable("it refused the connection")
        }
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
    fn credentials_go_only_to_their_own_issuers_endpoints() {
        struct Ctx(Http, Env);
        impl Transport for Ctx {
            fn http(&mut self) -> &Http {
                &self.0
            }
            fn env(&self) -> &Env {
                &self.1
            }
            fn log(&mut self, _: std::fmt::Arguments<'_>) {}
        }
        let mut ctx = Ctx(Http::new(Duration::from_secs(1)), Env::default());
        let a_token = Url::parse("http://127.0.0.1:9/a/token").unwrap();
        let b_token = Url::parse("http://127.0.0.1:9/b/token").unwrap();
        ctx.0.register_endpoints("http://127.0.0.1:9/a/", [&a_token]);
        ctx.0.register_endpoints("http://127.0.0.1:9/b", [&b_token]);
        let form = [("refresh_token", "canary-rt")];
        let err =
            request(&mut ctx, "POST", &b_token, Auth::None, Body::Form(&form), Some("http://127.0.0.1:9/a"))
                .err()
                .unwrap();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(!err.to_string().contains("canary"), "{err}");
        let token = AccessToken::new("canary-at");
        let err = request(&mut ctx, "GET", &a_token, Auth::Bearer(&token), Body::None, None).err().unwrap();
        assert_eq!(err.exit_code(), 1, "a credential must name its issuer: {err}");
        // its own endpoint passes the check (and then fails to connect: nothing listens on port 9)
        let err =
            request(&mut ctx, "POST", &a_token, Auth::None, Body::Form(&form), Some("http://127.0.0.1:9/a/"))
                .err()
                .unwrap();
        assert_eq!(err.exit_code(), 5, "{err}");
    }

    #[test]
    fn redaction_drops_query_and_userinfo() {
        let url = Url::parse("https://user:pw@example.com:8443/cb?code=secret#frag").unwrap();
        assert_eq!(redact(&url), "https://example.com:8443/cb");
    }

    fn proxy_env(proxy: &str, no_proxy: Option<&str>) -> ProxyEnv {
        ProxyEnv { proxy: Some(("HTTPS_PROXY", proxy.to_string())), no_proxy: no_proxy.map(str::to_string) }
    }

    fn proxied(url: &str, env: &ProxyEnv) -> Option<String> {
        let proxy = proxy_for(&Url::parse(url).unwrap(), env).unwrap();
        proxy.map(|p| format!("{}:{}", p.host(), p.port()))
    }

    #[test]
    fn loopback_never_goes_through_a_proxy() {
        let env = proxy_env("http://proxy.corp:3128", None);
        for url in
            ["http://127.0.0.1:8080/token", "http://localhost:1/", "http://[::1]:9/", "https://127.0.0.1/"]
        {
            assert_eq!(proxied(url, &env), None, "{url}");
        }
        assert_eq!(proxied("https://idp.example/token", &env).as_deref(), Some("proxy.corp:3128"));
        assert_eq!(proxied("https://idp.example/token", &ProxyEnv::default()), None);
    }

    #[test]
    fn the_proxy_variables_are_read_as_curl_reads_them() {
        use crate::env::Env;
        let pick = |pairs: &[(&str, &str)]| ProxyEnv::from_env(&Env::from_pairs(pairs.iter().copied())).proxy;
        assert_eq!(
            pick(&[("HTTP_PROXY", "http://h:1"), ("http_proxy", "http://h:1")]),
            None,
            "http_proxy is for http"
        );
        assert_eq!(pick(&[("ALL_PROXY", "http://a:1")]), Some(("ALL_PROXY", "http://a:1".into())));
        assert_eq!(
            pick(&[("ALL_PROXY", "http://a:1"), ("HTTPS_PROXY", "http://s:1")]),
            Some(("HTTPS_PROXY", "http://s:1".into())),
            "the scheme's own variable wins"
        );
        assert_eq!(
            pick(&[("https_proxy", "http://l:1"), ("HTTPS_PROXY", "http://u:1")]),
            Some(("https_proxy", "http://l:1".into())),
            "lowercase first"
        );
        assert_eq!(pick(&[("HTTPS_PROXY", "")]), None, "empty is unset");
        let env = ProxyEnv::from_env(&Env::from_pairs([("NO_PROXY", "a"), ("no_proxy", "b")]));
        assert_eq!(env.no_proxy.as_deref(), Some("b"));
    }

    #[test]
    fn no_proxy_matches_hosts_as_curl_does() {
        let matches = |list: &str, url: &str| {
            let url = Url::parse(url).unwrap();
            no_proxy_matches(list, &url.host().unwrap())
        };
        let cases: &[(&str, &str, bool)] = &[
            ("*", "https://anything.example/", true),
            ("example.com", "https://example.com/", true),
            ("example.com", "https://login.example.com/", true),
            ("example.com", "https://LOGIN.Example.COM./", true),
            (".example.com", "https://example.com/", true),
            (".example.com", "https://a.b.example.com/", true),
            ("example.com", "https://notexample.com/", false),
            ("example.com", "https://example.com.evil/", false),
            ("ample.com", "https://www.example.com/", false),
            ("example.com:443", "https://example.com/", true),
            ("other.org, example.com", "https://example.com/", true),
            ("other.org example.com", "https://example.com/", true),
            ("*.example.com", "https://a.example.com/", false),
            ("10.1.2.3", "https://10.1.2.3/", true),
            ("10.1.2.3", "https://10.1.2.4/", false),
            ("10.0.0.0/8", "https://10.200.3.4/", true),
            ("10.0.0.0/8", "https://11.0.0.1/", false),
            ("192.168.0.0/20", "https://192.168.15.1/", true),
            ("192.168.0.0/20", "https://192.168.16.1/", false),
            ("::1", "https://[::1]/", true),
            ("[fd00::1]", "https://[fd00::1]/", true),
            ("fd00::/8", "https://[fd12::5]/", true),
            ("fd00::/8", "https://[fe80::1]/", false),
            ("10.0.0.0/8", "https://example.com/", false),
            ("example.com", "https://10.0.0.1/", false),
            ("", "https://example.com/", false),
            (",,", "https://example.com/", false),
        ];
        for (list, url, expected) in cases {
            assert_eq!(matches(list, url), *expected, "NO_PROXY={list:?} {url}");
        }
        let env = proxy_env("http://proxy:3128", Some("idp.example"));
        assert_eq!(proxied("https://idp.example/token", &env), None);
        assert!(proxied("https://other.example/token", &env).is_some());
    }

    #[test]
    fn unusable_proxies_are_a_usage_error_not_a_bypass() {
        let url = Url::parse("https://idp.example/").unwrap();
        for bad in ["socks5://127.0.0.1:1080", "ftp://p:1", "http://"] {
            let err = proxy_for(&url, &proxy_env(bad, None)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
            assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
        }
        let with_credentials = proxy_env("http://user:pw@proxy:8080", None);
        assert_eq!(proxied("https://idp.example/", &with_credentials).as_deref(), Some("proxy:8080"));
    }
}
