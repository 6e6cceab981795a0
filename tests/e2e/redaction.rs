//! Redaction canaries: every command, in success and failure paths, with `-v`, against a
//! provider whose every minted secret is recognisable. None may appear on stdout or stderr
//! (except the stdout of `token`, `token --json` and the credential helpers' `get`), in a file
//! vouch writes outside the store (its own, kubectl's, cargo's and docker's configuration), in argv, or
//! in a panic message. Also the Linux hardening.

use crate::support::fake_provider::{self, FakeProvider, Fault};
use crate::support::secret_service::SecretService;
use crate::support::{Run, Running, Vouch};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

/// Every secret the provider mints starts with this; the client secret and pasted token too.
const CANARY: &str = "CANARYZ";
/// The signature part of every ID token the fake mints (base64url of "fake-signature").
const ID_TOKEN_MARK: &str = "ZmFrZS1zaWduYXR1cmU";

/// cargo's `get` for the profile `dev`, and a `cargo login` handing vouch a token to keep.
const CARGO_GET: &str = "{\"v\":1,\"kind\":\"get\",\"operation\":\"read\",\"registry\":{\"index-url\":\"sparse+https://r.example/index/\",\"name\":\"internal\"},\"args\":[\"cargo-credential\",\"dev\"]}\n";
const CARGO_LOGIN_WITH_TOKEN: &str = "{\"v\":1,\"kind\":\"login\",\"registry\":{\"index-url\":\"sparse+https://r.example/index/\"},\"token\":\"CANARYZ-cargo-login\",\"args\":[\"cargo-credential\",\"dev\"]}\n";

/// `docker login` handing vouch a password to keep.
const DOCKER_STORE: &str =
    "{\"ServerURL\":\"reg.example\",\"Username\":\"oauth2\",\"Secret\":\"CANARYZ-docker-login\"}";

struct Scene {
    ss: SecretService,
    provider: Arc<FakeProvider>,
    vouch: Vouch,
    /// Every (command, run) to check, and whether its stdout may hold a token.
    runs: Vec<(String, Run, bool)>,
    /// A BROWSER command that records its argv.
    browser_log: tempfile::TempDir,
}

impl Scene {
    fn new() -> Scene {
        let ss = SecretService::start();
        let provider = Arc::new(FakeProvider::start_with(fake_provider::Config {
            token_prefix: CANARY.to_string(),
            ..Default::default()
        }));
        provider.register_client("svc", Some("CANARYZ-client-secret"));
        provider.add_access_token("CANARYZ-pasted-token", "alice");
        let mut vouch = Vouch::new("secret-service", ss.env());
        let browser_log = tempfile::tempdir().unwrap();
        let script = browser_log.path().join("browser.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}/argv\n", browser_log.path().display()))
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        vouch.set_env("BROWSER", &script.display().to_string());
        Scene { ss, provider, vouch, runs: Vec::new(), browser_log }
    }

    fn run(&mut self, args: &[&str], stdin: Option<&str>, may_print_token: bool) {
        let mut full = vec!["-v"];
        full.extend_from_slice(args);
        let run = self.vouch.run_with_stdin(&full, stdin);
        self.runs.push((args.join(" "), run, may_print_token));
    }

    /// A device login, with the test approving the code it reads from stderr.
    fn device_login(&mut self, name: &str) {
        let issuer = self.provider.issuer();
        let mut login =
            Running::spawn(&self.vouch, &["-v", "login", name, "--issuer", &issuer, "--client-id", "cli"]);
        let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
        self.provider.approve_device(&code);
        self.finish(format!("login {name} (device)"), login);
    }

    /// Wait for a running login and record it (stdout must hold no token).
    fn finish(&mut self, what: String, login: Running) {
        let started = Instant::now();
        let (code, stdout, stderr) = login.finish();
        let run = Run { code, stdout, stderr, elapsed: started.elapsed() };
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        self.runs.push((what, run, false));
    }

    /// Every secret the provider and the test handed out, as seen on the wire.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![CANARY.to_string(), ID_TOKEN_MARK.to_string()];
        for request in self.provider.requests() {
            for key in ["code_verifier", "code", "device_code", "refresh_token", "client_secret"] {
                if let Some(value) = request.form_value(key) {
                    secrets.push(value);
                }
            }
        }
        secrets
    }
}

fn assert_nothing_leaks(scene: &Scene) {
    let secrets = scene.secrets();
    assert!(secrets.iter().any(|s| s.len() >= 43), "the scene captured no PKCE verifier");
    for (what, run, may_print_token) in &scene.runs {
        for secret in &secrets {
            assert!(
                !run.stderr.contains(secret.as_str()),
                "`{what}` leaked {secret} on stderr:\n{}",
                run.stderr
            );
            if !may_print_token {
                assert!(
                    !run.stdout.contains(secret.as_str()),
                    "`{what}` leaked {secret} on stdout:\n{}",
                    run.stdout
                );
            }
        }
        assert!(!run.stderr.contains("Bearer "), "`{what}` logged an Authorization header");
    }
    // Files vouch writes outside the store: config, lock files; and the files of the clients it
    // configures (the kubeconfig, cargo's config.toml) under its HOME.
    let home = scene.vouch.config_dir().parent().expect("HOME above the config dir").to_path_buf();
    for dir in [home, scene.ss.home().to_path_buf(), scene.browser_log.path().to_path_buf()] {
        crate::support::assert_no_file_contains(&dir, &secrets);
    }
    // The browser was handed only the path of its launch page: no URL, verifier, code or token.
    let argv = std::fs::read_to_string(scene.browser_log.path().join("argv")).unwrap_or_default();
    assert!(argv.contains("sign-in.html"), "the browser was never opened: {argv}");
    assert!(!argv.contains("state="), "the browser's argv holds the authorization URL: {argv}");
    for secret in &secrets {
        assert!(!argv.contains(secret.as_str()), "the browser's argv holds {secret}");
    }
}

#[test]
fn no_secret_leaks_from_any_command_or_path() {
    let mut s = Scene::new();
    let issuer = s.provider.issuer();
    // Success paths.
    s.device_login("dev");
    // Browser login: the BROWSER script records its argv; the test plays the browser.
    let mut login = Running::spawn(
        &s.vouch,
        &["-v", "login", "web", "--issuer", &issuer, "--client-id", "cli", "--browser"],
    );
    let url = login.wait_for(|line| line.trim().starts_with("http").then(|| line.trim().to_string()));
    let agent =
        ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent();
    let location =
        agent.get(&url).call().unwrap().headers().get("location").unwrap().to_str().unwrap().to_string();
    agent.get(&location).call().unwrap();
    s.finish("login web (browser)".into(), login);
    s.run(
        &["login", "ci", "--issuer", &issuer, "--client-id", "svc", "--client-credentials", "--json"],
        Some("CANARYZ-client-secret"),
        false,
    );
    s.run(
        &["login", "pasted", "--issuer", &issuer, "--client-id", "cli", "--with-token"],
        Some("CANARYZ-pasted-token"),
        false,
    );
    s.run(&["status"], None, false);
    s.run(&["status", "--json", "--verify"], None, false);
    s.run(&["token", "dev"], None, true);
    s.run(&["token", "dev", "--json", "--min-ttl", "7200"], None, true);
    s.run(&["refresh", "dev"], None, false);
    s.run(&["refresh", "ci"], None, false);
    s.run(&["rotate", "dev"], None, false);
    s.run(&["rotate", "ci", "--client-secret-stdin"], Some("CANARYZ-client-secret"), false);
    s.run(&["exec", "dev", "--", "sh", "-c", "test -n \"$VOUCH_TOKEN\""], None, false);
    s.run(&["setup-git", "--host", "git.example.com", "--profile", "dev"], None, false);
    s.run(&["git-credential", "get"], Some("protocol=https\nhost=git.example.com\n\n"), true);
    s.run(
        &["git-credential", "store"],
        Some("protocol=https\nhost=git.example.com\nusername=oauth2\npassword=CANARYZ-x\n"),
        false,
    );
    let kubeconfig = s.browser_log.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "contexts:\n- name: dev\n  context: {cluster: c}\n").unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    s.run(&["setup-kube", "--context", "dev", "--profile", "dev", "--kubeconfig", &kubeconfig], None, false);
    s.run(&["kube-credential", "dev"], None, true);
    s.run(&["setup-cargo", "--registry", "internal", "--profile", "dev"], None, false);
    s.run(&["--cargo-plugin"], Some(CARGO_GET), true);
    s.run(&["cargo-credential", "--cargo-plugin"], Some(CARGO_LOGIN_WITH_TOKEN), false);
    s.run(&["setup-docker", "--registry", "reg.example", "--profile", "dev"], None, false);
    s.run(&["docker-credential", "get"], Some("reg.example\n"), true);
    s.run(&["docker-credential", "list"], None, false);
    s.run(&["docker-credential", "store"], Some(DOCKER_STORE), false);
    s.run(&["docker-credential", "erase"], Some("reg.example\n"), false);
    // Failure paths.
    s.run(
        &["login", "bad", "--issuer", &issuer, "--client-id", "svc", "--client-credentials"],
        Some("CANARYZ-wrong-secret"),
        false,
    );
    s.run(
        &["login", "bad2", "--issuer", &issuer, "--client-id", "cli", "--with-token"],
        Some("CANARYZ-unknown-token"),
        false,
    );
    s.provider.set_fault(
        "/token",
        Fault::status(400, r#"{"error":"invalid_grant","error_description":"no"}"#),
        Some(1),
    );
    s.run(&["refresh", "dev"], None, false); // marks dev reauth-required
    s.run(&["token", "dev"], None, true);
    s.run(&["git-credential", "get"], Some("protocol=https\nhost=git.example.com\n\n"), true);
    s.run(&["kube-credential", "dev"], None, true);
    s.run(&["--cargo-plugin"], Some(CARGO_GET), true);
    s.run(&["docker-credential", "get"], Some("reg.example\n"), true);
    s.provider.set_fault("*", Fault::status(503, "{}"), None);
    s.run(&["refresh", "ci"], None, false);
    s.run(&["logout", "--all"], None, false); // revocation fails: warnings, still signed out
    s.provider.clear_faults();
    s.ss.store("vouch", "corrupt", b"{\"version\":1,\"access_token\":\"CANARYZ-in-corrupt\"");
    s.run(&["token", "corrupt"], None, false);
    s.ss.lock();
    s.run(&["status"], None, false);
    s.run(&["token", "ci"], None, false);
    s.ss.unlock();
    assert_nothing_leaks(&s);
}

#[test]
fn a_panic_holding_a_secret_prints_none_of_it() {
    let s = Scene::new();
    let (access, refresh) = s.provider.issue_grant("alice", "openid");
    s.vouch.write_profile("p", &s.provider.issuer());
    s.ss.store(
        "vouch",
        &s.vouch.entry_of("p"),
        &crate::support::record(
            &s.provider.issuer(),
            &access,
            &refresh,
            crate::support::in_process::now() as i64 + 3600,
        ),
    );
    let mut cmd = s.vouch.command(&["-v", "token", "p"]);
    cmd.env("VOUCH_DEBUG_PANIC", "1").env("RUST_BACKTRACE", "1");
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "a panic is an internal error: {stderr}");
    assert!(stderr.contains("internal error (a panic at"), "{stderr}");
    assert!(!stderr.contains(&access) && !stdout.contains(&access), "the panic printed the token: {stderr}");
}

#[test]
fn the_process_is_hardened_while_secrets_are_in_memory() {
    let s = Scene::new();
    let run = s.vouch.run(&["-v", "status"]);
    assert!(run.stderr.contains("hardening: core dumps off, not dumpable"), "{}", run.stderr);
    // Watch a live vouch (waiting on a device code) from outside.
    let issuer = s.provider.issuer();
    let mut child = s
        .vouch
        .command(&["login", "w", "--issuer", &issuer, "--client-id", "cli", "--no-open"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("enter the code") {
            break;
        }
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap().to_string();
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}

#[test]
fn a_config_file_other_users_can_write_is_refused() {
    let s = Scene::new();
    s.vouch.write_profile("p", &s.provider.issuer());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(s.vouch.config_file(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = s.vouch.run(&["token", "p"]);
    run.expect(2);
    assert!(run.stderr.contains("other users can write it"), "{}", run.stderr);
}
