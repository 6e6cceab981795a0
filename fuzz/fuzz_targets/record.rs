//! The stored credential record (`vouch::record::Record::decode` / `encode`).
//!
//! Properties (a panic is a finding):
//! - a decoded record has a non-empty access token, and re-encoding it decodes again to the
//!   same generation, tokens and fields;
//! - errors never quote the input (`record` promises that: a corrupt record may hold secret
//!   bytes): when the input contains the marker `LEAKCANARY`, the error must not;
//! - `Debug` of a record does not show its access token; `can_refresh` and `expires_in`
//!   never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::record::Record;

const CANARY: &[u8] = b"LEAKCANARY";
const NOW: u64 = 1_700_000_000;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    match Record::decode(data) {
        Ok(record) => {
            assert!(!record.access_token.is_empty(), "decoded a record with an empty access token");
            let encoded = record.encode();
            let back = Record::decode(&encoded).unwrap_or_else(|e| {
                panic!(
                    "re-encoded record does not decode: {e}; encoded {:?}",
                    String::from_utf8_lossy(&encoded)
                )
            });
            assert_eq!(back.generation, record.generation);
            assert!(back.access_token.same_as(&record.access_token), "access token changed");
            assert_eq!(back.token_type, record.token_type);
            assert_eq!(back.expires_at, record.expires_at);
            assert_eq!(back.refresh_expires_at, record.refresh_expires_at);
            assert_eq!(back.scope, record.scope);
            assert_eq!(back.account, record.account);
            assert_eq!(back.session, record.session);
            assert_eq!(back.reauth_required, record.reauth_required);
            match (&back.refresh_token, &record.refresh_token) {
                (Some(a), Some(b)) => assert!(a.same_as(b), "refresh token changed"),
                (None, None) => {}
                _ => panic!("refresh token appeared or vanished"),
            }
            match (&back.client_secret, &record.client_secret) {
                (Some(a), Some(b)) => assert!(a.same_as(b), "client secret changed"),
                (None, None) => {}
                _ => panic!("client secret appeared or vanished"),
            }
            // Debug output is redacted.
            let shown = format!("{record:?}");
            let shown_fields = [
                Some(&record.token_type),
                record.scope.as_ref(),
                record.account.as_ref(),
                record.session.as_ref(),
            ];
            let canary_only_in_secrets =
                !shown_fields.into_iter().flatten().any(|f| contains(f.as_bytes(), CANARY));
            if canary_only_in_secrets && contains(record.access_token.expose_secret().as_bytes(), CANARY) {
                assert!(!contains(shown.as_bytes(), CANARY), "Debug of a record shows its access token");
            }
            let _ = record.can_refresh(NOW);
            // (Finding F2, fixed: `expires_in` once overflowed for expires_at >= 2^63.)
            let _ = record.expires_in(NOW);
        }
        Err(err) => {
            if contains(data, CANARY) {
                assert!(!err.contains("LEAKCANARY"), "a decode error quotes the input: {err}");
            }
        }
    }
});
