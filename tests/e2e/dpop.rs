//! DPoP (RFC 9449) in-process against the fake provider, which verifies every proof: login
//! with --dpop binds the grant to a key kept only in the record, refreshes prove the key, a
//! nonce is asked for once and then remembered, the retry after `use_dpop_nonce` does not
//! count as reuse of a rotated refresh token, a record copied without its key is useless, and
//! the programs that can only send Bearer tokens are refused.

use crate::support::fake_provider::{self, FakeProvider, Fault};
use crate::support::in_process::Harness;
use std::sync::Arc;
use std::time::Duration;
use vouch::store::StoreKind;

fn provider(config: fake_provider::Config) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(config))
}

/// `vouch login p --dpop` through the device flow, the fake user approving at once.
fn login_dpop(p: &Arc<FakeProvider>, h: &Harness) -> u8 {
    let issuer = p.issuer();
    let args = ["login", "p", "--issuer", &issuer, "--client-id", "cli", "--device", "--no-open", "--dpop"];
    let approver = p.clone();
    h.run_with(&args, "", move |ctx| {
        ctx.sleep = Box::new(move |d| {
            for code in approver.pending_user_codes() {
                approver.approve_device(&code);
            }
            std::thread::sleep(d.min(Duration::from_millis(1100)));
        })
    })
}

fn refresh_tokens_sent(p: &FakeProvider) -> Vec<String> {
    p.token_requests("refresh_token").iter().filter_map(|r| r.form_value("refresh_token")).collect()
}

fn status_json(h: &Harness) -> serde_json::Value {
    h.stdout.clear();
    assert_eq!(h.run(&["status", "p", "--json"], ""), 0, "{}", h.stderr.text());
    serde_json::from_str(&h.stdout.text()).unwrap()
}

#[test]
fn login_with_dpop_binds_the_grant_to_a_key_kept_only_in_the_record() {
    let p = provider(fake_provider::Config { token_prefix: "canary".into(), ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());

    let record = h.stored("p").unwrap();
    assert_eq!(record["version"], 3, "a record with a key is version 3");
    assert_eq!(record["token_type"], "DPoP");
    let key = record["dpop_key"].as_str().expect("the key is in the record").to_string();
    let access = record["access_token"].as_str().unwrap().to_string();
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    assert!(config.contains("dpop = true"), "{config}");
    assert!(!config.contains(&key), "the key must never be in the config");

    // status shows the thumbprint, the one the provider bound the tokens to, never the key.
    let status = status_json(&h);
    let jkt = status["dpop_jkt"].as_str().expect("status names the jkt").to_string();
    assert_eq!(p.token_jkt(&access).as_deref(), Some(jkt.as_str()));
    assert!(!h.stdout.text().contains(&key));
    h.stdout.clear();
    assert_eq!(h.run(&["status", "p"], ""), 0);
    assert!(
        h.stdout.text().contains(&format!("bound to this machine (DPoP key {jkt})")),
        "{}",
        h.stdout.text()
    );

    // Every proof the provider saw was valid and made with that key: the device grant's at
    // /token, and userinfo's (with `ath`) when the login confirmed the token.
    let proofs = p.dpop_proofs();
    assert!(proofs.iter().any(|s| s.path == "/token"), "{proofs:?}");
    let at_userinfo: Vec<_> = proofs.iter().filter(|s| s.path == "/userinfo").collect();
    assert!(!at_userinfo.is_empty() && at_userinfo.iter().all(|s| s.ath.is_some()), "{proofs:?}");
    assert!(proofs.iter().all(|s| s.refused.is_none() && s.jkt == jkt), "{proofs:?}");

    // A refresh proves the same key, and the rotated refresh token stays bound to it.
    let old_refresh = record["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    let renewed = h.stored("p").unwrap();
    let new_refresh = renewed["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    assert_eq!(renewed["dpop_key"], key.as_str(), "a refresh keeps the key");
    assert_eq!(p.token_jkt(new_refresh).as_deref(), Some(jkt.as_str()));
    let last = p.dpop_proofs().into_iter().last().unwrap();
    assert_eq!((last.path.as_str(), last.htm.as_str()), ("/token", "POST"));
    assert_eq!(last.htu, p.url("/token"));
    assert!(last.refused.is_none() && last.ath.is_none(), "{last:?}");
    assert!(!p.family_revoked_by_reuse());
    assert!(!h.stderr.text().contains("canary"), "{}", h.stderr.text());
}

#[test]
fn a_nonce_is_asked_for_once_then_remembered_and_the_retry_is_no_reuse() {
    let p = provider(fake_provider::Config {
        dpop_nonce: Some("nonce-1".into()),
        rotate_refresh_tokens: true,
        reuse_detection: true,
        ..Default::default()
    });
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let asked = |p: &FakeProvider| {
        p.dpop_proofs().iter().filter(|s| s.refused.as_deref() == Some("use_dpop_nonce")).count()
    };
    assert_eq!(asked(&p), 1, "the first proof is refused for its missing nonce, then never again");

    // A later command (a new process) carries the remembered nonce from its first request.
    let before = p.dpop_proofs().len();
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    let sent: Vec<_> = p.dpop_proofs().into_iter().skip(before).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].nonce.as_deref(), Some("nonce-1"));
    assert_eq!(asked(&p), 1);

    // The provider moves to a new nonce. The refresh token goes out, is answered
    // use_dpop_nonce (not processed, RFC 9449 §8), goes out once more with the new nonce,
    // and the provider's reuse detection does not fire.
    p.set_config(|c| c.dpop_nonce = Some("nonce-2".into()));
    let rt = h.stored("p").unwrap()["refresh_token"].as_str().unwrap().to_string();
    let grants_before = refresh_tokens_sent(&p).len();
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    let grants: Vec<String> = refresh_tokens_sent(&p).into_iter().skip(grants_before).collect();
    assert_eq!(grants, vec![rt.clone(), rt.clone()], "sent once, resent once with the nonce");
    assert_eq!(asked(&p), 2);
    assert!(!p.family_revoked_by_reuse(), "the resend after use_dpop_nonce was taken for reuse");
    let stored = h.stored("p").unwrap();
    assert_ne!(stored["refresh_token"], rt.as_str());
    assert!(p.is_refresh_token_active(stored["refresh_token"].as_str().unwrap()));
    assert!(stored.get("reauth_required").is_none());
}

#[test]
fn a_nonce_demanded_again_after_the_retry_is_not_sent_a_third_time() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let nonce_error = Fault::Status {
        status: 400,
        body: r#"{"error":"use_dpop_nonce"}"#.into(),
        headers: vec![("DPoP-Nonce".into(), "always-new".into())],
    };
    p.set_fault("/token", nonce_error, None);
    let before = refresh_tokens_sent(&p).len();
    assert_ne!(h.run(&["refresh", "p"], ""), 0);
    assert_eq!(refresh_tokens_sent(&p).len() - before, 2, "one retry, never more");
}

#[test]
fn a_record_copied_without_its_key_cannot_refresh_or_call_apis() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let stolen = h.stored("p").unwrap();
    let refresh = stolen["refresh_token"].as_str().unwrap().to_string();

    // The thief has the tokens and a key of their own: the proof is valid, the key is not
    // the one the refresh token is bound to.
    let thief = Harness::new(StoreKind::Mock);
    thief.seed_profile("p", &p.issuer(), "cli", "device");
    let other_key = vouch::secret::DpopKey::generate().unwrap();
    let mut with_other_key = stolen.clone();
    with_other_key["dpop_key"] = other_key.expose_secret().into();
    thief.seed_record("p", with_other_key);
    assert_eq!(thief.run(&["refresh", "p"], ""), 4, "{}", thief.stderr.text());
    let refused = p.token_requests("refresh_token");
    assert_eq!(refused.len(), 1);

    // Without any key: a bare refresh token, no proof.
    let bare = Harness::new(StoreKind::Mock);
    bare.seed_profile("p", &p.issuer(), "cli", "device");
    let mut without_key = stolen.clone();
    without_key.as_object_mut().unwrap().remove("dpop_key");
    without_key["version"] = 2.into();
    without_key["token_type"] = "Bearer".into();
    bare.seed_record("p", without_key);
    // The bound access token does not work as a Bearer token...
    bare.run(&["status", "p", "--verify", "--json"], "");
    assert!(bare.stdout.text().contains("\"verified\": false"), "{}", bare.stdout.text());
    // ...and the refresh token does not work without a proof.
    assert_eq!(bare.run(&["refresh", "p"], ""), 4, "{}", bare.stderr.text());
    let refusals = p.token_requests("refresh_token");
    assert_eq!(refusals.len(), 2);
    assert!(refusals[1].header("dpop").is_none(), "the bare refresh carried no proof");

    // Neither attempt consumed the owner's refresh token: the owner still refreshes.
    assert!(p.is_refresh_token_active(&refresh));
    assert_eq!(h.run(&["refresh", "p"], ""), 0, "{}", h.stderr.text());
    assert!(!p.family_revoked_by_reuse());
}

#[test]
fn programs_that_send_bearer_tokens_are_refused_a_dpop_profile() {
    let p = provider(fake_provider::Config { token_prefix: "canary".into(), ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    for args in [vec!["token", "p"], vec!["exec", "p", "--", "true"], vec!["kube-credential", "p"]] {
        h.stdout.clear();
        h.stderr.clear();
        assert_eq!(h.run(&args, ""), 2, "{args:?}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("vouch api p"), "{args:?}: {}", h.stderr.text());
        assert!(!h.stdout.text().contains("canary"), "{args:?}: {}", h.stdout.text());
    }
}

#[test]
fn a_bearer_answer_to_a_dpop_request_is_a_protocol_error() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    p.set_fault("/token", Fault::status(200, r#"{"access_token":"unbound","token_type":"Bearer"}"#), None);
    h.stderr.clear();
    assert_eq!(h.run(&["refresh", "p"], ""), 9, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("DPoP"), "{}", h.stderr.text());
}
