//! cargo's credential provider protocol, in-process: the hello, exact `get` answers and their
//! cache control, profiles by name and by registry, `login` and `logout`, malformed and
//! unknown requests, error kinds, and that nothing but protocol lines reaches stdout.

use crate::support::Vouch;
use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::{Harness, now};
use serde_json::{Value, json};
use vouch::store::StoreKind;

/// Profile `p` serving `reg.example`, with a valid token expiring in `ttl` seconds (none
/// when `ttl` is `None`), and a second profile so nothing defaults.
fn setup(p: &FakeProvider, ttl: Option<i64>) -> (Harness, String) {
    let h = Harness::new(StoreKind::Mock);
    let (access, refresh) = p.issue_grant("alice", "openid");
    h.write_config(&format!(
            "[profiles.p]\nissuer = \"{0}\"\nclient_id = \"cli\"\nflow = \"device\"\nhosts = [\"reg.example\"]\n\n[profiles.other]\nissuer = \"{0}\"\nclient_id = \"cli\"\n",
            p.issuer()
        ));
    let mut record = json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "refresh_token":refresh});
    if let Some(ttl) = ttl {
        record["expires_at"] = json!(now() as i64 + ttl);
    }
    h.seed_record("p", record);
    (h, access)
}

fn get(index: &str, args: &str) -> String {
    format!(
        r#"{{"v":1,"kind":"get","operation":"read","registry":{{"index-url":"{index}","name":"internal","headers":["WWW-Authenticate: Cargo"]}},"args":{args}}}"#
    )
}

/// Run the provider with `lines` on stdin: exit code and the answer lines after the hello.
fn converse(h: &Harness, lines: &[&str]) -> (u8, Vec<Value>, String) {
    let (out, err) = (h.stdout.text().len(), h.stderr.text().len());
    let mut input = lines.join("\n");
    input.push('\n');
    let code = h.run(&["cargo-credential", "--cargo-plugin"], &input);
    let stdout = h.stdout.text()[out..].to_string();
    let mut answers = stdout.lines();
    assert_eq!(answers.next(), Some(r#"{"v":[1]}"#), "the hello comes first: {stdout}");
    let answers = answers
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON on stdout: {l:?}")))
        .collect();
    (code, answers, h.stderr.text()[err..].to_string())
}

#[test]
fn get_answers_a_bearer_token_cached_until_it_expires() {
    let p = FakeProvider::start();
    let (h, access) = setup(&p, Some(3600));
    let expiry = h.stored("p").unwrap()["expires_at"].as_u64().unwrap();
    let (out_before, _) = (h.stdout.text().len(), ());
    let code = h.run(
        &["cargo-credential", "--cargo-plugin"],
        &format!("{}\n", get("sparse+https://reg.example/index/", r#"["cargo-credential","p"]"#)),
    );
    assert_eq!(code, 0);
    assert_eq!(
        &h.stdout.text()[out_before..],
        format!(
            "{{\"v\":[1]}}\n{{\"Ok\":{{\"kind\":\"get\",\"token\":\"Bearer {access}\",\"cache\":\"expires\",\"expiration\":{expiry},\"operation_independent\":true}}}}\n"
        )
    );
    // A publish, several requests and blank lines in one conversation, unknown fields.
    let publish = r#"{"v":1,"kind":"get","operation":"publish","name":"x","vers":"0.1.0","cksum":"00","registry":{"index-url":"sparse+https://reg.example/index/","new":1},"args":["cargo-credential","p"],"future":true}"#;
    let (code, answers, _) = converse(&h, &[publish, "", &get("sparse+https://reg.example/index/", "[]")]);
    assert_eq!(code, 0);
    assert_eq!(answers.len(), 2);
    for a in &answers {
        assert_eq!(a["Ok"]["token"], format!("Bearer {access}"), "{a}");
    }
    assert_eq!(p.token_requests("refresh_token").len(), 0);
}

#[test]
fn a_token_without_expiry_is_cached_for_the_session() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, None);
    let (_, answers, _) = converse(&h, &[&get("sparse+https://reg.example/index/", r#"["--profile","p"]"#)]);
    assert_eq!(answers[0]["Ok"]["cache"], "session");
    assert!(answers[0]["Ok"].get("expiration").is_none());
}

#[test]
fn registries_no_profile_serves_are_not_supported_and_signed_out_ones_not_found() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, Some(3600));
    let (code, answers, _) = converse(&h, &[&get("sparse+https://crates.example/index/", "[]")]);
    assert_eq!(code, 0, "cargo ignores the answer of a provider that fails");
    assert_eq!(answers[0]["Err"]["kind"], "url-not-supported");
    let (_, answers, _) = converse(&h, &[&get("not a url", "[]")]);
    assert_eq!(answers[0]["Err"]["kind"], "url-not-supported");
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    let (code, answers, stderr) = converse(&h, &[&get("sparse+https://reg.example/index/", r#"["p"]"#)]);
    assert_eq!(code, 0);
    assert_eq!(answers[0]["Err"]["kind"], "not-found");
    assert!(answers[0]["Err"]["message"].as_str().unwrap().contains("vouch login p"), "{}", answers[0]);
    assert!(stderr.contains("vouch login p"), "cargo hides a not-found's message: {stderr}");
    let (_, answers, _) = converse(&h, &[&get("sparse+https://reg.example/index/", r#"["nobody"]"#)]);
    assert_eq!(answers[0]["Err"]["kind"], "other");
    assert!(
        answers[0]["Err"]["message"].as_str().unwrap().contains("no profile named 'nobody'"),
        "{}",
        answers[0]
    );
}

#[test]
fn login_keeps_no_token_and_logout_points_at_vouch_logout() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, Some(3600));
    let before = h.stored("p").unwrap();
    let login = r#"{"v":1,"kind":"login","registry":{"index-url":"sparse+https://reg.example/index/"},"token":"canary-cargo-login","login-url":"https://reg.example/me","args":["cargo-credential","p"]}"#;
    let (code, answers, stderr) = converse(&h, &[login]);
    assert_eq!(code, 0);
    assert_eq!(answers[0]["Err"]["kind"], "operation-not-supported");
    assert!(stderr.contains("vouch does not keep tokens"), "{stderr}");
    let check = r#"{"v":1,"kind":"login","registry":{"index-url":"sparse+https://reg.example/index/"},"args":["cargo-credential","p"]}"#;
    let (_, answers, stderr) = converse(&h, &[check]);
    assert_eq!(answers[0], json!({"Ok": {"kind": "login"}}));
    assert!(stderr.contains("profile 'p'"), "{stderr}");
    let logout = r#"{"v":1,"kind":"logout","registry":{"index-url":"sparse+https://reg.example/index/"},"args":["p"]}"#;
    let (_, answers, stderr) = converse(&h, &[logout]);
    assert_eq!(answers[0]["Err"]["kind"], "operation-not-supported");
    assert!(stderr.contains("vouch logout NAME"), "{stderr}");
    let (_, answers, _) = converse(
        &h,
        &[r#"{"v":1,"kind":"frobnicate","registry":{"index-url":"sparse+https://reg.example/"}}"#],
    );
    assert_eq!(answers[0]["Err"]["kind"], "operation-not-supported");
    assert_eq!(h.stored("p").unwrap(), before, "the store is unchanged");
    assert!(
        !h.stdout.text().contains("canary-cargo-login") && !h.stderr.text().contains("canary-cargo-login")
    );
}

#[test]
fn malformed_requests_get_an_error_answer_and_exit_2() {
    let p = FakeProvider::start();
    let (h, access) = setup(&p, Some(3600));
    for bad in [
        "not json",
        r#"{"v":2,"kind":"get","registry":{"index-url":"sparse+https://reg.example/"}}"#,
        r#"{"v":1,"kind":"get"}"#,
        r#"{"v":1,"kind":"get","registry":{"index-url":"sparse+https://reg.example/"},"args":["--bogus"]}"#,
    ] {
        let (code, answers, stderr) = converse(&h, &[bad]);
        let expected_code = if bad.contains("--bogus") { 0 } else { 2 };
        assert_eq!(code, expected_code, "{bad}: {stderr}");
        assert_eq!(answers.len(), 1, "{bad}");
        assert_eq!(answers[0]["Err"]["kind"], "other", "{bad}");
    }
    // A request after a malformed line is never answered.
    let (_, answers, _) = converse(&h, &["{", &get("sparse+https://reg.example/index/", r#"["p"]"#)]);
    assert_eq!(answers.len(), 1);
    assert!(!h.stdout.text().contains(&access));
}

#[test]
fn nothing_but_protocol_lines_reach_stdout_on_any_path() {
    let p = FakeProvider::start();
    let (h, _) = setup(&p, Some(10));
    let requests = [
        get("sparse+https://reg.example/index/", r#"["p"]"#),
        get("sparse+https://reg.example/index/", "[]"),
        get("sparse+https://crates.example/", "[]"),
        r#"{"v":1,"kind":"login","registry":{"index-url":"x"},"token":"t","args":["p"]}"#.to_string(),
        r#"{"v":1,"kind":"logout","registry":{"index-url":"x"}}"#.to_string(),
        "garbage".to_string(),
    ];
    for request in &requests {
        h.run(&["-v", "cargo-credential", "--cargo-plugin"], &format!("{request}\n"));
    }
    drop(p);
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    h.run(&["-v", "cargo-credential"], &format!("{}\n", requests[0]));
    let out = h.stdout.text();
    for line in out.lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not a protocol line: {line:?}"));
        assert!(v.get("v").is_some() || v.get("Ok").is_some() || v.get("Err").is_some(), "{line}");
    }
    assert!(out.contains("\"Ok\""), "{out}");
    assert!(h.stderr.text().contains("vouch: "), "-v logs go to stderr: {}", h.stderr.text());
}

#[test]
fn cargo_runs_vouch_as_vouch_dash_dash_cargo_plugin() {
    assert_eq!(
        vouch::cli_args(["vouch", "--cargo-plugin"].map(Into::into)),
        ["vouch", "cargo-credential", "--cargo-plugin"].map(std::ffi::OsString::from)
    );
    assert_eq!(vouch::cli_args(["vouch", "--help"].map(Into::into)).len(), 2);
    // The binary, with no profile at all: the hello, then `url-not-supported`.
    let v = Vouch::new("keyutils", vec![]);
    let run = v.run_with_stdin(
        &["--cargo-plugin"],
        Some(&format!("{}\n", get("sparse+https://reg.example/", "[]"))),
    );
    run.expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], r#"{"v":[1]}"#);
    assert!(lines[1].contains("url-not-supported"), "{}", run.stdout);
}
