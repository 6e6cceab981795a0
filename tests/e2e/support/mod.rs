//! Shared test support: the fake provider, private Secret Service daemons, and a runner for
//! the `vouch` binary in a scrubbed environment.
#![allow(dead_code)]

pub mod fake_provider;
pub mod git_server;
pub mod in_process;
pub mod resource_server;
pub mod secret_service;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// What a `vouch` run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    fn from(output: Output, elapsed: Duration) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        }
    }

    /// Assert the exit code, showing the output when it differs.
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    /// Assert that `secret` appears in neither stream.
    pub fn leaks_nothing(&self, secret: &str) -> &Self {
        use predicates::prelude::*;
        let absent = predicate::str::contains(secret).not();
        assert!(absent.eval(&self.stdout), "secret on stdout: {}", self.stdout);
        assert!(absent.eval(&self.stderr), "secret on stderr: {}", self.stderr);
        self
    }
}

/// A `vouch` binary with its own config dir and a scrubbed environment.
pub struct Vouch {
    config: TempDir,
    env: Vec<(String, String)>,
}

impl Vouch {
    /// Environment: only PATH, a private HOME, the config dir, and what `extra` adds.
    pub fn new(store: &str, extra: Vec<(String, String)>) -> Self {
        let config = tempfile::tempdir().expect("temp config dir");
        let mut env = vec![
            ("PATH".to_string(), std::env::var("PATH").unwrap_or_default()),
            ("VOUCH_CONFIG_DIR".to_string(), config.path().join("vouch").display().to_string()),
            ("VOUCH_STORE".to_string(), store.to_string()),
        ];
        if !extra.iter().any(|(k, _)| k == "HOME") {
            env.push(("HOME".to_string(), config.path().display().to_string()));
        }
        env.extend(extra);
        Vouch { config, env }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.config.path().join("vouch")
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("config.toml")
    }

    /// The store entry of profile `name` as the config names it now.
    pub fn entry_of(&self, name: &str) -> String {
        entry_in(&self.config_dir(), name)
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vouch"));
        cmd.env_clear().envs(self.env.iter().map(|(k, v)| (k, v))).args(args);
        cmd
    }

    /// Run with `stdin` piped in (or closed when `None`).
    /// Run through assert_cmd, which also kills a vouch that hangs: no test can wait forever.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = assert_cmd::Command::from_std(self.command(args));
        cmd.write_stdin(stdin.unwrap_or_default()).timeout(Duration::from_secs(90));
        let started = Instant::now();
        let output = cmd.output().expect("run vouch");
        Run::from(output, started.elapsed())
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// `vouch login NAME --issuer ISSUER --client-id cli --with-token`, token on stdin.
    pub fn login_with_token(&self, name: &str, issuer: &str, token: &str) -> Run {
        self.run_with_stdin(
            &["login", name, "--issuer", issuer, "--client-id", "cli", "--with-token"],
            Some(&format!("{token}\n")),
        )
    }
}

/// A profile name no other test (or earlier run) uses: keyutils' user keyring is shared by
/// every process of this user.
pub fn unique_profile(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// The ids of the user-keyring (`@u`) keys vouch holds for profile `name`, whatever their
/// credential id (`keyring:NAME~ID@vouch`, and an older vouch's `keyring:NAME@vouch`); a
/// rotation's `#previous` entry included.
pub fn user_keys(name: &str) -> Vec<String> {
    let out =
        Command::new("keyctl").args(["rlist", "@u"]).output().expect("keyctl is missing: install keyutils");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|id| {
            let described = Command::new("keyctl").args(["rdescribe", id]).output().ok();
            let text =
                described.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
            let description = text.splitn(5, ';').nth(4).unwrap_or_default();
            description == format!("keyring:{name}@vouch")
                || (description.starts_with(&format!("keyring:{name}~")) && description.ends_with("@vouch"))
        })
        .map(str::to_string)
        .collect()
}

/// Unlink every key [`user_keys`] finds for `name`.
pub fn remove_user_keys(name: &str) {
    for id in user_keys(name) {
        let _ = Command::new("keyctl").args(["unlink", &id, "@u"]).output();
    }
}

/// Read a file if it exists.
pub fn read_if_exists(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// The credential id of profiles written by hand for in-process harnesses, which keep their
/// locks in a private state directory.
pub const SEEDED_ID: &str = "5eed000000000001";

impl Vouch {
    /// Add profile `name` for `issuer` (client `cli`, device flow) to config.toml, mode 0600, as
    /// a login would have written it, with a credential id of its own: tests run in parallel
    /// and share this user's state directory, where locks are named after the entry.
    pub fn write_profile(&self, name: &str, issuer: &str) {
        static N: AtomicU32 = AtomicU32::new(0);
        let id = format!("{:08x}{:08x}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(self.config_dir()).unwrap();
        let mut text = std::fs::read_to_string(self.config_file()).unwrap_or_default();
        text.push_str(&format!(
            "[profiles.{name}]\nissuer = \"{issuer}\"\nclient_id = \"cli\"\nflow = \"device\"\ncredential_id = \"{id}\"\n\n"
        ));
        std::fs::write(self.config_file(), text).unwrap();
        std::fs::set_permissions(self.config_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The store entry of profile `name` as the config in `config_dir` names it (after a login,
/// which makes a new credential id); the bare name for a profile without one.
pub fn entry_in(config_dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(config_dir.join("config.toml")).unwrap_or_default();
    let config: toml::Value = toml::from_str(&text).unwrap_or(toml::Value::Table(Default::default()));
    match config.get("profiles").and_then(|p| p.get(name)).and_then(|p| p.get("credential_id")) {
        Some(id) => format!("{name}~{}", id.as_str().unwrap_or_default()),
        None => name.to_string(),
    }
}

/// A stored record as vouch writes it (JSON bytes), minted by `issuer` for client `cli`, for
/// seeding a store directly.
pub fn record(issuer: &str, access: &str, refresh: &str, expires_at: i64) -> Vec<u8> {
    serde_json::json!({"version": 2, "generation": 1, "issuer": issuer, "client_id": "cli",
        "access_token": access, "token_type": "Bearer", "expires_at": expires_at,
        "refresh_token": refresh, "account": "alice", "scope": "openid"})
    .to_string()
    .into_bytes()
}

/// No file under `dir` holds any of `secrets`. gnome-keyring's encrypted `keyrings` database is
/// skipped: that is the store itself.
pub fn assert_no_file_contains<S: AsRef<str>>(dir: &Path, secrets: &[S]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.ends_with("keyrings") {
            continue;
        }
        if path.is_dir() {
            assert_no_file_contains(&path, secrets);
        } else if let Ok(bytes) = std::fs::read(&path) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in secrets {
                assert!(!text.contains(secret.as_ref()), "{} holds a secret", path.display());
            }
        }
    }
}

/// How long a `Running` vouch may stay silent, or take to finish.
pub const RUNNING_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `vouch` (a login, typically), its stderr arriving line by line, so a test can
/// act on what it prints for the person.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub fn spawn(vouch: &Vouch, args: &[&str]) -> Self {
        let mut child = vouch
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vouch");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines, seen: Vec::new() }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The first stderr line `pick` accepts; panics when vouch exits or stays silent.
    pub fn wait_for<T>(&mut self, pick: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + RUNNING_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = pick(&line);
                    self.seen.push(line);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("vouch never printed what the person needs; stderr: {:#?}", self.seen)
                }
            }
        }
    }

    /// Wait (bounded) for vouch to exit: its exit code, stdout and whole stderr.
    pub fn finish(mut self) -> (i32, String, String) {
        let deadline = Instant::now() + RUNNING_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for vouch") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.seen.extend(self.lines.try_iter());
                panic!("vouch did not finish within {RUNNING_TIMEOUT:?}; stderr: {:#?}", self.seen);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child.stdout.take().expect("stdout").read_to_string(&mut stdout).unwrap();
        // The reader thread ends at EOF, which follows the exit.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status.code().unwrap_or(-1), stdout, self.seen.join("\n"))
    }
}

/// A second local account, for tests of what another user can do to vouch's files and of
/// what a non-root user's keyring allows. Created with `useradd` when missing; a test that
/// needs one and cannot have it fails and says why (it never skips silently).
pub struct LocalUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The vouch binary at a path every local user can run: a copy in a world-readable directory
/// under /tmp, since the build directory may sit inside a home only root can enter.
pub fn vouch_for_any_user() -> &'static str {
    static COPY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vouch-e2e-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("vouch");
        let staged = dir.join(".vouch.tmp");
        std::fs::copy(env!("CARGO_BIN_EXE_vouch"), &staged).unwrap();
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&staged, &copy).unwrap();
        copy.display().to_string()
    })
}

impl LocalUser {
    pub fn get(name: &str) -> LocalUser {
        let exists =
            |name: &str| Command::new("id").arg(name).output().map(|o| o.status.success()).unwrap_or(false);
        if !exists(name) {
            let me = Command::new("id").arg("-u").output().expect("id");
            assert_eq!(
                String::from_utf8_lossy(&me.stdout).trim(),
                "0",
                "this test needs a second local user and only root can create one: run the suite as root (CI does)"
            );
            let made = Command::new("useradd").args(["-m", "-s", "/bin/sh", name]).output().expect("useradd");
            assert!(
                made.status.success() || exists(name),
                "useradd {name} failed: {}",
                String::from_utf8_lossy(&made.stderr)
            );
        }
        let field = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, name]).output().expect("id");
            String::from_utf8_lossy(&out.stdout).trim().parse().expect("a numeric id")
        };
        let passwd = Command::new("getent").args(["passwd", name]).output().expect("getent");
        let home = String::from_utf8_lossy(&passwd.stdout).split(':').nth(5).unwrap_or_default().to_string();
        let user = LocalUser {
            name: name.to_string(),
            uid: field("-u"),
            gid: field("-g"),
            home: PathBuf::from(home),
        };
        std::fs::create_dir_all(&user.home).unwrap();
        user.chown(&user.home);
        user
    }

    /// `program ARGS` as this user (setpriv), with only `env` in its environment.
    pub fn command(&self, program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            &format!("--reuid={}", self.uid),
            &format!("--regid={}", self.gid),
            "--clear-groups",
            "--",
            program,
        ])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &self.home)
        .current_dir(&self.home);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Give `path` to this user.
    pub fn chown(&self, path: &Path) {
        let ok = Command::new("chown")
            .arg(format!("{}:{}", self.uid, self.gid))
            .arg(path)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "chown {} failed", path.display());
    }

    /// Run `program ARGS` as this user with `stdin`; exit code, stdout, stderr.
    pub fn run(
        &self,
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &str,
    ) -> (i32, String, String) {
        let mut cmd = assert_cmd::Command::from_std(self.command(program, args, env));
        cmd.write_stdin(stdin.to_string()).timeout(Duration::from_secs(60));
        let out = cmd.output().expect("run as another user");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The authorization URL behind what vouch handed the browser: the private launch page whose
/// path it passes (never the URL itself, whose `state` `ps` would show).
pub fn launch_page_url(arg: &str) -> String {
    let page = std::fs::read_to_string(arg.trim()).unwrap_or_else(|e| panic!("no launch page at {arg}: {e}"));
    let start = page.find("url=").expect("a meta refresh") + 4;
    let end = start + page[start..].find('"').expect("the end of the URL");
    page[start..end].replace("&amp;", "&").replace("&quot;", "\"")
}

/// Profile `name` of `vouch` signed in on the Secret Service `ss` with a fresh grant from
/// `provider` (alice, `openid`), valid for an hour. Returns its access and refresh tokens.
pub fn signed_in_on(
    ss: &secret_service::SecretService,
    provider: &fake_provider::FakeProvider,
    vouch: &Vouch,
    name: &str,
) -> (String, String) {
    let (access, refresh) = provider.issue_grant("alice", "openid");
    vouch.write_profile(name, &provider.issuer());
    ss.store(
        "vouch",
        &vouch.entry_of(name),
        &record(&provider.issuer(), &access, &refresh, in_process::now() as i64 + 3600),
    );
    (access, refresh)
}

/// A private Secret Service, a fake provider that accepts `token` as alice's access token, and
/// a `vouch` on `--store auto` that uses both.
pub fn secret_service_with_provider(
    token: &str,
) -> (secret_service::SecretService, fake_provider::FakeProvider, Vouch) {
    let ss = secret_service::SecretService::start();
    let provider = fake_provider::FakeProvider::start();
    provider.add_access_token(token, "alice");
    let vouch = Vouch::new("auto", ss.env());
    (ss, provider, vouch)
}

/// The record of `vouch`'s profile `name` on the Secret Service `ss`, as JSON.
pub fn stored_on(ss: &secret_service::SecretService, vouch: &Vouch, name: &str) -> serde_json::Value {
    serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of(name)).expect("a stored record"))
        .expect("a JSON record")
}

/// Make the stored access token of `name` one that expires in 10 s, so the next use refreshes
/// just in time.
pub fn expiring_soon_on(ss: &secret_service::SecretService, vouch: &Vouch, name: &str) {
    let mut record = stored_on(ss, vouch, name);
    record["expires_at"] = serde_json::json!(in_process::now() + 10);
    ss.store("vouch", &vouch.entry_of(name), record.to_string().as_bytes());
}
