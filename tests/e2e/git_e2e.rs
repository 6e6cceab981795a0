//! Real git against a loopback smart-HTTP server that accepts only tokens the fake provider
//! says are valid, with vouch as the credential helper installed by `vouch setup-git`.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::git_server::GitServer;
use crate::support::in_process::now;
use crate::support::secret_service::SecretService;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

struct World {
    ss: SecretService,
    provider: Arc<FakeProvider>,
    server: GitServer,
    vouch: Vouch,
    work: tempfile::TempDir,
}

impl World {
    /// Profile `p` signed in with a token valid for `ttl` seconds, a repo, and no git setup yet.
    fn new(ttl: i64) -> (World, String, String) {
        let ss = SecretService::start();
        let provider = Arc::new(FakeProvider::start());
        let check = provider.clone();
        let server = GitServer::start(Arc::new(move |token: &str| check.is_access_token_active(token)));
        server.create_repo("repo.git");
        let mut vouch = Vouch::new("secret-service", ss.env());
        vouch.set_env("GIT_TERMINAL_PROMPT", "0");
        vouch.set_env("GIT_CONFIG_NOSYSTEM", "1");
        let (access, refresh) = provider.issue_grant("alice", "openid");
        vouch.write_profile("p", &provider.issuer());
        ss.store(
            "vouch",
            &vouch.entry_of("p"),
            &crate::support::record(&provider.issuer(), &access, &refresh, now() as i64 + ttl),
        );
        let work = tempfile::tempdir().unwrap();
        (World { ss, provider, server, vouch, work }, access, refresh)
    }

    /// `git ARGS` in `dir` with the same environment vouch gets (private HOME, bus, config).
    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = self.vouch.command(&[]);
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect();
        cmd = Command::new(self.server.git());
        cmd.env_clear().envs(envs).current_dir(dir).args(args).stdin(Stdio::null());
        cmd.output().expect("run git")
    }

    fn setup_git(&self) {
        let host = format!("http://{}", self.server.host());
        self.vouch.run(&["setup-git", "--host", &host, "--profile", "p"]).expect(0);
    }

    fn stored(&self) -> serde_json::Value {
        serde_json::from_slice(&self.ss.lookup("vouch", &self.vouch.entry_of("p")).unwrap()).unwrap()
    }
}

fn ok(out: &Output) {
    assert!(out.status.success(), "git failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn setup_git_then_plain_clone_and_push_work_without_a_prompt() {
    let (w, access, _) = World::new(3600);
    w.setup_git();
    let key = format!("credential.http://{}.helper", w.server.host());
    let helpers = w.git(w.work.path(), &["config", "--global", "--get-all", &key]);
    let helpers = String::from_utf8_lossy(&helpers.stdout).to_string();
    let lines: Vec<&str> = helpers.lines().collect();
    assert_eq!(lines.len(), 2, "{helpers}");
    assert_eq!(lines[0], "", "the inherited helper list is reset first");
    assert!(lines[1].starts_with("!'") && lines[1].ends_with("' git-credential"), "{helpers}");
    assert!(std::fs::read_to_string(w.vouch.config_file()).unwrap().contains(&w.server.host()));

    ok(&w.git(w.work.path(), &["clone", &w.server.url("repo.git"), "clone"]));
    let clone = w.work.path().join("clone");
    std::fs::write(clone.join("new.txt"), "hello").unwrap();
    ok(&w.git(&clone, &["add", "new.txt"]));
    ok(&w.git(&clone, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-m", "new"]));
    ok(&w.git(&clone, &["push", "origin", "HEAD:main"]));
    assert_eq!(w.server.commit_count("repo.git"), 2, "the push did not land");
    let authorized: Vec<_> = w.server.seen().into_iter().filter(|s| s.authorized).collect();
    assert!(!authorized.is_empty());
    assert!(authorized.iter().all(|s| s.password.as_deref() == Some(access.as_str())));
    assert!(authorized.iter().all(|s| s.username.as_deref() == Some("oauth2")));

    // --remove undoes both halves.
    let host = format!("http://{}", w.server.host());
    w.vouch.run(&["setup-git", "--host", &host, "--profile", "p", "--remove"]).expect(0);
    let after = w.git(w.work.path(), &["config", "--global", "--get-all", &key]);
    assert!(String::from_utf8_lossy(&after.stdout).trim().is_empty());
    assert!(!std::fs::read_to_string(w.vouch.config_file()).unwrap().contains(&w.server.host()));
}

#[test]
fn an_expiring_token_is_refreshed_just_in_time_for_git() {
    let (w, access, old_refresh) = World::new(3600);
    w.setup_git();
    ok(&w.git(w.work.path(), &["clone", &w.server.url("repo.git"), "clone"]));
    // Later, the token is about to expire: the next fetch refreshes first.
    crate::support::expiring_soon_on(&w.ss, &w.vouch, "p");
    ok(&w.git(&w.work.path().join("clone"), &["fetch"]));
    let fresh = w.stored()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);
    assert!(!w.provider.is_refresh_token_active(&old_refresh));
    let last = w.server.seen().into_iter().rev().find(|s| s.authorized).unwrap();
    assert_eq!(last.password.as_deref(), Some(fresh.as_str()));
}

#[test]
fn a_rejected_token_is_erased_and_the_next_attempt_refreshes() {
    let (w, access, refresh) = World::new(3600);
    w.setup_git();
    // The provider revoked the access token early; vouch still thinks it is good for an hour.
    w.provider.expire_access_token(&access);
    let first = w.git(w.work.path(), &["clone", &w.server.url("repo.git"), "clone"]);
    assert!(!first.status.success(), "the server accepted a dead token");
    let record = w.stored();
    assert_eq!(record["refresh_token"], refresh, "erase dropped the refresh token");
    assert!(record["expires_at"].as_u64().unwrap() < now(), "erase did not expire the cached token");
    // Next attempt: a just-in-time refresh, then success, with no new login.
    ok(&w.git(w.work.path(), &["clone", &w.server.url("repo.git"), "clone"]));
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);
    assert_ne!(w.stored()["access_token"], access);
}

#[test]
fn an_unknown_host_falls_through_to_the_next_helper() {
    let (w, _, _) = World::new(3600);
    w.setup_git();
    // vouch itself answers nothing for a host no profile serves.
    let run = w
        .vouch
        .run_with_stdin(&["git-credential", "get"], Some("protocol=https\nhost=elsewhere.example\n\n"));
    run.expect(0);
    assert_eq!(run.stdout, "");
    // Through git: vouch first, then a second helper that does answer.
    let mut cmd = w.vouch.command(&[]);
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    cmd = Command::new(w.server.git());
    let mut fill_child = cmd
        .env_clear()
        .envs(envs)
        .args([
            "-c",
            "credential.helper=",
            "-c",
            &format!("credential.helper=!'{}' git-credential", env!("CARGO_BIN_EXE_vouch")),
            "-c",
            "credential.helper=!f() { echo username=next; echo password=next-helper; }; f",
            "credential",
            "fill",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    fill_child.stdin.take().unwrap().write_all(b"protocol=https\nhost=elsewhere.example\n\n").unwrap();
    let out = fill_child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("password=next-helper"));
}

#[test]
fn a_git_credential_vouch_link_works_as_credential_helper_vouch() {
    let (w, access, _) = World::new(3600);
    // The host goes into the profile by hand (no git config), then the binary is linked.
    let host = format!("http://{}", w.server.host());
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vouch"), bin.path().join("git-credential-vouch")).unwrap();
    let mut config = std::fs::read_to_string(w.vouch.config_file()).unwrap();
    config.push_str(&format!("hosts = [\"{host}\"]\n"));
    std::fs::write(w.vouch.config_file(), config).unwrap();
    let mut cmd = w.vouch.command(&[]);
    let mut envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    for (k, v) in envs.iter_mut() {
        if k == "PATH" {
            *v = format!("{}:{v}", bin.path().display());
        }
    }
    cmd = Command::new(w.server.git());
    let out = cmd
        .env_clear()
        .envs(envs)
        .current_dir(w.work.path())
        .args([
            "-c",
            "credential.helper=",
            "-c",
            "credential.helper=vouch",
            "clone",
            &w.server.url("repo.git"),
            "c",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&out);
    let last = w.server.seen().into_iter().rev().find(|s| s.authorized).unwrap();
    assert_eq!(last.password.as_deref(), Some(access.as_str()));
}

/// `credential.helper = store`, the plaintext helper many people have, configured globally
/// before `setup-git` (the reset clears it) and then in the repository (read after vouch's
/// entry, so git does run it): the token must never reach `~/.git-credentials`.
#[test]
fn a_storing_helper_beside_vouch_never_keeps_the_token() {
    let (w, access, _) = World::new(3600);
    let home = w
        .vouch
        .command(&[])
        .get_envs()
        .find(|(k, _)| *k == "HOME")
        .and_then(|(_, v)| v.map(std::path::PathBuf::from))
        .expect("vouch and git get a private HOME");
    let credentials = home.join(".git-credentials");
    ok(&w.git(w.work.path(), &["config", "--global", "credential.helper", "store"]));
    let host = format!("http://{}", w.server.host());
    let run = w.vouch.run(&["setup-git", "--host", &host, "--profile", "p"]);
    run.expect(0);
    assert!(!run.stderr.contains("warning"), "the reset covers a helper read before it: {}", run.stderr);

    ok(&w.git(w.work.path(), &["clone", &w.server.url("repo.git"), "clone"]));
    let clone = w.work.path().join("clone");
    // Now a storing helper that git reads after vouch's entry: setup-git says so.
    ok(&w.git(&clone, &["config", "--local", "credential.helper", "store"]));
    let out = w.vouch.command(&["setup-git", "--host", &host, "--profile", "p"]).current_dir(&clone).output();
    let out = out.expect("run vouch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: git also runs the credential helper 'store'")
            && stderr.contains("local configuration, credential.helper"),
        "{stderr}"
    );

    // git runs `store` after vouch for the fetch and the push, and approves the credential.
    ok(&w.git(&clone, &["fetch"]));
    std::fs::write(clone.join("new.txt"), "hello").unwrap();
    ok(&w.git(&clone, &["add", "new.txt"]));
    ok(&w.git(&clone, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-m", "new"]));
    ok(&w.git(&clone, &["push", "origin", "HEAD:main"]));
    assert_eq!(w.server.commit_count("repo.git"), 2, "the push did not land");
    let authorized: Vec<_> = w.server.seen().into_iter().filter(|s| s.authorized).collect();
    assert!(authorized.len() >= 3, "clone, fetch and push all authenticated: {}", authorized.len());
    assert!(authorized.iter().all(|s| s.password.as_deref() == Some(access.as_str())));
    assert!(authorized.iter().all(|s| s.username.as_deref() == Some("oauth2")));
    let stored = std::fs::read_to_string(&credentials).unwrap_or_default();
    assert!(!stored.contains(&access), "the token is in {}: {stored}", credentials.display());
    crate::support::assert_no_file_contains(&home, &[access.as_str()]);
}

/// The `git` that `setup-git` runs gets the environment without `VOUCH_CLIENT_SECRET`.
#[test]
fn setup_git_does_not_hand_the_client_secret_to_git() {
    let (mut w, _, _) = World::new(3600);
    let bin = tempfile::tempdir().unwrap();
    let log = bin.path().join("env.log");
    let wrapper = bin.path().join("git");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nenv >> '{}'\nexec '{}' \"$@\"\n", log.display(), w.server.git().display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    w.vouch.set_env("PATH", &path);
    w.vouch.set_env("VOUCH_CLIENT_SECRET", "canary-client-secret-for-git");
    w.setup_git();
    let seen = std::fs::read_to_string(&log).expect("setup-git ran git through the wrapper");
    assert!(seen.contains("GIT_CONFIG_NOSYSTEM=1"), "the wrapper saw git's environment: {seen}");
    assert!(!seen.contains("canary-client-secret-for-git"), "git inherited VOUCH_CLIENT_SECRET");
    assert!(!seen.contains("VOUCH_CLIENT_SECRET"), "{seen}");
}
