//! Revocation the provider refuses for good (issue 11 item 3): a provider that wants client
//! authentication at `/revoke` answers a public client 401, with or without a JSON error.
//! `rotate` must finish (warning, fallback deleted) and stay usable; `logout` words it the
//! same way. Transient failures keep the fallback (see `lifecycle::rotate_with_a_failing_*`).

use crate::support::fake_provider::{self, FakeProvider, RevocationAuth};
use crate::support::in_process::{Harness, now};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vouch::Error;
use vouch::store::StoreKind;

const STAYS_VALID: &str = "it stays valid at the provider until it expires";

fn refusing(auth: RevocationAuth) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(fake_provider::Config {
        rotate_refresh_tokens: false,
        revocation_auth: auth,
        ..Default::default()
    }))
}

/// A signed-in public-client profile `p`; returns its refresh token.
fn session(p: &FakeProvider, h: &Harness) -> String {
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": (now() as i64 + 3600),"refresh_token":refresh,"account":"alice"}),
    );
    refresh
}

fn approving(p: &Arc<FakeProvider>) -> Box<dyn FnMut(Duration)> {
    let p = p.clone();
    Box::new(move |d| {
        for code in p.pending_user_codes() {
            p.approve_device(&code);
        }
        std::thread::sleep(d.min(Duration::from_millis(1100)));
    })
}

fn refresh_token(h: &Harness) -> String {
    h.stored("p").expect("a stored credential")["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

/// `vouch rotate p`, approving the sign-in: its exit code and what it alone wrote to stderr.
fn rotate(h: &Harness, p: &Arc<FakeProvider>) -> (u8, String) {
    let before = h.stderr.text().len();
    let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| ctx.sleep = approving(p));
    (code, h.stderr.text()[before..].to_string())
}

#[test]
fn rotate_finishes_when_the_provider_refuses_revocation_for_good() {
    for auth in [RevocationAuth::RequiredJson, RevocationAuth::RequiredBare] {
        let p = refusing(auth);
        let h = Harness::new(StoreKind::Mock);
        let old = session(&p, &h);

        let (code, stderr) = rotate(&h, &p);
        assert_eq!(code, 0, "{auth:?}: {stderr}");
        assert!(
            stderr.contains("warning: the provider refused to revoke the previous credential of 'p'")
                && stderr.contains(STAYS_VALID),
            "{auth:?}: {stderr}"
        );
        assert!(stderr.contains("HTTP 401"), "{auth:?}: the reason is not shown: {stderr}");
        assert!(!stderr.contains("the old one was revoked"), "{auth:?}: claims a revocation: {stderr}");
        // The provider really did refuse (the warning tells the truth) ...
        assert_eq!(p.requests_to("/revoke").len(), 1, "{auth:?}");
        assert!(p.is_refresh_token_active(&old), "{auth:?}");
        // ... and the rotation is over: the new grant is current, no fallback is left.
        let first = refresh_token(&h);
        assert_ne!(first, old, "{auth:?}");
        assert!(h.stored("p#previous").is_none(), "{auth:?}: the previous entry stayed in the store");
        assert_eq!(h.run(&["status", "p", "--json"], ""), 0);
        assert!(h.stdout.text().contains("\"rotation_pending\": false"), "{auth:?}: {}", h.stdout.text());

        // A second rotation works the same way.
        let (code, stderr) = rotate(&h, &p);
        assert_eq!(code, 0, "{auth:?}: {stderr}");
        assert!(stderr.contains(STAYS_VALID), "{auth:?}: {stderr}");
        let second = refresh_token(&h);
        assert_ne!(second, first, "{auth:?}: the second rotate did not replace the grant");
        assert!(p.is_refresh_token_active(&second), "{auth:?}");
        assert!(h.stored("p#previous").is_none(), "{auth:?}");
        assert_eq!(p.requests_to("/revoke").len(), 2, "{auth:?}");
    }
}

#[test]
fn an_interrupted_rotation_finishes_when_the_revocation_is_refused() {
    let p = refusing(RevocationAuth::RequiredJson);
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h);
    let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| {
        ctx.sleep = approving(&p);
        ctx.checkpoint = Box::new(|at| {
            if at == "rotate:new-stored" { Err(Error::internal("simulated death")) } else { Ok(()) }
        });
    });
    assert_eq!(code, 1, "{}", h.stderr.text());
    assert!(h.stored("p#previous").is_some());
    let current = refresh_token(&h);

    // The next run finishes it without another sign-in.
    let (code, stderr) = rotate(&h, &p);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Finished the interrupted rotation of 'p' without revoking"), "{stderr}");
    assert!(stderr.contains(STAYS_VALID), "{stderr}");
    assert!(h.stored("p#previous").is_none());
    assert_eq!(refresh_token(&h), current, "finishing must not replace the current credential");
}

#[test]
fn logout_words_a_refused_revocation_the_same_way() {
    for auth in [RevocationAuth::RequiredJson, RevocationAuth::RequiredBare] {
        let p = refusing(auth);
        let h = Harness::new(StoreKind::Mock);
        let old = session(&p, &h);
        assert_eq!(h.run(&["logout", "p"], ""), 0, "{auth:?}: {}", h.stderr.text());
        let stderr = h.stderr.text();
        assert!(
            stderr.contains("warning: the provider refused to revoke the credential of 'p'")
                && stderr.contains(STAYS_VALID),
            "{auth:?}: {stderr}"
        );
        assert!(stderr.contains("Signed out of 'p'"), "{auth:?}: {stderr}");
        assert!(h.stored("p").is_none(), "{auth:?}: the credential stayed in the store");
        // Both tokens were offered; the refusal of one did not skip the other.
        assert_eq!(p.requests_to("/revoke").len(), 2, "{auth:?}");
        assert!(p.is_refresh_token_active(&old), "{auth:?}");
    }
}
