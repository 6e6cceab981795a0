//! DPoP (RFC 9449) in-process against the fake provider, which verifies every proof: login
//! with --dpop binds the grant to a key kept only in the record, refreshes prove the key, a
//! nonce is asked for once and then remembered, the retry after `use_dpop_nonce` does not
//! count as reuse of a rotated refresh token, a record copied without its key is useless, and
//! the programs that can only send Bearer tokens are refused. Then `vouch api` against the
//! fake provider's `/api/...` resource server, which demands DPoP for bound tokens.

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
    let api = p.url("/api");
    let args = [
        "login",
        "p",
        "--issuer",
        &issuer,
        "--client-id",
        "cli",
        "--device",
        "--no-open",
        "--dpop",
        "--api-base",
        &api,
    ];
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

// --- vouch api ----------------------------------------------------------------------------

/// What must never be printed: the stored access and refresh tokens and the key.
fn secrets(h: &Harness) -> Vec<String> {
    let record = h.stored("p").unwrap();
    ["access_token", "refresh_token", "dpop_key"]
        .iter()
        .filter_map(|k| record[*k].as_str().map(str::to_string))
        .collect()
}

fn assert_no_secret(h: &Harness, secrets: &[String]) {
    for secret in secrets {
        assert!(!h.stdout.text().contains(secret.as_str()), "stdout: {}", h.stdout.text());
        assert!(!h.stderr.text().contains(secret.as_str()), "stderr: {}", h.stderr.text());
    }
}

fn api_proofs(p: &FakeProvider) -> Vec<fake_provider::DpopSeen> {
    p.dpop_proofs().into_iter().filter(|s| s.path.starts_with("/api/")).collect()
}

#[test]
fn api_get_and_post_send_the_dpop_token_with_a_proof_and_print_the_body() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let secrets = secrets(&h);
    h.stdout.clear();
    h.stderr.clear();
    assert_eq!(h.run(&["-v", "api", "p", "-i", "/items?page=2"], ""), 0, "{}", h.stderr.text());
    let out = h.stdout.text();
    assert!(out.starts_with("HTTP 200\r\n"), "{out}");
    assert!(out.contains("x-fake: echo"), "{out}");
    let body: serde_json::Value = serde_json::from_str(out.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!((body["method"].as_str(), body["path"].as_str()), (Some("GET"), Some("/api/items")));
    assert_eq!(body["query"], "page=2");
    assert_eq!(body["subject"], "alice", "the server took the DPoP token");
    let request = p.requests_to("/api/items").pop().unwrap();
    assert!(request.header("authorization").unwrap().starts_with("DPoP "), "{request:?}");
    let proofs = api_proofs(&p);
    assert_eq!(proofs.len(), 1);
    assert!(proofs[0].refused.is_none() && proofs[0].ath.is_some(), "{proofs:?}");
    assert_eq!(proofs[0].htu, p.url("/api/items"), "htu has no query");
    assert_no_secret(&h, &secrets);

    let file = h.dir.path().join("item.json");
    std::fs::write(&file, r#"{"name":"x"}"#).unwrap();
    h.stdout.clear();
    let data = format!("@{}", file.display());
    assert_eq!(h.run(&["api", "p", "-X", "POST", "--data", &data, "/items"], ""), 0, "{}", h.stderr.text());
    let body: serde_json::Value = serde_json::from_str(&h.stdout.text()).unwrap();
    assert_eq!((body["method"].as_str(), body["body"].as_str()), (Some("POST"), Some(r#"{"name":"x"}"#)));
    assert_eq!(body["content_type"], "application/json");
    h.stdout.clear();
    assert_eq!(
        h.run(&["api", "p", "-X", "PUT", "--data", "-", "/items/1"], "from stdin"),
        0,
        "{}",
        h.stderr.text()
    );
    let body: serde_json::Value = serde_json::from_str(&h.stdout.text()).unwrap();
    assert_eq!((body["method"].as_str(), body["body"].as_str()), (Some("PUT"), Some("from stdin")));
    assert!(api_proofs(&p).iter().all(|s| s.refused.is_none()));
}

#[test]
fn api_refreshes_once_after_invalid_token_and_answers_a_nonce_challenge_once() {
    let p = provider(fake_provider::Config { resource_nonce: Some("rs-nonce".into()), ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let access = h.stored("p").unwrap()["access_token"].as_str().unwrap().to_string();
    // The server stops accepting the token (revoked, or its clock is ahead of ours).
    p.expire_access_token(&access);
    let refreshes = refresh_tokens_sent(&p).len();
    h.stdout.clear();
    assert_eq!(h.run(&["api", "p", "/me"], ""), 0, "{}", h.stderr.text());
    assert_eq!(refresh_tokens_sent(&p).len(), refreshes + 1, "one refresh after invalid_token");
    assert!(h.stdout.text().contains("\"subject\":\"alice\""), "{}", h.stdout.text());
    let proofs = api_proofs(&p);
    // The login met the resource nonce at /userinfo, on the same origin as /api: every /api
    // proof carries it from the first.
    assert!(proofs.iter().all(|s| s.nonce.as_deref() == Some("rs-nonce")), "{proofs:?}");

    // A new resource nonce: one challenge, one resend, then success.
    p.set_config(|c| c.resource_nonce = Some("rs-nonce-2".into()));
    let before = api_proofs(&p).len();
    assert_eq!(h.run(&["api", "p", "/me"], ""), 0, "{}", h.stderr.text());
    let sent: Vec<_> = api_proofs(&p).into_iter().skip(before).collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].refused.as_deref(), Some("use_dpop_nonce"));
    assert_eq!((sent[1].nonce.as_deref(), sent[1].refused.as_deref()), (Some("rs-nonce-2"), None));

    // A token the server keeps refusing: one refresh, one resend, then exit 4 — never a loop.
    let token_requests = p.count("/token");
    p.set_fault(
        "/api/me",
        Fault::Status {
            status: 401,
            body: r#"{"error":"invalid_token"}"#.into(),
            headers: vec![("WWW-Authenticate".into(), r#"DPoP error="invalid_token""#.into())],
        },
        None,
    );
    assert_eq!(h.run(&["api", "p", "/me"], ""), 4, "{}", h.stderr.text());
    assert_eq!(p.count("/token"), token_requests + 1);
}

#[test]
fn api_refuses_hosts_the_profile_does_not_list_and_maps_statuses() {
    let p = provider(fake_provider::Config::default());
    let evil = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let secrets = secrets(&h);
    h.stderr.clear();
    assert_eq!(h.run(&["-v", "api", "p", &evil.url("/api/steal")], ""), 2);
    assert!(h.stderr.text().contains("api-base"), "{}", h.stderr.text());
    assert!(evil.requests().is_empty(), "the unlisted host was contacted");
    assert_eq!(h.run(&["api", "p", "http://example.com/api/x"], ""), 2, "plain http off loopback");
    assert_eq!(h.run(&["api", "p", "-H", "Authorization: Bearer mine", "/x"], ""), 2);

    h.stdout.clear();
    assert_eq!(h.run(&["api", "p", "/status/404"], ""), 2);
    assert_eq!(h.stdout.text(), r#"{"status":404}"#, "the body is data, whatever the status");
    assert!(h.stderr.text().contains("HTTP 404"), "{}", h.stderr.text());
    assert_eq!(h.run(&["api", "p", "/status/403"], ""), 4);
    assert_eq!(h.run(&["api", "p", "/status/503"], ""), 5);
    assert_no_secret(&h, &secrets);
}

#[test]
fn api_paginate_follows_next_links_and_rechecks_every_host() {
    let p = provider(fake_provider::Config::default());
    let evil = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(login_dpop(&p, &h), 0, "{}", h.stderr.text());
    let secrets = secrets(&h);
    h.stdout.clear();
    assert_eq!(h.run(&["api", "p", "--paginate", "/pages/1"], ""), 0, "{}", h.stderr.text());
    assert_eq!(h.stdout.text(), r#"{"page":1}{"page":2}{"page":3}"#, "every page, in order, once");
    let pages: Vec<String> =
        p.requests().into_iter().filter(|r| r.path.starts_with("/api/pages/")).map(|r| r.path).collect();
    assert_eq!(pages, ["/api/pages/1", "/api/pages/2", "/api/pages/3"], "rel=\"first\" is not followed");
    // Without --paginate: one page.
    h.stdout.clear();
    assert_eq!(h.run(&["api", "p", "/pages/1"], ""), 0);
    assert_eq!(h.stdout.text(), r#"{"page":1}"#);
    // A next link to a host the profile does not list ends the walk before anything is sent.
    let jump = format!("/jump?to={}", evil.url("/api/steal"));
    assert_eq!(h.run(&["api", "p", "--paginate", &jump], ""), 2, "{}", h.stderr.text());
    assert!(evil.requests().is_empty(), "the token followed a link to another host");
    assert_eq!(h.run(&["api", "p", "-X", "POST", "--paginate", "/pages/1"], ""), 2);
    assert_no_secret(&h, &secrets);
}
