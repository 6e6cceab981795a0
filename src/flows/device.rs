//! Flow `--device`: OAuth 2.0 device authorization (RFC 8628).
//!
//! Asks the provider for a device code, shows the person where to go and what to type (on
//! stderr, with a QR code and a spinner only when stderr is a terminal), optionally opens the
//! browser, then polls the token endpoint at the provider's interval: `authorization_pending`
//! keeps polling, `slow_down` adds 5 s to the interval for the rest of the flow,
//! `access_denied` and `expired_token` end it (exit 10), as does running past `expires_in`
//! or `--timeout`.

use super::{Obtained, Request};
use crate::context::Context;
use crate::error::Error;
use crate::http;
use crate::oauth::{self, GrantError};
use crate::secret::DeviceCode;
use serde::Deserialize;
use std::io::Write;
use std::time::Duration;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 §3.5: the default polling interval.
const DEFAULT_INTERVAL: u64 = 5;

/// The longest polling interval vouch honours, and the longest a device code may live.
const MAX_INTERVAL: u64 = 60;
const MAX_EXPIRES_IN: u64 = 24 * 3600;

#[derive(Deserialize)]
struct Authorization {
    device_code: DeviceCode,
    user_code: String,
    verification_uri: Option<String>,
    /// Google's older name for `verification_uri`.
    verification_url: Option<String>,
    verification_uri_complete: Option<String>,
    /// Numbers, or numeric strings (Entra's v1 endpoint).
    expires_in: Option<serde_json::Value>,
    interval: Option<serde_json::Value>,
}

pub fn run(ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    let provider = request.provider;
    let device_url = provider.require(&provider.device, "device authorization", "--device-url")?.clone();
    let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();
    let client = request.client;
    let fail = |e: GrantError| e.into_error(request.profile, &device_url, client);

    let mut params = Vec::new();
    if !request.scope.is_empty() {
        params.push(("scope", request.scope));
    }
    let response = client.post(ctx, &device_url, &params)?;
    let redactor = oauth::Redactor::for_request(client, &params);
    if let Some(err) =
        oauth::oauth_error(&response, &redactor).filter(|_| response.status < 500 && response.status != 429)
    {
        return Err(fail(err));
    }
    if !response.is_success() {
        return Err(oauth::unexpected_status(&response, &device_url));
    }
    let malformed = |what: &str| Error::Protocol {
        endpoint: http::redact(&device_url),
        reason: format!("its device authorization response {what}"),
    };
    let auth: Authorization = serde_json::from_slice(&response.body)
        .map_err(|_| malformed("is not JSON with device_code and user_code strings"))?;
    let user_code: String =
        redactor.with(auth.device_code.expose_secret()).clean(&auth.user_code).chars().take(64).collect();
    let uri = auth
        .verification_uri
        .or(auth.verification_url)
        .ok_or_else(|| malformed("has no verification_uri"))?;
    let verification = http::provider_url(&uri, &http::redact(&device_url))?;
    let complete = auth
        .verification_uri_complete
        .as_deref()
        .and_then(|u| http::provider_url(u, &http::redact(&device_url)).ok());

    show(ctx, request.profile, verification.as_str(), &user_code, complete.as_ref().map(|u| u.as_str()));
    if !request.no_open {
        let target = complete.as_ref().unwrap_or(&verification).as_str().to_string();
        (ctx.open_browser)(&target);
    }

    let seconds = |v: &Option<serde_json::Value>| v.as_ref().and_then(oauth::parse_expires_in);
    let started = ctx.now();
    let expires_at = started.saturating_add(seconds(&auth.expires_in).unwrap_or(1800).min(MAX_EXPIRES_IN));
    let deadline = match request.timeout {
        Some(t) => expires_at.min(started.saturating_add(t.as_secs())),
        None => expires_at,
    };
    let mut interval = seconds(&auth.interval).unwrap_or(DEFAULT_INTERVAL).clamp(1, MAX_INTERVAL);
    let mut spin = 0usize;
    loop {
        let left = deadline.saturating_sub(ctx.now()).max(1);
        (ctx.sleep)(Duration::from_secs(interval.min(left)));
        let now = ctx.now();
        if now >= deadline {
            clear_progress(ctx);
            let reason = if now >= expires_at {
                "the device code expired before it was approved".to_string()
            } else {
                "it was not approved within --timeout".to_string()
            };
            return Err(Error::Denied { reason });
        }
        progress(ctx, &mut spin, deadline.saturating_sub(now));
        let critical = ctx.interrupts().critical();
        let polled = oauth::token_request(
            ctx,
            &token_url,
            client,
            &[("grant_type", GRANT_TYPE), ("device_code", auth.device_code.expose_secret())],
        );
        match polled {
            Ok(tokens) => {
                clear_progress(ctx);
                return Ok(Obtained { tokens, client_secret: None, nonce: None, critical: Some(critical) });
            }
            Err(GrantError::OAuth { code, .. }) if code == "authorization_pending" => {}
            Err(GrantError::OAuth { code, .. }) if code == "slow_down" => {
                interval = (interval + 5).min(MAX_INTERVAL);
                ctx.log(format_args!("device flow: slow_down, polling every {interval} s"));
            }
            // RFC 8628 §3.5: on a timeout or an unavailable server, back off and keep polling;
            // the person may already have approved.
            Err(GrantError::Failed(err) | GrantError::Lost(err) | GrantError::Unreachable(err))
                if err.exit_code() == crate::error::exit::UNAVAILABLE =>
            {
                interval = (interval * 2).min(MAX_INTERVAL);
                ctx.log(format_args!(
                    "device flow: {} while polling, retrying every {interval} s",
                    err.class()
                ));
            }
            Err(other) => {
                clear_progress(ctx);
                return Err(other.into_error(request.profile, &token_url, client));
            }
        }
        drop(critical);
        ctx.interrupts().check()?;
    }
}

/// Tell the person where to go and what to type. stderr only: stdout is for data.
fn show(ctx: &mut Context, profile: &str, uri: &str, code: &str, complete: Option<&str>) {
    let mut text = format!("To sign in to '{profile}', open {uri}\nand enter the code: {code}\n");
    if let Some(complete) = complete {
        text.push_str(&format!("(or open {complete})\n"));
        if ctx.terminal.stderr {
            text.push_str(&qr_code(complete));
        }
    }
    let _ = ctx.stderr.write_all(text.as_bytes());
    let _ = ctx.stderr.flush();
}

/// A spinner line on a terminal; nothing at all otherwise.
fn progress(ctx: &mut Context, spin: &mut usize, left: u64) {
    if ctx.terminal.stderr {
        const FRAMES: [char; 4] = ['|', '/', '-', '\\'];
        *spin = (*spin + 1) % FRAMES.len();
        let _ = write!(
            ctx.stderr,
            "\r{} Waiting for approval ({} left, Ctrl-C to cancel) ",
            FRAMES[*spin],
            crate::commands::human_duration(left as i64)
        );
        let _ = ctx.stderr.flush();
    }
}

fn clear_progress(ctx: &mut Context) {
    if ctx.terminal.stderr {
        let _ = write!(ctx.stderr, "\r\x1b[2K");
    }
}

/// A QR code of `text` drawn with half-block characters, two modules per character cell.
pub fn qr_code(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let Ok(qr) = QrCode::encode_text(text, QrCodeEcc::Low) else { return String::new() };
    let size = qr.size();
    let dark = |x: i32, y: i32| (0..size).contains(&x) && (0..size).contains(&y) && qr.get_module(x, y);
    let mut out = String::new();
    // A quiet zone of 2 modules around the code; light-on-dark terminals read it inverted,
    // which phone scanners accept.
    let mut y = -2;
    while y < size + 2 {
        for x in -2..size + 2 {
            out.push(match (dark(x, y), dark(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '▄',
                (false, true) => '▀',
                (false, false) => '█',
            });
        }
        out.push('\n');
        y += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_are_square_blocks() {
        let qr = super::qr_code("https://idp.example/activate?user_code=ABCD-EFGH");
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 10);
        let width = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!((width as i32 - 2 * lines.len() as i32).abs() <= 2);
    }
}
