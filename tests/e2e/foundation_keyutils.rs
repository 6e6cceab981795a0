//! The foundation, end to end, on real kernel keyutils (the user keyring `@u`).
//!
//! The user keyring is shared by every process of this uid, so every test uses a unique
//! profile name and removes its key at the end.

use crate::support::fake_provider::FakeProvider;
use crate::support::{Vouch, unique_profile};
use std::process::Command;

const GOOD: &str = "canary-keyutils-access-token-51c2";

/// The id of a key in `@u` that vouch holds for `profile`, if there is one.
fn key_id(profile: &str) -> Option<String> {
    crate::support::user_keys(profile).into_iter().next()
}

fn read_key(profile: &str) -> Option<String> {
    let id = key_id(profile)?;
    let out = Command::new("keyctl").args(["pipe", &id]).output().expect("keyctl pipe");
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes the test's key even when the test fails.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::support::remove_user_keys(&self.0);
    }
}

fn setup() -> (FakeProvider, Vouch, String, Cleanup) {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let name = unique_profile("ku");
    (provider, Vouch::new("keyutils", vec![]), name.clone(), Cleanup(name))
}

#[test]
fn login_token_status_logout_on_the_user_keyring() {
    let (provider, vouch, name, _cleanup) = setup();
    vouch.login_with_token(&name, &provider.issuer(), GOOD).expect(0).leaks_nothing(GOOD);
    let stored = read_key(&name).expect("a user key keyring:NAME@vouch in @u");
    assert!(stored.contains(GOOD) && stored.contains("\"version\":2"), "{stored}");
    assert!(stored.contains(&format!("\"issuer\":\"{}\"", provider.issuer())), "{stored}");

    assert_eq!(vouch.run(&["token", &name]).expect(0).stdout, format!("{GOOD}\n"));
    let status = vouch.run(&["status", &name, "--json"]);
    status.expect(0).leaks_nothing(GOOD);
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(json["store"], "keyutils");
    assert_eq!(json["persistence"], "until reboot");
    let human = vouch.run(&["status", &name]);
    assert!(
        human.stdout.contains("until reboot"),
        "status must say keyutils forgets on reboot: {}",
        human.stdout
    );

    vouch.run(&["logout", &name]).expect(0);
    assert!(key_id(&name).is_none(), "logout left the key");
    vouch.run(&["token", &name]).expect(3);
}

#[test]
fn a_rejected_token_stores_no_key() {
    let (provider, vouch, name, _cleanup) = setup();
    vouch.login_with_token(&name, &provider.issuer(), "canary-nope").expect(4).leaks_nothing("canary-nope");
    assert!(key_id(&name).is_none());
    assert!(!vouch.config_file().exists());
}

#[test]
fn keys_work_across_fresh_session_keyrings() {
    // CI jobs and ssh sessions get different session keyrings (or none); the credential must
    // be found from each of them.
    let (provider, vouch, name, _cleanup) = setup();
    vouch.login_with_token(&name, &provider.issuer(), GOOD).expect(0);
    let mut inside = vouch.command(&["token", &name]);
    let program = inside.get_program().to_owned();
    let args: Vec<_> = inside.get_args().map(|a| a.to_owned()).collect();
    let out = Command::new("keyctl")
        .arg("session")
        .arg("-")
        .arg(program)
        .args(args)
        .env_clear()
        .envs(inside.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))))
        .output()
        .expect("keyctl session");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{GOOD}\n"));
    // and a login from inside a fresh session replaces the same key
    let replacement = "canary-keyutils-second";
    provider.add_access_token(replacement, "alice");
    inside = vouch.command(&["login", &name, "--with-token"]);
    let args: Vec<_> = inside.get_args().map(|a| a.to_owned()).collect();
    let mut child = Command::new("keyctl")
        .arg("session")
        .arg("-")
        .arg(inside.get_program())
        .args(args)
        .env_clear()
        .envs(inside.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("keyctl session");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(replacement.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(vouch.run(&["token", &name]).expect(0).stdout, format!("{replacement}\n"));
}

#[test]
fn a_corrupt_key_is_exit_8() {
    let (provider, vouch, name, _cleanup) = setup();
    vouch.login_with_token(&name, &provider.issuer(), GOOD).expect(0);
    let out = Command::new("keyctl")
        .args([
            "add",
            "user",
            &format!("keyring:{}@vouch", vouch.entry_of(&name)),
            "\u{1}canary-garbage",
            "@u",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    vouch.run(&["token", &name]).expect(8).leaks_nothing("canary-garbage");
    vouch.run(&["logout", &name]).expect(0);
    vouch.run(&["token", &name]).expect(3);
}

/// vouch's entry point does what std's start-up did before `main` (src/main.rs, `start`): with
/// the caller's stdin, stdout and stderr closed, fds 0–2 are opened on /dev/null, so no file
/// vouch opens can take their place and the programs it runs get them as std promises; a
/// stdout pipe nobody reads is an error vouch reports, not death by SIGPIPE; and the programs
/// vouch runs get SIGPIPE back at its default.
#[test]
fn closed_standard_fds_and_an_unread_pipe_are_handled_before_main() {
    use std::os::unix::process::ExitStatusExt;
    let (provider, vouch, name, _cleanup) = setup();
    vouch.login_with_token(&name, &provider.issuer(), GOOD).expect(0);

    // The program reports through its exit status alone (97: a code vouch never uses itself),
    // touching none of its fds.
    let inner = vouch.command(&[
        "exec",
        &name,
        "--",
        "sh",
        "-c",
        "for fd in 0 1 2; do [ \"$(readlink /proc/$$/fd/$fd)\" = /dev/null ] || exit 97; done",
    ]);
    let status = Command::new("sh")
        .args(["-c", "exec \"$0\" \"$@\" <&- >&- 2>&-"])
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .status()
        .expect("run vouch with fds 0-2 closed");
    assert_eq!(status.code(), Some(0), "the program vouch ran did not get fds 0-2 on /dev/null: {status:?}");

    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = vouch.command(&["token", &name]).stdout(writer).output().expect("run vouch");
    assert_eq!(output.status.signal(), None, "killed by a signal: {:?}", output.status);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write to stdout") && !stderr.contains(GOOD), "{stderr}");

    // vouch ignores SIGPIPE; the programs it runs must not inherit that, or `yes | head` in a
    // `vouch exec` script would fail with "Broken pipe" instead of ending quietly.
    let run = vouch.run(&["exec", &name, "--", "sh", "-c", "grep '^SigIgn:' /proc/$$/status"]);
    run.expect(0);
    let ignored = run.stdout.trim().trim_start_matches("SigIgn:").trim();
    let mask = u64::from_str_radix(ignored, 16).unwrap_or_else(|_| panic!("{}", run.stdout));
    assert_eq!(mask & (1 << (13 - 1)), 0, "the program vouch ran ignores SIGPIPE: {}", run.stdout);
}
