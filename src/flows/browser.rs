//! Flow `--browser`: authorization code with PKCE (RFC 7636) through the system browser, and
//! a loopback redirect (RFC 8252 §7.3).
//!
//! vouch listens on `127.0.0.1` on an ephemeral port with redirect URI
//! `http://127.0.0.1:PORT/callback`, sends a fresh S256 challenge, a random `state` and (for
//! OpenID Connect) a `nonce`, prints the authorization URL on stderr (so it works over ssh)
//! and opens the browser unless `--no-open`. It accepts exactly one callback with the right
//! `state`: a callback with another state ends the flow, because it did not come from this
//! authorization request. Other paths (a browser's `/favicon.ico`) get a 404 and waiting goes
//! on, up to `--timeout` (default 5 minutes).

use super::{Obtained, Request};
use crate::context::Context;
use crate::error::Error;
use crate::http;
use crate::oauth;
use crate::secret::{AuthorizationCode, CodeVerifier};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use url::Url;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The PKCE S256 challenge for a verifier: BASE64URL(SHA256(verifier)), no padding.
pub fn challenge(verifier: &CodeVerifier) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.expose_secret().as_bytes()))
}

pub fn run(ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    let provider = request.provider;
    let auth_url = provider.require(&provider.authorize, "authorization", "--auth-url")?.clone();
    let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();

    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Error::internal(format!("cannot listen on 127.0.0.1 for the browser redirect ({e})")))?;
    let port = listener.local_addr().map_err(|e| Error::internal(format!("no local address ({e})")))?.port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");

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
    let _ = writeln!(ctx.stderr, "To sign in to '{}', open this URL in a browser:\n  {url}", request.profile);
    let _ = ctx.stderr.flush();
    if !request.no_open {
        (ctx.open_browser)(url.as_str());
    }

    let code =
        wait_for_callback(ctx, &listener, &state, provider, request.timeout.unwrap_or(DEFAULT_TIMEOUT))?;
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

/// Serve the loopback redirect until the one callback with our `state` arrives.
fn wait_for_callback(
    ctx: &mut Context,
    listener: &TcpListener,
    state: &str,
    provider: &crate::provider::Provider,
    timeout: Duration,
) -> Result<AuthorizationCode, Error> {
    listener.set_nonblocking(true).map_err(|e| Error::internal(format!("listener: {e}")))?;
    let deadline = Instant::now().checked_add(timeout);
    let mut saw_wrong_state = false;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let reason = if saw_wrong_state {
                "the only browser callback carried a state that does not match this login (stale or forged), \
                 and the real one did not come within --timeout"
            } else {
                "the browser did not come back within --timeout"
            };
            return Err(Error::Denied { reason: reason.to_string() });
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(25));
                continue;
            }
            Err(e) => return Err(Error::internal(format!("the redirect listener failed ({e})"))),
        };
        if let Some(outcome) = handle(stream, state, provider, &mut saw_wrong_state) {
            ctx.log(format_args!("browser: callback received on the loopback redirect"));
            return outcome;
        }
    }
}

/// One request to the loopback listener. `None` means "not the callback, keep waiting".
fn handle(
    mut stream: TcpStream,
    state: &str,
    provider: &crate::provider::Provider,
    saw_wrong_state: &mut bool,
) -> Option<Result<AuthorizationCode, Error>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    reader.by_ref().take(8192).read_line(&mut line).ok()?;
    // Drain the headers so the browser sees a clean response.
    let mut header = String::new();
    while reader.by_ref().take(8192).read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/");
    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    if url.path() != "/callback" {
        respond(&mut stream, 404, "Not found.");
        return None;
    }
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let returned_state = param("state").unwrap_or_default();
    if !constant_time_eq(returned_state.as_bytes(), state.as_bytes()) {
        // Not from this login (stale, or forged by whoever found the port): refuse it, and
        // keep waiting for the real one, so a stray request cannot cancel the login.
        respond(
            &mut stream,
            400,
            "This sign-in link does not match the one vouch started. Close this tab and run vouch login again.",
        );
        *saw_wrong_state = true;
        return None;
    }
    // RFC 9207: when the provider names itself in the redirect, it must be our issuer; when it
    // advertises that it always does, a redirect without it is refused.
    let iss = param("iss");
    if iss.as_ref().is_some_and(|iss| *iss != provider.issuer)
        || (iss.is_none() && provider.iss_parameter_supported)
    {
        respond(&mut stream, 400, "This sign-in came from an unexpected provider. Close this tab.");
        return Some(Err(Error::Protocol {
            endpoint: provider.issuer.clone(),
            reason: "the authorization response names another issuer (RFC 9207)".to_string(),
        }));
    }
    if let Some(error) = param("error") {
        respond(&mut stream, 200, "Sign-in was not completed. You can close this tab.");
        let code: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        let client = oauth::Client::public(&provider.issuer, "");
        let endpoint = http::user_url(&provider.issuer).ok()?;
        return Some(Err(oauth::classify_oauth_error(
            &code,
            param("error_description"),
            "",
            &endpoint,
            &client,
        )));
    }
    match param("code").filter(|c| !c.is_empty()) {
        Some(code) => {
            respond(
                &mut stream,
                200,
                "Authorization received. You can close this tab and return to the terminal.",
            );
            Some(Ok(AuthorizationCode::new(code)))
        }
        None => {
            respond(&mut stream, 400, "The sign-in response has no code. Close this tab and try again.");
            Some(Err(Error::Protocol {
                endpoint: provider.issuer.clone(),
                reason: "the authorization response has neither code nor error".to_string(),
            }))
        }
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
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
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
}
