//! Credential integrity under the faults the world produces: one credential, one identity, one
//! lock, and a refresh token that may have been consumed is never sent again. Every test runs
//! the real binary against the fake provider with rotation and reuse detection on (RFC 9700
//! §4.14.2: replaying a rotated refresh token revokes the whole grant), and checks what the
//! provider saw, what is stored, the exit code and the message.

use crate::support::fake_provider::{self, FakeProvider, Fault};
use crate::support::in_process::{Harness, now};
use crate::support::secret_service::SecretService;
use crate::support::{Running, Vouch, record, remove_user_keys, unique_profile, user_keys};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vouch::store::StoreKind;

fn refresh_tokens_sent(p: &FakeProvider) -> Vec<String> {
    p.token_requests("refresh_token").iter().filter_map(|r| r.form_value("refresh_token")).collect()
}

/// Wait (bounded) until the provider has seen `n` refresh requests.
fn wait_for_refreshes(p: &FakeProvider, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.token_requests("refresh_token").len() < n {
        assert!(Instant::now() < deadline, "the provider never saw {n} refresh request(s)");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A signed-in profile `p` on a private Secret Service, its access token already expired.
fn expired_session(p: &FakeProvider) -> (SecretService, Vouch, String) {
    let ss = SecretService::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    vouch.write_profile("p", &p.issuer());
    ss.store("vouch", &vouch.entry_of("p"), &record(&p.issuer(), &access, &refresh, now() as i64 - 10));
    (ss, vouch, refresh)
}

fn stored(ss: &SecretService, vouch: &Vouch, name: &str) -> serde_json::Value {
    serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of(name)).expect("a stored record")).unwrap()
}

/// `vouch login NAME` through the device flow, with the test approving the code.
fn device_login(vouch: &Vouch, name: &str, p: &FakeProvider, client: &str) -> String {
    let issuer = p.issuer();
    let mut login =
        Running::spawn(vouch, &["login", name, "--issuer", &issuer, "--client-id", client, "--no-open"]);
    let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
    assert!(p.approve_device(&code));
    let (exit, _, stderr) = login.finish();
    assert_eq!(exit, 0, "login: {stderr}");
    stderr
}

#[test]
fn a_lost_answer_is_never_replayed_by_a_waiting_or_a_later_process() {
    let p = FakeProvider::start();
    let (ss, vouch, refresh) = expired_session(&p);
    // The provider consumes and rotates the refresh token, then the answer is lost.
    p.set_fault("/token", Fault::LoseAnswer(Duration::from_millis(1500)), None);
    let spawn =
        || vouch.command(&["token", "p"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let first = spawn();
    wait_for_refreshes(&p, 1);
    // A second process arrives while the first holds the lock, waiting for its answer.
    let second = spawn();
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    p.clear_faults();
    // A third one, started later, once the provider answers normally again.
    let third = vouch.run(&["token", "p"]);

    for (who, code, stderr) in [
        ("first", first.status.code(), String::from_utf8_lossy(&first.stderr).into_owned()),
        ("second", second.status.code(), String::from_utf8_lossy(&second.stderr).into_owned()),
        ("third", Some(third.code), third.stderr.clone()),
    ] {
        assert_eq!(code, Some(4), "{who}: {stderr}");
        assert!(stderr.contains("answer to the last refresh was lost"), "{who}: {stderr}");
        assert!(stderr.contains("vouch login p"), "{who}: {stderr}");
    }
    assert!(first.stdout.is_empty() && second.stdout.is_empty() && third.stdout.is_empty());
    assert_eq!(refresh_tokens_sent(&p), vec![refresh.clone()], "the consumed refresh token was sent again");
    assert!(!p.family_revoked_by_reuse(), "the provider detected a replay");
    let record = stored(&ss, &vouch, "p");
    assert_eq!(record["refresh_spent"], "lost");
    assert_eq!(record["refresh_token"], refresh.as_str());
    let status = vouch.run(&["status", "p"]);
    assert!(status.stdout.contains("answer to a refresh was lost"), "{}", status.stdout);
}

#[test]
fn a_lost_answer_costs_no_session_with_a_provider_that_keeps_refresh_tokens() {
    let p = FakeProvider::start_with(fake_provider::Config {
        rotate_refresh_tokens: false,
        ..Default::default()
    });
    let (ss, vouch, refresh) = expired_session(&p);
    vouch.run(&["refresh", "p"]).expect(0);
    assert_eq!(
        stored(&ss, &vouch, "p")["rotation"],
        "keeps",
        "vouch did not learn that the provider keeps tokens"
    );
    p.set_fault("/token", Fault::LoseAnswer(Duration::from_millis(100)), Some(1));
    let lost = vouch.run(&["refresh", "p"]);
    lost.expect(5);
    assert!(lost.stderr.contains("tries again"), "{}", lost.stderr);
    let again = vouch.run(&["refresh", "p"]);
    again.expect(0);
    assert_eq!(refresh_tokens_sent(&p), vec![refresh.clone(), refresh.clone(), refresh.clone()]);
    assert!(p.is_refresh_token_active(&refresh));
    assert!(stored(&ss, &vouch, "p").get("refresh_spent").is_none());
}

/// Put `bytes` in `@u` as vouch's key for `entry`, readable by this user as vouch's keys are.
fn seed_user_key(entry: &str, bytes: &[u8]) {
    let mut child = Command::new("keyctl")
        .args(["padd", "user", &format!("keyring:{entry}@vouch"), "@u"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("keyctl is missing: install keyutils");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(Command::new("keyctl").args(["setperm", &id, "0x3f1f0000"]).status().unwrap().success());
}

fn read_user_key(name: &str) -> serde_json::Value {
    let id = user_keys(name).into_iter().next().expect("a key");
    let out = Command::new("keyctl").args(["pipe", &id]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Keys(String);

impl Drop for Keys {
    fn drop(&mut self) {
        remove_user_keys(&self.0);
    }
}

#[test]
fn a_rotated_credential_too_large_for_the_store_keeps_its_refresh_token_and_is_never_replayed() {
    let name = unique_profile("big");
    let _keys = Keys(name.clone());
    let p = FakeProvider::start();
    let vouch = Vouch::new("keyutils", vec![]);
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    vouch.write_profile(&name, &p.issuer());
    seed_user_key(&vouch.entry_of(&name), &record(&p.issuer(), &access, &refresh, now() as i64 - 10));
    // From now on the provider's access tokens are larger than a kernel key can hold.
    p.set_config(|c| c.access_token_padding = 40_000);

    let first = vouch.run(&["token", &name]);
    first.expect(0);
    assert!(first.stdout.len() > 40_000, "the new access token is handed out");
    assert!(
        first.stderr.contains("too large") && first.stderr.contains("only its refresh token"),
        "{}",
        first.stderr
    );
    let kept = read_user_key(&name);
    let rotated = kept["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rotated, refresh, "the new refresh token was not kept");
    assert_eq!(kept["access_token"], "");

    let second = vouch.run(&["token", &name]);
    second.expect(0);
    assert_eq!(refresh_tokens_sent(&p), vec![refresh, rotated], "each refresh token is sent once");
    assert!(!p.family_revoked_by_reuse());
}

#[test]
fn a_rotated_credential_the_store_refuses_is_reported_and_never_replayed() {
    let p = std::sync::Arc::new(FakeProvider::start());
    let h = Harness::new(StoreKind::SecretService);
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        serde_json::json!({"version":2,"generation":1,"access_token":access,"token_type":"Bearer",
                           "expires_at": now() - 10,"refresh_token":refresh}),
    );
    let backend = h.backend.clone();
    let entry = h.entry("p");
    // The store locks itself while the provider's answer is on its way back.
    let code = h.run_with(&["token", "p"], "", move |ctx| {
        ctx.checkpoint = Box::new(move |step| {
            if step == "refresh:answered" {
                use keyring_core::api::CredentialStoreApi;
                let e = backend.build(vouch::store::SERVICE, &entry, None).unwrap();
                let cred: &keyring_core::mock::Cred = e.as_any().downcast_ref().unwrap();
                cred.set_error(keyring_core::Error::NoStorageAccess(Box::new(std::io::Error::other(
                    "Locked",
                ))));
            }
            Ok(())
        })
    });
    let stderr = h.stderr.text();
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("issued a new credential") && stderr.contains("refused to keep it"), "{stderr}");
    assert!(stderr.contains("vouch login p"), "{stderr}");
    assert!(!stderr.contains("nothing was stored"), "the message must not claim nothing happened: {stderr}");
    // The store works again: still nothing resends the consumed token, whatever the command.
    h.stderr.clear();
    for args in [&["token", "p"][..], &["refresh", "p"]] {
        assert_eq!(h.run(args, ""), 4, "{args:?}: {}", h.stderr.text());
    }
    assert_eq!(refresh_tokens_sent(&p), vec![refresh]);
    assert!(!p.family_revoked_by_reuse());
    assert_eq!(h.stored("p").unwrap()["refresh_spent"], "unstorable");
}

#[test]
fn a_keyring_locked_while_the_answer_is_on_its_way_leaves_a_marker_that_prevents_a_replay() {
    let p = FakeProvider::start();
    let (ss, vouch, refresh) = expired_session(&p);
    p.set_fault("/token", Fault::DelayAnswer(Duration::from_millis(1500)), Some(1));
    let refreshing =
        vouch.command(&["token", "p"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for_refreshes(&p, 1);
    // The provider has rotated the token; the keyring locks before vouch can keep the answer.
    ss.lock();
    let out = refreshing.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("issued a new credential") && stderr.contains("refused to keep it"), "{stderr}");
    assert!(out.stdout.is_empty());
    ss.unlock();
    // Nothing in the store says what happened (it refused every write); the marker does.
    assert!(stored(&ss, &vouch, "p").get("refresh_spent").is_none());
    let later = vouch.run(&["token", "p"]);
    later.expect(4);
    assert!(later.stderr.contains("did not finish after its request was sent"), "{}", later.stderr);
    assert_eq!(refresh_tokens_sent(&p), vec![refresh], "the consumed refresh token was sent again");
    assert!(!p.family_revoked_by_reuse());
    assert_eq!(stored(&ss, &vouch, "p")["refresh_spent"], "interrupted");
}

#[test]
fn processes_with_different_environments_share_one_lock() {
    let p = FakeProvider::start();
    let (_ss, vouch, refresh) = expired_session(&p);
    p.set_fault("/token", Fault::DelayAnswer(Duration::from_millis(1500)), Some(1));
    let runtime_a = tempfile::tempdir().unwrap();
    let runtime_b = tempfile::tempdir().unwrap();
    let spawn = |runtime: &std::path::Path, home: Option<&std::path::Path>| {
        let mut cmd = vouch.command(&["token", "p"]);
        cmd.env("XDG_RUNTIME_DIR", runtime).env("XDG_CACHE_HOME", runtime.join("cache"));
        if let Some(home) = home {
            cmd.env("HOME", home);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    };
    // A desktop session...
    let desktop = spawn(runtime_a.path(), None);
    wait_for_refreshes(&p, 1);
    // ... and a cron job with another runtime dir and another HOME.
    let cron = spawn(runtime_b.path(), Some(runtime_b.path()));
    let desktop = desktop.wait_with_output().unwrap();
    let cron = cron.wait_with_output().unwrap();
    assert!(desktop.status.success(), "{}", String::from_utf8_lossy(&desktop.stderr));
    assert!(cron.status.success(), "{}", String::from_utf8_lossy(&cron.stderr));
    assert_eq!(desktop.stdout, cron.stdout, "both print the one new token");
    assert_eq!(refresh_tokens_sent(&p), vec![refresh], "one credential, one refresh");
    assert!(!p.family_revoked_by_reuse());
}

/// A provider whose every secret starts with `prefix`.
fn minting(prefix: &str) -> FakeProvider {
    FakeProvider::start_with(fake_provider::Config { token_prefix: prefix.into(), ..Default::default() })
}

/// No request `provider` received carried `needle`: not in the form, a header or the path.
fn assert_never_saw(provider: &FakeProvider, needle: &str) {
    for request in provider.requests() {
        let seen = format!("{:?} {:?} {:?}", request.form(), request.header("authorization"), request.path);
        assert!(!seen.contains(needle), "a provider saw another one's credential: {seen}");
    }
}

#[test]
fn two_configurations_with_the_same_profile_name_never_share_a_credential() {
    let name = unique_profile("default");
    let _keys = Keys(name.clone());
    let (a, b) = (minting("canary-a"), minting("canary-b"));
    let project_a = Vouch::new("keyutils", vec![]);
    let project_b = Vouch::new("keyutils", vec![]);
    device_login(&project_a, &name, &a, "cli");
    device_login(&project_b, &name, &b, "cli");
    assert_ne!(project_a.entry_of(&name), project_b.entry_of(&name));
    assert_eq!(user_keys(&name).len(), 2, "one entry each");

    let token_a = project_a.run(&["token", &name]).expect(0).stdout.clone();
    let token_b = project_b.run(&["token", &name]).expect(0).stdout.clone();
    assert!(token_a.starts_with("canary-a") && token_b.starts_with("canary-b"), "{token_a} / {token_b}");
    // Refreshes go to each one's own provider.
    project_a.run(&["refresh", &name]).expect(0);
    project_b.run(&["refresh", &name]).expect(0);
    assert_never_saw(&a, "canary-b");
    assert_never_saw(&b, "canary-a");
    assert!(!a.family_revoked_by_reuse() && !b.family_revoked_by_reuse());
}

#[test]
fn a_login_to_another_provider_starts_clean_and_revokes_the_old_grant_at_its_own_provider() {
    let ss = SecretService::start();
    let (a, b) = (minting("canary-a"), minting("canary-b"));
    a.register_client("app", Some("canary-a-client-secret"));
    b.register_client("app", None);
    let mut vouch = Vouch::new("secret-service", ss.env());
    // A confidential client at A: its secret is kept for refreshes.
    vouch.set_env("VOUCH_CLIENT_SECRET", "canary-a-client-secret");
    let issuer_a = a.issuer();
    let mut login = Running::spawn(
        &vouch,
        &["login", "p", "--issuer", &issuer_a, "--client-id", "app", "--confidential", "--no-open"],
    );
    let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
    assert!(a.approve_device(&code));
    assert_eq!(login.finish().0, 0);
    let old = stored(&ss, &vouch, "p");
    let old_refresh = old["refresh_token"].as_str().unwrap().to_string();
    let old_entry = vouch.entry_of("p");

    // The same profile now signs in to B, a public client there.
    vouch.set_env("VOUCH_CLIENT_SECRET", "");
    let issuer_b = b.issuer();
    let mut login =
        Running::spawn(&vouch, &["login", "p", "--issuer", &issuer_b, "--client-id", "app", "--no-open"]);
    let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
    assert!(b.approve_device(&code));
    let (exit, _, stderr) = login.finish();
    assert_eq!(exit, 0, "{stderr}");
    assert!(stderr.contains(&format!("revoked at {issuer_a}")), "{stderr}");

    assert_never_saw(&b, "canary-a");
    assert!(a.revoked().contains(&old_refresh), "the old grant was not revoked at A");
    assert!(ss.lookup("vouch", &old_entry).is_none(), "the old entry is still stored");
    let new = stored(&ss, &vouch, "p");
    assert_eq!(new["issuer"], issuer_b);
    assert!(new.get("client_secret").is_none(), "A's client secret was carried over");
    assert!(vouch.run(&["token", "p"]).expect(0).stdout.starts_with("canary-b"));
}

#[test]
fn a_config_edited_to_another_issuer_never_sends_the_old_credential_there() {
    let a = minting("canary-a");
    let b = FakeProvider::start();
    let (_ss, vouch, _refresh) = expired_session(&a);
    let text = std::fs::read_to_string(vouch.config_file()).unwrap().replace(&a.issuer(), &b.issuer());
    std::fs::write(vouch.config_file(), text).unwrap();
    for args in [&["token", "p"][..], &["refresh", "p"], &["status", "p"]] {
        let run = vouch.run(args);
        run.expect(2);
        assert!(
            run.stderr.contains("was issued by") && run.stderr.contains("vouch login p"),
            "{}",
            run.stderr
        );
    }
    assert!(b.token_requests("refresh_token").is_empty(), "B was sent A's refresh token");
}

#[test]
fn a_deleted_config_leaves_an_orphan_that_is_reported_revoked_and_never_resurrected() {
    let ss = SecretService::start();
    let p = FakeProvider::start();
    let old = Vouch::new("secret-service", ss.env());
    device_login(&old, "p", &p, "cli");
    let orphan = stored(&ss, &old, "p");
    let orphan_refresh = orphan["refresh_token"].as_str().unwrap().to_string();
    let orphan_entry = old.entry_of("p");
    drop(old); // the config directory is gone

    let fresh = Vouch::new("secret-service", ss.env());
    let status = fresh.run(&["status"]);
    assert!(status.stderr.contains("no profile of this configuration owns (p)"), "{}", status.stderr);
    assert!(status.stderr.contains("vouch logout --orphans"), "{}", status.stderr);
    // A new profile of the same name is a new credential, never the old one.
    device_login(&fresh, "p", &p, "cli");
    assert_ne!(fresh.entry_of("p"), orphan_entry);
    let token = fresh.run(&["token", "p"]).expect(0).stdout.clone();
    assert_ne!(token.trim(), orphan["access_token"].as_str().unwrap(), "the old session was resurrected");
    let status = fresh.run(&["status"]);
    assert!(status.stderr.contains("owns (p)"), "the orphan is still there: {}", status.stderr);

    let cleaned = fresh.run(&["logout", "--orphans"]);
    cleaned.expect(0);
    assert!(cleaned.stderr.contains("Deleted an orphaned credential of 'p'"), "{}", cleaned.stderr);
    assert!(p.revoked().contains(&orphan_refresh), "the orphan was not revoked at its provider");
    assert!(ss.lookup("vouch", &orphan_entry).is_none(), "the orphan is still stored");
    assert_eq!(ss.count_items("vouch"), 1, "only the new credential is left");
    fresh.run(&["token", "p"]).expect(0);
    let status = fresh.run(&["status"]);
    assert!(!status.stderr.contains("orphan"), "{}", status.stderr);
}

/// A profile as vouch 0.1 wrote it: no credential id, its record (format 1) under entry `p`.
fn legacy_session(p: &FakeProvider, access: &str, refresh: &str) -> (SecretService, Vouch) {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let ss = SecretService::start();
    let vouch = Vouch::new("secret-service", ss.env());
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(vouch.config_dir()).unwrap();
    let config =
        format!("[profiles.p]\nissuer = \"{}\"\nclient_id = \"cli\"\nflow = \"device\"\n", p.issuer());
    std::fs::write(vouch.config_file(), config).unwrap();
    std::fs::set_permissions(vouch.config_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    let v1 = serde_json::json!({"version": 1, "generation": 3, "access_token": access, "token_type": "Bearer",
        "expires_at": now() - 10, "refresh_token": refresh, "account": "alice"});
    ss.store("vouch", "p", v1.to_string().as_bytes());
    (ss, vouch)
}

#[test]
fn a_version_1_record_is_migrated_to_its_profiles_own_entry_on_first_use() {
    let p = FakeProvider::start();
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    let (ss, vouch) = legacy_session(&p, &access, &refresh);
    let token = vouch.run(&["token", "p"]);
    token.expect(0);
    assert_ne!(token.stdout.trim(), access, "the expired token was refreshed");
    assert!(ss.lookup("vouch", "p").is_none(), "the old entry is left behind");
    let entry = vouch.entry_of("p");
    assert!(entry.starts_with("p~") && entry.len() == "p~".len() + 16, "{entry}");
    let migrated = stored(&ss, &vouch, "p");
    assert_eq!(migrated["version"], 2);
    assert_eq!(migrated["issuer"], p.issuer());
    assert_eq!(migrated["client_id"], "cli");
    assert_eq!(migrated["generation"], 4, "the generation goes on from the old record");
    assert_eq!(refresh_tokens_sent(&p), vec![refresh]);
    assert_eq!(ss.count_items("vouch"), 1);
    // Idempotent: the next command finds the profile's entry straight away.
    vouch.run(&["token", "p"]).expect(0);
    assert_eq!(vouch.entry_of("p"), entry);
}

#[test]
fn a_version_1_record_minted_by_another_issuer_is_not_adopted() {
    use base64::Engine;
    let p = FakeProvider::start();
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    // An access token that says, in its own claims, that another provider minted it.
    let foreign = format!("{}.{}.sig", enc(r#"{"alg":"none"}"#), enc(r#"{"iss":"https://other.example"}"#));
    let (ss, vouch) = legacy_session(&p, &foreign, "canary-foreign-refresh");
    let run = vouch.run(&["token", "p"]);
    run.expect(3);
    assert!(run.stderr.contains("issued by another provider"), "{}", run.stderr);
    assert!(p.token_requests("refresh_token").is_empty(), "the foreign refresh token was sent");
    assert!(ss.lookup("vouch", "p").is_some(), "the foreign record was deleted instead of left alone");
    let status = vouch.run(&["status"]);
    assert!(status.stderr.contains("owns (p)"), "the foreign record is not reported: {}", status.stderr);
}
