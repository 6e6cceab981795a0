//! The machine's real `skopeo` (and the docker CLI, without a daemon) against a loopback
//! registry that asks for Basic authentication and accepts only tokens the fake provider says
//! are active, with vouch as the registry's credential helper installed by `vouch
//! setup-docker`.
//!
//! skopeo (containers/image) looks for `credHelpers` in `$REGISTRY_AUTH_FILE`, else
//! `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`, then
//! `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`), and runs
//! `docker-credential-NAME get` from PATH with the registry host on stdin. Here every one of
//! those lives under a private HOME and XDG_RUNTIME_DIR, and PATH starts with a directory
//! holding the `docker-credential-vouch` link.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::resource_server::{ResourceServer, Seen};
use crate::support::secret_service::SecretService;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;

struct World {
    ss: SecretService,
    provider: Arc<FakeProvider>,
    server: ResourceServer,
    vouch: Vouch,
    /// Holds the `docker-credential-vouch` link.
    bin: tempfile::TempDir,
    runtime: tempfile::TempDir,
}

/// The (username, password) of a Basic `Authorization` value.
fn basic(authorization: &str) -> Option<(String, String)> {
    use base64::Engine;
    let encoded = authorization.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let pair = String::from_utf8(decoded).ok()?;
    pair.split_once(':').map(|(u, p)| (u.to_string(), p.to_string()))
}

impl World {
    fn new() -> (World, String, String) {
        let ss = SecretService::start();
        let provider = Arc::new(FakeProvider::start());
        let check = provider.clone();
        // Any username: the registry checks the token (as registries that take OAuth tokens do).
        let accept =
            Arc::new(move |auth: &str| basic(auth).is_some_and(|(_, p)| check.is_access_token_active(&p)));
        let routes = Arc::new(|path: &str| match path {
            "/v2/" => (200, "application/json", b"{}".to_vec()),
            "/v2/team/app/manifests/v1" => (200, MANIFEST_TYPE, MANIFEST.as_bytes().to_vec()),
            _ => (404, "application/json", br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.to_vec()),
        });
        let server = ResourceServer::start(None, accept, routes, Some("Basic realm=\"vouch-test\""));
        let vouch = Vouch::new("secret-service", ss.env());
        let (access, refresh) = crate::support::signed_in_on(&ss, &provider, &vouch, "p");
        let bin = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_vouch"), bin.path().join("docker-credential-vouch"))
            .unwrap();
        let runtime = tempfile::tempdir().unwrap();
        (World { ss, provider, server, vouch, bin, runtime }, access, refresh)
    }

    /// The clients' HOME (the Secret Service's private one, with its XDG directories).
    fn home(&self) -> PathBuf {
        self.ss.home().to_path_buf()
    }

    /// Every directory the clients or vouch write to: HOME, the runtime directory, vouch's
    /// configuration.
    fn dirs(&self) -> Vec<PathBuf> {
        vec![self.home(), self.runtime.path().to_path_buf(), self.vouch.config_dir()]
    }

    /// `program ARGS` with vouch's environment, the private HOME and runtime directory, and the
    /// link first on PATH.
    fn client(&self, program: &str, args: &[&str], stdin: &str) -> Output {
        let mut envs: Vec<(String, String)> = self
            .vouch
            .command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .filter(|(k, _)| k != "PATH")
            .collect();
        envs.push((
            "PATH".into(),
            format!("{}:{}", self.bin.path().display(), std::env::var("PATH").unwrap_or_default()),
        ));
        envs.push(("XDG_RUNTIME_DIR".into(), self.runtime.path().display().to_string()));
        // The docker CLI with no daemon to talk to: it logs in client-side.
        envs.push(("DOCKER_HOST".into(), format!("unix://{}/no-docker.sock", self.runtime.path().display())));
        let mut cmd = Command::new(program);
        cmd.env_clear().envs(envs).args(args).current_dir(self.home()).stdin(Stdio::piped());
        let mut cmd = assert_cmd::Command::from_std(cmd);
        cmd.write_stdin(stdin.to_string()).timeout(std::time::Duration::from_secs(120));
        let install =
            if program == "skopeo" { "apt-get install skopeo" } else { "the docker CLI: docker-ce-cli" };
        cmd.output().unwrap_or_else(|e| panic!("{program} is missing; install {install}: {e}"))
    }

    fn skopeo_inspect(&self) -> Output {
        let image = format!("docker://{}/team/app:v1", self.server.host());
        self.client("skopeo", &["inspect", "--raw", "--tls-verify=false", &image], "")
    }

    fn stored(&self) -> serde_json::Value {
        crate::support::stored_on(&self.ss, &self.vouch, "p")
    }

    fn authorized_since(&self, from: usize) -> Vec<Seen> {
        self.server.seen()[from..].iter().filter(|s| s.authorization.is_some()).cloned().collect()
    }
}

#[test]
fn skopeo_reads_from_an_authenticated_registry_through_vouch_and_refreshes_once() {
    let (w, access, refresh) = World::new();
    let registry = w.server.host();
    w.vouch.run(&["setup-docker", "--registry", &registry, "--profile", "p"]).expect(0);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.home().join(".docker/config.json")).unwrap())
            .unwrap();
    assert_eq!(config, serde_json::json!({"credHelpers": {registry.clone(): "vouch"}}));

    let first = w.skopeo_inspect();
    assert!(first.status.success(), "skopeo failed: {}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), MANIFEST);
    let seen = w.authorized_since(0);
    assert!(seen.iter().any(|s| s.path == "/v2/team/app/manifests/v1" && s.authorized), "{seen:?}");
    for s in &seen {
        assert_eq!(
            basic(s.authorization.as_deref().unwrap()),
            Some(("oauth2".into(), access.clone())),
            "{s:?}"
        );
    }
    assert_eq!(w.provider.token_requests("refresh_token").len(), 0);

    // The access token expires: the next skopeo run refreshes just in time, once.
    w.provider.expire_access_token(&access);
    crate::support::expiring_soon_on(&w.ss, &w.vouch, "p");
    let before = w.server.seen().len();
    let second = w.skopeo_inspect();
    assert!(second.status.success(), "skopeo failed: {}", String::from_utf8_lossy(&second.stderr));
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);
    let fresh = w.stored()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    let later = w.authorized_since(before);
    assert!(later.iter().any(|s| s.path == "/v2/team/app/manifests/v1" && s.authorized), "{later:?}");
    for s in &later {
        assert_eq!(
            basic(s.authorization.as_deref().unwrap()),
            Some(("oauth2".into(), fresh.clone())),
            "{s:?}"
        );
    }

    // No token in any file of the client's (HOME: ~/.docker, ~/.config/containers; the
    // runtime directory's containers/auth.json), none on skopeo's stderr.
    let secrets = [access.as_str(), fresh.as_str(), refresh.as_str()];
    for dir in w.dirs() {
        crate::support::assert_no_file_contains(&dir, &secrets);
    }
    for out in [&first, &second] {
        for secret in secrets {
            assert!(!String::from_utf8_lossy(&out.stderr).contains(secret), "a token on skopeo's stderr");
        }
    }

    // A signed-out profile: skopeo fails and shows vouch's hint; the registry saw no token.
    w.vouch.run(&["logout", "p"]).expect(0);
    let before = w.server.seen().len();
    let out = w.skopeo_inspect();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vouch login p"), "skopeo did not show vouch's hint: {stderr}");
    assert!(w.server.seen()[before..].iter().all(|s| !s.authorized));
}

#[test]
fn docker_login_cannot_make_vouch_keep_a_password() {
    let (w, access, _) = World::new();
    let registry = w.server.host();
    w.vouch.run(&["setup-docker", "--registry", &registry, "--profile", "p"]).expect(0);
    let before = w.stored();
    // A token the registry accepts, pasted by hand: docker checks it, then asks vouch to store it.
    let (pasted, _) = w.provider.issue_grant("mallory", "openid");
    let out =
        w.client("docker", &["login", &registry, "-u", "oauth2", "--password-stdin"], &format!("{pasted}\n"));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "docker login succeeded: {stdout}{stderr}");
    assert!(
        w.server.seen().iter().any(|s| s.authorized),
        "docker never reached the registry, so the test proves nothing: {stdout}{stderr}"
    );
    assert!(stderr.contains("vouch does not keep passwords"), "{stdout}{stderr}");
    assert!(!stdout.contains(&pasted) && !stderr.contains(&pasted), "the password was shown");
    assert_eq!(w.stored(), before, "vouch's credential is unchanged");
    for dir in w.dirs() {
        crate::support::assert_no_file_contains(&dir, &[pasted.as_str(), access.as_str()]);
    }
    let config = std::fs::read_to_string(w.home().join(".docker/config.json")).unwrap();
    assert!(config.contains("\"vouch\""), "docker kept vouch as the helper: {config}");
}
