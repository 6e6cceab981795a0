//! The machine's real `cargo` against a loopback sparse registry that requires
//! authentication (`auth-required: true`) and accepts only tokens the fake provider says are
//! active, with vouch as the registry's credential provider installed by `vouch setup-cargo`.
//! cargo sends credentials to a plain-http loopback registry, so no TLS is needed here.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::resource_server::{self, ResourceServer};
use crate::support::secret_service::SecretService;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, OnceLock};

struct World {
    ss: SecretService,
    provider: Arc<FakeProvider>,
    server: ResourceServer,
    vouch: Vouch,
    cargo_home: tempfile::TempDir,
    project: tempfile::TempDir,
}

/// A `.crate` for `dep 0.1.0` (a gzipped tar, made by `tar`) and its SHA-256.
fn dep_crate() -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("dep-0.1.0");
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(root.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let out = Command::new("tar")
        .args(["--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-czf", "dep.crate", "dep-0.1.0"])
        .current_dir(dir.path())
        .output()
        .expect("tar");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(dir.path().join("dep.crate")).unwrap();
    use sha2::Digest;
    let sum = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    (bytes, sum)
}

impl World {
    fn new() -> (World, String, String) {
        let ss = SecretService::start();
        let provider = Arc::new(FakeProvider::start());
        let check = provider.clone();
        let accept = Arc::new(move |auth: &str| {
            resource_server::bearer(auth).is_some_and(|t| check.is_access_token_active(t))
        });
        let (bytes, sum) = dep_crate();
        let base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let at = base.clone();
        let routes = Arc::new(move |path: &str| {
            let base = at.get().cloned().unwrap_or_default();
            match path {
                "/index/config.json" => (
                    200,
                    "application/json",
                    format!(r#"{{"dl":"{base}/dl/{{crate}}/{{version}}","auth-required":true}}"#).into_bytes(),
                ),
                "/index/3/d/dep" => (
                    200,
                    "application/json",
                    format!(
                        "{{\"name\":\"dep\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"{sum}\",\"features\":{{}},\"yanked\":false}}\n"
                    )
                    .into_bytes(),
                ),
                "/dl/dep/0.1.0" => (200, "application/octet-stream", bytes.clone()),
                _ => (404, "text/plain", b"not found".to_vec()),
            }
        });
        let server = ResourceServer::start(None, accept, routes, Some("Cargo"));
        let _ = base.set(server.url(""));
        let mut vouch = Vouch::new("secret-service", ss.env());
        let cargo_home = tempfile::tempdir().unwrap();
        vouch.set_env("CARGO_HOME", &cargo_home.path().display().to_string());
        let (access, refresh) = crate::support::signed_in_on(&ss, &provider, &vouch, "p");
        std::fs::write(
            cargo_home.path().join("config.toml"),
            format!(
                "# my settings\n[net]\nretry = 0 # no retries in tests\n\n[registries.internal]\nindex = \"sparse+{}\" # the team's\n",
                server.url("/index/")
            ),
        )
        .unwrap();
        let project = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(project.path().join("src")).unwrap();
        std::fs::write(
            project.path().join("Cargo.toml"),
            "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndep = { version = \"0.1\", registry = \"internal\" }\n",
        )
        .unwrap();
        std::fs::write(project.path().join("src/lib.rs"), "").unwrap();
        (World { ss, provider, server, vouch, cargo_home, project }, access, refresh)
    }

    /// `cargo ARGS` in the project, with vouch's environment and the private CARGO_HOME. The
    /// toolchain's own cargo and rustc are run directly (no rustup proxy, which would look for
    /// its toolchains under the private HOME).
    fn cargo(&self, args: &[&str]) -> Output {
        let cargo = PathBuf::from(env!("CARGO"));
        let mut envs: Vec<(String, String)> = self
            .vouch
            .command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect();
        if let Some(rustc) = cargo.parent().map(|d| d.join("rustc")).filter(|p| p.exists()) {
            envs.push(("RUSTC".into(), rustc.display().to_string()));
        }
        let mut cmd = Command::new(&cargo);
        cmd.env_clear().envs(envs).args(args).current_dir(self.project.path()).stdin(Stdio::null());
        let mut cmd = assert_cmd::Command::from_std(cmd);
        cmd.timeout(std::time::Duration::from_secs(120));
        cmd.output().expect("run cargo")
    }

    fn stored(&self) -> serde_json::Value {
        crate::support::stored_on(&self.ss, &self.vouch, "p")
    }

    /// Forget what cargo fetched, so the next run asks the registry (and so vouch) again.
    fn forget_downloads(&self) {
        let _ = std::fs::remove_dir_all(self.cargo_home.path().join("registry"));
        let _ = std::fs::remove_file(self.project.path().join("Cargo.lock"));
    }

    fn home(&self) -> PathBuf {
        self.vouch.config_dir().parent().unwrap().to_path_buf()
    }
}

fn ok(out: &Output) {
    assert!(out.status.success(), "cargo failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn no_file_holds(dirs: &[&Path], secrets: &[&str]) {
    for dir in dirs {
        crate::support::assert_no_file_contains(dir, secrets);
    }
}

#[test]
fn cargo_fetches_from_an_authenticated_registry_through_vouch_and_refreshes_once() {
    let (w, access, refresh) = World::new();
    w.vouch.run(&["setup-cargo", "--registry", "internal", "--profile", "p"]).expect(0);
    let config = std::fs::read_to_string(w.cargo_home.path().join("config.toml")).unwrap();
    assert!(config.starts_with("# my settings\n[net]\nretry = 0 # no retries in tests\n"), "{config}");
    assert!(config.contains("/index/\" # the team's"), "{config}");
    assert!(config.contains(&format!(
        "credential-provider = [\"{}\", \"cargo-credential\", \"p\"]",
        env!("CARGO_BIN_EXE_vouch")
    )));

    ok(&w.cargo(&["fetch"]));
    let authorized: Vec<_> = w.server.seen().into_iter().filter(|s| s.authorized).collect();
    assert!(authorized.iter().any(|s| s.path == "/dl/dep/0.1.0"), "the crate was downloaded: {authorized:?}");
    assert!(
        authorized.iter().all(|s| s.authorization.as_deref() == Some(format!("Bearer {access}").as_str()))
    );
    assert_eq!(w.provider.token_requests("refresh_token").len(), 0);

    // The access token expires: the next cargo run refreshes just in time, once.
    w.provider.expire_access_token(&access);
    crate::support::expiring_soon_on(&w.ss, &w.vouch, "p");
    w.forget_downloads();
    let before = w.server.seen().len();
    let second = w.cargo(&["fetch"]);
    ok(&second);
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);
    let fresh = w.stored()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    let later: Vec<_> =
        w.server.seen()[before..].iter().filter(|s| s.authorization.is_some()).cloned().collect();
    assert!(later.iter().any(|s| s.path == "/dl/dep/0.1.0"), "{later:?}");
    assert!(
        later.iter().all(|s| s.authorization.as_deref() == Some(format!("Bearer {fresh}").as_str())),
        "{later:?}"
    );

    // No token in cargo's home (no credentials.toml), the project, or vouch's home; none on stderr.
    let secrets = [access.as_str(), fresh.as_str(), refresh.as_str()];
    assert!(!w.cargo_home.path().join("credentials.toml").exists());
    no_file_holds(&[w.cargo_home.path(), w.project.path(), &w.home()], &secrets);
    for secret in secrets {
        assert!(!String::from_utf8_lossy(&second.stderr).contains(secret));
    }
}

#[test]
fn a_signed_out_profile_fails_cargo_with_vouchs_hint_and_cargo_login_keeps_no_token() {
    let (w, _, _) = World::new();
    w.vouch.run(&["setup-cargo", "--registry", "internal", "--profile", "p"]).expect(0);
    // `cargo login TOKEN` is refused: vouch keeps only what its provider issued.
    let login = w.cargo(&["login", "--registry", "internal", "canary-pasted-registry-token"]);
    assert!(!login.status.success());
    let stderr = String::from_utf8_lossy(&login.stderr);
    assert!(stderr.contains("vouch does not keep tokens"), "{stderr}");
    no_file_holds(&[w.cargo_home.path(), &w.home()], &["canary-pasted-registry-token"]);

    w.vouch.run(&["logout", "p"]).expect(0);
    let out = w.cargo(&["fetch"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vouch login p"), "cargo did not show vouch's hint: {stderr}");
    assert!(w.server.seen().iter().all(|s| !s.authorized));

    // --remove takes vouch out again and keeps the rest.
    w.vouch.run(&["setup-cargo", "--registry", "internal", "--remove"]).expect(0);
    let config = std::fs::read_to_string(w.cargo_home.path().join("config.toml")).unwrap();
    assert!(!config.contains("credential-provider"), "{config}");
    assert!(config.contains("# my settings") && config.contains("index = "), "{config}");
}
