//! Token endpoint answers and ID tokens (`vouch::oauth`).
//!
//! Input layout: the first two bytes are the HTTP status (big-endian, modulo 1000, so
//! `00 c8` is 200, `01 90` is 400, `01 f7` is 503); the rest is the response body. Inputs
//! shorter than two bytes are a 200 with that body.
//!
//! Each input drives:
//! - `oauth::parse_token_response` on that response, then on success the checks a flow makes
//!   (`check_id_token` on any ID token), on failure `GrantError::into_error` for a public and
//!   a confidential client and the error's message and exit code;
//! - `oauth::check_id_token` with the body as a whole token (when UTF-8), and with the body
//!   as the base64url payload of a JWT (so claim checks are reached without the fuzzer having
//!   to learn base64);
//! - the device authorization answer (RFC 8628 §3.2). Its parser is private, inline in
//!   `flows::device::run`; this mirrors what that function does with the public pieces it
//!   uses (`oauth_error`, `parse_expires_in`, `http::provider_url`, `flows::device::qr_code`).
//!
//! Properties (a panic is a finding): a successful parse has a non-empty access token of
//! visible ASCII, token type `Bearer` or `DPoP` (normalised), `expires_in` within 1 s..10 years, a scope without
//! control characters; every `Error` formats and has an exit code.

#![no_main]

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use url::Url;
use vouch::flows::device::qr_code;
use vouch::http::{self, Response};
use vouch::oauth::{self, Client, GrantError, IdTokenExpectations};
use vouch::secret::{ClientSecret, IdToken};
use zeroize::Zeroizing;

const ISSUER: &str = "https://issuer.example";
const CLIENT_ID: &str = "cli";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: u64 = 1_700_000_000;
const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;

fn expectations(nonce: bool) -> IdTokenExpectations<'static> {
    IdTokenExpectations { issuer: ISSUER, client_id: CLIENT_ID, nonce: nonce.then_some(NONCE), now: NOW }
}

fn id_token(token: &IdToken) {
    for nonce in [true, false] {
        match oauth::check_id_token(token, &expectations(nonce), "x") {
            Ok(claims) => {
                for text in [&claims.account, &claims.session].into_iter().flatten() {
                    assert!(
                        !text.is_empty() && !text.chars().any(char::is_control),
                        "claim shown raw: {text:?}"
                    );
                }
            }
            Err(err) => {
                assert_eq!(err.exit_code(), 9, "an ID token problem is a protocol error: {err}");
                let _ = err.to_string();
            }
        }
    }
}

fn error(err: vouch::Error) {
    let _ = err.to_string();
    let _ = err.exit_code();
    let _ = err.class();
}

/// What `flows::device::run` does with a device authorization answer.
fn device_authorization(response: &Response, endpoint: &Url) {
    if let Some(err) = oauth::oauth_error(response, &oauth::Redactor::default()) {
        error(err.into_error("p", endpoint, &Client::public("https://fuzz.example", CLIENT_ID)));
    }
    let _ = oauth::unexpected_status(response, endpoint).to_string();
    let Ok(Value::Object(auth)) = serde_json::from_slice::<Value>(&response.body) else { return };
    if let Some(Value::String(code)) = auth.get("user_code") {
        let shown: String = code.chars().filter(|c| !c.is_control()).take(64).collect();
        assert!(shown.chars().count() <= 64);
    }
    let from = http::redact(endpoint);
    let uri = auth.get("verification_uri").or_else(|| auth.get("verification_url"));
    if let Some(Value::String(uri)) = uri {
        match http::provider_url(uri, &from) {
            Ok(url) => assert!(http::is_allowed(&url)),
            Err(err) => error(err),
        }
    }
    if let Some(Value::String(complete)) = auth.get("verification_uri_complete")
        && let Ok(url) = http::provider_url(complete, &from)
        && url.as_str().len() <= 512
    {
        let qr = qr_code(url.as_str());
        let width = qr.lines().next().map_or(0, |l| l.chars().count());
        assert!(qr.lines().all(|l| l.chars().count() == width), "QR code rows differ in width");
    }
    for key in ["expires_in", "interval"] {
        if let Some(seconds) = auth.get(key).and_then(oauth::parse_expires_in) {
            assert!((1..=TEN_YEARS).contains(&seconds));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]) % 1000, rest),
        _ => (200, data),
    };
    let response =
        Response { status, body: Zeroizing::new(body.to_vec()), ..Response::default() };
    let url = Url::parse("https://issuer.example/oauth/token").unwrap();

    match oauth::parse_token_response(&response, &url, &oauth::Redactor::default()) {
        Ok(tokens) => {
            let at = tokens.access_token.expose_secret();
            assert!(
                !at.is_empty() && at.bytes().all(|b| b.is_ascii_graphic()),
                "access token accepted: {at:?}"
            );
            // Normalised: the two token types vouch uses (RFC 6750, RFC 9449), nothing else.
            assert!(tokens.token_type == "Bearer" || tokens.token_type == "DPoP", "{}", tokens.token_type);
            if let Some(seconds) = tokens.expires_in {
                assert!((1..=TEN_YEARS).contains(&seconds), "expires_in accepted: {seconds}");
            }
            if let Some(scope) = &tokens.scope {
                assert!(!scope.chars().any(char::is_control), "scope kept control characters: {scope:?}");
            }
            if let Some(rt) = &tokens.refresh_token {
                assert!(!rt.is_empty());
            }
            if let Some(token) = &tokens.id_token {
                assert!(!token.is_empty());
                id_token(token);
            }
        }
        Err(err) => {
            if let GrantError::OAuth { code, .. } = &err {
                assert!(!code.is_empty(), "an OAuth error with an empty code");
            }
            let public = Client::public("https://fuzz.example", CLIENT_ID);
            let confidential = Client { secret: Some(ClientSecret::new("s")), ..Client::public("https://fuzz.example", CLIENT_ID) };
            let again =
                oauth::parse_token_response(&response, &url, &oauth::Redactor::default()).err().unwrap();
            error(err.into_error("p", &url, &public));
            error(again.into_error("p", &url, &confidential));
        }
    }

    if let Ok(text) = std::str::from_utf8(body) {
        id_token(&IdToken::new(text));
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body);
    id_token(&IdToken::new(format!("eyJhbGciOiJub25lIn0.{payload}.c2ln")));

    device_authorization(&response, &Url::parse("https://issuer.example/oauth/device").unwrap());
});
