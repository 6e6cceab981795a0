//! Login flows through the real binary and a real Secret Service, with the test playing the
//! person: it reads what vouch prints on stderr and acts on the fake provider.

use crate::support::fake_provider::{self, FakeProvider};
use crate::support::secret_service::SecretService;
use crate::support::{Running, Vouch};
use std::time::Duration;

#[test]
fn device_flow_end_to_end_with_the_test_as_the_user() {
    let ss = SecretService::start();
    let p = FakeProvider::start_with(fake_provider::Config {
        token_prefix: "canary".into(),
        ..Default::default()
    });
    let vouch = Vouch::new("secret-service", ss.env());
    let mut login = Running::spawn(
        &vouch,
        &["login", "work", "--issuer", &p.issuer(), "--client-id", "cli", "--no-open"],
    );
    let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
    assert!(
        p.pending_user_codes().contains(&code),
        "vouch showed {code}, the provider has {:?}",
        p.pending_user_codes()
    );
    assert!(p.approve_device(&code));
    let (exit, stdout, _) = login.finish();
    assert_eq!(exit, 0);
    assert!(stdout.is_empty(), "stdout is for data only");
    let record: serde_json::Value =
        serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("work")).expect("stored")).unwrap();
    let access = record["access_token"].as_str().unwrap();
    assert!(p.is_access_token_active(access));
    assert_eq!(vouch.run(&["token", "work"]).expect(0).stdout.trim(), access);
    let status = vouch.run(&["status", "work", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["has_refresh_token"], true);
    assert_eq!(json["account"], "alice");
    status.leaks_nothing("canary-");
}

#[test]
fn browser_flow_end_to_end_from_the_printed_url() {
    let ss = SecretService::start();
    let p = FakeProvider::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let mut login = Running::spawn(
        &vouch,
        &["login", "web", "--issuer", &p.issuer(), "--client-id", "cli", "--browser", "--no-open"],
    );
    let url = login.wait_for(|line| line.trim().starts_with("http").then(|| line.trim().to_string()));
    assert!(url.contains("/authorize?") && url.contains("code_challenge="), "{url}");
    // Play the browser: the provider redirects to vouch's loopback listener.
    let agent =
        ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent();
    let redirect = agent.get(&url).call().unwrap();
    let location = redirect.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let mut page = agent.get(&location).call().unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.body_mut().read_to_string().unwrap().contains("close this tab"));
    let (exit, _, stderr) = login.finish();
    assert_eq!(exit, 0, "{stderr}");
    assert!(ss.lookup("vouch", &vouch.entry_of("web")).is_some());
}

#[test]
fn ctrl_c_while_waiting_is_exit_130_and_stores_nothing() {
    let ss = SecretService::start();
    let p = FakeProvider::start();
    let vouch = Vouch::new("secret-service", ss.env());
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut login = Running::spawn(
            &vouch,
            &["login", "w", "--issuer", &p.issuer(), "--client-id", "cli", "--no-open"],
        );
        login.wait_for(|line| line.contains("enter the code").then_some(()));
        let status =
            std::process::Command::new("kill").args([signal, &login.id().to_string()]).status().unwrap();
        assert!(status.success());
        let (exit, _, _) = login.finish();
        assert_eq!(exit, code, "{signal}");
        assert!(ss.lookup("vouch", &vouch.entry_of("w")).is_none());
        assert!(!vouch.config_file().exists());
    }
}

#[test]
fn no_terminal_and_no_secret_fails_fast_instead_of_hanging() {
    let ss = SecretService::start();
    let p = FakeProvider::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let run =
        vouch.run(&["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"]);
    run.expect(2);
    assert!(run.stderr.contains("VOUCH_CLIENT_SECRET"), "{}", run.stderr);
    let run = vouch.run(&["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--with-token"]);
    run.expect(2);
    assert!(run.elapsed < Duration::from_secs(10));
}

#[test]
fn client_credentials_for_ci_with_the_secret_in_the_environment() {
    let ss = SecretService::start();
    let p = FakeProvider::start();
    p.register_client("svc", Some("canary-ci-secret"));
    let mut vouch = Vouch::new("secret-service", ss.env());
    vouch.set_env("VOUCH_CLIENT_SECRET", "canary-ci-secret");
    let run = vouch.run(&[
        "-v",
        "login",
        "ci",
        "--issuer",
        &p.issuer(),
        "--client-id",
        "svc",
        "--client-credentials",
    ]);
    run.expect(0).leaks_nothing("canary-ci-secret");
    let token = vouch.run(&["token", "ci"]).expect(0).stdout.trim().to_string();
    assert!(p.is_access_token_active(&token));
}
