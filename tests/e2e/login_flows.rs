//! The login flows, in-process against the fake provider: every flow's happy path, the
//! device flow's polling rules, the browser flow's state and PKCE, client authentication,
//! ID token checks, and that every failure stores nothing.

use crate::support::fake_provider::{self, AuthorizeMode, Discovery, FakeProvider, Fault};
use crate::support::in_process::Harness;
use base64::Engine;
use sha2::Digest;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vouch::store::StoreKind;

/// A provider shared with callbacks (sleep, browser) that run inside the command.
fn provider(config: fake_provider::Config) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(config))
}

/// Sleeps recorded, and each one shortened to at most `cap` (the fake enforces real time).
#[derive(Clone, Default)]
struct Sleeps(Arc<Mutex<Vec<Duration>>>);

impl Sleeps {
    fn seen(&self) -> Vec<u64> {
        self.0.lock().unwrap().iter().map(|d| d.as_secs()).collect()
    }
}

/// A sleep hook that plays the user: after `approve_after` sleeps it approves (or denies)
/// every pending device code.
fn user_at_device(
    p: &Arc<FakeProvider>,
    sleeps: &Sleeps,
    approve_after: usize,
    deny: bool,
) -> Box<dyn FnMut(Duration)> {
    let (p, sleeps) = (p.clone(), sleeps.clone());
    Box::new(move |d| {
        let n = {
            let mut seen = sleeps.0.lock().unwrap();
            seen.push(d);
            seen.len()
        };
        if n == approve_after {
            for code in p.pending_user_codes() {
                if deny {
                    p.deny_device(&code);
                } else {
                    p.approve_device(&code);
                }
            }
        }
        std::thread::sleep(d.min(Duration::from_millis(1100)));
    })
}

fn device_login(p: &FakeProvider) -> Vec<String> {
    ["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--device", "--no-open"]
        .map(String::from)
        .to_vec()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn device_flow_happy_path_stores_confirmed_tokens() {
    let p = provider(fake_provider::Config { token_prefix: "canary".into(), ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let sleeps = Sleeps::default();
    let code =
        h.run_with(&strs(&device_login(&p)), "", |ctx| ctx.sleep = user_at_device(&p, &sleeps, 2, false));
    assert_eq!(code, 0, "{}", h.stderr.text());
    let record = h.stored("p").expect("stored after approval");
    let access = record["access_token"].as_str().unwrap().to_string();
    assert!(p.is_access_token_active(&access));
    assert!(record["refresh_token"].as_str().unwrap().starts_with("canary-rt-"));
    assert_eq!(record["account"], "alice");
    assert!(record["expires_at"].as_u64().unwrap() > 1_700_000_000);
    // RFC 8628 request shapes, the default OIDC scopes, and confirmation at userinfo.
    let device = &p.requests_to("/device")[0];
    assert_eq!(device.form_value("client_id").as_deref(), Some("cli"));
    assert_eq!(device.form_value("scope").as_deref(), Some("openid offline_access"));
    let polls = p.token_requests("urn:ietf:params:oauth:grant-type:device_code");
    assert!(polls.len() >= 2, "polled {} times", polls.len());
    assert!(polls.iter().all(|r| r.form_value("device_code").is_some_and(|c| c.starts_with("canary-dc-"))));
    assert_eq!(p.requests_to("/userinfo")[0].bearer(), Some(access.as_str()));
    // The person is told where to go, on stderr; stdout stays empty; no secret is shown.
    let err = h.stderr.text();
    assert!(err.contains("/activate") && err.contains("enter the code:"), "{err}");
    assert!(!err.contains("canary-"), "{err}");
    assert!(h.stdout.text().is_empty());
    assert!(sleeps.seen().iter().all(|&s| s == 1), "polled at the server's interval: {:?}", sleeps.seen());
    // The profile remembers the flow and scopes, so the next login needs no flags.
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    assert!(config.contains("flow = \"device\"") && config.contains("offline_access"), "{config}");
}

#[test]
fn slow_down_grows_the_interval_for_the_rest_of_the_flow() {
    let p = provider(fake_provider::Config::default());
    p.set_fault("/token", Fault::status(400, r#"{"error":"slow_down"}"#), Some(2));
    let h = Harness::new(StoreKind::Mock);
    let sleeps = Sleeps::default();
    let code =
        h.run_with(&strs(&device_login(&p)), "", |ctx| ctx.sleep = user_at_device(&p, &sleeps, 1, false));
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(sleeps.seen(), vec![1, 6, 11], "each slow_down adds 5 s and it stays added");
}

#[test]
fn a_missing_interval_means_five_seconds() {
    let p = provider(fake_provider::Config { device_interval: None, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let sleeps = Sleeps::default();
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        let p = p.clone();
        let sleeps = sleeps.clone();
        ctx.sleep = Box::new(move |d| {
            sleeps.0.lock().unwrap().push(d);
            for c in p.pending_user_codes() {
                p.approve_device(&c);
            }
            std::thread::sleep(d); // the fake enforces the 5 s for real
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(sleeps.seen(), vec![5]);
}

#[test]
fn denied_and_expired_device_authorizations_are_exit_10_and_store_nothing() {
    // denied by the person
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        ctx.sleep = user_at_device(&p, &Sleeps::default(), 1, true)
    });
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists());

    // the server says the code expired
    let p = provider(fake_provider::Config::default());
    p.set_fault("/token", Fault::status(400, r#"{"error":"expired_token"}"#), None);
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        ctx.sleep = user_at_device(&p, &Sleeps::default(), 99, false)
    });
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stored("p").is_none());

    // expires_in passes without approval: vouch stops on its own clock
    let p = provider(fake_provider::Config { device_expires_in: 2, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        ctx.sleep = user_at_device(&p, &Sleeps::default(), 99, false)
    });
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("expired"), "{}", h.stderr.text());
    assert!(h.stored("p").is_none());

    // --timeout bounds the wait too
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let mut args = device_login(&p);
    args.extend(["--timeout".to_string(), "1".to_string()]);
    let code =
        h.run_with(&strs(&args), "", |ctx| ctx.sleep = user_at_device(&p, &Sleeps::default(), 99, false));
    assert_eq!(code, 10);
    assert!(h.stderr.text().contains("--timeout"), "{}", h.stderr.text());
}

#[test]
fn github_style_errors_with_http_200_are_understood() {
    let p = provider(fake_provider::Config {
        github_style: true,
        discovery: Discovery::None,
        ..Default::default()
    });
    let h = Harness::new(StoreKind::Mock);
    let args = [
        "login",
        "gh",
        "--provider",
        "github",
        "--client-id",
        "Iv1.abc",
        "--no-open",
        "--token-url",
        &p.url("/token"),
        "--device-url",
        &p.url("/device"),
        "--userinfo-url",
        &p.url("/userinfo"),
    ];
    let sleeps = Sleeps::default();
    let code = h.run_with(&args, "", |ctx| ctx.sleep = user_at_device(&p, &sleeps, 2, false));
    assert_eq!(code, 0, "{}", h.stderr.text());
    // the first poll got HTTP 200 {"error":"authorization_pending"} and vouch kept polling
    assert!(p.token_requests("urn:ietf:params:oauth:grant-type:device_code").len() >= 2);
    assert!(p.requests_to("/token").iter().all(|r| r.header("accept") == Some("application/json")));
    assert!(h.stored("gh").is_some());
    assert_eq!(p.count("/.well-known/openid-configuration"), 0, "presets skip discovery");
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    assert!(
        config.contains("provider = \"github\"") && config.contains("issuer = \"https://github.com\""),
        "{config}"
    );

    // and a denial delivered as HTTP 200 is still a denial
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&args, "", |ctx| ctx.sleep = user_at_device(&p, &Sleeps::default(), 1, true));
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stored("gh").is_none());
}

/// A browser hook that follows the authorization URL like a browser would, in a thread. vouch
/// hands it a private launch page, which redirects to the URL.
fn browser_that_follows() -> Box<dyn FnMut(&str) -> bool> {
    Box::new(|page: &str| {
        let url = crate::support::launch_page_url(page);
        std::thread::spawn(move || follow(&url));
        true
    })
}

/// GET the authorization URL, then the redirect it answers with (the loopback callback).
fn follow(url: &str) -> Option<u16> {
    let agent =
        ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent();
    let first = agent.get(url).call().ok()?;
    let location = first.headers().get("location")?.to_str().ok()?.to_string();
    let second = agent.get(&location).call().ok()?;
    Some(second.status().as_u16())
}

fn browser_login(p: &FakeProvider) -> Vec<String> {
    ["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--browser"].map(String::from).to_vec()
}

#[test]
fn browser_flow_uses_pkce_s256_state_and_nonce() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&browser_login(&p)), "", |ctx| ctx.open_browser = browser_that_follows());
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert!(h.stored("p").is_some());

    let authorize = &p.requests_to("/authorize")[0];
    let redirect = authorize.query_value("redirect_uri").unwrap();
    assert!(redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"), "{redirect}");
    assert_eq!(authorize.query_value("code_challenge_method").as_deref(), Some("S256"));
    assert!(authorize.query_value("state").is_some_and(|s| s.len() >= 22));
    assert!(authorize.query_value("nonce").is_some(), "OIDC logins send a nonce");

    let exchange = &p.token_requests("authorization_code")[0];
    let verifier = exchange.form_value("code_verifier").unwrap();
    assert!((43..=128).contains(&verifier.len()));
    let expected =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(
        authorize.query_value("code_challenge").unwrap(),
        expected,
        "the verifier matches the challenge"
    );
    assert_eq!(exchange.form_value("redirect_uri").unwrap(), redirect);
    // The authorization URL is always printed, for ssh sessions.
    assert!(h.stderr.text().contains("/authorize?"), "{}", h.stderr.text());
}

#[test]
fn a_callback_with_the_wrong_state_is_refused_and_nothing_is_stored() {
    let p =
        provider(fake_provider::Config { authorize_mode: AuthorizeMode::WrongState, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    // A mismatched callback is refused and waiting goes on (a stray request cannot cancel a
    // login); the real one never comes here, so the login ends at --timeout.
    let mut args = browser_login(&p);
    args.extend(["--timeout".to_string(), "2".to_string()]);
    let code = h.run_with(&strs(&args), "", |ctx| ctx.open_browser = browser_that_follows());
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("state that does not match"), "{}", h.stderr.text());
    assert_eq!(
        p.token_requests("authorization_code").len(),
        0,
        "the code was exchanged despite the wrong state"
    );
    assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists());
}

#[test]
fn a_denied_browser_login_is_exit_10() {
    let p = provider(fake_provider::Config { authorize_mode: AuthorizeMode::Deny, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    // An error callback does not end the wait (it could be forged); at --timeout the reported
    // denial is the outcome, and the person was told at once.
    let mut args = browser_login(&p);
    args.extend(["--timeout".to_string(), "2".to_string()]);
    let code = h.run_with(&strs(&args), "", |ctx| ctx.open_browser = browser_that_follows());
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("access_denied"), "{}", h.stderr.text());
    assert!(h.stored("p").is_none());
}

#[test]
fn a_browser_that_never_returns_times_out() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let mut args = browser_login(&p);
    args.extend(["--timeout".to_string(), "1".to_string()]);
    let code = h.run_with(&strs(&args), "", |ctx| ctx.open_browser = Box::new(|_| false));
    assert_eq!(code, 10);
    assert!(h.stored("p").is_none());
}

fn cc_login(p: &FakeProvider) -> Vec<String> {
    ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"]
        .map(String::from)
        .to_vec()
}

#[test]
fn client_credentials_store_the_secret_with_the_token() {
    let p = provider(fake_provider::Config::default());
    p.register_client("svc", Some("canary-client-secret"));
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&cc_login(&p)), "canary-client-secret\n"), 0, "{}", h.stderr.text());
    let record = h.stored("ci").unwrap();
    assert_eq!(record["client_secret"], "canary-client-secret");
    assert!(record.get("refresh_token").is_none());
    let grant = &p.token_requests("client_credentials")[0];
    assert_eq!(
        grant.basic_auth(),
        Some(("svc".to_string(), "canary-client-secret".to_string())),
        "client_secret_basic by default"
    );
    assert!(grant.form_value("client_secret").is_none());
    assert_eq!(p.count("/userinfo"), 0, "a client token has no user to confirm");
    assert!(!h.stderr.text().contains("canary-client-secret"));
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    assert!(!config.contains("canary"), "{config}");
    assert!(config.contains("flow = \"client-credentials\""), "{config}");

    // From the environment too, and relogin with nothing given reuses the stored secret.
    let h2 = Harness::new(StoreKind::Mock);
    let code = h2
        .run_with(&strs(&cc_login(&p)), "", |ctx| ctx.env.set("VOUCH_CLIENT_SECRET", "canary-client-secret"));
    assert_eq!(code, 0, "{}", h2.stderr.text());
    assert_eq!(h2.run(&["login", "ci"], ""), 0, "{}", h2.stderr.text());
    assert_eq!(h2.stored("ci").unwrap()["generation"], 2);
}

#[test]
fn client_secret_post_is_used_when_it_is_all_the_provider_offers() {
    let p = provider(fake_provider::Config {
        auth_methods: vec!["client_secret_post".into()],
        ..Default::default()
    });
    p.register_client("svc", Some("s3cret"));
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&cc_login(&p)), "s3cret"), 0, "{}", h.stderr.text());
    let grant = &p.token_requests("client_credentials")[0];
    assert!(grant.basic_auth().is_none());
    assert_eq!(grant.form_value("client_secret").as_deref(), Some("s3cret"));
}

#[test]
fn a_wrong_client_secret_is_exit_4_and_stores_nothing() {
    let p = provider(fake_provider::Config::default());
    p.register_client("svc", Some("right"));
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&cc_login(&p)), "canary-wrong-secret"), 4, "{}", h.stderr.text());
    assert!(h.stored("ci").is_none() && !h.dir.path().join("config.toml").exists());
    assert!(!h.stderr.text().contains("canary-wrong-secret"));
    // no secret at all (closed stdin, no env) is a usage error, at once
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&cc_login(&p)), ""), 2);
    assert!(h.stderr.text().contains("VOUCH_CLIENT_SECRET"), "{}", h.stderr.text());
}

#[test]
fn id_tokens_that_do_not_check_out_are_refused() {
    for (claim, value) in [
        ("aud", serde_json::json!("someone-else")),
        ("iss", serde_json::json!("https://evil.example")),
        ("exp", serde_json::json!(1)),
        ("nonce", serde_json::json!("replayed")),
    ] {
        let mut overrides = serde_json::Map::new();
        overrides.insert(claim.to_string(), value);
        let p = provider(fake_provider::Config { id_token_overrides: overrides, ..Default::default() });
        let h = Harness::new(StoreKind::Mock);
        let code = h.run_with(&strs(&browser_login(&p)), "", |ctx| ctx.open_browser = browser_that_follows());
        assert_eq!(code, 9, "{claim}: {}", h.stderr.text());
        assert!(h.stored("p").is_none(), "{claim}");
    }
}

#[test]
fn a_token_the_userinfo_endpoint_rejects_is_not_stored() {
    // Without an ID token, userinfo is the only confirmation: a 401 there stops the login.
    let p = provider(fake_provider::Config { issue_id_token: false, ..Default::default() });
    p.set_fault("/userinfo", Fault::status(401, ""), None);
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        ctx.sleep = user_at_device(&p, &Sleeps::default(), 1, false)
    });
    assert_eq!(code, 4, "{}", h.stderr.text());
    assert!(h.stored("p").is_none());
    // The tokens that were minted and not stored were revoked, where the provider allows it.
    let minted = p.token_requests("urn:ietf:params:oauth:grant-type:device_code").len();
    assert!(minted >= 1);
    assert_eq!(p.count("/revoke"), 1, "the unconfirmed refresh token was left valid");
}

#[test]
fn a_checked_id_token_confirms_a_token_that_userinfo_refuses() {
    // Entra: an access token for an api:// resource is refused by Graph's userinfo, but the
    // token endpoint issued it with a valid ID token over TLS.
    let p = provider(fake_provider::Config::default());
    p.set_fault("/userinfo", Fault::status(401, ""), None);
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&device_login(&p)), "", |ctx| {
        ctx.sleep = user_at_device(&p, &Sleeps::default(), 1, false)
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(h.stored("p").unwrap()["account"], "alice", "the account comes from the ID token");
}

#[test]
fn malformed_token_responses_are_exit_9_and_store_nothing() {
    for body in ["<html>busy</html>", r#"{"token_type":"Bearer"}"#, r#"{"access_token":"x","expires_in":-1}"#]
    {
        let p = provider(fake_provider::Config::default());
        p.set_fault("/token", Fault::status(200, body), None);
        p.register_client("svc", Some("s"));
        let h = Harness::new(StoreKind::Mock);
        assert_eq!(h.run(&strs(&cc_login(&p)), "s"), 9, "{body}: {}", h.stderr.text());
        assert!(h.stored("ci").is_none());
    }
    let p = provider(fake_provider::Config::default());
    p.set_fault("/token", Fault::status(503, "{}"), None);
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&cc_login(&p)), "s"), 5);
}

#[test]
fn a_wrong_issuer_in_discovery_stops_every_flow_before_any_secret_moves() {
    let p = provider(fake_provider::Config {
        issuer_override: Some("https://evil.example".into()),
        ..Default::default()
    });
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&strs(&device_login(&p)), ""), 9);
    assert_eq!(p.count("/device") + p.count("/token"), 0);
}

#[test]
fn relogin_revokes_the_replaced_refresh_token() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let approve = |p: &Arc<FakeProvider>| user_at_device(p, &Sleeps::default(), 1, false);
    assert_eq!(h.run_with(&strs(&device_login(&p)), "", |ctx| ctx.sleep = approve(&p)), 0);
    let old = h.stored("p").unwrap()["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        h.run_with(&["login", "p", "--no-open"], "", |ctx| ctx.sleep = approve(&p)),
        0,
        "{}",
        h.stderr.text()
    );
    let new = h.stored("p").unwrap();
    assert_ne!(new["refresh_token"].as_str().unwrap(), old);
    assert_eq!(new["generation"], 2);
    assert!(p.revoked().contains(&old), "the old refresh token was not revoked");
    assert!(!p.is_refresh_token_active(&old));
    let revocation = &p.requests_to("/revoke")[0];
    assert_eq!(revocation.form_value("token_type_hint").as_deref(), Some("refresh_token"));
    assert!(p.is_refresh_token_active(new["refresh_token"].as_str().unwrap()));
}

#[test]
fn the_pasted_token_flow_still_works_beside_the_others() {
    let p = provider(fake_provider::Config::default());
    p.add_access_token("canary-pasted", "bob");
    let h = Harness::new(StoreKind::Mock);
    let args = ["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--with-token"];
    assert_eq!(h.run(&args, "canary-pasted"), 0, "{}", h.stderr.text());
    assert_eq!(h.stored("p").unwrap()["account"], "bob");
}
