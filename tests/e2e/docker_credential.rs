//! docker's credential helper protocol, in-process: exact answers of every operation,
//! registries no profile serves (`credentials not found in native keychain`), `store` refused
//! whatever it is handed, `erase` dropping only the access token, malformed and unknown
//! requests, `setup-docker` editing `config.json`, and that nothing but the protocol ever
//! reaches stdout.

use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::{Harness, now};
use serde_json::{Value, json};
use vouch::store::StoreKind;

const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// Profile `p` serving `reg.example` and `127.0.0.1:5000` with a valid token expiring in
/// `ttl` seconds, and a second profile `other` (username `<token>`) serving `other.example`.
fn setup(p: &FakeProvider, ttl: i64) -> (Harness, String, String) {
    let h = Harness::new(StoreKind::Mock);
    let (access, refresh) = p.issue_grant("alice", "openid");
    h.write_config(&format!(
            "[profiles.p]\nissuer = \"{0}\"\nclient_id = \"cli\"\nflow = \"device\"\nhosts = [\"reg.example\", \"127.0.0.1:5000\"]\n\n[profiles.other]\nissuer = \"{0}\"\nclient_id = \"cli\"\nhosts = [\"other.example\"]\ndocker_username = \"<token>\"\n",
            p.issuer()
        ));
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": now() as i64 + ttl,"refresh_token":refresh}),
    );
    (h, access, refresh)
}

/// `vouch docker-credential OP` with `stdin`: exit code, stdout, stderr of this run only.
fn helper(h: &Harness, op: &str, stdin: &str) -> (u8, String, String) {
    helper_with(h, &["docker-credential", op], stdin)
}

fn helper_with(h: &Harness, args: &[&str], stdin: &str) -> (u8, String, String) {
    let (out, err) = (h.stdout.text().len(), h.stderr.text().len());
    let code = h.run(args, stdin);
    (code, h.stdout.text()[out..].to_string(), h.stderr.text()[err..].to_string())
}

#[test]
fn get_answers_the_token_with_the_profiles_username() {
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, 3600);
    for url in ["reg.example", "reg.example\n", "https://Reg.Example/v2/", "127.0.0.1:5000"] {
        let (code, out, err) = helper(&h, "get", url);
        assert_eq!(code, 0, "{url}: {err}");
        assert_eq!(
            out,
            format!("{{\"ServerURL\":\"{}\",\"Username\":\"oauth2\",\"Secret\":\"{access}\"}}\n", url.trim()),
            "{url}"
        );
        assert!(!err.contains(&access));
    }
    // A plain-http URL matches only an http:// pattern (none here).
    let (code, out, _) = helper(&h, "get", "http://reg.example");
    assert_ne!(code, 0);
    assert_eq!(out, NOT_FOUND);
    assert_eq!(p.token_requests("refresh_token").len(), 0);
}

#[test]
fn registries_no_profile_serves_are_not_found_and_signed_out_ones_say_how_to_sign_in() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, 3600);
    for url in ["elsewhere.example", "reg.example.evil", "a b", "ftp://reg.example"] {
        let (code, out, err) = helper(&h, "get", url);
        assert_eq!((code, out.as_str()), (2, NOT_FOUND), "{url}: {err}");
    }
    // `other` serves its host but holds no credential: docker shows this line.
    let (code, out, err) = helper(&h, "get", "other.example");
    assert_eq!(code, 3, "{err}");
    assert!(out.contains("vouch login other") && out.ends_with('\n') && out.lines().count() == 1, "{out}");
    assert!(err.contains("vouch login other"), "{err}");
}

#[test]
fn an_expiring_token_is_refreshed_once_and_erase_drops_only_the_access_token() {
    let p = FakeProvider::start();
    let (h, access, refresh) = setup(&p, 10);
    let (code, out, _) = helper(&h, "get", "reg.example");
    assert_eq!(code, 0);
    assert_eq!(p.token_requests("refresh_token").len(), 1);
    let fresh = h.stored("p").unwrap()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    assert!(out.contains(&format!("\"Secret\":\"{fresh}\"")), "{out}");
    let (_, again, _) = helper(&h, "get", "reg.example");
    assert_eq!(again, out, "a fresh token is not refreshed again");
    assert_eq!(p.token_requests("refresh_token").len(), 1);

    // `docker logout`: the access token is expired, the refresh token kept.
    let before = h.stored("p").unwrap();
    let (code, out, err) = helper(&h, "erase", "reg.example\n");
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.contains("vouch logout p"), "{err}");
    let after = h.stored("p").unwrap();
    assert!(after["expires_at"].as_u64().unwrap() < now(), "{after}");
    assert_eq!(after["refresh_token"], before["refresh_token"]);
    assert_eq!(after["access_token"], before["access_token"]);
    let _ = refresh;
    let (_, out, _) = helper(&h, "get", "reg.example");
    assert_eq!(p.token_requests("refresh_token").len(), 2, "the next get refreshed");
    assert!(!out.contains(&fresh), "{out}");
    // Erasing a registry no profile serves changes nothing and says not found.
    let stored = h.stored("p").unwrap();
    let (code, out, _) = helper(&h, "erase", "elsewhere.example");
    assert_eq!((code, out.as_str()), (2, NOT_FOUND));
    assert_eq!(h.stored("p").unwrap(), stored);
}

#[test]
fn store_is_refused_and_keeps_nothing() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, 3600);
    let before = h.stored("p").unwrap();
    let config = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    let served = r#"{"ServerURL":"reg.example","Username":"alice","Secret":"canary-docker-password"}"#;
    let (code, out, err) = helper(&h, "store", served);
    assert_eq!(code, 2, "{err}");
    assert!(out.contains("vouch does not keep passwords") && out.contains("vouch login p"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let other = r#"{"ServerURL":"docker.example","Username":"alice","Secret":"canary-docker-password"}"#;
    let (code, out, _) = helper(&h, "store", other);
    assert_eq!(code, 2);
    assert!(out.contains("no profile serves docker.example"), "{out}");
    for bad in ["", "not json", "{\"ServerURL\":3}", "[]"] {
        let (code, out, _) = helper(&h, "store", bad);
        assert_eq!(code, 2, "{bad}");
        assert!(out.contains("vouch does not keep passwords"), "{bad}: {out}");
    }
    assert_eq!(h.stored("p").unwrap(), before, "the store is unchanged");
    assert!(h.stored("other").is_none());
    assert_eq!(std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap(), config);
    assert!(!h.stdout.text().contains("canary") && !h.stderr.text().contains("canary"));
}

#[test]
fn list_names_served_hosts_and_usernames_and_version_names_the_helper() {
    let p = FakeProvider::start();
    let (h, access, refresh) = setup(&p, 3600);
    let (code, out, _) = helper(&h, "list", "");
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        listed,
        json!({"reg.example": "oauth2", "127.0.0.1:5000": "oauth2", "other.example": "<token>"})
    );
    assert!(!out.contains(&access) && !out.contains(&refresh));
    let (code, out, _) = helper(&h, "version", "");
    assert_eq!(code, 0);
    assert_eq!(out, format!("docker-credential-vouch (vouch) {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn malformed_and_unknown_requests_fail_with_one_line_on_stdout() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, 3600);
    for (op, stdin, line) in [
        ("get", "", "no credentials server URL\n"),
        ("get", "  \n", "no credentials server URL\n"),
        ("erase", "", "no credentials server URL\n"),
    ] {
        let (code, out, _) = helper(&h, op, stdin);
        assert_eq!((code, out.as_str()), (2, line), "{op} {stdin:?}");
    }
    let (code, out, _) = helper(&h, "get", &"x".repeat(70 * 1024));
    assert_eq!(code, 2);
    assert!(out.contains("longer than any credential request"), "{out}");
    let (code, out, _) = helper(&h, "frobnicate", "reg.example");
    assert_eq!(code, 2);
    assert!(out.starts_with("Unknown credential action `frobnicate`"), "{out}");
    assert_eq!(out.lines().count(), 1);
    // A broken config: get fails with vouch's message, never a token.
    std::fs::write(h.dir.path().join("config.toml"), "not = [toml").unwrap();
    let (code, out, _) = helper(&h, "get", "reg.example");
    assert_eq!(code, 2);
    assert!(out.contains("config file"), "{out}");
}

#[test]
fn nothing_but_the_protocol_reaches_stdout_on_any_path() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, 10);
    let runs: [(&str, &str); 9] = [
        ("get", "reg.example"),
        ("get", "elsewhere.example"),
        ("get", "other.example"),
        ("store", r#"{"ServerURL":"reg.example","Username":"u","Secret":"s"}"#),
        ("erase", "reg.example"),
        ("list", ""),
        ("version", ""),
        ("bogus", ""),
        ("get", ""),
    ];
    let mut outputs = Vec::new();
    for (op, stdin) in runs {
        let (code, out, _) = helper_with(&h, &["-v", "docker-credential", op], stdin);
        outputs.push((op, code, out));
    }
    drop(p);
    let (code, out, _) = helper_with(&h, &["-v", "docker-credential", "get"], "reg.example");
    assert_eq!(code, 5, "the provider is gone: unavailable");
    outputs.push(("get offline", code, out));
    for (op, code, out) in &outputs {
        assert!(out.ends_with('\n') || out.is_empty(), "{op}: {out:?}");
        assert!(out.lines().count() <= 1, "{op}: more than one line: {out:?}");
        let line = out.trim_end();
        let protocol = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => {
                o.contains_key("Secret") || o.values().all(Value::is_string) // get, or list
            }
            _ => line.is_empty() || line.starts_with("docker-credential-vouch (vouch) ") || *code != 0,
        };
        assert!(protocol, "{op}: not a protocol line: {out:?}");
        assert!(!line.starts_with("vouch: "), "{op}: a log line on stdout: {out:?}");
    }
    assert!(h.stderr.text().contains("vouch: "), "-v logs go to stderr: {}", h.stderr.text());
}

#[test]
fn docker_runs_vouch_as_docker_credential_vouch() {
    assert_eq!(
        vouch::cli_args(["/usr/local/bin/docker-credential-vouch", "get"].map(Into::into)),
        ["/usr/local/bin/docker-credential-vouch", "docker-credential", "get"].map(std::ffi::OsString::from)
    );
    assert_eq!(
        vouch::cli_args(["vouch", "docker-credential", "list"].map(Into::into)),
        ["vouch", "docker-credential", "list"].map(std::ffi::OsString::from)
    );
}

/// `vouch setup-docker ARGS` with DOCKER_CONFIG set to `docker_config`.
fn setup_docker(h: &Harness, docker_config: &std::path::Path, args: &[&str]) -> (u8, String) {
    let err = h.stderr.text().len();
    let mut argv = vec!["setup-docker"];
    argv.extend_from_slice(args);
    let dir = docker_config.display().to_string();
    let code = h.run_with(&argv, "", |ctx| ctx.env.set("DOCKER_CONFIG", &dir));
    (code, h.stderr.text()[err..].to_string())
}

#[test]
fn setup_docker_sets_cred_helpers_keeping_the_rest_and_refuses_what_it_cannot_parse() {
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, 3600);
    let docker = tempfile::tempdir().unwrap();
    let file = docker.path().join("config.json");
    std::fs::write(
        &file,
        r#"{"auths":{"hub.example":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"gcloud"},"psFormat":"table {{.ID}}"}"#,
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, err) = setup_docker(
        &h,
        docker.path(),
        &["--registry", "Ghcr.Example:443", "--profile", "p", "--username", "bot"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("profile 'p', username 'bot'"), "{err}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        doc,
        json!({"auths":{"hub.example":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"gcloud","ghcr.example:443":"vouch"},"psFormat":"table {{.ID}}"})
    );
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap()).unwrap();
    assert_eq!(config["profiles"]["p"]["docker_username"].as_str(), Some("bot"));
    assert!(
        config["profiles"]["p"]["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some("ghcr.example:443"))
    );
    // The helper now answers for it, with that username.
    let (code, out, _) = helper(&h, "get", "ghcr.example:443");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("{{\"ServerURL\":\"ghcr.example:443\",\"Username\":\"bot\",\"Secret\":\"{access}\"}}\n")
    );
    // Again: idempotent, one host entry.
    assert_eq!(setup_docker(&h, docker.path(), &["--registry", "ghcr.example:443", "--profile", "p"]).0, 0);
    let text = std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap();
    assert_eq!(text.matches("ghcr.example:443").count(), 1, "{text}");
    assert!(text.contains("docker_username = \"bot\""), "a setup without --username keeps it: {text}");

    // --remove: vouch's entry and host go, the rest stays.
    let (code, err) =
        setup_docker(&h, docker.path(), &["--registry", "ghcr.example:443", "--profile", "p", "--remove"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["credHelpers"], json!({"gcr.io": "gcloud"}));
    assert_eq!(doc["auths"], json!({"hub.example":{"auth":"dTpw"}}));
    let (code, out, _) = helper(&h, "get", "ghcr.example:443");
    assert_eq!((code, out.as_str()), (2, NOT_FOUND));
    // Someone else's helper is never removed.
    let (_, err) = setup_docker(&h, docker.path(), &["--registry", "gcr.io", "--remove"]);
    assert!(err.contains("was not docker's credential helper"), "{err}");
    assert!(std::fs::read_to_string(&file).unwrap().contains("gcloud"));

    // A file that is not JSON, or whose credHelpers is not an object, is refused untouched.
    for broken in ["{\"auths\": {", "[1]", "{\"credHelpers\": \"vouch\"}"] {
        std::fs::write(&file, broken).unwrap();
        let (code, err) = setup_docker(&h, docker.path(), &["--registry", "reg.example", "--profile", "p"]);
        assert_eq!(code, 2, "{broken}: {err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), broken);
    }
    // A registry with a path or a scheme is not a docker registry name.
    for bad in ["reg.example/team", "https://reg.example", "http://127.0.0.1:5000"] {
        assert_eq!(setup_docker(&h, docker.path(), &["--registry", bad, "--profile", "p"]).0, 2, "{bad}");
    }
    // A missing file (and directory) is created, mode 0600.
    let fresh = tempfile::tempdir().unwrap();
    let nested = fresh.path().join("d");
    assert_eq!(setup_docker(&h, &nested, &["--registry", "reg.example", "--profile", "p"]).0, 0);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(nested.join("config.json")).unwrap()).unwrap();
    assert_eq!(doc, json!({"credHelpers": {"reg.example": "vouch"}}));
    assert_eq!(std::fs::metadata(nested.join("config.json")).unwrap().permissions().mode() & 0o777, 0o600);
}

#[test]
fn setup_docker_warns_about_a_stored_password_and_a_missing_link() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, 3600);
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), r#"{"auths":{"https://reg.example":{"auth":"dTpw"}}}"#)
        .unwrap();
    let err = h.stderr.text().len();
    let dir = docker.path().display().to_string();
    let code = h.run_with(&["setup-docker", "--registry", "reg.example", "--profile", "p"], "", |ctx| {
        ctx.env.set("DOCKER_CONFIG", &dir);
        ctx.env.set("PATH", "/nonexistent");
    });
    assert_eq!(code, 0);
    let err = &h.stderr.text()[err..];
    assert!(err.contains("still holds a password for reg.example"), "{err}");
    assert!(err.contains("ln -s") && err.contains("docker-credential-vouch"), "{err}");
}
