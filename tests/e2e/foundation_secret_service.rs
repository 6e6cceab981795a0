//! The foundation, end to end: the real `vouch` binary against a real Secret Service
//! (gnome-keyring on a private D-Bus bus) and the fake provider.

use crate::support::fake_provider::{Discovery, FakeProvider, Fault};
use crate::support::secret_service::SecretService;
use crate::support::{Vouch, read_if_exists};
use std::time::Duration;

const GOOD: &str = "canary-good-access-token-7f3a9c";

fn setup() -> (SecretService, FakeProvider, Vouch) {
    crate::support::secret_service_with_provider(GOOD)
}

#[test]
fn login_token_status_logout_token() {
    let (ss, provider, vouch) = setup();
    let issuer = provider.issuer();

    vouch.login_with_token("p", &issuer, GOOD).expect(0).leaks_nothing(GOOD);

    // The server confirmed the token before anything was stored.
    let seen = provider.requests_to("/userinfo");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].bearer(), Some(GOOD));
    assert_eq!(provider.count("/.well-known/openid-configuration"), 1);

    // Stored under the attributes other Secret Service clients use.
    let stored = String::from_utf8(
        ss.lookup("vouch", &vouch.entry_of("p")).expect("an item service=vouch username=p"),
    )
    .unwrap();
    let record: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(record["version"], 2);
    assert_eq!(record["generation"], 1);
    assert_eq!(record["issuer"], provider.issuer());
    assert_eq!(record["client_id"], "cli");
    assert_eq!(record["access_token"], GOOD);
    assert_eq!(record["account"], "alice");

    let token = vouch.run(&["token", "p"]).expect(0).clone_stdout();
    assert_eq!(token, format!("{GOOD}\n"));

    let status = vouch.run(&["status", "p", "--json"]);
    status.expect(0).leaks_nothing(GOOD);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["profile"], "p");
    assert_eq!(json["state"], "signed-in");
    assert_eq!(json["store"], "secret-service");
    assert_eq!(json["has_refresh_token"], false);
    assert_eq!(json["account"], "alice");
    assert!(json["expires_at"].is_null());

    vouch.run(&["logout", "p"]).expect(0).leaks_nothing(GOOD);
    assert!(ss.lookup("vouch", &vouch.entry_of("p")).is_none(), "logout left the item behind");
    // RFC 7009: the provider saw the access token revoked.
    let revocation = &provider.requests_to("/revoke")[0];
    assert_eq!(revocation.form_value("token").as_deref(), Some(GOOD));
    assert_eq!(revocation.form_value("token_type_hint").as_deref(), Some("access_token"));
    assert!(!provider.is_access_token_active(GOOD));
    vouch.run(&["token", "p"]).expect(3).leaks_nothing(GOOD);
    vouch.run(&["status", "p"]).expect(3);

    // Logout kept the profile: logging in again needs no flags.
    let config = read_if_exists(&vouch.config_file()).expect("config kept");
    assert!(config.contains(&issuer), "{config}");
    let second = "canary-second-token-after-logout";
    provider.add_access_token(second, "alice");
    vouch.run_with_stdin(&["login", "p", "--with-token"], Some(second)).expect(0);
    let again: serde_json::Value =
        serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("p")).expect("stored again")).unwrap();
    assert_eq!(again["generation"], 1, "a fresh login after logout starts a new record");

    // Logging out twice is fine.
    vouch.run(&["logout", "p"]).expect(0);
    let second = vouch.run(&["logout", "p"]);
    second.expect(0);
    assert!(second.stderr.contains("already signed out"), "{}", second.stderr);
}

#[test]
fn a_rejected_token_stores_nothing_and_writes_no_profile() {
    let (ss, provider, vouch) = setup();
    let bad = "canary-rejected-token-0042";
    let run = vouch.login_with_token("p", &provider.issuer(), bad);
    run.expect(4).leaks_nothing(bad);
    assert!(run.stderr.contains("vouch login p"), "{}", run.stderr);
    assert_eq!(provider.requests_to("/userinfo")[0].bearer(), Some(bad));
    assert_eq!(ss.count_items("vouch"), 0);
    assert!(!vouch.config_file().exists(), "a failed login wrote a profile");
    vouch.run(&["token", "p"]).expect(2);
}

#[test]
fn relogin_replaces_only_after_confirmation() {
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    vouch.run_with_stdin(&["login", "p", "--with-token"], Some("canary-bad-replacement")).expect(4);
    let record: serde_json::Value =
        serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("p")).unwrap()).unwrap();
    assert_eq!(record["access_token"], GOOD, "a rejected relogin replaced a working token");
    let newer = "canary-newer-token";
    provider.add_access_token(newer, "alice");
    vouch.run_with_stdin(&["login", "p", "--with-token"], Some(newer)).expect(0);
    let record: serde_json::Value =
        serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("p")).unwrap()).unwrap();
    assert_eq!(record["access_token"], newer);
    assert_eq!(record["generation"], 2);
    assert_eq!(ss.count_items("vouch"), 1, "relogin must replace the item, not add one");
}

#[test]
fn a_locked_collection_is_exit_6_quickly() {
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    ss.lock();
    let run = vouch.run(&["token", "p"]);
    run.expect(6).leaks_nothing(GOOD);
    assert!(run.stderr.contains("unlock"), "{}", run.stderr);
    // The issue's bound; the real figure is tens of milliseconds.
    assert!(run.elapsed < Duration::from_secs(2), "took {:?}", run.elapsed);
    vouch.run(&["status"]).expect(6);
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(6);
    ss.unlock();
    vouch.run(&["token", "p"]).expect(0);
}

#[test]
fn no_session_bus_is_exit_7_and_never_plaintext() {
    let (_dir, env) = SecretService::no_bus_env();
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let vouch = Vouch::new("secret-service", env);
    let run = vouch.login_with_token("p", &provider.issuer(), GOOD);
    run.expect(7).leaks_nothing(GOOD);
    assert!(run.stderr.contains("never falls back to plaintext"), "{}", run.stderr);
    assert!(run.stderr.contains("--store keyutils"), "the remedy is missing: {}", run.stderr);
    // The store is checked before the token is even read or sent.
    assert_eq!(provider.count("/userinfo"), 0);
    assert!(!vouch.config_file().exists());
    crate::support::assert_no_file_contains(&vouch.config_dir(), &[GOOD]);
}

#[test]
fn a_bus_without_a_secret_service_is_exit_7() {
    let bus = SecretService::bus_without_service();
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let vouch = Vouch::new("secret-service", bus.env());
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(7).leaks_nothing(GOOD);
    assert_eq!(provider.count("/userinfo"), 0);
}

#[test]
fn a_corrupt_item_is_exit_8_and_logout_clears_it() {
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    let garbage = "canary-corrupt {not json";
    ss.store("vouch", &vouch.entry_of("p"), garbage.as_bytes());
    let run = vouch.run(&["token", "p"]);
    run.expect(8).leaks_nothing("canary-corrupt");
    assert!(run.stderr.contains("vouch logout p"), "{}", run.stderr);
    vouch.run(&["status", "p"]).expect(8).leaks_nothing("canary-corrupt");
    vouch.run(&["logout", "p"]).expect(0);
    vouch.run(&["token", "p"]).expect(3);
}

#[test]
fn an_unknown_record_version_is_exit_8() {
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    ss.store("vouch", &vouch.entry_of("p"), br#"{"version":99,"generation":1,"access_token":"canary-v99"}"#);
    let run = vouch.run(&["token", "p"]);
    run.expect(8).leaks_nothing("canary-v99");
    assert!(run.stderr.contains("version 99"), "{}", run.stderr);
}

#[test]
fn no_command_but_token_prints_the_secret_even_verbose() {
    let (_ss, provider, vouch) = setup();
    let issuer = provider.issuer();
    let runs = [
        vouch.run_with_stdin(
            &["-v", "login", "p", "--issuer", &issuer, "--client-id", "cli", "--with-token"],
            Some(GOOD),
        ),
        vouch.run(&["-v", "status"]),
        vouch.run(&["-v", "status", "p", "--json"]),
        vouch.run(&["-v", "status", "p", "--verify"]),
        vouch.run(&["-v", "status", "--json", "--verify"]),
        vouch.run(&["-v", "logout", "p"]),
        vouch.run(&["-v", "logout", "--all"]),
        vouch.run(&["-v", "token", "p"]),
        vouch.run(&["-v", "status", "p"]),
    ];
    for run in &runs {
        run.leaks_nothing(GOOD);
        assert!(!run.stderr.contains("Bearer"), "an Authorization header was logged: {}", run.stderr);
    }
    // -v does log what it did.
    assert!(runs[0].stderr.contains("GET http://127.0.0.1"), "{}", runs[0].stderr);
    assert!(runs[0].stderr.contains("/userinfo -> 200"), "{}", runs[0].stderr);
    crate::support::assert_no_file_contains(&vouch.config_dir(), &[GOOD]);
}

#[test]
fn status_verify_asks_the_provider() {
    let (_ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    let before = provider.count("/userinfo");
    vouch.run(&["status", "p"]).expect(0);
    assert_eq!(provider.count("/userinfo"), before, "plain status must stay offline");
    let ok = vouch.run(&["status", "p", "--verify", "--json"]);
    ok.expect(0);
    assert!(ok.stdout.contains("\"verified\": true"), "{}", ok.stdout);
    provider.expire_access_token(GOOD);
    let rejected = vouch.run(&["status", "p", "--verify", "--json"]);
    rejected.expect(3);
    assert!(rejected.stdout.contains("\"verified\": false"), "{}", rejected.stdout);
}

#[test]
fn the_provider_being_down_is_exit_5_and_stores_nothing() {
    let (ss, provider, vouch) = setup();
    provider.set_fault("/userinfo", Fault::status(503, "down"), None);
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(5).leaks_nothing(GOOD);
    provider.set_fault("/userinfo", Fault::status(429, "slow down"), None);
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(5);
    let issuer = provider.issuer();
    drop(provider);
    vouch.login_with_token("p", &issuer, GOOD).expect(5);
    assert_eq!(ss.count_items("vouch"), 0);
    assert!(!vouch.config_file().exists());
}

#[test]
fn discovery_falls_back_to_rfc8414_and_requires_the_exact_issuer() {
    let ss = SecretService::start();
    let oauth_only = FakeProvider::start_with(crate::support::fake_provider::Config {
        discovery: Discovery::OAuthOnly,
        ..Default::default()
    });
    oauth_only.add_access_token(GOOD, "alice");
    let vouch = Vouch::new("secret-service", ss.env());
    // RFC 8414 metadata has no userinfo endpoint, so vouch needs --verify-url and says so.
    let run = vouch.login_with_token("p", &oauth_only.issuer(), GOOD);
    run.expect(2);
    assert!(run.stderr.contains("--userinfo-url"), "{}", run.stderr);
    assert_eq!(oauth_only.count("/.well-known/oauth-authorization-server"), 1);
    let verify = oauth_only.url("/userinfo");
    vouch
        .run_with_stdin(
            &[
                "login",
                "p",
                "--issuer",
                &oauth_only.issuer(),
                "--client-id",
                "cli",
                "--with-token",
                "--verify-url",
                &verify,
            ],
            Some(GOOD),
        )
        .expect(0);

    let mismatched = FakeProvider::start_with(crate::support::fake_provider::Config {
        issuer_override: Some("https://evil.example".to_string()),
        ..Default::default()
    });
    mismatched.add_access_token(GOOD, "alice");
    let run = vouch.login_with_token("q", &mismatched.issuer(), GOOD);
    run.expect(9);
    assert!(run.stderr.contains("evil.example"), "{}", run.stderr);
    assert_eq!(mismatched.count("/userinfo"), 0, "the token went to a mismatched provider");
    assert!(ss.lookup("vouch", &vouch.entry_of("q")).is_none());
}

#[test]
fn https_is_required_except_on_loopback() {
    let (ss, _provider, vouch) = setup();
    for issuer in ["http://example.com", "http://192.168.1.1:8080"] {
        let run = vouch.login_with_token("p", issuer, GOOD);
        run.expect(2).leaks_nothing(GOOD);
        assert!(run.stderr.contains("not https"), "{}", run.stderr);
    }
    let run = vouch.run_with_stdin(
        &[
            "login",
            "p",
            "--issuer",
            "https://example.com",
            "--client-id",
            "c",
            "--with-token",
            "--verify-url",
            "http://example.com/me",
        ],
        Some(GOOD),
    );
    run.expect(2);
    assert_eq!(ss.count_items("vouch"), 0);
}

#[test]
fn profile_selection_and_usage_errors() {
    let (_ss, provider, mut vouch) = setup();
    vouch.run(&["token"]).expect(3); // no profiles at all: signed out
    vouch.login_with_token("a", &provider.issuer(), GOOD).expect(0);
    vouch.run(&["token"]).expect(0); // the only profile is the default
    vouch.login_with_token("b", &provider.issuer(), GOOD).expect(0);
    let ambiguous = vouch.run(&["token"]);
    ambiguous.expect(2);
    assert!(
        ambiguous.stderr.contains("a, b") && ambiguous.stderr.contains("VOUCH_PROFILE"),
        "{}",
        ambiguous.stderr
    );
    vouch.set_env("VOUCH_PROFILE", "b");
    vouch.run(&["token"]).expect(0);
    let unknown = vouch.run(&["token", "zzz"]);
    unknown.expect(2);
    assert!(unknown.stderr.contains("a, b"), "{}", unknown.stderr);
    vouch.run(&["login", "new-one", "--with-token"]).expect(2);
    vouch.run(&["login", "../etc", "--with-token"]).expect(2);
    vouch.run(&["status"]).expect(0);
    vouch.run(&["logout", "--all"]).expect(0);
    vouch.run(&["status"]).expect(3);
}

trait CloneStdout {
    fn clone_stdout(&self) -> String;
}

impl CloneStdout for crate::support::Run {
    fn clone_stdout(&self) -> String {
        self.stdout.clone()
    }
}
