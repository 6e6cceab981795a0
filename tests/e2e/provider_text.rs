//! Text from the provider (issue 11 item 10): an `error_description` carrying a right-to-left
//! override, a zero-width space and an echo of the secrets vouch sent is shown without any of
//! them. The fake provider's `hostile_error_description` switch builds such descriptions from
//! what each request really carried.

use crate::support::fake_provider::{self, FakeProvider};
use crate::support::in_process::{Harness, now};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use vouch::store::StoreKind;

fn hostile() -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(fake_provider::Config {
        hostile_error_description: true,
        ..Default::default()
    }))
}

/// The provider did put `secret` and U+202E in a description: the test is not vacuous.
fn provider_echoed(p: &FakeProvider, path: &str, key: &str, secret: &str) {
    let sent = p.requests_to(path).iter().any(|r| r.form_value(key).as_deref() == Some(secret));
    let basic = p.requests_to(path).iter().any(|r| r.basic_auth().is_some_and(|(_, s)| s == secret));
    assert!(sent || basic, "{secret} never reached {path}");
}

fn assert_clean(stderr: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!stderr.contains(secret), "a secret reached stderr: {stderr}");
    }
    for c in ['\u{202E}', '\u{200B}'] {
        assert!(!stderr.contains(c), "U+{:04X} reached stderr: {stderr:?}", c as u32);
    }
    // The description itself is shown, only cleaned: the user still learns what was said.
    assert!(stderr.contains("evil"), "the description is not shown at all: {stderr}");
    assert!(stderr.contains("[redacted]"), "{stderr}");
}

#[test]
fn a_refresh_token_echoed_in_an_error_description_is_redacted() {
    let p = hostile();
    let h = Harness::new(StoreKind::Mock);
    let refresh = "canary-refresh-the-provider-does-not-know";
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":"canary-access","token_type":"Bearer",
               "expires_at": (now() as i64 - 10),"refresh_token":refresh,"account":"alice"}),
    );
    assert_eq!(h.run(&["token", "p"], ""), 4, "{}", h.stderr.text());
    provider_echoed(&p, "/token", "refresh_token", refresh);
    let stderr = h.stderr.text();
    assert!(stderr.contains("invalid_grant"), "{stderr}");
    assert_clean(&stderr, &[refresh]);
}

#[test]
fn a_client_secret_echoed_in_an_error_description_is_redacted() {
    let p = hostile();
    p.register_client("svc", Some("the-right-secret"));
    for method in ["client_secret_basic", "client_secret_post"] {
        p.set_config(|c| c.auth_methods = vec![method.to_string()]);
        let h = Harness::new(StoreKind::Mock);
        let wrong = format!("canary-wrong-client-secret-{method}");
        let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
        assert_eq!(h.run(&args, &wrong), 4, "{method}: {}", h.stderr.text());
        provider_echoed(&p, "/token", "client_secret", &wrong);
        let stderr = h.stderr.text();
        assert!(stderr.contains("invalid_client"), "{method}: {stderr}");
        assert_clean(&stderr, &[&wrong]);
    }
}

#[test]
fn a_device_code_echoed_when_access_is_denied_is_redacted() {
    let p = hostile();
    let h = Harness::new(StoreKind::Mock);
    let denier = p.clone();
    let code =
        h.run_with(&["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--no-open"], "", |ctx| {
            ctx.sleep = Box::new(move |d| {
                for code in denier.pending_user_codes() {
                    denier.deny_device(&code);
                }
                std::thread::sleep(d.min(Duration::from_millis(1100)));
            })
        });
    assert_eq!(code, 10, "{}", h.stderr.text());
    let device_code = p
        .token_requests("urn:ietf:params:oauth:grant-type:device_code")
        .last()
        .and_then(|r| r.form_value("device_code"))
        .expect("a device code was polled");
    let stderr = h.stderr.text();
    assert!(stderr.contains("access_denied"), "{stderr}");
    assert_clean(&stderr, &[&device_code]);
}
