//! The sealed copy (src/store/sealed_copy.rs), end to end: the real `vouch` binary against a
//! real gnome-keyring on a private bus, watched with `dbus-monitor`.
//!
//! What must hold: `vouch token` is served from the copy over a `plain` session and nothing
//! usable crosses the bus; the copy follows every write vouch makes (login, refresh, logout);
//! a record changed or deleted behind vouch's back, a copy moved to another profile or changed
//! by one byte, a locked collection: each is read from the record, never from the copy.

use crate::support::fake_provider::FakeProvider;
use crate::support::secret_service::SecretService;
use crate::support::{Vouch, expiring_soon_on, signed_in_on, stored_on};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const GOOD: &str = "canary-sealed-access-token-5d1e";

/// What `-v` says when the token came from the copy.
const FROM_COPY: &str = "the sealed copy of";

/// The sealing key lives in this user's `@u`, shared by every test process: the tests that
/// replace or remove it run one at a time with the others of this file, which watch for the
/// copy being used.
static SEALING_KEY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SEALING_KEY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn setup() -> (SecretService, FakeProvider, Vouch) {
    crate::support::secret_service_with_provider(GOOD)
}

/// The sealed copy of `name`'s record as the store holds it, if there is one.
fn copy_of(ss: &SecretService, vouch: &Vouch, name: &str) -> Option<String> {
    ss.lookup("vouch-sealed", &vouch.entry_of(name)).map(|b| String::from_utf8(b).expect("a text copy"))
}

/// What `name`'s sealed copy holds, opened with the sealing key from `@u` the way vouch opens
/// it (docs/secret-service-session.md, "The sealed copy"): the record as JSON.
fn opened_copy(ss: &SecretService, vouch: &Vouch, name: &str) -> serde_json::Value {
    use base64::Engine as _;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let copy = copy_of(ss, vouch, name).expect("a sealed copy");
    let id = sealing_key_id().expect("a sealing key");
    let key = Command::new("keyctl").args(["pipe", &id]).output().unwrap().stdout;
    let head_len = "vouch-sealed-1:".len() + 34;
    let (head, body) = copy.split_at(head_len);
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).unwrap();
    let (nonce, ciphertext) = body.split_at(24);
    let mut aad = head.as_bytes().to_vec();
    aad.extend_from_slice(b"vouch sealed copy\0");
    aad.extend_from_slice(vouch.entry_of(name).as_bytes());
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(key.as_slice().into());
    let plain = cipher
        .decrypt(chacha20poly1305::XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad })
        .expect("the copy opens with the key in @u");
    serde_json::from_slice(&plain[48..]).expect("a record after the stamp and the modification time")
}

/// `vouch -v token NAME`: (stdout, whether it was served from the sealed copy).
fn token(vouch: &Vouch, name: &str) -> (String, bool) {
    let run = vouch.run(&["-v", "token", name]);
    run.expect(0);
    (run.stdout.trim_end().to_string(), run.stderr.contains(FROM_COPY))
}

/// `dbus-monitor` on the test's private bus, writing everything it sees to a file.
struct Monitor {
    child: Child,
    file: tempfile::NamedTempFile,
}

impl Monitor {
    fn start(ss: &SecretService) -> Monitor {
        Monitor::on(ss.bus_address())
    }

    fn on(address: &str) -> Monitor {
        let file = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new("dbus-monitor")
            .args(["--address", address])
            .stdout(file.reopen().unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (apt-get install dbus)");
        let monitor = Monitor { child, file };
        // It is monitoring once it has printed the bus's answer to BecomeMonitor.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !monitor.text().contains("NameLost") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        monitor
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.file.path()).unwrap()).into_owned()
    }

    /// Everything seen, once whatever is in flight has been printed.
    fn stop(mut self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.text()
    }
}

/// The ways dbus-monitor can show `secret` inside a message: as a string, or as a byte array
/// (printable: quoted; otherwise hex bytes).
fn shows(capture: &str, secret: &str) -> bool {
    let hex: Vec<String> = secret.bytes().take(12).map(|b| format!("{b:02x}")).collect();
    capture.contains(secret) || capture.contains(&hex.join(" "))
}

#[test]
fn token_is_read_over_a_plain_session_and_no_token_crosses_the_bus() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    let copy = copy_of(&ss, &vouch, "p").expect("login wrote a sealed copy");
    assert!(copy.starts_with("vouch-sealed-1:") && !copy.contains(GOOD), "{copy}");

    let monitor = Monitor::start(&ss);
    let (printed, from_copy) = token(&vouch, "p");
    let capture = monitor.stop();
    assert_eq!(printed, GOOD);
    assert!(from_copy, "the token was not served from the sealed copy");
    assert!(capture.contains("OpenSession"), "the monitor saw no OpenSession:\n{capture}");
    assert!(capture.contains("string \"plain\""), "vouch token did not open a plain session:\n{capture}");
    assert!(!capture.contains("dh-ietf1024"), "vouch token still paid for a Diffie-Hellman:\n{capture}");
    assert!(capture.contains("GetSecret"), "{capture}");
    assert!(!shows(&capture, GOOD), "the access token crossed the bus in the clear:\n{capture}");
    // The round trips: the bus's Hello, the service's Collections (before OpenSession: see
    // docs/secret-service-session.md, "gnome-keyring's abort"), the session, the record's
    // stamp and modification time, the copy.
    let calls: Vec<&str> = capture
        .lines()
        .filter(|line| line.starts_with("method call"))
        .filter_map(|line| line.split("member=").nth(1))
        .collect();
    assert_eq!(
        calls,
        ["Hello", "Get", "OpenSession", "SearchItems", "GetAll", "SearchItems", "GetSecret"],
        "{capture}"
    );
    // The provider was asked nothing.
    assert_eq!(provider.count("/userinfo"), 1, "only the login's confirmation");
}

#[test]
fn the_copy_follows_refresh_and_logout_and_never_holds_the_refresh_token() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    let (access, refresh) = signed_in_on(&ss, &provider, &vouch, "p");
    // Planted by hand: no copy yet, so the record is read, and a copy written.
    assert!(copy_of(&ss, &vouch, "p").is_none());
    assert_eq!(token(&vouch, "p"), (access.clone(), false));
    let copy = copy_of(&ss, &vouch, "p").expect("the first read wrote a sealed copy");
    assert!(!copy.contains(&access) && !copy.contains(&refresh));
    let inside = opened_copy(&ss, &vouch, "p");
    assert_eq!(inside["access_token"], access.as_str());
    assert!(inside.get("refresh_token").is_none(), "the copy holds the refresh token: {inside}");
    assert!(!inside.to_string().contains(&refresh));
    assert_eq!(token(&vouch, "p"), (access.clone(), true));

    // A refresh writes the new token's copy.
    vouch.run(&["refresh", "p"]).expect(0);
    let renewed = stored_on(&ss, &vouch, "p")["access_token"].as_str().unwrap().to_string();
    assert_ne!(renewed, access);
    assert_eq!(token(&vouch, "p"), (renewed.clone(), true));

    // A just-in-time refresh (the copy expires within --min-ttl) reads and refreshes the record.
    let monitor = Monitor::start(&ss);
    let run = vouch.run(&["-v", "token", "p", "--min-ttl", "7200"]);
    let capture = monitor.stop();
    run.expect(0);
    let latest = stored_on(&ss, &vouch, "p")["access_token"].as_str().unwrap().to_string();
    assert_eq!(run.stdout.trim_end(), latest);
    assert_ne!(latest, renewed);
    let current_refresh = stored_on(&ss, &vouch, "p")["refresh_token"].as_str().unwrap().to_string();
    assert!(
        !shows(&capture, &current_refresh) && !shows(&capture, &refresh),
        "a refresh token crossed the bus in the clear"
    );
    assert_eq!(token(&vouch, "p"), (latest.clone(), true));

    vouch.run(&["logout", "p"]).expect(0);
    assert!(copy_of(&ss, &vouch, "p").is_none(), "logout left the sealed copy behind");
    assert_eq!(ss.count_items("vouch-sealed"), 0);
    vouch.run(&["token", "p"]).expect(3).leaks_nothing(&latest);
}

#[test]
fn a_record_changed_or_deleted_behind_vouchs_back_is_read_instead_of_the_copy() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    let (access, _) = signed_in_on(&ss, &provider, &vouch, "p");
    assert_eq!(token(&vouch, "p"), (access.clone(), false));
    assert_eq!(token(&vouch, "p"), (access.clone(), true));

    // Rewritten with secret-tool to expire in 10 s: the copy (valid for an hour) no longer
    // matches the record, so the record is read, and refreshed just in time.
    expiring_soon_on(&ss, &vouch, "p");
    let (printed, from_copy) = token(&vouch, "p");
    assert!(!from_copy, "a copy of the record before the rewrite was served");
    assert_ne!(printed, access, "the token that was about to expire was printed");
    assert_eq!(provider.token_requests("refresh_token").len(), 1);
    assert_eq!(token(&vouch, "p"), (printed.clone(), true));

    // Deleted with secret-tool: signed out, although the copy is still there.
    let cleared = Command::new("secret-tool")
        .args(["clear", "service", "vouch", "username", &vouch.entry_of("p")])
        .env_clear()
        .envs(ss.env())
        .status()
        .unwrap();
    assert!(cleared.success());
    assert!(copy_of(&ss, &vouch, "p").is_some());
    vouch.run(&["token", "p"]).expect(3).leaks_nothing(&printed);
    assert!(copy_of(&ss, &vouch, "p").is_none(), "the copy of a deleted record was kept");
}

/// The stamp attribute on `name`'s record, as `secret-tool search` shows it.
fn stamp_of(ss: &SecretService, vouch: &Vouch, name: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["search", "service", "vouch", "username", &vouch.entry_of(name)])
        .env_clear()
        .envs(ss.env())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .find_map(|line| line.strip_prefix("attribute.vouch-seal = "))
        .unwrap_or_else(|| panic!("no stamp on the record:\n{text}"))
        .trim()
        .to_string()
}

#[test]
fn a_record_rewritten_in_place_keeping_its_attributes_is_read_instead_of_the_copy() {
    let _key = one_at_a_time();
    // What an older vouch (SetSecret on the existing item) or Seahorse does: the secret
    // changes, the attributes, the stamp among them, stay.
    let (ss, provider, vouch) = setup();
    let (access, _) = signed_in_on(&ss, &provider, &vouch, "p");
    assert_eq!(token(&vouch, "p"), (access.clone(), false));
    assert_eq!(token(&vouch, "p"), (access.clone(), true));
    let stamp = stamp_of(&ss, &vouch, "p");
    // Modification times are in seconds.
    std::thread::sleep(Duration::from_millis(1100));
    let (other, other_refresh) = provider.issue_grant("bob", "openid");
    let replacement = crate::support::record(
        &provider.issuer(),
        &other,
        &other_refresh,
        crate::support::in_process::now() as i64 + 3600,
    );
    let mut store = Command::new("secret-tool")
        .args([
            "store",
            "--label=rewritten",
            "service",
            "vouch",
            "username",
            &vouch.entry_of("p"),
            "vouch-seal",
            &stamp,
        ])
        .env_clear()
        .envs(ss.env())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    store.stdin.take().unwrap().write_all(&replacement).unwrap();
    assert!(store.wait().unwrap().success());
    assert_eq!(ss.count_items("vouch"), 1, "the record was not rewritten in place");
    assert_eq!(stamp_of(&ss, &vouch, "p"), stamp, "the rewrite changed the stamp: this test proves nothing");
    assert_eq!(
        token(&vouch, "p"),
        (other.clone(), false),
        "the copy of the record before the rewrite was served"
    );
    assert_eq!(token(&vouch, "p"), (other, true));
}

#[test]
fn a_copy_moved_to_another_profile_or_changed_is_not_used() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    let (a, _) = signed_in_on(&ss, &provider, &vouch, "a");
    let (b, _) = signed_in_on(&ss, &provider, &vouch, "b");
    token(&vouch, "a");
    token(&vouch, "b");
    let copy_a = copy_of(&ss, &vouch, "a").unwrap();

    // a's copy filed as b's: it does not open for b's entry; b's record is read.
    ss.store("vouch-sealed", &vouch.entry_of("b"), copy_a.as_bytes());
    assert_eq!(token(&vouch, "b"), (b.clone(), false));
    assert_eq!(token(&vouch, "b"), (b.clone(), true), "the read did not write b's own copy back");

    // One byte of a's copy changed: a's record is read.
    let mut changed = copy_a.into_bytes();
    let at = changed.len() - 5;
    changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
    ss.store("vouch-sealed", &vouch.entry_of("a"), &changed);
    assert_eq!(token(&vouch, "a"), (a.clone(), false));
    assert_eq!(token(&vouch, "a"), (a, true));
}

#[test]
fn a_locked_collection_is_exit_6_even_with_a_copy() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    assert_eq!(token(&vouch, "p"), (GOOD.to_string(), true));
    ss.lock();
    vouch.run(&["token", "p"]).expect(6).leaks_nothing(GOOD);
    ss.unlock();
    assert_eq!(token(&vouch, "p").0, GOOD);
}

#[test]
fn the_helpers_are_served_from_the_copy_too() {
    let _key = one_at_a_time();
    let (ss, provider, mut vouch) = setup();
    vouch.login_with_token("p", &provider.issuer(), GOOD).expect(0);
    vouch.set_env(
        "KUBERNETES_EXEC_INFO",
        r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
    );
    let kube = vouch.run(&["-v", "kube-credential", "p"]);
    kube.expect(0);
    assert!(kube.stdout.contains(GOOD), "{}", kube.stdout);
    assert!(kube.stderr.contains(FROM_COPY), "{}", kube.stderr);
    let config = std::fs::read_to_string(vouch.config_file()).unwrap();
    std::fs::write(
        vouch.config_file(),
        config.replace("[profiles.p]\n", "[profiles.p]\nhosts = [\"git.example\"]\n"),
    )
    .unwrap();
    let git =
        vouch.run_with_stdin(&["-v", "git-credential", "get"], Some("protocol=https\nhost=git.example\n\n"));
    git.expect(0);
    assert!(git.stdout.contains(&format!("password={GOOD}")), "{}", git.stdout);
    assert!(git.stderr.contains(FROM_COPY), "{}", git.stderr);
    drop(ss);
}

/// Whether process `pid` is still running.
fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn storms_of_readers_around_each_write_leave_one_token_and_the_service_running() {
    let _key = one_at_a_time();
    let (ss, provider, vouch) = setup();
    signed_in_on(&ss, &provider, &vouch, "p");
    token(&vouch, "p");
    for round in 0..8 {
        // Every round starts from a token about to expire: one of the 32 refreshes, and writes
        // the record and its copy while the others wait for it or read the copy.
        expiring_soon_on(&ss, &vouch, "p");
        let storm: Vec<_> = (0..32)
            .map(|_| {
                vouch.command(&["token", "p"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
            })
            .collect();
        let mut tokens = std::collections::BTreeSet::new();
        for child in storm {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
            tokens.insert(String::from_utf8(out.stdout).unwrap());
        }
        assert_eq!(tokens.len(), 1, "round {round}: {tokens:?}");
        assert!(alive(ss.keyring_pid()), "round {round}: gnome-keyring-daemon died");
        let valid: Vec<_> =
            (0..32).map(|_| vouch.command(&["token", "p"]).stdout(Stdio::null()).spawn().unwrap()).collect();
        for mut child in valid {
            assert!(child.wait().unwrap().success(), "round {round}");
        }
        assert!(alive(ss.keyring_pid()), "round {round}: gnome-keyring-daemon died");
    }
    assert_eq!(provider.token_requests("refresh_token").len(), 8);
}

/// The id of the sealing key in `@u`, if there is one.
fn sealing_key_id() -> Option<String> {
    let out =
        Command::new("keyctl").args(["search", "@u", "user", "keyring:key@vouch-sealed"]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn after_a_reboot_every_profile_rebuilds_its_copy_and_another_live_key_is_left_alone() {
    let _key = one_at_a_time();
    let (ss, provider, mut vouch) = setup();
    vouch.set_env("VOUCH_TEST_BOOT_ID", "boot-before");
    let (a, _) = signed_in_on(&ss, &provider, &vouch, "a");
    let (b, _) = signed_in_on(&ss, &provider, &vouch, "b");
    token(&vouch, "a");
    token(&vouch, "b");
    assert_eq!((token(&vouch, "a"), token(&vouch, "b")), ((a.clone(), true), (b.clone(), true)));

    // Another process with a user keyring of its own (a container on the same bus) made a key:
    // in the same boot, the copies sealed under ours are its to leave alone, not to rewrite.
    let ours = sealing_key_id().expect("a sealing key in @u");
    Command::new("keyctl").args(["invalidate", &ours]).status().unwrap();
    let theirs = {
        let mut add = Command::new("keyctl")
            .args(["padd", "user", "keyring:key@vouch-sealed", "@u"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        add.stdin.take().unwrap().write_all(&[0x5a; 32]).unwrap();
        String::from_utf8(add.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
    };
    assert!(Command::new("keyctl").args(["setperm", &theirs, "0x3f3f0000"]).status().unwrap().success());
    let before = copy_of(&ss, &vouch, "a").unwrap();
    assert_eq!(token(&vouch, "a"), (a.clone(), false));
    assert_eq!(
        copy_of(&ss, &vouch, "a").unwrap(),
        before,
        "a copy under a live key of this boot was rewritten"
    );

    // A reboot: the key is gone and the boot is another. Each profile's first read rebuilds its
    // copy under the new key, whichever created it.
    if let Some(theirs) = sealing_key_id() {
        Command::new("keyctl").args(["invalidate", &theirs]).status().unwrap();
    }
    vouch.set_env("VOUCH_TEST_BOOT_ID", "boot-after");
    assert_eq!(token(&vouch, "a"), (a.clone(), false));
    assert_eq!(token(&vouch, "b"), (b.clone(), false), "b's copy under the dead key was served");
    assert_eq!(
        (token(&vouch, "a"), token(&vouch, "b")),
        ((a, true), (b, true)),
        "the copies were not rebuilt"
    );
}

#[test]
fn a_keyutils_user_with_a_session_bus_but_no_secret_service_pays_no_second_connection() {
    // An ssh session under systemd-logind: a user bus, no keyring daemon; `auto` falls back to
    // keyutils. With no sealing key there is no copy to look for, so the only connection to
    // the bus is the store selection's own.
    let _key = one_at_a_time();
    if let Some(id) = sealing_key_id() {
        Command::new("keyctl").args(["invalidate", &id]).status().unwrap();
    }
    let bus = SecretService::bus_without_service();
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let vouch = Vouch::new("auto", bus.env());
    let name = crate::support::unique_profile("nocopy");
    vouch.login_with_token(&name, &provider.issuer(), GOOD).expect(0);
    let monitor = Monitor::on(bus.bus_address());
    let run = vouch.run(&["token", &name]);
    let capture = monitor.stop();
    crate::support::remove_user_keys(&name);
    run.expect(0);
    assert_eq!(run.stdout.trim_end(), GOOD);
    let hellos =
        capture.lines().filter(|l| l.starts_with("method call") && l.contains("member=Hello")).count();
    assert_eq!(hellos, 1, "vouch token connected to the bus {hellos} times:\n{capture}");
    assert!(sealing_key_id().is_none(), "a keyutils-only process created a sealing key");
}
