//! The git credential helper protocol, in-process: exact transcripts from stdin to stdout,
//! capability handling, host and path matching, `store` and `erase`, and that nothing but
//! protocol lines ever reaches stdout.

use crate::support::fake_provider::FakeProvider;
use crate::support::in_process::{Harness, now};
use serde_json::json;
use vouch::store::StoreKind;

/// Profile `p` serving `hosts`, with a valid token expiring in `ttl` seconds.
fn setup(p: &FakeProvider, hosts: &[&str], extra: &str, ttl: i64) -> (Harness, String, String) {
    let h = Harness::new(StoreKind::Mock);
    let (access, refresh) = p.issue_grant("alice", "openid");
    let hosts: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    h.write_config(&format!(
        "[profiles.p]\nissuer = \"{}\"\nclient_id = \"cli\"\nflow = \"device\"\nhosts = [{}]\n{extra}\n",
        p.issuer(),
        hosts.join(", ")
    ));
    h.seed_record(
        "p",
        json!({"version":1,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": now() as i64 + ttl,"refresh_token":refresh}),
    );
    (h, access, refresh)
}

fn get(h: &Harness, input: &str) -> (u8, String) {
    let before = h.stdout.text().len();
    let code = h.run(&["git-credential", "get"], input);
    (code, h.stdout.text()[before..].to_string())
}

#[test]
fn get_answers_with_username_password_and_expiry() {
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, &["git.example.com"], "", 3600);
    let expiry = h.stored("p").unwrap()["expires_at"].as_u64().unwrap();
    let (code, out) = get(&h, "protocol=https\nhost=git.example.com\nwwwauth[]=Basic realm=\"x\"\n\n");
    assert_eq!(code, 0);
    assert_eq!(out, format!("username=oauth2\npassword={access}\npassword_expiry_utc={expiry}\n"));
}

#[test]
fn bearer_is_used_only_when_git_advertises_authtype() {
    let p = FakeProvider::start();
    let (h, access, _) =
        setup(&p, &["git.example.com"], "git_auth = \"bearer\"\ngit_username = \"x-token\"", 3600);
    let (_, out) =
        get(&h, "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=git.example.com\n");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..4],
        ["capability[]=authtype", "authtype=Bearer", &format!("credential={access}"), "ephemeral=true"]
    );
    assert!(!out.contains("password="), "{out}");
    // An older git that did not advertise the capability gets username and password.
    let (_, out) = get(&h, "protocol=https\nhost=git.example.com\n");
    assert!(out.starts_with(&format!("username=x-token\npassword={access}\n")), "{out}");
    assert!(!out.contains("authtype"), "{out}");
    // A capability list reset by an empty value counts as not advertised.
    let (_, out) = get(&h, "capability[]=authtype\ncapability[]=\nprotocol=https\nhost=git.example.com\n");
    assert!(!out.contains("authtype"), "{out}");
}

#[test]
fn with_authtype_a_basic_answer_is_an_ephemeral_credential_other_helpers_do_not_keep() {
    use base64::Engine;
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, &["git.example.com"], "", 3600);
    let expiry = h.stored("p").unwrap()["expires_at"].as_u64().unwrap();
    let (code, out) =
        get(&h, "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=git.example.com\n");
    assert_eq!(code, 0);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{access}"));
    assert_eq!(
        out,
        format!(
            "capability[]=authtype\nauthtype=Basic\ncredential={basic}\nephemeral=true\npassword_expiry_utc={expiry}\n"
        )
    );
    assert!(!out.contains("password=") && !out.contains("username="), "{out}");

    // git reports that credential rejected: it is recognised as ours and expired.
    let code = h.run(
        &["git-credential", "erase"],
        &format!("capability[]=authtype\nauthtype=Basic\ncredential={basic}\nprotocol=https\nhost=git.example.com\n"),
    );
    assert_eq!(code, 0);
    assert!(
        h.stored("p").unwrap()["expires_at"].as_u64().unwrap() < now(),
        "erase ignored a Basic credential"
    );
}

#[test]
fn an_erase_with_someone_elses_basic_credential_changes_nothing() {
    use base64::Engine;
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, &["git.example.com"], "", 3600);
    for credential in [base64::engine::general_purpose::STANDARD.encode("oauth2:other"), "%%%".to_string()] {
        let input =
            format!("authtype=Basic\ncredential={credential}\nprotocol=https\nhost=git.example.com\n");
        assert_eq!(h.run(&["git-credential", "erase"], &input), 0);
    }
    assert_eq!(h.stored("p").unwrap()["generation"], 1);
}

#[test]
fn unknown_hosts_and_protocols_fall_through_with_empty_output() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, &["git.example.com", "forge.example.com/team"], "", 3600);
    for input in [
        "protocol=https\nhost=other.example.com\n",
        "protocol=http\nhost=git.example.com\n",
        "protocol=https\nhost=forge.example.com\npath=elsewhere/repo.git\n",
        "protocol=https\nhost=forge.example.com\n",
        "garbage without equals\n\n",
        "",
    ] {
        let (code, out) = get(&h, input);
        assert_eq!((code, out.as_str()), (0, ""), "{input:?}");
    }
    let (_, out) = get(&h, "protocol=https\nhost=forge.example.com\npath=team/repo.git\n");
    assert!(out.contains("password="), "path patterns match by prefix: {out}");
    assert_eq!(p.count("/token"), 0);
}

#[test]
fn store_and_unknown_operations_change_nothing() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, &["git.example.com"], "", 3600);
    let before = h.stored("p").unwrap();
    for op in ["store", "frobnicate"] {
        let code =
            h.run(&["git-credential", op], "protocol=https\nhost=git.example.com\nusername=u\npassword=p\n");
        assert_eq!(code, 0);
    }
    assert_eq!(h.stored("p").unwrap(), before);
    assert!(h.stdout.text().is_empty());
}

#[test]
fn erase_expires_the_access_token_and_keeps_the_refresh_token() {
    let p = FakeProvider::start();
    let (h, access, refresh) = setup(&p, &["git.example.com"], "", 3600);
    // An erase for a credential that is not ours changes nothing.
    h.run(
        &["git-credential", "erase"],
        "protocol=https\nhost=git.example.com\nusername=oauth2\npassword=someone-else\n",
    );
    assert_eq!(h.stored("p").unwrap()["generation"], 1);
    // git saw our token rejected.
    let code = h.run(
        &["git-credential", "erase"],
        &format!("protocol=https\nhost=git.example.com\nusername=oauth2\npassword={access}\n"),
    );
    assert_eq!(code, 0);
    let record = h.stored("p").unwrap();
    assert_eq!(record["refresh_token"], refresh, "erase must never drop the refresh token");
    assert!(record["expires_at"].as_u64().unwrap() < now());
    // The next get refreshes instead of handing out the rejected token again.
    let (_, out) = get(&h, "protocol=https\nhost=git.example.com\n");
    let fresh = h.stored("p").unwrap()["access_token"].as_str().unwrap().to_string();
    assert_ne!(fresh, access);
    assert!(out.contains(&format!("password={fresh}\n")), "{out}");
    assert_eq!(p.token_requests("refresh_token").len(), 1);
}

#[test]
fn get_refreshes_just_in_time() {
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, &["git.example.com"], "", 10);
    let (_, out) = get(&h, "protocol=https\nhost=git.example.com\n");
    assert!(!out.contains(&access), "handed git a token about to expire");
    assert_eq!(p.token_requests("refresh_token").len(), 1);
}

#[test]
fn a_profile_that_needs_a_login_answers_nothing_and_hints_on_stderr() {
    let p = FakeProvider::start();
    let (h, _, _) = setup(&p, &["git.example.com"], "", 3600);
    assert_eq!(h.run(&["logout", "p"], ""), 0);
    let (code, out) = get(&h, "protocol=https\nhost=git.example.com\n");
    assert_eq!((code, out.as_str()), (0, ""));
    assert!(h.stderr.text().contains("vouch login p"), "{}", h.stderr.text());
}

#[test]
fn nothing_but_protocol_lines_reach_stdout_on_any_path() {
    let p = FakeProvider::start();
    let (h, access, _) = setup(&p, &["git.example.com"], "", 10);
    let inputs = [
        "protocol=https\nhost=git.example.com\n",
        "protocol=https\nhost=nobody.example\n",
        "capability[]=authtype\nprotocol=https\nhost=git.example.com\n",
    ];
    for input in inputs {
        for op in ["get", "store", "erase"] {
            h.run(&["-v", "git-credential", op], input);
        }
    }
    h.run(
        &["-v", "git-credential", "erase"],
        &format!("protocol=https\nhost=git.example.com\npassword={access}\n"),
    );
    h.run(&["-v", "git-credential", "get"], "protocol=https\nhost=git.example.com\n");
    drop(p); // the provider goes away: errors are hints on stderr, never stdout
    h.run(&["-v", "git-credential", "erase"], "protocol=https\nhost=git.example.com\npassword=x\n");
    h.run(&["-v", "git-credential", "get"], "protocol=https\nhost=git.example.com\n");
    let out = h.stdout.text();
    assert!(!out.is_empty());
    for line in out.lines() {
        let (key, _) =
            line.split_once('=').unwrap_or_else(|| panic!("not a protocol line on stdout: {line:?}"));
        assert!(
            [
                "username",
                "password",
                "password_expiry_utc",
                "capability[]",
                "authtype",
                "credential",
                "ephemeral"
            ]
            .contains(&key),
            "unexpected key on stdout: {line:?}"
        );
    }
    assert!(h.stderr.text().contains("vouch: "), "-v logs go to stderr: {}", h.stderr.text());
}
