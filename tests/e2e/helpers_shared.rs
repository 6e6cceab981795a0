//! The helpers share one store and one refresh: git, kubectl and cargo asking at the same
//! moment for a token about to expire cause one refresh request between them, and all three
//! answer with the same fresh token.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::now;
use crate::support::secret_service::SecretService;
use std::io::Write;
use std::process::Stdio;

#[test]
fn git_kubectl_and_cargo_at_once_refresh_once_and_get_the_same_token() {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let (access, refresh) = provider.issue_grant("alice", "openid");
    vouch.write_profile("p", &provider.issuer());
    let mut config = std::fs::read_to_string(vouch.config_file()).unwrap();
    config.push_str("hosts = [\"git.example.com\", \"reg.example\"]\n");
    std::fs::write(vouch.config_file(), config).unwrap();
    ss.store(
        "vouch",
        &vouch.entry_of("p"),
        &crate::support::record(&provider.issuer(), &access, &refresh, now() as i64 + 10),
    );
    let cargo_get = "{\"v\":1,\"kind\":\"get\",\"operation\":\"read\",\"registry\":{\"index-url\":\"sparse+https://reg.example/index/\"},\"args\":[]}\n";
    let jobs: [(&[&str], &str); 3] = [
        (&["git-credential", "get"], "protocol=https\nhost=git.example.com\n\n"),
        (&["kube-credential", "p"], ""),
        (&["--cargo-plugin"], cargo_get),
    ];
    let children: Vec<_> = jobs
        .iter()
        .map(|(args, input)| {
            let mut child = vouch
                .command(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn vouch");
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child
        })
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(provider.token_requests("refresh_token").len(), 1, "one refresh between the three");
    let stored: serde_json::Value =
        serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of("p")).unwrap()).unwrap();
    let fresh = stored["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    let [git, kube, cargo] = [0, 1, 2].map(|i| String::from_utf8_lossy(&outputs[i].stdout).into_owned());
    assert!(git.contains(&format!("password={fresh}\n")), "{git}");
    assert!(kube.contains(&format!("\"token\":\"{fresh}\"")), "{kube}");
    assert!(cargo.contains(&format!("\"token\":\"Bearer {fresh}\"")), "{cargo}");
    assert!(provider.is_access_token_active(fresh));
}
