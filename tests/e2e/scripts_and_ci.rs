//! Contracts for scripts and CI, through the real binary: `exec`, the `--json` schemas, and
//! non-interactive use that never hangs.

use crate::support::fake_provider::FakeProvider;
use crate::support::secret_service::SecretService;
use crate::support::{Vouch, unique_profile};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Profile `p` with a valid token, on a private Secret Service.
fn signed_in() -> (SecretService, FakeProvider, Vouch, String) {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let (access, _) = crate::support::signed_in_on(&ss, &provider, &vouch, "p");
    (ss, provider, vouch, access)
}

#[test]
fn exec_passes_the_exit_code_through() {
    let (_ss, _p, vouch, _) = signed_in();
    vouch.run(&["exec", "p", "--", "sh", "-c", "exit 7"]).expect(7);
    vouch.run(&["exec", "--", "true"]).expect(0);
    vouch.run(&["exec", "p", "--", "/nonexistent/program"]).expect(127);
}

#[test]
fn exec_puts_the_token_in_the_environment_and_never_in_argv() {
    let (_ss, _p, vouch, access) = signed_in();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "printf %s \"$VOUCH_TOKEN\" > {d}/env; printf %s \"$MY_TOKEN\" > {d}/custom; \
         cat /proc/$$/cmdline > {d}/argv; cat /proc/$PPID/cmdline > {d}/parent; \
         printf %s \"${{VOUCH_CLIENT_SECRET:-unset}}\" > {d}/secret",
        d = dir.path().display()
    );
    let mut with_secret = vouch.command(&["exec", "p", "--", "sh", "-c", &script]);
    with_secret.env("VOUCH_CLIENT_SECRET", "canary-not-for-children");
    assert!(with_secret.status().unwrap().success());
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    assert_eq!(read("env"), access);
    assert!(!read("argv").contains(&access), "the token is in the child's argv");
    assert!(!read("parent").contains(&access), "the token is in vouch's argv");
    assert_eq!(read("secret"), "unset", "the client secret leaked into the child");
    vouch.run(&["exec", "p", "--env", "MY_TOKEN", "--", "sh", "-c", &script]).expect(0);
    assert_eq!(read("custom"), access);
    vouch.run(&["exec", "p", "--env", "1BAD", "--", "true"]).expect(2);
}

#[test]
fn exec_forwards_sigterm_and_sigint_to_the_child() {
    let (_ss, _p, vouch, _) = signed_in();
    for (signal, code) in [("-TERM", 3), ("-INT", 4)] {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("got");
        let script = format!(
            "trap 'echo TERM > {m}; exit 3' TERM; trap 'echo INT > {m}; exit 4' INT; echo ready > {m}.ready; \
             while true; do sleep 0.05; done",
            m = marker.display()
        );
        let mut child =
            vouch.command(&["exec", "p", "--", "sh", "-c", &script]).stdin(Stdio::null()).spawn().unwrap();
        let started = Instant::now();
        while !dir.path().join("got.ready").exists() {
            assert!(started.elapsed() < Duration::from_secs(10), "the child never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: the child's own exit code after the signal");
        assert_eq!(std::fs::read_to_string(&marker).unwrap().trim(), &signal[1..]);
    }
}

#[test]
fn exec_does_not_start_the_child_without_a_token() {
    let (ss, _p, vouch, _) = signed_in();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());
    vouch.run(&["logout", "p"]).expect(0);
    vouch.run(&["exec", "p", "--", "sh", "-c", &script]).expect(3);
    ss.store("vouch", &vouch.entry_of("p"), b"corrupt");
    vouch.run(&["exec", "p", "--", "sh", "-c", &script]).expect(8);
    ss.lock();
    vouch.run(&["exec", "p", "--", "sh", "-c", &script]).expect(6);
    assert!(!marker.exists(), "the child ran without a token");
}

/// The keys of a JSON object, sorted.
fn keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn json_schemas_are_stable() {
    let (_ss, provider, vouch, access) = signed_in();
    let status: serde_json::Value =
        serde_json::from_str(&vouch.run(&["status", "p", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(
        keys(&status),
        [
            "account",
            "dpop_jkt",
            "expires_at",
            "has_refresh_token",
            "issuer",
            "persistence",
            "profile",
            "refresh_spent",
            "renewable",
            "rotation_pending",
            "scope",
            "state",
            "store",
            "verified"
        ]
    );
    assert!(
        status["expires_at"].is_u64() && status["verified"].is_null() && status["renewable"].is_boolean()
    );
    let all: serde_json::Value =
        serde_json::from_str(&vouch.run(&["status", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(1), "without a name, status --json is an array");

    let token: serde_json::Value =
        serde_json::from_str(&vouch.run(&["token", "p", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(keys(&token), ["access_token", "expires_at", "profile", "token_type"]);
    assert_eq!(token["access_token"], access);
    assert_eq!(token["token_type"], "Bearer");
    assert!(token["expires_at"].is_u64());

    let fresh = "canary-json-login-token";
    provider.add_access_token(fresh, "alice");
    let login = vouch.run_with_stdin(&["login", "p", "--with-token", "--json"], Some(fresh));
    let login: serde_json::Value = serde_json::from_str(&login.expect(0).stdout).unwrap();
    assert_eq!(
        keys(&login),
        ["account", "expires_at", "flow", "has_refresh_token", "profile", "scope", "store"]
    );
    assert_eq!(login["flow"], "with-token");
    assert!(!login.to_string().contains(fresh), "login --json printed the token");
}

#[test]
fn without_a_terminal_nothing_waits_for_a_person() {
    let (_ss, provider, mut vouch, _) = signed_in();
    provider.set_config(|c| c.rotate_refresh_tokens = false);
    let issuer = provider.issuer();
    // stdin is closed and neither stdin nor stderr is a terminal: non-interactive mode.
    let cases: Vec<(Vec<&str>, &[i32])> = vec![
        (vec!["status"], &[0]),
        (vec!["token", "p"], &[0]),
        (vec!["refresh", "p"], &[0]),
        (vec!["rotate", "p"], &[2]), // would need a new sign-in: refused, not waited for
        (vec!["login", "q", "--issuer", &issuer, "--client-id", "c", "--with-token"], &[2]),
        (vec!["login", "q", "--issuer", &issuer, "--client-id", "c", "--client-credentials"], &[2]),
        (vec!["git-credential", "get"], &[0]),
        (vec!["exec", "p", "--", "true"], &[0]),
        (vec!["logout", "p"], &[0]),
        (vec!["token", "p"], &[3]),
    ];
    vouch.set_env("GIT_TERMINAL_PROMPT", "0");
    for (args, codes) in cases {
        let run = vouch.run(&args);
        assert!(codes.contains(&run.code), "{args:?}: exit {}: {}", run.code, run.stderr);
        assert!(run.elapsed < Duration::from_secs(10), "{args:?} took {:?}", run.elapsed);
    }
    // The explicit switch says so when a prompt would be needed.
    let rotate = vouch.run(&["rotate", "p", "--no-input"]);
    assert!(rotate.code == 3 || rotate.code == 2);
}

#[test]
fn a_ci_job_with_client_credentials_on_keyutils() {
    // The README recipe: secret from the CI secret store, keyutils, then exec and token.
    let provider = FakeProvider::start();
    provider.register_client("ci-bot", Some("canary-ci-bot-secret"));
    let mut vouch = Vouch::new("keyutils", vec![]);
    vouch.set_env("VOUCH_CLIENT_SECRET", "canary-ci-bot-secret");
    vouch.set_env("CI", "true");
    let name = unique_profile("ci");
    let cleanup = || crate::support::remove_user_keys(&name);
    let login = vouch.run(&[
        "login",
        &name,
        "--issuer",
        &provider.issuer(),
        "--client-id",
        "ci-bot",
        "--client-credentials",
    ]);
    login.leaks_nothing("canary-ci-bot-secret");
    if login.code != 0 {
        cleanup();
    }
    login.expect(0);
    let token = vouch.run(&["token", &name]).expect(0).stdout.trim().to_string();
    assert!(provider.is_access_token_active(&token));
    let exec = vouch.run(&["exec", &name, "--", "sh", "-c", "test -n \"$VOUCH_TOKEN\""]);
    cleanup();
    exec.expect(0);
}
