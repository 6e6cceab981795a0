//! The lifecycle through the real binary on a real Secret Service: the 32-process refresh
//! storm, and SIGTERM in the middle of a refresh.

use crate::support::Vouch;
use crate::support::fake_provider::{FakeProvider, Fault};
use crate::support::in_process::now;
use crate::support::secret_service::SecretService;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A profile `p` signed in to `p` with an access token that has already expired.
fn expired_session(ss: &SecretService, provider: &FakeProvider) -> (Vouch, String) {
    let vouch = Vouch::new("secret-service", ss.env());
    let (access, refresh) = provider.issue_grant("alice", "openid offline_access");
    vouch.write_profile("p", &provider.issuer());
    ss.store(
        "vouch",
        &vouch.entry_of("p"),
        &crate::support::record(&provider.issuer(), &access, &refresh, now() as i64 - 10),
    );
    (vouch, refresh)
}

fn stored(ss: &SecretService, vouch: &Vouch) -> serde_json::Value {
    serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("p")).expect("a stored record")).unwrap()
}

#[test]
fn a_storm_of_32_processes_costs_exactly_one_refresh() {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    let (vouch, old_refresh) = expired_session(&ss, &provider);
    let children: Vec<_> = (0..32)
        .map(|_| {
            vouch
                .command(&["token", "p"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let first = String::from_utf8_lossy(&outputs[0].stdout).to_string();
    assert!(
        outputs.iter().all(|o| String::from_utf8_lossy(&o.stdout) == first),
        "processes printed different tokens"
    );
    assert!(provider.is_access_token_active(first.trim()));
    assert_eq!(provider.token_requests("refresh_token").len(), 1, "the provider saw more than one refresh");
    assert_eq!(stored(&ss, &vouch)["generation"], 2);
    assert!(!provider.is_refresh_token_active(&old_refresh));

    // The grant survived: a refresh afterwards still works.
    vouch.run(&["refresh", "p"]).expect(0);
    assert!(!provider.family_revoked_by_reuse());
    assert_eq!(provider.token_requests("refresh_token").len(), 2);
}

#[test]
fn sigterm_during_a_refresh_still_stores_the_new_token() {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    let (vouch, old_refresh) = expired_session(&ss, &provider);
    // The provider handles the refresh at once (the old token is consumed) but its answer
    // takes a while to come back: the window in which a CI runner cancels the job.
    provider.set_fault("/token", Fault::DelayAnswer(Duration::from_millis(1500)), Some(1));
    let child =
        vouch.command(&["refresh", "p"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while provider.token_requests("refresh_token").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "vouch never sent the refresh");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    let record = stored(&ss, &vouch);
    assert_eq!(record["generation"], 2, "the refreshed credential was lost");
    let new_refresh = record["refresh_token"].as_str().unwrap();
    assert!(provider.is_refresh_token_active(new_refresh));
    assert!(!provider.is_refresh_token_active(&old_refresh));
    vouch.run(&["token", "p"]).expect(0);
}
