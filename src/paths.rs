//! Where things live, and whether vouch may trust them: the config directory, the state
//! directory (profile locks, in-flight markers, the provider metadata cache), and the
//! ownership and permission checks that every one of them passes before it is used.
//!
//! - **Config directory**: `--config-dir` / `VOUCH_CONFIG_DIR`, else the platform default
//!   (`$XDG_CONFIG_HOME/vouch`, `~/.config/vouch`). Different configurations are allowed; each
//!   profile's credential is keyed so that they never share one by accident
//!   ([`crate::identity`]).
//! - **State directory**: derived from the user id alone, never from the environment: on
//!   Unix it is `.local/state/vouch` in the home directory the account database gives this
//!   uid (not `$HOME`). Every process of a user that can reach a stored credential therefore
//!   takes the same lock and sees the same in-flight marker, whatever `XDG_RUNTIME_DIR`,
//!   `HOME`, `VOUCH_CONFIG_DIR` or `--config-dir` say (a desktop session, a cron job and an
//!   ssh session agree). It holds no secret; it must persist across reboots, because a
//!   marker there guards a Secret Service credential that does.
//! - **Checks**: a directory vouch uses must be owned by this user, not be a symbolic link,
//!   and not be writable by other users; no directory above it may let another user replace
//!   it (writable by others without the sticky bit). Files inside must be owned by this user
//!   and writable by nobody else. Anything else is refused with exit 2 and the exact remedy;
//!   vouch never changes the mode of a directory it did not create.
//!
//! This module is at the bottom of the crate: it depends only on [`crate::env`] and
//! [`crate::error`].

use crate::env::Env;
use crate::error::Error;
use std::path::{Path, PathBuf};

/// The platform's default config directory (`vouch` inside the user's config home).
pub fn default_config_dir(env: &Env) -> Result<PathBuf, Error> {
    let missing = || Error::usage("cannot find a config directory: set HOME, or pass --config-dir DIR");
    let base = if cfg!(target_os = "windows") {
        PathBuf::from(env.get("APPDATA").ok_or_else(missing)?)
    } else if cfg!(target_os = "macos") {
        Path::new(env.get("HOME").ok_or_else(missing)?).join("Library/Application Support")
    } else if let Some(xdg) = env.get("XDG_CONFIG_HOME").filter(|p| Path::new(p).is_absolute()) {
        PathBuf::from(xdg)
    } else {
        Path::new(env.get("HOME").ok_or_else(missing)?).join(".config")
    };
    Ok(base.join("vouch"))
}

/// The state directory of this user (see the module docs), created if missing and checked.
pub fn state_dir(env: &Env) -> Result<PathBuf, Error> {
    let dir = default_state_dir(env)?;
    ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Where [`state_dir`] is, without creating or checking it.
#[cfg(unix)]
pub fn default_state_dir(env: &Env) -> Result<PathBuf, Error> {
    let home = account_home(imp::uid()).or_else(|| {
        // No account database entry (a container running an arbitrary uid): the environment
        // is all there is.
        env.get("HOME").filter(|h| Path::new(h).is_absolute()).map(PathBuf::from)
    });
    let home = home.ok_or_else(|| {
        Error::usage("cannot find this user's home directory for vouch's lock files: set HOME")
    })?;
    if cfg!(target_os = "macos") {
        return Ok(home.join("Library/Application Support/vouch/state"));
    }
    Ok(home.join(".local/state/vouch"))
}

/// Where [`state_dir`] is, without creating or checking it.
#[cfg(not(unix))]
pub fn default_state_dir(env: &Env) -> Result<PathBuf, Error> {
    let base = env
        .get("LOCALAPPDATA")
        .ok_or_else(|| Error::usage("cannot find a directory for lock files: set LOCALAPPDATA"))?;
    Ok(Path::new(base).join("vouch").join("state"))
}

/// The provider metadata cache inside the state directory `state` (created 0700 if missing,
/// and checked like the state directory itself). It holds no secret: only what providers
/// publish in their discovery documents, one file per issuer.
pub fn cache_dir(state: &Path) -> Result<PathBuf, Error> {
    let dir = state.join("metadata");
    ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Read a file vouch keeps state in, if it passes [`check_private_file`] and is at most
/// `limit` bytes. `Ok(None)` when there is no such file; `Err` with the reason it is not
/// trusted otherwise (the caller decides whether that is fatal).
pub fn read_private_file(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    match path.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("it cannot be inspected ({e})")),
        Ok(meta) if !meta.is_file() => return Err("it is not a regular file".to_string()),
        Ok(meta) if meta.len() > limit => return Err(format!("it is larger than {limit} bytes")),
        Ok(_) => {}
    }
    check_private_file(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("it cannot be read ({e})"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("it is larger than {limit} bytes"));
    }
    Ok(Some(bytes))
}

/// Replace `dir/name` with `bytes` atomically: a new 0600 file beside it, then a rename over
/// it, so a reader sees the old content or the new, never a part. Whatever was there (a
/// corrupt file, another user's) is replaced, never written through.
pub fn write_private_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce)
        .map_err(|_| std::io::Error::other("the operating system gave no randomness"))?;
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, dir.join(name)));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

/// The home directory of `uid` in the account database: `/etc/passwd`, else `getent passwd`
/// (for accounts from LDAP or other name services).
#[cfg(unix)]
pub fn account_home(uid: u32) -> Option<PathBuf> {
    let from_line = |line: &str| {
        let fields: Vec<&str> = line.trim_end().split(':').collect();
        (fields.len() >= 7 && fields[2].parse::<u32>().ok() == Some(uid) && fields[5].starts_with('/'))
            .then(|| PathBuf::from(fields[5]))
    };
    if let Ok(text) = std::fs::read_to_string("/etc/passwd")
        && let Some(home) = text.lines().find_map(from_line)
    {
        return Some(home);
    }
    let out = std::process::Command::new("getent")
        .args(["passwd", &uid.to_string()])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(from_line)
}

/// Create `dir` if it is missing (each new directory 0700) and check that it, and the path
/// to it, is this user's alone. Existing directories are never chmodded.
pub fn ensure_private_dir(dir: &Path) -> Result<(), Error> {
    check_ancestors(dir)?;
    if !dir.exists() {
        create_dirs(dir).map_err(|e| unsafe_location(dir, format!("it cannot be created ({e})"), ""))?;
    }
    check_dir(dir)
}

/// Check a directory the user named (the config directory): the same checks as
/// [`ensure_private_dir`], without creating anything.
pub fn check_dir_if_present(dir: &Path) -> Result<(), Error> {
    if dir.symlink_metadata().is_err() {
        return check_ancestors(dir);
    }
    check_ancestors(dir)?;
    check_dir(dir)
}

/// Check a file vouch reads settings or state from: this user's, writable by nobody else. Its
/// directory is the caller's to check first (config: [`check_dir_if_present`]; caches: they
/// live in [`cache_dir`]), so the hot path stats each directory once.
pub fn check_private_file(path: &Path) -> Result<(), Error> {
    imp::check_file(path)
}

fn create_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn check_dir(dir: &Path) -> Result<(), Error> {
    imp::check_dir(dir)
}

/// Every existing directory above `path` must not let another user replace what is below it.
fn check_ancestors(path: &Path) -> Result<(), Error> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut below: Option<&Path> = None;
    for ancestor in absolute.ancestors().skip(1) {
        // One stat per ancestor: one that does not exist is passed over by check_ancestor.
        imp::check_ancestor(ancestor, below.unwrap_or(&absolute))?;
        below = Some(ancestor);
    }
    Ok(())
}

/// The refusal: exit 2, with what is wrong and what to do.
pub fn unsafe_location(path: &Path, reason: String, remedy: &str) -> Error {
    Error::UnsafeLocation { path: path.display().to_string(), reason, remedy: remedy.to_string() }
}

#[cfg(unix)]
mod imp {
    use super::unsafe_location;
    use crate::error::Error;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    pub fn uid() -> u32 {
        rustix::process::getuid().as_raw()
    }

    fn gid() -> u32 {
        rustix::process::getgid().as_raw()
    }

    /// Writable by a user other than the owner: by others, or by a group that is not this
    /// user's own primary group (user-private groups, umask 002, are common and safe).
    fn writable_by_others(meta: &std::fs::Metadata) -> bool {
        let mode = meta.mode();
        mode & 0o002 != 0 || (mode & 0o020 != 0 && meta.gid() != gid())
    }

    fn owner_problem(path: &Path, meta: &std::fs::Metadata, what: &str) -> Option<Error> {
        if meta.uid() != uid() {
            return Some(unsafe_location(
                path,
                format!("the {what} belongs to user id {}, not to you (user id {})", meta.uid(), uid()),
                "remove it or choose another location; it may have been planted by another user",
            ));
        }
        None
    }

    pub fn check_dir(dir: &Path) -> Result<(), Error> {
        let meta = dir
            .symlink_metadata()
            .map_err(|e| unsafe_location(dir, format!("it cannot be inspected ({e})"), ""))?;
        if meta.file_type().is_symlink() {
            return Err(unsafe_location(
                dir,
                "it is a symbolic link, which another user could point elsewhere".to_string(),
                "replace the link with a real directory",
            ));
        }
        if !meta.is_dir() {
            return Err(unsafe_location(dir, "it is not a directory".to_string(), "remove it"));
        }
        if let Some(err) = owner_problem(dir, &meta, "directory") {
            return Err(err);
        }
        if writable_by_others(&meta) {
            return Err(unsafe_location(
                dir,
                format!("other users can write to it (mode {:o})", meta.mode() & 0o7777),
                &format!("run `chmod 700 {}`", dir.display()),
            ));
        }
        Ok(())
    }

    /// `ancestor` (followed, as a path is resolved) must not let others replace `child`; one
    /// that does not exist (or cannot be inspected) holds nothing to replace.
    pub fn check_ancestor(ancestor: &Path, child: &Path) -> Result<(), Error> {
        let Ok(meta) = std::fs::metadata(ancestor) else { return Ok(()) };
        if !writable_by_others(&meta) {
            return Ok(());
        }
        let sticky = meta.permissions().mode() & 0o1000 != 0;
        // In a sticky directory (/tmp) others cannot rename or remove what is ours, so what
        // matters is that the entry below is ours, not theirs.
        let child_ours =
            child.symlink_metadata().map(|m| m.uid() == uid() && !m.file_type().is_symlink()).unwrap_or(true);
        if sticky && child_ours {
            return Ok(());
        }
        Err(unsafe_location(
            child,
            format!(
                "it is inside {}, which other users can write to (mode {:o}), so they could replace it",
                ancestor.display(),
                meta.mode() & 0o7777
            ),
            "choose a location inside your home directory",
        ))
    }

    pub fn check_file(path: &Path) -> Result<(), Error> {
        let meta = path
            .symlink_metadata()
            .map_err(|e| unsafe_location(path, format!("it cannot be inspected ({e})"), ""))?;
        if let Some(err) = owner_problem(path, &meta, "file") {
            return Err(err);
        }
        if meta.mode() & 0o022 != 0 {
            return Err(unsafe_location(
                path,
                format!("other users can write it (mode {:o})", meta.mode() & 0o777),
                &format!("run `chmod 600 {}`", path.display()),
            ));
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod imp {
    use crate::error::Error;
    use std::path::Path;

    pub fn check_dir(_: &Path) -> Result<(), Error> {
        Ok(())
    }

    pub fn check_ancestor(_: &Path, _: &Path) -> Result<(), Error> {
        Ok(())
    }

    pub fn check_file(_: &Path) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_state_dir_ignores_the_environment() {
        let a = default_state_dir(&Env::from_pairs([("HOME", "/nowhere-a"), ("XDG_RUNTIME_DIR", "/run/x")]));
        let b = default_state_dir(&Env::from_pairs([("HOME", "/nowhere-b")]));
        assert_eq!(a.unwrap(), b.unwrap());
    }

    #[test]
    fn private_dirs_are_created_0700_and_loose_ones_refused_not_chmodded() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("chmod 700"), "{err}");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o777, "never chmodded");
    }

    #[test]
    fn a_symlink_and_a_world_writable_parent_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, root.path().join("link")).unwrap();
        let err = ensure_private_dir(&root.path().join("link")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");

        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private_dir(&open.join("vouch")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("other users can write"), "{err}");
        // sticky, like /tmp: our own directory inside is fine
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private_dir(&open.join("vouch")).unwrap();
    }
}
