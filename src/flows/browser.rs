//! Flow `--browser`: authorization code with PKCE (RFC 7636) through the system browser, and
//! a loopback redirect (RFC 8252 §7.3). It owns the redirect URI, the loopback listener and
//! the pasted-redirect mode; it stores nothing and never listens beyond loopback.
//!
//! **The redirect.** By default vouch listens on `127.0.0.1` on an ephemeral port with redirect
//! URI `http://127.0.0.1:PORT/callback`, as RFC 8252 §7.3 asks providers to accept. Providers
//! that match the registered URI exactly (Okta, several self-hosted servers) get the profile's
//! `redirect_uri` (`--redirect-uri`, `--redirect-port`), sent verbatim: its host must be
//! `127.0.0.1`, `[::1]` or `localhost`, and without a port a free one is picked. `localhost` is
//! never resolved: vouch listens on `127.0.0.1` and, when the system has IPv6, on `[::1]` at the
//! same port, because a browser may try either. A fixed port that is taken is a local
//! configuration problem, [`Error::PortInUse`] (exit 2): retrying alone does not fix it.
//!
//! **The request.** A fresh S256 challenge, a random `state` and (for OpenID Connect) a
//! `nonce`. The authorization URL is printed on stderr (so it works over ssh). The browser is
//! not given that URL, because another local user can read a process's argv (`ps`) and the URL
//! carries the `state`: with it, that user could deliver a code for their own account with our
//! challenge (login CSRF; PKCE does not help, the challenge is in the URL too) or a forged
//! error. The browser gets the path of a file, 0600 in a fresh 0700 directory (under
//! `$XDG_RUNTIME_DIR`, else the temp dir), that redirects to the URL; it is removed when the
//! flow ends (a vouch killed by a signal leaves it in its private directory). The browser child does not inherit `VOUCH_CLIENT_SECRET`
//! ([`crate::system_browser`]). What remains exposed, to this user only: the URL on stderr, the
//! file while the login runs, the browser's history. Any local user can see the listening port
//! and connect to it; only root can read loopback traffic.
//!
//! **The listener** is a single thread polling non-blocking sockets: it never waits on one
//! connection. Each connection has [`REQUEST_BUDGET`] to deliver its request head (a client
//! trickling bytes is dropped at that point, while others are served), at most [`MAX_CLIENTS`]
//! are held at once (the oldest is dropped for a newcomer), and `--timeout` (default 5 minutes)
//! is a hard deadline for the whole wait, whatever the connections do.
//!
//! **Which callbacks end the login.** Only a callback with this login's `state` counts; others
//! get an error page and waiting goes on. A matching callback with a code ends the wait: the
//! code is redeemed with the PKCE verifier, which never left this process. A matching callback
//! that reports an error (`access_denied`), names another issuer (RFC 9207 `iss`) or has no
//! code does *not* end the wait. Such a callback carries nothing but the `state` (the issuer
//! is public), so it proves nothing about who sent it; if the state leaked, ending on it would
//! let anyone on this machine cancel the login. vouch shows it on stderr at once, so a person
//! who cancelled can press Ctrl-C, keeps waiting for a success, and at the deadline reports
//! that error (its own exit code: 10 for a denial) instead of a bare timeout. Requiring a
//! matching `iss` would not help: it authenticates the provider's response to a client that
//! trusts the channel, not the sender.
//!
//! **`--paste`** is for a person on ssh whose provider has no device flow: vouch prints the URL,
//! listens on nothing, and reads from the terminal the address the browser was sent to (a page
//! that does not load, on the person's own machine). The same `state`, `iss` and PKCE checks
//! apply; here an error is final, since the person pasted it. It needs a terminal: without one
//! (or with `--no-input`) it is a usage error (exit 2). `--timeout` does not apply to it (the
//! person at the terminal can Ctrl-C).

use super::{Obtained, Request};
use crate::context::Context;
use crate::error::Error;
use crate::http;
use crate::oauth;
use crate::provider::Provider;
use crate::secret::{AuthorizationCode, CodeVerifier};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use url::Url;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The redirect URI when the profile names none: any free port on IPv4 loopback.
pub const DEFAULT_REDIRECT: &str = "http://127.0.0.1/callback";
/// How long one connection may take to send its request line and headers.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(3);
/// Connections served at once; a newcomer beyond this drops the oldest.
pub const MAX_CLIENTS: usize = 32;
/// The largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How often the listener looks at its sockets.
const TICK: Duration = Duration::from_millis(15);
/// The longest pasted redirect address read.
const MAX_PASTE: u64 = 16 * 1024;

/// The PKCE S256 challenge for a verifier: BASE64URL(SHA256(verifier)), no padding.
pub fn challenge(verifier: &CodeVerifier) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.expose_secret().as_bytes()))
}

/// The loopback host a redirect URI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loopback {
    V4,
    V6,
    /// `localhost`: both of the above, never a name lookup.
    Name,
}

/// A loopback redirect URI, checked: `http://127.0.0.1|[::1]|localhost[:PORT]/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// As the user wrote it: sent verbatim when it has a port, for exact-match providers.
    text: String,
    host: Loopback,
    port: Option<u16>,
    path: String,
}

impl Redirect {
    /// Check a redirect URI given by the user or the config file (usage error otherwise).
    pub fn parse(text: &str) -> Result<Redirect, Error> {
        let bad = |why: &str| {
            Error::usage(format!(
                "'{text}' cannot be the browser redirect: {why}; use http://127.0.0.1:PORT/PATH, \
                 http://[::1]:PORT/PATH or http://localhost:PORT/PATH, exactly as registered at the provider"
            ))
        };
        let url = Url::parse(text).map_err(|_| bad("it is not a URL"))?;
        if url.scheme() != "http" {
            return Err(bad("a loopback redirect is plain http (RFC 8252 §7.3)"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it holds a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it has a query or fragment"));
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) if ip == Ipv4Addr::LOCALHOST => Loopback::V4,
            Some(url::Host::Ipv6(ip)) if ip == Ipv6Addr::LOCALHOST => Loopback::V6,
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Loopback::Name,
            _ => return Err(bad("its host is not 127.0.0.1, [::1] or localhost")),
        };
        // `Url` hides a port equal to the scheme's default; an explicit `:80` is still fixed.
        let authority = text.split_once("://").map_or("", |(_, rest)| rest.split('/').next().unwrap_or(""));
        let port = url.port().or_else(|| authority.ends_with(":80").then_some(80));
        if port == Some(0) {
            return Err(bad("port 0 is not a port; leave the port out to use any free one"));
        }
        Ok(Redirect { text: text.to_string(), host, port, path: url.path().to_string() })
    }

    /// The same redirect with a fixed `port`.
    pub fn with_port(&self, port: u16) -> Result<Redirect, Error> {
        let host = match self.host {
            Loopback::V4 => "127.0.0.1",
            Loopback::V6 => "[::1]",
            Loopback::Name => "localhost",
        };
        Redirect::parse(&format!("http://{host}:{port}{}", self.path))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The redirect URI for a listener on `port`: the user's text when it fixes the port.
    fn uri_for(&self, port: u16) -> String {
        if self.port.is_some() {
            return self.text.clone();
        }
        let host = match self.host {
            Loopback::V4 => "127.0.0.1",
            Loopback::V6 => "[::1]",
            Loopback::Name => "localhost",
        };
        format!("http://{host}:{port}{}", self.path)
    }
}

/// The redirect URI a login saves in the profile: `--redirect-uri`, else the saved one, with
/// `--redirect-port` applied; `None` when neither flag nor profile names one.
pub fn settle_redirect(
    flag: Option<&str>,
    port: Option<u16>,
    saved: Option<&str>,
) -> Result<Option<String>, Error> {
    let Some(text) = flag.or(saved).or(port.map(|_| DEFAULT_REDIRECT)) else { return Ok(None) };
    let redirect = Redirect::parse(text)?;
    let redirect = match port {
        Some(port) => redirect.with_port(port)?,
        None => redirect,
    };
    Ok(Some(redirect.text))
}

pub fn run(ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    let provider = request.provider;
    let auth_url = provider.require(&provider.authorize, "authorization", "--auth-url")?.clone();
    let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();
    let redirect = Redirect::parse(request.redirect_uri.unwrap_or(DEFAULT_REDIRECT))?;
    if request.paste && (ctx.settings.no_input || !ctx.terminal.stdin) {
        return Err(Error::usage(
            "--paste reads the redirected address from a terminal, and there is none (or --no-input \
             forbids it); run it in an interactive session, or use the device flow (--device)",
        ));
    }

    // Listen before anything is sent, so a busy port fails before the person does anything.
    let (listeners, redirect_uri) = if request.paste {
        (Vec::new(), redirect.as_str().to_string())
    } else {
        let (listeners, port) = listen(&redirect)?;
        (listeners, redirect.uri_for(port))
    };

    // 32 random bytes give a 43-character verifier, the RFC 7636 minimum length.
    let verifier = CodeVerifier::new(oauth::random_token(32)?);
    let state = oauth::random_token(16)?;
    let nonce =
        request.scope.split(' ').any(|s| s == "openid").then(|| oauth::random_token(16)).transpose()?;

    let mut url = auth_url.clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &request.client.id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
        if !request.scope.is_empty() {
            query.append_pair("scope", request.scope);
        }
        if let Some(nonce) = &nonce {
            query.append_pair("nonce", nonce);
        }
        // OIDC Core §11: offline access needs `prompt=consent`, or the provider may drop it.
        if request.scope.split(' ').any(|s| s == "offline_access") {
            query.append_pair("prompt", "consent");
        }
    }
    let expect = Expect { state: &state, redirect_path: &redirect.path, provider };
    let code = if request.paste {
        let _ = writeln!(
            ctx.stderr,
            "To sign in to '{}', open this URL in a browser on any machine:\n  {url}\n\
             After you approve, the browser is sent to {redirect_uri}?..., a page that will not load. \
             Copy that page's whole address from the address bar and paste it here:",
            request.profile
        );
        let _ = ctx.stderr.flush();
        read_pasted(ctx, &expect)?
    } else {
        let _ =
            writeln!(ctx.stderr, "To sign in to '{}', open this URL in a browser:\n  {url}", request.profile);
        let _ = ctx.stderr.flush();
        // Held until the flow ends; dropping it removes the file.
        let launch = if request.no_open { None } else { Some(LaunchFile::create(ctx, &url)) };
        let _launch = match launch {
            None => None,
            Some(Ok(file)) => {
                (ctx.open_browser)(&file.path.display().to_string());
                Some(file)
            }
            Some(Err(e)) => {
                ctx.note(format_args!(
                    "Could not prepare a private page for the browser ({e}); open the URL above yourself."
                ));
                None
            }
        };
        wait_for_callback(ctx, &listeners, &expect, request.timeout.unwrap_or(DEFAULT_TIMEOUT))?
    };
    drop(listeners);

    let critical = ctx.interrupts().critical();
    let tokens = oauth::token_request(
        ctx,
        &token_url,
        request.client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", verifier.expose_secret()),
        ],
    )
    .map_err(|e| e.into_error(request.profile, &token_url, request.client))?;
    Ok(Obtained { tokens, client_secret: None, nonce, critical: Some(critical) })
}

/// Listen on the redirect's loopback address(es). Returns the listeners and their port.
fn listen(redirect: &Redirect) -> Result<(Vec<TcpListener>, u16), Error> {
    let v4 = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = |port| SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let wanted = redirect.port.unwrap_or(0);
    match redirect.host {
        Loopback::V4 => bind(v4(wanted)).map(|(l, port)| (vec![l], port)),
        Loopback::V6 => bind(v6(wanted)).map(|(l, port)| (vec![l], port)),
        Loopback::Name => {
            // A free port on 127.0.0.1 may be taken on [::1]: try a few.
            for _ in 0..8 {
                let (first, port) = bind(v4(wanted))?;
                match bind(v6(port)) {
                    Ok((second, _)) => return Ok((vec![first, second], port)),
                    Err(Error::PortInUse { .. }) if wanted == 0 => continue,
                    Err(err @ Error::PortInUse { .. }) => return Err(err),
                    // No IPv6 on this system: `localhost` can only mean 127.0.0.1 here.
                    Err(_) => return Ok((vec![first], port)),
                }
            }
            Err(Error::internal("no port was free on both 127.0.0.1 and [::1]"))
        }
    }
}

fn bind(addr: SocketAddr) -> Result<(TcpListener, u16), Error> {
    let listener = TcpListener::bind(addr).map_err(|e| match e.kind() {
        ErrorKind::AddrInUse => Error::PortInUse { address: addr.to_string() },
        ErrorKind::PermissionDenied => Error::usage(format!(
            "cannot listen on {addr} for the browser redirect (permission denied); ports below 1024 \
             need privileges: register a redirect URI with a higher port and pass it with --redirect-uri"
        )),
        _ => Error::internal(format!("cannot listen on {addr} for the browser redirect ({e})")),
    })?;
    let port = listener.local_addr().map_err(|e| Error::internal(format!("no local address ({e})")))?.port();
    listener.set_nonblocking(true).map_err(|e| Error::internal(format!("listener: {e}")))?;
    Ok((listener, port))
}

/// What a callback must match.
struct Expect<'a> {
    state: &'a str,
    redirect_path: &'a str,
    provider: &'a Provider,
}

/// What one request to the redirect said.
enum Callback {
    /// Another path (a browser's `/favicon.ico`).
    Elsewhere,
    /// Not this login's `state`: stale, or forged.
    WrongState,
    /// This login's code.
    Code(AuthorizationCode),
    /// This login's state, but no code: an error, another issuer, or nothing.
    Failed(Error),
}

/// Judge a redirect target (path and query) against this login.
fn judge(url: &Url, expect: &Expect<'_>) -> Callback {
    if url.path() != expect.redirect_path {
        return Callback::Elsewhere;
    }
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let returned_state = param("state").unwrap_or_default();
    if !constant_time_eq(returned_state.as_bytes(), expect.state.as_bytes()) {
        return Callback::WrongState;
    }
    let provider = expect.provider;
    // RFC 9207: when the provider names itself in the redirect, it must be our issuer; when it
    // advertises that it always does, a redirect without it is refused.
    let iss = param("iss");
    if iss.as_ref().is_some_and(|iss| *iss != provider.issuer)
        || (iss.is_none() && provider.iss_parameter_supported)
    {
        return Callback::Failed(Error::Protocol {
            endpoint: provider.issuer.clone(),
            reason: "the authorization response names another issuer (RFC 9207)".to_string(),
        });
    }
    if let Some(error) = param("error") {
        let code: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        let client = oauth::Client::public(&provider.issuer, "");
        let Ok(endpoint) = http::user_url(&provider.issuer) else {
            return Callback::Failed(Error::Denied { reason: format!("the provider answered {code}") });
        };
        return Callback::Failed(oauth::classify_oauth_error(
            &code,
            param("error_description"),
            "",
            &endpoint,
            &client,
        ));
    }
    match param("code").filter(|c| !c.is_empty()) {
        Some(code) => Callback::Code(AuthorizationCode::new(code)),
        None => Callback::Failed(Error::Protocol {
            endpoint: provider.issuer.clone(),
            reason: "the authorization response has neither code nor error".to_string(),
        }),
    }
}

/// One connection to the listener, while its request head arrives.
struct Client {
    stream: TcpStream,
    head: Vec<u8>,
    since: Instant,
}

/// Serve the loopback redirect until a callback with our `state` and a code arrives, or the
/// deadline passes.
fn wait_for_callback(
    ctx: &mut Context,
    listeners: &[TcpListener],
    expect: &Expect<'_>,
    timeout: Duration,
) -> Result<AuthorizationCode, Error> {
    let deadline = Instant::now().checked_add(timeout);
    let mut clients: Vec<Client> = Vec::new();
    let mut saw_wrong_state = false;
    let mut reported: Option<Error> = None;
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            if let Some(err) = reported {
                return Err(err);
            }
            let reason = if saw_wrong_state {
                "the only browser callback carried a state that does not match this login (stale or forged), \
                 and the real one did not come within --timeout"
            } else {
                "the browser did not come back within --timeout"
            };
            return Err(Error::Denied { reason: reason.to_string() });
        }
        for listener in listeners {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_err() {
                            continue;
                        }
                        if clients.len() >= MAX_CLIENTS {
                            let oldest = clients.remove(0);
                            let _ = oldest.stream.shutdown(std::net::Shutdown::Both);
                        }
                        clients.push(Client { stream, head: Vec::new(), since: now });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // A connection that went away before it was accepted, or a descriptor
                    // limit: neither ends the login.
                    Err(_) => break,
                }
            }
        }
        let mut index = 0;
        while index < clients.len() {
            match read_head(&mut clients[index]) {
                Head::Pending if now.duration_since(clients[index].since) < REQUEST_BUDGET => index += 1,
                Head::Pending | Head::Gone => {
                    let _ = clients.remove(index).stream.shutdown(std::net::Shutdown::Both);
                }
                Head::Complete(target) => {
                    let mut client = clients.remove(index);
                    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok();
                    let callback = url.map_or(Callback::Elsewhere, |url| judge(&url, expect));
                    match callback {
                        Callback::Elsewhere => respond(&mut client.stream, 404, "Not found."),
                        Callback::WrongState => {
                            // Not from this login: refuse it and keep waiting, so a stray
                            // request cannot cancel the login.
                            respond(
                                &mut client.stream,
                                400,
                                "This sign-in link does not match the one vouch started. Close this tab and \
                                 run vouch login again.",
                            );
                            saw_wrong_state = true;
                        }
                        Callback::Code(code) => {
                            respond(
                                &mut client.stream,
                                200,
                                "Authorization received. You can close this tab and return to the terminal.",
                            );
                            ctx.log(format_args!("browser: callback received on the loopback redirect"));
                            return Ok(code);
                        }
                        Callback::Failed(err) => {
                            respond(
                                &mut client.stream,
                                200,
                                "Sign-in was not completed. Return to the terminal: press Ctrl-C there to stop, \
                                 or open the sign-in link again.",
                            );
                            if reported.is_none() {
                                ctx.note(format_args!(
                                    "The browser came back without a sign-in: {err}\n\
                                     If you cancelled it, press Ctrl-C. Otherwise vouch keeps waiting for a \
                                     successful sign-in until the timeout, because anyone on this machine who \
                                     learned this login's state could send such a report."
                                ));
                            }
                            reported = Some(err);
                        }
                    }
                }
            }
        }
        std::thread::sleep(TICK);
    }
}

enum Head {
    Pending,
    Gone,
    /// The request target of a complete `GET` head.
    Complete(String),
}

/// Read what a client has sent so far, without waiting.
fn read_head(client: &mut Client) -> Head {
    let mut buf = [0u8; 2048];
    loop {
        match client.stream.read(&mut buf) {
            Ok(0) => return Head::Gone,
            Ok(n) => {
                client.head.extend_from_slice(&buf[..n]);
                if client.head.len() > MAX_HEAD {
                    return Head::Gone;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Head::Gone,
        }
    }
    let Some(end) = client.head.windows(4).position(|w| w == b"\r\n\r\n") else { return Head::Pending };
    let text = String::from_utf8_lossy(&client.head[..end]);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Head::Complete(target.to_string()),
        _ => Head::Gone,
    }
}

fn respond(stream: &mut TcpStream, status: u16, message: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>vouch</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><p>{message}</p></body></html>"
    );
    // A bounded, blocking write: the answer is small, and a client that does not read it
    // costs at most the write timeout.
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// `--paste`: read the address the browser was redirected to, and judge it.
fn read_pasted(ctx: &mut Context, expect: &Expect<'_>) -> Result<AuthorizationCode, Error> {
    let mut line = String::new();
    BufReader::new(ctx.stdin.by_ref().take(MAX_PASTE))
        .read_line(&mut line)
        .map_err(|e| Error::usage(format!("cannot read the pasted address ({e})")))?;
    let pasted = line.trim();
    if pasted.is_empty() {
        return Err(Error::usage(
            "nothing was pasted; run vouch login again and paste the redirected address",
        ));
    }
    let not_it = || {
        Error::usage(format!(
            "what was pasted is not the address the browser was sent back to (it starts with http://…{}?); \
             run vouch login again",
            expect.redirect_path
        ))
    };
    let url = if pasted.starts_with("http://") || pasted.starts_with("https://") {
        Url::parse(pasted).map_err(|_| not_it())?
    } else {
        let query = pasted.trim_start_matches('?');
        Url::parse(&format!("http://127.0.0.1{}?{query}", expect.redirect_path)).map_err(|_| not_it())?
    };
    match judge(&url, expect) {
        Callback::Elsewhere => Err(not_it()),
        Callback::WrongState => Err(Error::Denied {
            reason: "the pasted address carries a state that does not match this login (stale or forged)"
                .to_string(),
        }),
        Callback::Code(code) => Ok(code),
        Callback::Failed(err) => Err(err),
    }
}

/// A private page that sends the browser on to the authorization URL, so that the URL (and its
/// `state`) is not in the browser's argv. Removed, with its directory, on drop.
struct LaunchFile {
    dir: PathBuf,
    path: PathBuf,
}

impl LaunchFile {
    fn create(ctx: &Context, url: &Url) -> std::io::Result<LaunchFile> {
        let base = private_base(ctx);
        let name = oauth::random_token(12).map_err(|e| std::io::Error::other(e.to_string()))?;
        let dir = base.join(format!("vouch-sign-in-{name}"));
        create_fresh_private_dir(&dir)?;
        let file = LaunchFile { path: dir.join("sign-in.html"), dir };
        let target = html_escape(url.as_str());
        let page = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
             <meta http-equiv=\"refresh\" content=\"0;url={target}\"><title>vouch sign-in</title></head>\
             <body style=\"font-family:sans-serif;margin:3em\"><p><a href=\"{target}\">Continue to sign in</a></p>\
             </body></html>\n"
        );
        write_private_file(&file.path, page.as_bytes())?;
        Ok(file)
    }
}

impl Drop for LaunchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Where the launch page goes: `$XDG_RUNTIME_DIR` (per user, 0700), else the temp dir.
fn private_base(ctx: &Context) -> PathBuf {
    ["XDG_RUNTIME_DIR", "TMPDIR", "TEMP", "TMP"]
        .into_iter()
        .filter_map(|var| ctx.env.get(var))
        .map(PathBuf::from)
        .find(|p| p.is_absolute() && p.is_dir())
        .unwrap_or_else(|| PathBuf::from(if cfg!(windows) { "C:\\Windows\\Temp" } else { "/tmp" }))
}

/// Create `dir`, which must not exist yet, readable by this user only.
fn create_fresh_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge_matches_rfc7636_appendix_b() {
        let verifier = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(challenge(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn only_loopback_http_redirects_are_accepted() {
        for good in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8400/callback",
            "http://[::1]:8400/cb",
            "http://localhost:8400",
            "http://LOCALHOST/x/y",
        ] {
            assert!(Redirect::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "https://127.0.0.1:8400/callback",
            "http://0.0.0.0:8400/callback",
            "http://127.0.0.2:8400/callback",
            "http://localhost.example.com:8400/callback",
            "http://example.com/callback",
            "http://127.0.0.1:8400/callback?x=1",
            "http://127.0.0.1:8400/callback#f",
            "http://u:p@127.0.0.1:8400/callback",
            "http://127.0.0.1:0/callback",
            "127.0.0.1:8400",
        ] {
            let err = Redirect::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn fixed_ports_keep_the_text_and_free_ports_get_one() {
        let fixed = Redirect::parse("http://localhost:8400/callback").unwrap();
        assert_eq!(fixed.port, Some(8400));
        assert_eq!(fixed.uri_for(1234), "http://localhost:8400/callback");
        let free = Redirect::parse("http://[::1]/cb").unwrap();
        assert_eq!(free.port, None);
        assert_eq!(free.uri_for(1234), "http://[::1]:1234/cb");
        assert_eq!(Redirect::parse("http://127.0.0.1:80/cb").unwrap().port, Some(80));
    }

    #[test]
    fn the_redirect_port_applies_to_the_saved_or_default_uri() {
        assert_eq!(settle_redirect(None, None, None).unwrap(), None);
        assert_eq!(
            settle_redirect(None, Some(8400), None).unwrap().as_deref(),
            Some("http://127.0.0.1:8400/callback")
        );
        assert_eq!(
            settle_redirect(None, Some(9000), Some("http://localhost:8400/cb")).unwrap().as_deref(),
            Some("http://localhost:9000/cb")
        );
        assert_eq!(
            settle_redirect(Some("http://[::1]:1/x"), None, Some("http://localhost:8400/cb"))
                .unwrap()
                .as_deref(),
            Some("http://[::1]:1/x")
        );
        assert!(settle_redirect(Some("http://example.com/x"), None, None).is_err());
    }

    #[test]
    fn localhost_listens_on_loopback_only() {
        let (listeners, port) = listen(&Redirect::parse("http://localhost/cb").unwrap()).unwrap();
        assert!(port > 0);
        for listener in &listeners {
            let addr = listener.local_addr().unwrap();
            assert!(addr.ip().is_loopback(), "{addr}");
            assert_eq!(addr.port(), port);
        }
        assert!(listeners.iter().any(|l| l.local_addr().unwrap().is_ipv4()));
    }

    #[test]
    fn a_busy_fixed_port_is_a_usage_error() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = listen(&Redirect::parse(&format!("http://127.0.0.1:{port}/cb")).unwrap()).unwrap_err();
        assert!(matches!(err, Error::PortInUse { .. }), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
