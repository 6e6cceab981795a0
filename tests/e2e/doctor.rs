//! `vouch doctor`: each check's ok and fail states, in-process with fakes (a mock store, an
//! environment without a bus, stores that answer "locked" or "refused", a fake clock against a
//! provider's `Date`), then end to end on real components (a private gnome-keyring, kernel
//! keyutils under `keyctl session -`, git with a storing helper, a config directory another
//! user owns). Every run also asserts what must not appear: a stored secret.

use crate::support::fake_provider::{FakeProvider, Fault};
use crate::support::in_process::Harness;
use crate::support::secret_service::SecretService;
use crate::support::{LocalUser, Vouch, vouch_for_any_user};
use std::process::Command;
use std::time::Duration;
use vouch::context::{Env, StoreOpener};
use vouch::error::Error;
use vouch::store::platform::StoreChoice;
use vouch::store::{DEFAULT_TIMEOUT, SecretStore, StoreKind};

const CANARY: &str = "canary-doctor-secret-7f3a";

/// A stored record holding the canary, minted for nobody this configuration knows.
fn canary_record() -> Vec<u8> {
    crate::support::record("https://elsewhere.example", CANARY, "canary-doctor-refresh-7f3a", 4_000_000_000)
}

/// The report's checks by name: (status, detail, remedy).
fn checks(json: &str) -> Vec<(String, String, String, Option<String>)> {
    let report: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    report["checks"]
        .as_array()
        .expect("a checks array")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap().to_string(),
                c["remedy"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn find(json: &str, name: &str) -> (String, String, Option<String>) {
    checks(json)
        .into_iter()
        .find(|(n, ..)| n == name)
        .map(|(_, s, d, r)| (s, d, r))
        .unwrap_or_else(|| panic!("no check {name} in {json}"))
}

// ----- in-process, with fakes ---------------------------------------------------------

/// A store opener that hands out the mock but answers `check` for one store with an error.
struct Refusing {
    store: SecretStore,
    refuse: StoreChoice,
    open_fails: bool,
    error: fn() -> Error,
}

impl StoreOpener for Refusing {
    fn open(&self, choice: StoreChoice, _: &Env, _: Duration) -> Result<SecretStore, Error> {
        if self.open_fails && (choice == self.refuse || choice == StoreChoice::Auto) {
            return Err((self.error)());
        }
        Ok(self.store.clone())
    }

    fn check(&self, choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        if choice == self.refuse {
            return Err((self.error)());
        }
        self.open(choice, env, timeout)?.probe().map(|()| Vec::new())
    }
}

fn run_with_opener(h: &Harness, args: &[&str], env: &[(&str, &str)], opener: Refusing) -> u8 {
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    h.run_with(args, "", move |ctx| {
        ctx.env = Env::from_pairs(env);
        ctx.stores = Box::new(opener);
    })
}

#[test]
fn doctor_in_process_without_a_bus_uses_keyutils_and_an_explicit_secret_service_fails_7() {
    let h = Harness::new(StoreKind::Keyutils);
    assert_eq!(h.run(&["doctor", "--json"], ""), 0, "{}", h.stdout.text());
    let out = h.stdout.text();
    assert_eq!(find(&out, "store").0, "ok");
    assert!(find(&out, "store").1.contains("kernel keyring"), "{out}");
    let (status, detail, _) = find(&out, "store:secret-service");
    assert_eq!(status, "skip");
    assert!(detail.contains("DBUS_SESSION_BUS_ADDRESS is unset"), "{detail}");
    assert_eq!(find(&out, "store:keyutils").0, "ok");
    // Offline by default: nothing asked of any provider.
    assert_eq!(find(&out, "provider").0, "skip");

    h.stdout.clear();
    assert_eq!(h.run(&["--store", "secret-service", "doctor"], ""), 7);
    let out = h.stdout.text();
    assert!(
        out.contains("FAIL  store:secret-service") && out.contains("DBUS_SESSION_BUS_ADDRESS is unset"),
        "{out}"
    );
    assert!(out.contains("fix: Start a Secret Service"), "{out}");
    assert!(h.stderr.text().is_empty(), "the report is stdout's: {}", h.stderr.text());
}

#[test]
fn doctor_in_process_a_locked_secret_service_is_exit_6_and_the_store_is_left_alone() {
    let h = Harness::new(StoreKind::SecretService);
    let opener = Refusing {
        store: SecretStore::new(StoreKind::SecretService, h.backend.clone(), DEFAULT_TIMEOUT),
        refuse: StoreChoice::SecretService,
        open_fails: false,
        error: || Error::StoreLocked {
            store: StoreKind::SecretService.description(),
            reason: "its default collection is locked".into(),
        },
    };
    let code = run_with_opener(&h, &["doctor"], &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/x")], opener);
    let out = h.stdout.text();
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("FAIL  store: --store auto: vouch uses the Secret Service keyring"), "{out}");
    assert!(out.contains("default collection is locked") && out.contains("never unlocks"), "{out}");
    assert!(out.contains("skip  orphans: not checked: the store is not usable"), "{out}");
    assert!(out.contains("exit 6"), "{out}");
}

#[test]
fn doctor_in_process_a_kernel_that_refuses_keyctl_is_exit_7_with_the_seccomp_remedy() {
    let h = Harness::new(StoreKind::Keyutils);
    let opener = Refusing {
        store: SecretStore::new(StoreKind::Keyutils, h.backend.clone(), DEFAULT_TIMEOUT),
        refuse: StoreChoice::Keyutils,
        open_fails: true,
        error: || Error::NoSecureStore {
            reason: "the kernel refused keyctl with EPERM: a container's seccomp profile blocks keyctl"
                .into(),
            remedy: StoreKind::Keyutils.remedy().into(),
        },
    };
    let code = run_with_opener(&h, &["doctor", "--json"], &[], opener);
    let out = h.stdout.text();
    assert_eq!(code, 7, "{out}");
    let (status, detail, remedy) = find(&out, "store:keyutils");
    assert_eq!(status, "fail");
    assert!(detail.contains("EPERM"), "{detail}");
    assert!(remedy.unwrap().contains("seccomp profile"), "{out}");
    assert_eq!(find(&out, "store").0, "fail");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["exit_code"], 7);
}

#[test]
fn doctor_in_process_a_config_directory_others_can_write_fails_with_exit_2() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::new(StoreKind::Keyutils);
    h.seed_profile("work", "https://id.example", "cli", "device");
    assert_eq!(h.run(&["doctor"], ""), 0, "{}", h.stdout.text());
    assert!(h.stdout.text().contains("1 profile(s); accepted"), "{}", h.stdout.text());
    std::fs::set_permissions(h.dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    h.stdout.clear();
    let code = h.run(&["doctor"], "");
    std::fs::set_permissions(h.dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = h.stdout.text();
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("FAIL  config") && out.contains("other users can write to it (mode 777)"), "{out}");
    assert!(out.contains(&format!("fix: Run `chmod 700 {}`", h.dir.path().display())), "{out}");
}

#[test]
fn doctor_in_process_orphans_are_warned_by_name_and_their_secret_never_shown() {
    let h = Harness::new(StoreKind::Keyutils);
    h.seed_profile("work", "https://id.example", "cli", "device");
    h.seed_record("work", serde_json::json!({"version": 2, "access_token": CANARY, "token_type": "Bearer"}));
    use keyring_core::api::CredentialStoreApi;
    let ghost = h.backend.build("vouch", "ghost~00000000deadbeef", None).unwrap();
    ghost.set_secret(&canary_record()).unwrap();
    for args in [&["doctor"][..], &["doctor", "--json"]] {
        h.stdout.clear();
        assert_eq!(h.run(args, ""), 0, "warnings alone exit 0: {}", h.stdout.text());
        let out = h.stdout.text();
        assert!(out.contains("ghost") && out.contains("vouch logout --orphans"), "{out}");
        assert!(!out.contains("work~"), "the profile's own credential is no orphan: {out}");
        assert!(!out.contains(CANARY) && !h.stderr.text().contains(CANARY), "{out}");
    }
}

/// A provider whose discovery answers with a fixed `Date`.
fn provider_dated(date: &str) -> FakeProvider {
    let p = FakeProvider::start();
    let issuer = p.issuer();
    let doc = serde_json::json!({"issuer": issuer, "token_endpoint": format!("{issuer}/token")}).to_string();
    p.set_fault(
        "/.well-known/openid-configuration",
        Fault::Status { status: 200, body: doc, headers: vec![("Date".into(), date.into())] },
        None,
    );
    p
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";
const DATE_UNIX: u64 = 784_111_777;

#[test]
fn doctor_in_process_clock_skew_against_the_providers_date_fails_with_exit_9() {
    let p = provider_dated(DATE);
    let h = Harness::new(StoreKind::Keyutils);
    h.seed_profile("work", &p.issuer(), "cli", "device");

    // Offline: the provider is never asked.
    assert_eq!(h.run(&["doctor"], ""), 0, "{}", h.stdout.text());
    assert_eq!(p.requests().len(), 0, "doctor went online without --online");

    // A clock five seconds off: fine, and discovery works.
    h.stdout.clear();
    let code =
        h.run_with(&["doctor", "--online", "--json"], "", |ctx| ctx.clock = Box::new(|| DATE_UNIX + 5));
    let out = h.stdout.text();
    assert_eq!(code, 0, "{out}");
    let (status, detail, _) = find(&out, "clock");
    assert_eq!(status, "ok");
    assert!(detail.contains("5 s ahead of"), "{detail}");
    let (status, detail, _) = find(&out, "provider:work");
    assert_eq!(status, "ok", "{detail}");
    assert!(detail.contains("OpenID Connect"), "{detail}");
    assert!(p.count("/.well-known/openid-configuration") >= 1);

    // Two minutes: a warning, still exit 0. An hour behind: a failure, exit 9.
    h.stdout.clear();
    let code = h.run_with(&["doctor", "--online"], "", |ctx| ctx.clock = Box::new(|| DATE_UNIX - 120));
    assert_eq!(code, 0, "{}", h.stdout.text());
    assert!(h.stdout.text().contains("WARN  clock: the local clock is 120 s behind"), "{}", h.stdout.text());
    h.stdout.clear();
    let code = h.run_with(&["doctor", "--online"], "", |ctx| ctx.clock = Box::new(|| DATE_UNIX + 3600));
    let out = h.stdout.text();
    assert_eq!(code, 9, "{out}");
    assert!(
        out.contains("FAIL  clock: the local clock is 3600 s ahead of") && out.contains("timedatectl"),
        "{out}"
    );
}

#[test]
fn doctor_in_process_an_unreachable_provider_is_exit_5_and_a_wrong_issuer_exit_9() {
    let h = Harness::new(StoreKind::Keyutils);
    // Nothing listens on port 1.
    h.seed_profile("down", "http://127.0.0.1:1", "cli", "device");
    let code = h.run(&["doctor", "--online"], "");
    let out = h.stdout.text();
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("FAIL  provider:down") && out.contains("HTTPS_PROXY"), "{out}");
    assert!(out.contains("skip  clock: no provider answered"), "{out}");

    let p = FakeProvider::start();
    p.set_config(|c| c.issuer_override = Some("https://impostor.example".into()));
    let h = Harness::new(StoreKind::Keyutils);
    h.seed_profile("odd", &p.issuer(), "cli", "device");
    let code = h.run(&["doctor", "--online"], "");
    let out = h.stdout.text();
    assert_eq!(code, 9, "{out}");
    assert!(out.contains("FAIL  provider:odd") && out.contains("impostor.example"), "{out}");
}

// ----- end to end ---------------------------------------------------------------------

/// A `doctor` run of `vouch` with its working directory in `dir` (no repository's git config).
fn doctor_in(vouch: &Vouch, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut argv = vec!["doctor"];
    argv.extend_from_slice(args);
    let out = vouch.command(&argv).current_dir(dir).output().expect("run vouch doctor");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn doctor_e2e_secret_service_unlocked_is_ok_and_locked_is_exit_6_and_stays_locked() {
    let ss = SecretService::start();
    ss.store("vouch", "ghost~00000000deadbeef", &canary_record());
    let vouch = Vouch::new("auto", ss.env());

    let run = vouch.run(&["doctor"]);
    run.expect(0).leaks_nothing(CANARY);
    assert!(
        run.stdout.contains("ok    store: --store auto: vouch uses the Secret Service keyring"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ok    store:secret-service"), "{}", run.stdout);
    assert!(run.stdout.contains("WARN  orphans") && run.stdout.contains("ghost"), "{}", run.stdout);
    assert_eq!(ss.count_items("vouch"), 1, "the probe item was left behind");

    ss.lock();
    let run = vouch.run(&["doctor", "--json"]);
    run.expect(6).leaks_nothing(CANARY);
    let (status, detail, remedy) = find(&run.stdout, "store:secret-service");
    assert_eq!(status, "fail");
    assert!(detail.contains("locked"), "{detail}");
    assert!(remedy.unwrap().contains("gnome-keyring-daemon --unlock"));
    assert_eq!(find(&run.stdout, "orphans").0, "skip");
    assert!(ss.login_locked(), "doctor unlocked the keyring");
    assert_eq!(ss.lookup("vouch", "ghost~00000000deadbeef"), None, "the item became readable");
    assert_eq!(ss.count_items("vouch"), 1);
}

#[test]
fn doctor_e2e_no_bus_and_a_bus_without_a_secret_service() {
    // No bus at all: auto falls back to keyutils (usable as root); asking for the Secret
    // Service fails with exit 7.
    let vouch = Vouch::new("auto", vec![]);
    let run = vouch.run(&["doctor"]);
    run.expect(0);
    assert!(run.stdout.contains("DBUS_SESSION_BUS_ADDRESS is unset"), "{}", run.stdout);
    assert!(run.stdout.contains("vouch uses the kernel keyring (keyutils)"), "{}", run.stdout);
    let run = vouch.run(&["--store", "secret-service", "doctor"]);
    run.expect(7);
    assert!(run.stdout.contains("FAIL  store:secret-service"), "{}", run.stdout);

    let bus = SecretService::bus_without_service();
    let vouch = Vouch::new("auto", bus.env());
    let run = vouch.run(&["doctor", "--json"]);
    run.expect(0);
    let (status, detail, _) = find(&run.stdout, "store:secret-service");
    assert_eq!(status, "skip");
    assert!(detail.contains("not usable here") && detail.contains("keyutils"), "{detail}");
}

#[test]
fn doctor_e2e_json_schema_is_stable() {
    let vouch = Vouch::new("auto", vec![]);
    let run = vouch.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    let top: Vec<&String> = report.as_object().unwrap().keys().collect();
    assert_eq!(top, ["checks", "exit_code"]);
    assert_eq!(report["exit_code"].as_i64(), Some(i64::from(run.code)));
    let mut names = Vec::new();
    for check in report["checks"].as_array().unwrap() {
        let mut keys: Vec<&String> = check.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["detail", "name", "remedy", "status"], "{check}");
        assert!(["ok", "warn", "fail", "skip"].contains(&check["status"].as_str().unwrap()), "{check}");
        assert!(check["remedy"].is_string() || check["remedy"].is_null(), "{check}");
        names.push(check["name"].as_str().unwrap().to_string());
    }
    for name in [
        "store",
        "store:secret-service",
        "store:keyutils",
        "config",
        "state",
        "provider",
        "clock",
        "git",
        "orphans",
    ] {
        assert!(names.iter().any(|n| n == name), "no check {name}: {names:?}");
    }
}

#[test]
fn doctor_e2e_keyutils_under_a_session_keyring_without_the_user_keyring_is_handled() {
    let user = LocalUser::get("vouch-e2e-doctor");
    let _ = std::fs::remove_dir_all(user.home.join(".config/vouch"));
    let (code, stdout, stderr) =
        user.run("keyctl", &["session", "-", vouch_for_any_user(), "--store", "keyutils", "doctor"], &[], "");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok    store:keyutils"), "{stdout}");
    assert!(
        stdout.contains("does not link the user keyring") && stdout.contains("so this is handled"),
        "{stdout}"
    );
}

#[test]
fn doctor_e2e_a_config_directory_another_user_owns_fails_with_exit_2() {
    // Its own account: the other test of this file changes the same directory.
    let user = LocalUser::get("vouch-e2e-doctor2");
    let config = user.home.join(".config");
    let _ = std::fs::remove_dir_all(config.join("vouch"));
    std::fs::create_dir_all(config.join("vouch")).unwrap();
    user.chown(&config);
    // .config/vouch stays root's.
    let (code, stdout, stderr) = user.run(vouch_for_any_user(), &["--store", "keyutils", "doctor"], &[], "");
    let _ = std::fs::remove_dir_all(config.join("vouch"));
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("FAIL  config") && stdout.contains("belongs to user id 0"), "{stdout}");
    assert!(stdout.contains("fix: Remove it or choose another location"), "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn doctor_e2e_a_storing_git_helper_is_warned_with_a_remedy_that_works() {
    let mut vouch = Vouch::new("keyutils", vec![]);
    vouch.set_env("GIT_CONFIG_NOSYSTEM", "1");
    let home = tempfile::tempdir().unwrap();
    vouch.set_env("HOME", &home.path().display().to_string());
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(home.path())
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    vouch.write_profile("p", "https://id.example");
    let setup = vouch
        .command(&["setup-git", "--host", "git.example.com", "--profile", "p"])
        .current_dir(home.path())
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let (code, stdout, _) = doctor_in(&vouch, home.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok    git:p:git.example.com: git asks vouch, and only vouch"), "{stdout}");

    // A storing helper configured after vouch's entry: git hands it vouch's tokens.
    git(&["config", "--global", "credential.helper", "store"]);
    let (code, stdout, _) = doctor_in(&vouch, home.path(), &["--json"]);
    assert_eq!(code, 0, "a warning alone exits 0: {stdout}");
    let (status, detail, remedy) = find(&stdout, "git:p:git.example.com");
    assert_eq!(status, "warn");
    assert!(
        detail.contains("'store' (global configuration") && detail.contains("storing helper"),
        "{detail}"
    );
    let remedy = remedy.unwrap();
    let command = "git config --global --unset-all credential.helper '^store$'";
    assert!(remedy.contains(command), "{remedy}");
    // The remedy, run as written, fixes it.
    git(&["config", "--global", "--unset-all", "credential.helper", "^store$"]);
    let (code, stdout, _) = doctor_in(&vouch, home.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("ok    git:p:git.example.com"), "{stdout}");

    // vouch's own entry gone: git no longer asks vouch, a failure (exit 2) naming setup-git.
    git(&["config", "--global", "--unset-all", "credential.https://git.example.com.helper"]);
    let (code, stdout, _) = doctor_in(&vouch, home.path(), &[]);
    assert_eq!(code, 2, "{stdout}");
    assert!(stdout.contains("FAIL  git:p:git.example.com: git does not ask vouch"), "{stdout}");
    assert!(stdout.contains("vouch setup-git --host git.example.com --profile p"), "{stdout}");
}
