//! The token lifecycle in-process: refresh and rotation against the fake provider with
//! refresh-token rotation and reuse detection, invalid_grant, transient failures, revocation
//! at logout, and rotate interrupted at every step boundary.

use crate::support::fake_provider::{self, FakeProvider, Fault};
use crate::support::in_process::{Harness, now};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vouch::Error;
use vouch::store::StoreKind;

/// A signed-in profile `p` whose access token expires in `ttl` seconds (negative: expired).
fn session(p: &FakeProvider, h: &Harness, ttl: i64) -> (String, String) {
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": (now() as i64 + ttl),"refresh_token":refresh,"account":"alice"}),
    );
    (access, refresh)
}

fn provider(config: fake_provider::Config) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(config))
}

fn refresh_grants(p: &FakeProvider) -> Vec<String> {
    p.token_requests("refresh_token").iter().filter_map(|r| r.form_value("refresh_token")).collect()
}

#[test]
fn refresh_rotates_the_refresh_token_in_one_write() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (old_access, old_refresh) = session(&p, &h, 3600);
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    let record = h.stored("p").unwrap();
    assert_eq!(record["generation"], 2);
    assert_ne!(record["access_token"], old_access);
    let new_refresh = record["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert!(p.is_refresh_token_active(new_refresh) && !p.is_refresh_token_active(&old_refresh));
    assert_eq!(refresh_grants(&p), vec![old_refresh]);
    assert!(!p.family_revoked_by_reuse());
    assert_eq!(record["account"], "alice", "what refresh does not change is kept");
}

#[test]
fn a_provider_that_does_not_rotate_leaves_the_refresh_token_in_place() {
    let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let (_, old_refresh) = session(&p, &h, 3600);
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    assert_eq!(h.stored("p").unwrap()["refresh_token"], old_refresh);
}

#[test]
fn token_refreshes_just_in_time_and_honours_min_ttl() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h, 30); // inside the default 60 s margin
    assert_eq!(h.run(&["token", "p"], ""), 0, "{}", h.stderr.text());
    let fresh = h.stored("p").unwrap()["access_token"].as_str().unwrap().to_string();
    assert_eq!(h.stdout.text(), format!("{fresh}\n"), "prints the refreshed token");
    assert_eq!(refresh_grants(&p).len(), 1);
    // Valid for an hour now: a plain `token` does not refresh, --min-ttl 7200 does.
    assert_eq!(h.run(&["token", "p"], ""), 0);
    assert_eq!(refresh_grants(&p).len(), 1);
    assert_eq!(h.run(&["token", "p", "--min-ttl", "7200"], ""), 0);
    assert_eq!(refresh_grants(&p).len(), 2);
}

#[test]
fn client_credentials_profiles_mint_instead_of_refreshing() {
    let p = provider(fake_provider::Config::default());
    p.register_client("svc", Some("s3cret"));
    let h = Harness::new(StoreKind::Mock);
    let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
    assert_eq!(h.run(&args, "s3cret"), 0, "{}", h.stderr.text());
    assert_eq!(h.run(&["token", "ci", "--min-ttl", "7200"], ""), 0, "{}", h.stderr.text());
    assert_eq!(p.token_requests("client_credentials").len(), 2);
    assert_eq!(h.stored("ci").unwrap()["generation"], 2);
}

#[test]
fn a_dead_refresh_token_is_exit_4_reauth_required_and_never_retried() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (_, refresh) = session(&p, &h, -10);
    // The grant is revoked behind vouch's back (an admin, a password change).
    p.set_fault("/token", Fault::status(400, r#"{"error":"invalid_grant"}"#), None);
    assert_eq!(h.run(&["token", "p"], ""), 4, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("vouch login p"), "{}", h.stderr.text());
    let record = h.stored("p").unwrap();
    assert_eq!(record["reauth_required"], true);
    assert_eq!(record["refresh_token"], refresh, "the record is kept, only marked");
    assert_eq!(h.run(&["status", "p", "--json"], ""), 3);
    assert!(h.stdout.text().contains("\"state\": \"reauth-required\""), "{}", h.stdout.text());
    // Not sent again, by any command.
    assert_eq!(h.run(&["token", "p"], ""), 4);
    assert_eq!(h.run(&["refresh", "p"], ""), 4);
    assert_eq!(refresh_grants(&p).len(), 1, "a refresh token the provider refused was sent again");
}

#[test]
fn a_token_rotated_by_another_process_is_used_not_refreshed_again() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (_, old_refresh) = session(&p, &h, -10);
    // Another process refreshes between this one's read and its taking the lock.
    let (newer_access, newer_refresh) = p.issue_grant("alice", "openid");
    let backend = h.backend.clone();
    let seeded = json!({"version":2,"generation":2,"issuer":p.issuer(),"client_id":"cli",
                        "access_token":newer_access,"token_type":"Bearer",
                        "expires_at": now() + 3600,"refresh_token":newer_refresh});
    let entry = h.entry("p");
    let code = h.run_with(&["token", "p"], "", move |ctx| {
        ctx.checkpoint = Box::new(move |step| {
            if step == "refresh:before-lock" {
                use keyring_core::api::CredentialStoreApi;
                let entry = backend.build(vouch::store::SERVICE, &entry, None).unwrap();
                entry.set_secret(seeded.to_string().as_bytes()).unwrap();
            }
            Ok(())
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(h.stdout.text(), format!("{newer_access}\n"));
    assert!(refresh_grants(&p).is_empty(), "refreshed although another process already had");
    assert!(p.is_refresh_token_active(&old_refresh), "the old token was not sent either");
}

#[test]
fn transient_failures_leave_the_record_untouched() {
    // The provider answered, and did not act on the grant: the token is still fresh.
    for fault in [Fault::status(503, "{}"), Fault::status(429, "")] {
        let p = provider(fake_provider::Config::default());
        let h = Harness::new(StoreKind::Mock);
        session(&p, &h, -10);
        let before = h.stored("p").unwrap();
        p.set_fault("/token", fault.clone(), None);
        let code = h.run_with(&["token", "p"], "", |ctx| ctx.settings.http_timeout = Duration::from_secs(1));
        assert_eq!(code, 5, "{fault:?}: {}", h.stderr.text());
        assert_eq!(h.stored("p").unwrap(), before, "{fault:?} changed the record");
        assert!(h.stderr.text().contains("retry later"), "{fault:?}: {}", h.stderr.text());
        assert_eq!(refresh_grants(&p).len(), 1, "{fault:?}: retried automatically");
        p.clear_faults();
        assert_eq!(h.run(&["token", "p"], ""), 0, "{fault:?}: the session was lost: {}", h.stderr.text());
        assert_eq!(refresh_grants(&p).len(), 2);
        assert!(!p.family_revoked_by_reuse());
    }
}

#[test]
fn a_lost_answer_spends_the_refresh_token_of_a_rotating_or_unknown_provider() {
    // The provider received the request (and consumed the token) but the answer never came.
    for fault in [Fault::Reset, Fault::Stall] {
        let p = provider(fake_provider::Config::default());
        let h = Harness::new(StoreKind::Mock);
        let (_, refresh) = session(&p, &h, -10);
        p.set_fault("/token", fault.clone(), None);
        let code = h.run_with(&["token", "p"], "", |ctx| ctx.settings.http_timeout = Duration::from_secs(1));
        assert_eq!(code, 4, "{fault:?}: {}", h.stderr.text());
        assert!(
            h.stderr.text().contains("answer to the last refresh was lost"),
            "{fault:?}: {}",
            h.stderr.text()
        );
        assert!(h.stderr.text().contains("vouch login p"), "{fault:?}: {}", h.stderr.text());
        let stored = h.stored("p").unwrap();
        assert_eq!(stored["refresh_spent"], "lost", "{fault:?}");
        assert_eq!(stored["refresh_token"], refresh.as_str(), "{fault:?}");
        p.clear_faults();
        for args in [&["token", "p"][..], &["refresh", "p"], &["token", "p", "--min-ttl", "0"]] {
            assert_eq!(h.run(args, ""), 4, "{fault:?} {args:?}: {}", h.stderr.text());
        }
        assert_eq!(refresh_grants(&p), vec![refresh], "{fault:?}: the spent token was sent again");
        assert!(!p.family_revoked_by_reuse());
        h.stdout.clear();
        assert_eq!(h.run(&["status", "p", "--json"], ""), 3);
        assert!(h.stdout.text().contains("\"refresh_spent\": \"lost\""), "{}", h.stdout.text());
    }
}

#[test]
fn a_lost_answer_leaves_a_valid_access_token_usable_until_it_expires() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (access, _) = session(&p, &h, 600);
    p.set_fault("/token", Fault::Reset, None);
    // Asked for a token valid an hour: the refresh is lost, the current token is handed out.
    assert_eq!(h.run(&["token", "p", "--min-ttl", "3600"], ""), 0, "{}", h.stderr.text());
    assert_eq!(h.stdout.text(), format!("{access}\n"));
    assert!(h.stderr.text().contains("works until it expires"), "{}", h.stderr.text());
    p.clear_faults();
    assert_eq!(h.run(&["token", "p", "--min-ttl", "3600"], ""), 0);
    assert_eq!(refresh_grants(&p).len(), 1, "the spent token was sent again");
    // An explicit refresh says it cannot.
    assert_eq!(h.run(&["refresh", "p"], ""), 4);
}

#[test]
fn a_lost_answer_costs_nothing_with_a_provider_that_keeps_refresh_tokens() {
    let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let (_, refresh) = session(&p, &h, -10);
    // One answered refresh teaches vouch that this provider keeps its refresh tokens.
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    assert_eq!(h.stored("p").unwrap()["rotation"], "keeps");
    for fault in [Fault::Reset, Fault::Stall] {
        p.set_fault("/token", fault.clone(), None);
        let code =
            h.run_with(&["refresh", "p"], "", |ctx| ctx.settings.http_timeout = Duration::from_secs(1));
        assert_eq!(code, 5, "{fault:?}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("tries again"), "{fault:?}: {}", h.stderr.text());
        assert!(h.stored("p").unwrap().get("refresh_spent").is_none(), "{fault:?}: spent needlessly");
        p.clear_faults();
        assert_eq!(h.run(&["refresh", "p"], ""), 0, "{fault:?}: the session was lost: {}", h.stderr.text());
    }
    assert!(refresh_grants(&p).iter().all(|t| *t == refresh));
    assert!(p.is_refresh_token_active(&refresh));
}

#[test]
fn logout_revokes_both_tokens_then_deletes() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (access, refresh) = session(&p, &h, 3600);
    assert_eq!(h.run(&["logout", "p"], ""), 0, "{}", h.stderr.text());
    let revocations = p.requests_to("/revoke");
    assert_eq!(revocations.len(), 2);
    assert_eq!(revocations[0].form_value("token"), Some(refresh.clone()));
    assert_eq!(revocations[0].form_value("token_type_hint").as_deref(), Some("refresh_token"));
    assert_eq!(revocations[1].form_value("token"), Some(access.clone()));
    assert_eq!(revocations[1].form_value("token_type_hint").as_deref(), Some("access_token"));
    assert!(!p.is_refresh_token_active(&refresh) && !p.is_access_token_active(&access));
    assert!(h.stored("p").is_none());
}

#[test]
fn logout_offline_warns_and_still_deletes() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h, 3600);
    drop(p);
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    assert!(h.stderr.text().contains("stays valid"), "{}", h.stderr.text());
    assert!(h.stored("p").is_none());
}

#[test]
fn a_confidential_client_authenticates_its_revocation() {
    let p = provider(fake_provider::Config::default());
    p.register_client("svc", Some("s3cret"));
    let h = Harness::new(StoreKind::Mock);
    let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
    assert_eq!(h.run(&args, "s3cret"), 0);
    assert_eq!(h.run(&["logout", "ci"], ""), 0, "{}", h.stderr.text());
    let revocation = &p.requests_to("/revoke")[0];
    assert_eq!(revocation.basic_auth(), Some(("svc".to_string(), "s3cret".to_string())));
    assert!(p.revoked().contains(&revocation.form_value("token").unwrap()));
}

#[test]
fn rotate_with_a_rotating_provider_retires_the_old_refresh_token() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let (_, old) = session(&p, &h, 3600);
    assert_eq!(h.run(&["rotate", "p"], ""), 0, "{}", h.stderr.text());
    let new = h.stored("p").unwrap()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(!p.is_refresh_token_active(&old) && p.is_refresh_token_active(&new));
    assert!(!p.family_revoked_by_reuse());
    assert!(p.requests_to("/revoke").is_empty(), "a consumed refresh token was sent again to be revoked");
    assert!(h.stored("p#previous").is_none());
}

/// A sleep hook that approves every pending device code: the person at the browser.
fn approving(p: &Arc<FakeProvider>) -> Box<dyn FnMut(Duration)> {
    let p = p.clone();
    Box::new(move |d| {
        for code in p.pending_user_codes() {
            p.approve_device(&code);
        }
        std::thread::sleep(d.min(Duration::from_millis(1100)));
    })
}

#[test]
fn rotate_with_a_non_rotating_provider_replaces_the_grant() {
    let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let (_, old) = session(&p, &h, 3600);
    assert_eq!(h.run(&["rotate", "p", "--no-input"], ""), 2, "--no-input refuses the interactive sign-in");
    assert!(h.stored("p#previous").is_none());
    let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| ctx.sleep = approving(&p));
    assert_eq!(code, 0, "{}", h.stderr.text());
    let new = h.stored("p").unwrap()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(p.is_refresh_token_active(&new));
    assert!(!p.is_refresh_token_active(&old), "the old grant is still active");
    assert!(p.revoked().contains(&old));
    assert!(h.stored("p#previous").is_none());
}

#[test]
fn rotate_interrupted_at_every_step_recovers() {
    for step in
        ["rotate:fallback-stored", "rotate:new-grant-obtained", "rotate:new-stored", "rotate:old-revoked"]
    {
        let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
        let h = Harness::new(StoreKind::Mock);
        let (_, old) = session(&p, &h, 3600);
        let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| {
            ctx.sleep = approving(&p);
            ctx.checkpoint = Box::new(move |at| {
                if at == step { Err(Error::internal(format!("simulated death at {at}"))) } else { Ok(()) }
            });
        });
        assert_eq!(code, 1, "{step}: {}", h.stderr.text());

        // A later command still finds a usable credential.
        assert_eq!(h.run(&["token", "p"], ""), 0, "{step}: {}", h.stderr.text());
        let handed_out = h.stdout.text().lines().last().unwrap().to_string();
        assert!(p.is_access_token_active(&handed_out), "{step}: token handed out a dead token");
        assert_eq!(h.run(&["status", "p", "--json"], ""), 0);
        assert!(
            h.stdout.text().contains("\"rotation_pending\": true"),
            "{step}: status hides the unfinished rotation"
        );

        // Running rotate again completes it.
        let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| ctx.sleep = approving(&p));
        assert_eq!(code, 0, "{step}: {}", h.stderr.text());
        let current = h.stored("p").unwrap()["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(current, old, "{step}");
        assert!(p.is_refresh_token_active(&current), "{step}");
        assert!(!p.is_refresh_token_active(&old), "{step}: the old grant survived the rotation");
        assert!(h.stored("p#previous").is_none(), "{step}: the fallback was left behind");
        assert!(!p.family_revoked_by_reuse(), "{step}");
    }
}

#[test]
fn rotate_with_a_failing_revocation_keeps_the_fallback_until_it_can_finish() {
    let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let (_, old) = session(&p, &h, 3600);
    p.set_fault("/revoke", Fault::status(503, ""), None);
    assert_eq!(h.run_with(&["rotate", "p", "--no-open"], "", |ctx| ctx.sleep = approving(&p)), 5);
    assert!(h.stored("p#previous").is_some());
    assert_eq!(h.run(&["token", "p"], ""), 0);
    p.clear_faults();
    assert_eq!(h.run(&["rotate", "p"], ""), 0, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("Finished the interrupted rotation"), "{}", h.stderr.text());
    assert!(!p.is_refresh_token_active(&old));
    assert!(h.stored("p#previous").is_none());
}

#[test]
fn rotate_with_a_failing_store_write_keeps_a_usable_credential() {
    let p = provider(fake_provider::Config { rotate_refresh_tokens: false, ..Default::default() });
    let h = Harness::new(StoreKind::SecretService);
    session(&p, &h, 3600);
    let backend = h.backend.clone();
    let entry = h.entry("p");
    let code = h.run_with(&["rotate", "p", "--no-open"], "", |ctx| {
        ctx.sleep = approving(&p);
        ctx.checkpoint = Box::new(move |at| {
            if at == "rotate:new-grant-obtained" {
                use keyring_core::api::CredentialStoreApi;
                let entry = backend.build(vouch::store::SERVICE, &entry, None).unwrap();
                let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
                cred.set_error(keyring_core::Error::NoStorageAccess(Box::new(std::io::Error::other(
                    "Locked",
                ))));
            }
            Ok(())
        });
    });
    assert_eq!(code, 6, "{}", h.stderr.text());
    assert_eq!(h.run(&["token", "p"], ""), 0);
    assert_eq!(
        h.run_with(&["rotate", "p", "--no-open"], "", |ctx| ctx.sleep = approving(&p)),
        0,
        "{}",
        h.stderr.text()
    );
    assert!(h.stored("p#previous").is_none());
}

#[test]
fn rotate_a_client_secret_only_after_the_new_one_works() {
    let p = provider(fake_provider::Config::default());
    p.register_client("svc", Some("old-secret"));
    let h = Harness::new(StoreKind::Mock);
    let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
    assert_eq!(h.run(&args, "old-secret"), 0);
    // A wrong new secret: refused by the provider, nothing replaced.
    assert_eq!(h.run(&["rotate", "ci", "--client-secret-stdin"], "canary-typo"), 4, "{}", h.stderr.text());
    assert_eq!(h.stored("ci").unwrap()["client_secret"], "old-secret");
    // Without the flag, a client-credentials profile is told how.
    assert_eq!(h.run(&["rotate", "ci"], ""), 2);
    // The provider now has the new secret; rotate proves it and stores it.
    p.register_client("svc", Some("new-secret"));
    assert_eq!(h.run(&["rotate", "ci", "--client-secret-stdin"], "new-secret\n"), 0, "{}", h.stderr.text());
    let record = h.stored("ci").unwrap();
    assert_eq!(record["client_secret"], "new-secret");
    assert!(p.is_access_token_active(record["access_token"].as_str().unwrap()));
    assert!(!h.stderr.text().contains("new-secret"));
}

/// `status NAME --json` of the harness's last run, parsed.
fn status_json(h: &Harness, name: &str) -> (u8, serde_json::Value) {
    h.stdout.clear();
    let code = h.run(&["status", name, "--json"], "");
    let text = h.stdout.text();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let value = if value.is_array() { value[0].clone() } else { value };
    (code, value)
}

#[test]
fn a_bare_400_to_a_refresh_is_exit_4_says_no_reason_and_the_token_is_never_resent() {
    // The provider refuses the refresh token (it does not know it) with a bare 400: no OAuth
    // error code, no body.
    let p = provider(fake_provider::Config { bare_token_errors: true, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let (access, _) = p.issue_grant("alice", "openid offline_access");
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        json!({"version":2,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": now() - 10,"refresh_token":"fake-refresh-the-provider-forgot"}),
    );
    assert_eq!(h.run(&["token", "p"], ""), 4, "{}", h.stderr.text());
    let said = h.stderr.text();
    assert!(said.contains("answered a bare HTTP 400 and gave no reason"), "{said}");
    assert!(said.contains("vouch login p"), "{said}");
    assert!(!said.contains("fake-refresh"), "{said}");
    assert!(h.stdout.text().is_empty());
    assert_eq!(h.stored("p").unwrap()["reauth_required"], true);
    let (code, status) = status_json(&h, "p");
    assert_eq!(code, 3, "{status}");
    assert_eq!(status["state"], "reauth-required", "{status}");
    assert_eq!(status["renewable"], false, "{status}");
    for args in [&["token", "p"][..], &["refresh", "p"], &["token", "p", "--min-ttl", "0"]] {
        assert_eq!(h.run(args, ""), 4, "{args:?}: {}", h.stderr.text());
    }
    assert_eq!(refresh_grants(&p).len(), 1, "a refused refresh token was sent again");
}

#[test]
fn a_bare_401_to_client_credentials_is_exit_4_and_the_old_secret_is_not_tried_again() {
    let p = provider(fake_provider::Config { bare_token_errors: true, ..Default::default() });
    p.register_client("svc", Some("s3cret"));
    let h = Harness::new(StoreKind::Mock);
    let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
    assert_eq!(h.run(&args, "s3cret"), 0, "{}", h.stderr.text());
    // The secret is rotated at the provider behind vouch's back.
    p.register_client("svc", Some("rotated-elsewhere"));
    h.stderr.clear();
    assert_eq!(h.run(&["token", "ci", "--min-ttl", "7200"], ""), 4, "{}", h.stderr.text());
    let said = h.stderr.text();
    assert!(said.contains("answered a bare HTTP 401 and gave no reason; check the client secret"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    let (code, status) = status_json(&h, "ci");
    assert_eq!(code, 3, "{status}");
    assert_eq!(status["state"], "reauth-required", "{status}");
    assert_eq!(status["renewable"], false, "{status}");
    assert_eq!(h.run(&["token", "ci", "--min-ttl", "7200"], ""), 4);
    assert_eq!(h.run(&["refresh", "ci"], ""), 4);
    assert_eq!(p.token_requests("client_credentials").len(), 2, "the refused secret was sent again");
}
