//! The machine's real `kubectl` against a loopback HTTPS API server that accepts only tokens
//! the fake provider says are active, with vouch as the exec credential plugin installed by
//! `vouch setup-kube`. kubectl sends an exec plugin's bearer token only over TLS, so the
//! server has a throwaway certificate whose CA goes into the kubeconfig.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::resource_server::{self, ResourceServer, Tls};
use crate::support::secret_service::SecretService;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

const API: &str = r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:443"}]}"#;

struct World {
    ss: SecretService,
    provider: Arc<FakeProvider>,
    server: ResourceServer,
    vouch: Vouch,
    _tls: Tls,
}

impl World {
    /// Profile `p` signed in with a token valid for an hour; a kubeconfig with context `dev`
    /// whose user is someone else's.
    fn new() -> (World, String, String) {
        let ss = SecretService::start();
        let provider = Arc::new(FakeProvider::start());
        let check = provider.clone();
        let tls = Tls::generate();
        let accept = Arc::new(move |auth: &str| {
            resource_server::bearer(auth).is_some_and(|t| check.is_access_token_active(t))
        });
        let routes = Arc::new(|path: &str| match path.split('?').next().unwrap_or_default() {
            "/version" => {
                (200, "application/json", br#"{"major":"1","minor":"32","gitVersion":"v1.32.0"}"#.to_vec())
            }
            "/api" => (200, "application/json", API.as_bytes().to_vec()),
            _ => (
                404,
                "application/json",
                br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#.to_vec(),
            ),
        });
        let server = ResourceServer::start(Some(&tls), accept, routes, None);
        let vouch = Vouch::new("secret-service", ss.env());
        let (access, refresh) = crate::support::signed_in_on(&ss, &provider, &vouch, "p");
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(tls.cert_pem());
        let world = World { ss, provider, server, vouch, _tls: tls };
        let kubeconfig = format!(
            "# written by hand\napiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: local\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\ncontexts:\n- name: dev\n  context:\n    cluster: local\n    user: someone\n    namespace: team\nusers:\n- name: someone\n  user:\n    username: admin\ncurrent-context: dev\n",
            world.server.url("")
        );
        std::fs::create_dir_all(world.kubeconfig().parent().unwrap()).unwrap();
        std::fs::write(world.kubeconfig(), kubeconfig).unwrap();
        (world, access, refresh)
    }

    fn home(&self) -> PathBuf {
        self.vouch
            .command(&[])
            .get_envs()
            .find(|(k, _)| *k == "HOME")
            .and_then(|(_, v)| v.map(PathBuf::from))
            .expect("a private HOME")
    }

    fn kubeconfig(&self) -> PathBuf {
        self.home().join(".kube").join("config")
    }

    /// `kubectl ARGS` with the environment vouch gets (private HOME, bus, config dir).
    fn kubectl(&self, args: &[&str]) -> Output {
        let envs: Vec<(String, String)> = self
            .vouch
            .command(&[])
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect();
        let mut cmd = assert_cmd::Command::from_std({
            let mut cmd = Command::new("kubectl");
            cmd.env_clear().envs(envs).args(args).stdin(Stdio::null());
            cmd
        });
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd.output().expect("kubectl is missing: install kubectl")
    }

    fn stored(&self) -> serde_json::Value {
        crate::support::stored_on(&self.ss, &self.vouch, "p")
    }
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "kubectl failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kubectl_authenticates_through_vouch_and_refreshes_once_just_in_time() {
    let (w, access, refresh) = World::new();
    w.vouch.run(&["setup-kube", "--context", "dev", "--profile", "p"]).expect(0);
    let config: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(w.kubeconfig()).unwrap()).unwrap();
    assert_eq!(config["contexts"][0]["context"]["user"], "vouch-p");
    assert_eq!(config["contexts"][0]["context"]["namespace"], "team", "other keys are kept");
    assert_eq!(config["users"][0]["name"], "someone", "other users are kept");
    let exec = &config["users"][1]["user"]["exec"];
    assert_eq!(exec["interactiveMode"], "Never");
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(exec["args"], serde_json::json!(["kube-credential", "p"]));

    let out = ok(&w.kubectl(&["get", "--raw", "/api"]));
    assert!(out.contains("APIVersions"), "{out}");
    let authorized: Vec<_> = w.server.seen().into_iter().filter(|s| s.authorized).collect();
    assert!(!authorized.is_empty());
    assert!(
        authorized.iter().all(|s| s.authorization.as_deref() == Some(format!("Bearer {access}").as_str()))
    );
    assert_eq!(w.provider.token_requests("refresh_token").len(), 0);

    // The access token expires (the provider drops it; vouch's record says it is about to):
    // the next kubectl refreshes just in time, once, and sends the new token.
    w.provider.expire_access_token(&access);
    crate::support::expiring_soon_on(&w.ss, &w.vouch, "p");
    let before = w.server.seen().len();
    let out = ok(&w.kubectl(&["get", "--raw", "/api"]));
    assert!(out.contains("APIVersions"), "{out}");
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);
    let fresh = w.stored()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    let later = &w.server.seen()[before..];
    assert!(later.iter().all(|s| s.authorized), "{later:?}");
    assert!(later.iter().all(|s| s.authorization.as_deref() == Some(format!("Bearer {fresh}").as_str())));

    // A third run uses the stored token: no second refresh.
    let third = w.kubectl(&["get", "--raw", "/api"]);
    ok(&third);
    assert_eq!(w.provider.token_requests("refresh_token").len(), 1);

    // No token in any file kubectl or vouch wrote (kubeconfig, ~/.kube/cache), nor on stderr.
    let secrets = [access.as_str(), fresh.as_str(), refresh.as_str()];
    crate::support::assert_no_file_contains(&w.home(), &secrets);
    for secret in secrets {
        assert!(!String::from_utf8_lossy(&third.stderr).contains(secret));
    }
}

#[test]
fn a_signed_out_profile_fails_with_a_message_kubectl_shows_and_no_prompt() {
    let (w, _, _) = World::new();
    w.vouch.run(&["setup-kube", "--context", "dev", "--profile", "p"]).expect(0);
    w.vouch.run(&["logout", "p"]).expect(0);
    let out = w.kubectl(&["get", "--raw", "/api"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("vouch login p"), "kubectl did not show vouch's message: {stderr}");
    assert!(w.server.seen().iter().all(|s| !s.authorized));
}

#[test]
fn setup_kube_remove_restores_a_context_without_vouch() {
    let (w, _, _) = World::new();
    w.vouch.run(&["setup-kube", "--context", "dev", "--profile", "p"]).expect(0);
    let run = w.vouch.run(&["setup-kube", "--context", "dev", "--profile", "p", "--remove"]);
    run.expect(0);
    let text = std::fs::read_to_string(w.kubeconfig()).unwrap();
    assert!(!text.contains("vouch"), "{text}");
    assert!(text.contains("someone") && text.contains("namespace: team"), "{text}");
    // An unknown context is refused and the file is left as it was.
    let run = w.vouch.run(&["setup-kube", "--context", "prod", "--profile", "p"]);
    run.expect(2);
    assert!(run.stderr.contains("no context 'prod'"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(w.kubeconfig()).unwrap(), text);
}
