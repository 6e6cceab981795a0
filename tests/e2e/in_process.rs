//! Commands driven in-process through `vouch::execute`, with keyring-core's mock store (errors
//! injected per call) and the fake provider.

use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::Harness;
use vouch::store::StoreKind;

const GOOD: &str = "canary-inproc-token-93be";

/// A store kind, an error to inject, and the exit code it must give.
type Case = (StoreKind, fn() -> keyring_core::Error, u8);

fn platform(msg: &str) -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(std::io::Error::other(msg.to_string()))
}

fn login_args(issuer: &str) -> Vec<String> {
    ["login", "p", "--issuer", issuer, "--client-id", "cli", "--with-token"].map(String::from).to_vec()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn login_stores_what_the_server_confirmed() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(
        h.run(&as_strs(&login_args(&provider.issuer())), &format!("  {GOOD}\n")),
        0,
        "{}",
        h.stderr.text()
    );
    let record = h.stored("p").expect("stored");
    assert_eq!(record["access_token"], GOOD, "surrounding whitespace is trimmed");
    assert_eq!(record["generation"], 1);
    assert_eq!(provider.requests_to("/userinfo")[0].bearer(), Some(GOOD));
    assert!(!h.stderr.text().contains(GOOD));
    assert_eq!(h.run(&["token", "p"], ""), 0);
    assert_eq!(h.stdout.text(), format!("{GOOD}\n"));
}

#[test]
fn token_json_has_the_documented_fields() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&as_strs(&login_args(&provider.issuer())), GOOD), 0);
    assert_eq!(h.run(&["token", "p", "--json"], ""), 0);
    let json: serde_json::Value = serde_json::from_str(&h.stdout.text()).unwrap();
    assert_eq!(json["access_token"], GOOD);
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_at"].is_null());
    assert_eq!(json["profile"], "p");
}

#[test]
fn store_errors_at_login_leave_no_profile() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    // (error injected on the first store call of login, which is the read of the old record)
    let cases: Vec<Case> = vec![
        (StoreKind::SecretService, || keyring_core::Error::NoStorageAccess(platform("Prompt")), 6),
        (StoreKind::SecretService, || keyring_core::Error::PlatformFailure(platform("bus gone")), 7),
        (StoreKind::Keyutils, || keyring_core::Error::NoStorageAccess(platform("EACCES")), 7),
    ];
    for (kind, make, code) in cases {
        let h = Harness::new(kind);
        // A signed-out profile for the same provider and client: the login keeps its entry.
        h.seed_profile("p", &provider.issuer(), "cli", "token");
        let config = std::fs::read(h.dir.path().join("config.toml")).unwrap();
        h.inject("p", make());
        assert_eq!(h.run(&as_strs(&login_args(&provider.issuer())), GOOD), code, "{}", h.stderr.text());
        assert!(h.stored("p").is_none());
        assert_eq!(std::fs::read(h.dir.path().join("config.toml")).unwrap(), config, "the profile changed");
        assert!(!h.stderr.text().contains(GOOD));
    }
}

#[test]
fn token_classifies_every_store_failure() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let cases: Vec<Case> = vec![
        (StoreKind::SecretService, || keyring_core::Error::NoStorageAccess(platform("Locked")), 6),
        (StoreKind::SecretService, || keyring_core::Error::PlatformFailure(platform("x")), 7),
        (StoreKind::Keyutils, || keyring_core::Error::NoStorageAccess(platform("EACCES")), 7),
        (StoreKind::Mock, || keyring_core::Error::BadEncoding(b"canary-raw-bytes".to_vec()), 8),
        (
            StoreKind::Mock,
            || keyring_core::Error::BadDataFormat(b"canary-raw-bytes".to_vec(), platform("x")),
            8,
        ),
        (StoreKind::Mock, || keyring_core::Error::NoEntry, 3),
    ];
    for (kind, make, code) in cases {
        let h = Harness::new(kind);
        assert_eq!(h.run(&as_strs(&login_args(&provider.issuer())), GOOD), 0);
        h.inject("p", make());
        assert_eq!(h.run(&["-v", "token", "p"], ""), code, "{}", h.stderr.text());
        assert!(h.stdout.text().is_empty());
        let err = h.stderr.text();
        assert!(!err.contains("canary-raw-bytes") && !err.contains(GOOD), "{err}");
        assert!(err.contains("error class"), "-v names the error class: {err}");
    }
}

#[test]
fn a_failed_config_write_rolls_back_the_stored_token() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let h = Harness::new(StoreKind::Mock);
    // A directory where config.toml should be: the write (rename) fails.
    std::fs::create_dir_all(h.dir.path().join("config.toml")).unwrap();
    let code = h.run(&as_strs(&login_args(&provider.issuer())), GOOD);
    assert_eq!(code, 2, "{}", h.stderr.text());
    assert!(h.stored("p").is_none(), "a token was left stored without its profile");
}

#[test]
fn empty_or_multi_word_input_is_not_a_token() {
    let provider = FakeProvider::start();
    let h = Harness::new(StoreKind::Mock);
    for input in ["", "   \n", "two words", "tab\tinside"] {
        assert_eq!(h.run(&as_strs(&login_args(&provider.issuer())), input), 2, "{input:?}");
    }
    assert_eq!(provider.count("/userinfo"), 0);
}

#[test]
fn logout_is_offline_and_idempotent() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let h = Harness::new(StoreKind::Mock);
    assert_eq!(h.run(&as_strs(&login_args(&provider.issuer())), GOOD), 0);
    let seen = provider.requests().len();
    drop(provider);
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    assert!(h.stored("p").is_none());
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    assert!(h.stderr.text().contains("already signed out"));
    assert!(seen > 0);
}

#[test]
fn concurrent_logins_to_different_profiles_keep_both_profiles() {
    let provider = std::sync::Arc::new(FakeProvider::start());
    let h = std::sync::Arc::new(Harness::new(StoreKind::Mock));
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (provider, h) = (provider.clone(), h.clone());
            std::thread::spawn(move || {
                let token = format!("canary-concurrent-{i}");
                provider.add_access_token(&token, "alice");
                let name = format!("p{i}");
                let args =
                    ["login", &name, "--issuer", &provider.issuer(), "--client-id", "cli", "--with-token"];
                h.run(&args, &token)
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap(), 0);
    }
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    for i in 0..6 {
        assert!(config.contains(&format!("[profiles.p{i}]")), "profile p{i} was lost:\n{config}");
    }
}
