//! Provider metadata documents (`vouch::discovery::parse`), as fetched from
//! `https://issuer.example/.well-known/openid-configuration`.
//!
//! Properties (a panic is a finding): an accepted document names exactly the issuer asked
//! for and every endpoint it yields is https or loopback http; a refused one is a protocol
//! error (exit 9) whose message formats.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::discovery;
use vouch::http;

const ISSUER: &str = "https://issuer.example";

fuzz_target!(|data: &[u8]| {
    match discovery::parse(data, ISSUER, true, "x") {
        Ok(meta) => {
            assert_eq!(meta.issuer, ISSUER);
            assert!(meta.openid);
            let endpoints = [
                &meta.authorization_endpoint,
                &meta.token_endpoint,
                &meta.device_authorization_endpoint,
                &meta.userinfo_endpoint,
                &meta.revocation_endpoint,
            ];
            for url in endpoints.into_iter().flatten() {
                assert!(http::is_allowed(url), "discovery accepted an endpoint vouch must not use: {url}");
                let _ = http::redact(url);
            }
            let _ = vouch::oauth::choose_auth_method(&meta.token_endpoint_auth_methods_supported);
        }
        Err(err) => {
            assert_eq!(err.exit_code(), 9, "a bad discovery document is a protocol error: {err}");
            let _ = err.to_string();
        }
    }
});
