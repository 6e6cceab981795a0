//! kubectl's exec credential protocol, in-process: exact `ExecCredential` answers for both
//! API versions, `KUBERNETES_EXEC_INFO` that is malformed or from the future, profiles by
//! name and by cluster, failures that leave stdout empty, and that nothing but the protocol
//! ever reaches stdout.

use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::{Harness, now};
use serde_json::json;
use vouch::store::StoreKind;

/// Profile `p` serving `k.example:6443`, with a valid token expiring in `ttl` seconds.
fn setup(p: &FakeProvider, ttl: i64) -> (Harness, String) {
    let h = Harness::new(StoreKind::Mock);
    let (access, refresh) = p.issue_grant("alice", "openid");
    h.write_config(&format!(
            "[profiles.p]\nissuer = \"{}\"\nclient_id = \"cli\"\nflow = \"device\"\nhosts = [\"k.example:6443\"]\n\n[profiles.other]\nissuer = \"{}\"\nclient_id = \"cli\"\n",
            p.issuer(),
            p.issuer()
        ));
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": now() as i64 + ttl,"refresh_token":refresh}),
    );
    (h, access)
}

/// `vouch kube-credential ARGS` with `info` as KUBERNETES_EXEC_INFO: exit code, stdout, stderr.
fn plugin(h: &Harness, args: &[&str], info: Option<&str>) -> (u8, String, String) {
    let (out, err) = (h.stdout.text().len(), h.stderr.text().len());
    let mut argv = vec!["kube-credential"];
    argv.extend_from_slice(args);
    let code = h.run_with(&argv, "", |ctx| {
        if let Some(info) = info {
            ctx.env.set("KUBERNETES_EXEC_INFO", info);
        }
    });
    (code, h.stdout.text()[out..].to_string(), h.stderr.text()[err..].to_string())
}

const V1_INFO: &str = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#;

#[test]
fn v1_and_v1beta1_get_an_exec_credential_with_the_token_and_its_expiry() {
    let p = FakeProvider::start();
    let (h, access) = setup(&p, 3600);
    let expiry = h.stored("p").unwrap()["expires_at"].as_u64().unwrap();
    let (code, out, err) = plugin(&h, &["p"], Some(V1_INFO));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{access}\",\"expirationTimestamp\":\"{}\"}}}}\n",
            vouch::helpers::kube::rfc3339(expiry)
        )
    );
    let beta = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"future":1}}"#;
    let (code, out, _) = plugin(&h, &["p"], Some(beta));
    assert_eq!(code, 0);
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(answer["status"]["token"], access.as_str());
    // Run by hand, without KUBERNETES_EXEC_INFO: v1.
    let (code, out, _) = plugin(&h, &["p"], None);
    assert_eq!(code, 0);
    assert!(out.contains("client.authentication.k8s.io/v1\""), "{out}");
    assert_eq!(p.token_requests("refresh_token").len(), 0);
}

#[test]
fn malformed_or_unknown_exec_info_is_a_usage_error_with_empty_stdout() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, 3600);
    for info in [
        "not json",
        "[1]",
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v2","spec":{}}"#,
        r#"{"kind":"ExecCredential","spec":{}}"#,
    ] {
        let (code, out, err) = plugin(&h, &["p"], Some(info));
        assert_eq!((code, out.as_str()), (2, ""), "{info}: {err}");
        assert!(err.starts_with("vouch: "), "{err}");
    }
    let (_, _, err) = plugin(
        &h,
        &["p"],
        Some(r#"{"apiVersion":"client.authentication.k8s.io/v2","kind":"ExecCredential"}"#),
    );
    assert!(err.contains("client.authentication.k8s.io/v1"), "the message names what vouch speaks: {err}");
}

#[test]
fn without_a_name_the_cluster_server_picks_the_profile() {
    let p = FakeProvider::start();
    let (h, access) = setup(&p, 3600);
    let info = |server: &str| {
        format!(
            r#"{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{{"interactive":false,"cluster":{{"server":"{server}","certificate-authority-data":"QUJD"}}}}}}"#
        )
    };
    let (code, out, _) = plugin(&h, &[], Some(&info("https://k.example:6443")));
    assert_eq!(code, 0);
    assert!(out.contains(&access), "{out}");
    let (code, out, err) = plugin(&h, &[], Some(&info("https://elsewhere.example")));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("no vouch profile serves https://elsewhere.example"), "{err}");
    // Two profiles and neither a name nor a cluster: which one is ambiguous.
    let (code, out, _) = plugin(&h, &[], Some(V1_INFO));
    assert_eq!((code, out.as_str()), (2, ""));
}

#[test]
fn an_expiring_token_is_refreshed_and_a_signed_out_profile_fails_with_its_exit_code() {
    let p = FakeProvider::start();
    let (h, access) = setup(&p, 10);
    let (code, out, _) = plugin(&h, &["p"], Some(V1_INFO));
    assert_eq!(code, 0);
    assert!(!out.contains(&access), "handed kubectl a token about to expire");
    assert_eq!(p.token_requests("refresh_token").len(), 1);
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    let (code, out, err) = plugin(&h, &["p"], Some(V1_INFO));
    assert_eq!((code, out.as_str()), (3, ""));
    assert!(err.contains("vouch login p"), "{err}");
    let (code, out, err) = plugin(&h, &["nobody"], Some(V1_INFO));
    assert_eq!((code, out.as_str()), (2, ""), "{err}");
}

#[test]
fn nothing_but_exec_credentials_reach_stdout_on_any_path() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, 10);
    for info in [Some(V1_INFO), None, Some("garbage"), Some(r#"{"apiVersion":"x"}"#)] {
        for args in [
            &["-v", "kube-credential", "p"][..],
            &["-v", "kube-credential"],
            &["-v", "kube-credential", "zz"],
        ] {
            h.run_with(args, "", |ctx| {
                if let Some(info) = info {
                    ctx.env.set("KUBERNETES_EXEC_INFO", info);
                }
            });
        }
    }
    drop(p); // the provider goes away: errors go to stderr, never stdout
    h.run(&["-v", "refresh", "p"], "");
    h.run_with(&["-v", "kube-credential", "p"], "", |ctx| ctx.env.set("KUBERNETES_EXEC_INFO", V1_INFO));
    let out = h.stdout.text();
    assert!(!out.is_empty());
    for line in out.lines() {
        let answer: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("not an ExecCredential on stdout: {line:?}"));
        assert_eq!(answer["kind"], "ExecCredential", "{line}");
        assert!(answer["status"]["token"].is_string(), "{line}");
    }
    assert!(h.stderr.text().contains("vouch: "), "-v logs go to stderr: {}", h.stderr.text());
}
