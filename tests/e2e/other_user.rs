//! What a non-root user's kernel keyring allows, and what another local user can do to the
//! files vouch trusts. These tests run vouch as a second local account (created with
//! `useradd`; they need root, as CI has, and fail saying so otherwise).

use crate::support::fake_provider::FakeProvider;
use crate::support::{LocalUser, vouch_for_any_user};
use std::path::Path;

/// Start from an empty state and config for `user`.
fn fresh(user: &LocalUser) {
    for dir in [".local/state/vouch", ".config/vouch"] {
        let path = user.home.join(dir);
        let _ = std::fs::remove_dir_all(&path);
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn keyutils_writes_work_under_a_session_keyring_that_does_not_link_the_user_keyring() {
    // `keyctl session -` gives the process a new session keyring without @u in it, as systemd
    // services (KeyringMode=private) and some container runtimes do. As root the kernel lets
    // everything through, so this runs as an ordinary user.
    let user = LocalUser::get("vouch-e2e-keys");
    fresh(&user);
    let p = FakeProvider::start();
    p.add_access_token("canary-session-first", "alice");
    p.add_access_token("canary-session-second", "alice");
    let issuer = p.issuer();
    let in_session = |args: &[&str], stdin: &str| {
        let mut argv = vec!["session", "-", vouch_for_any_user(), "--store", "keyutils"];
        argv.extend_from_slice(args);
        user.run("keyctl", &argv, &[], stdin)
    };
    let (code, _, stderr) = in_session(
        &["login", "svc", "--issuer", &issuer, "--client-id", "cli", "--with-token"],
        "canary-session-first\n",
    );
    assert_eq!(code, 0, "login in a private session keyring: {stderr}");
    // Read back from another fresh session, and from a plain process.
    let (code, stdout, stderr) = in_session(&["token", "svc"], "");
    assert_eq!((code, stdout.trim()), (0, "canary-session-first"), "{stderr}");
    let (code, stdout, _) = user.run(vouch_for_any_user(), &["--store", "keyutils", "token", "svc"], &[], "");
    assert_eq!((code, stdout.trim()), (0, "canary-session-first"));
    // Replacing an existing key from inside a session works too.
    let (code, _, stderr) = in_session(&["login", "svc", "--with-token"], "canary-session-second\n");
    assert_eq!(code, 0, "re-login in a private session keyring: {stderr}");
    let (code, stdout, _) = user.run(vouch_for_any_user(), &["--store", "keyutils", "token", "svc"], &[], "");
    assert_eq!((code, stdout.trim()), (0, "canary-session-second"));
    // The key is the user's alone.
    let (_, perms, _) = user.run("sh", &["-c", "keyctl rdescribe $(keyctl search @u user keyring:svc~$(sed -n 's/^credential_id = \"\\(.*\\)\"/\\1/p' ~/.config/vouch/config.toml)@vouch)"], &[], "");
    let mask = perms.split(';').nth(3).unwrap_or_default().trim().to_string();
    assert!(mask.ends_with("0000"), "group and others must get nothing: {perms}");
    let (code, _, stderr) = in_session(&["logout", "svc"], "");
    assert_eq!(code, 0, "{stderr}");
}

/// Run vouch as `user` on a profile whose lock must be taken (`refresh`).
fn refresh_as(user: &LocalUser, issuer: &str) -> (i32, String) {
    let (code, _, stderr) = user.run(
        vouch_for_any_user(),
        &["--store", "keyutils", "login", "svc", "--issuer", issuer, "--client-id", "cli", "--with-token"],
        &[],
        "canary-owner-token\n",
    );
    (code, stderr)
}

#[test]
fn a_state_directory_another_user_planted_or_redirected_is_refused() {
    let user = LocalUser::get("vouch-e2e-state");
    let p = FakeProvider::start();
    p.add_access_token("canary-owner-token", "alice");
    let state = user.home.join(".local/state/vouch");

    // Planted: the directory exists, but belongs to someone else (here root).
    fresh(&user);
    std::fs::create_dir_all(user.home.join(".local/state")).unwrap();
    user.chown(&user.home.join(".local"));
    user.chown(&user.home.join(".local/state"));
    std::fs::create_dir_all(&state).unwrap();
    let (code, stderr) = refresh_as(&user, &p.issuer());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&state.display().to_string()) && stderr.contains("belongs to user id 0"),
        "{stderr}"
    );
    assert!(stderr.contains("remove it"), "{stderr}");

    // Redirected: a symbolic link to a directory the other user controls.
    std::fs::remove_dir_all(&state).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &state).unwrap();
    let (code, stderr) = refresh_as(&user, &p.issuer());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(), "vouch wrote into the redirect");

    // Opened up: others can write it.
    std::fs::remove_file(&state).unwrap();
    std::fs::create_dir(&state).unwrap();
    user.chown(&state);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = refresh_as(&user, &p.issuer());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("chmod 700"), "{stderr}");
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o777, "never chmodded");

    // Its own, private: it works.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, stderr) = refresh_as(&user, &p.issuer());
    assert_eq!(code, 0, "{stderr}");
    let _ = user.run(vouch_for_any_user(), &["--store", "keyutils", "logout", "svc"], &[], "");
}

#[test]
fn a_config_another_user_owns_or_can_replace_is_refused() {
    let user = LocalUser::get("vouch-e2e-config");
    fresh(&user);
    let p = FakeProvider::start();
    let issuer = p.issuer();
    let profile = format!("[profiles.svc]\nissuer = \"{issuer}\"\nclient_id = \"cli\"\n");
    let config_dir = user.home.join(".config/vouch");
    std::fs::create_dir_all(&config_dir).unwrap();
    user.chown(&user.home.join(".config"));
    user.chown(&config_dir);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&config_dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A config.toml that another user (root) wrote into the user's directory.
    let file = config_dir.join("config.toml");
    std::fs::write(&file, &profile).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, stderr) = user.run(vouch_for_any_user(), &["--store", "keyutils", "token", "svc"], &[], "");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("belongs to user id 0"), "{stderr}");

    // A config directory inside a directory everybody can write (without the sticky bit).
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let named = shared.path().join("vouch");
    std::fs::create_dir(&named).unwrap();
    user.chown(&named);
    let named_arg = named.display().to_string();
    let (code, _, stderr) = user.run(
        vouch_for_any_user(),
        &["--config-dir", &named_arg, "--store", "keyutils", "status"],
        &[],
        "",
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("which other users can write to") && stderr.contains(&path_str(shared.path())),
        "{stderr}"
    );
}

fn path_str(path: &Path) -> String {
    path.display().to_string()
}
