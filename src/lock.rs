//! Per-profile lock files: single flight across processes.
//!
//! Every write of a profile's record (refresh, login, logout, rotate) happens while holding
//! `{lock dir}/{profile}.lock`, an advisory whole-file lock (`File::lock`). A process that
//! wanted to refresh re-reads the record after taking the lock, and uses what another process
//! wrote instead of refreshing again. Lock files hold no secret; they live in
//! `$XDG_RUNTIME_DIR/vouch` (or the user cache directory), mode 0600 in a 0700 directory.
//!
//! Waiting is bounded: running out of time is "unavailable, retry later" (exit 5).

use crate::context::Env;
use crate::error::Error;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a process waits for another one's refresh before giving up.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(45);

/// A held profile lock; released on drop (and by the kernel if the process dies).
pub struct ProfileLock {
    _file: File,
}

/// Where lock files live: `$XDG_RUNTIME_DIR/vouch`, else the user cache directory.
pub fn default_dir(env: &Env) -> Result<PathBuf, Error> {
    let missing = || Error::usage("cannot find a directory for lock files: set HOME or XDG_RUNTIME_DIR");
    if let Some(runtime) = env.get("XDG_RUNTIME_DIR").filter(|p| Path::new(p).is_absolute()) {
        return Ok(Path::new(runtime).join("vouch"));
    }
    let base = if cfg!(target_os = "windows") {
        PathBuf::from(env.get("LOCALAPPDATA").ok_or_else(missing)?)
    } else if cfg!(target_os = "macos") {
        Path::new(env.get("HOME").ok_or_else(missing)?).join("Library/Caches")
    } else if let Some(cache) = env.get("XDG_CACHE_HOME").filter(|p| Path::new(p).is_absolute()) {
        PathBuf::from(cache)
    } else {
        Path::new(env.get("HOME").ok_or_else(missing)?).join(".cache")
    };
    Ok(base.join("vouch"))
}

impl ProfileLock {
    /// Take `profile`'s lock in `dir`, waiting at most `wait`.
    pub fn acquire(dir: &Path, profile: &str, wait: Duration) -> Result<ProfileLock, Error> {
        let io = |e: std::io::Error| {
            Error::internal(format!("cannot use the lock file in {} ({e})", dir.display()))
        };
        crate::config::create_private_dir(dir).map_err(io)?;
        let path = dir.join(format!("{profile}.lock"));
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(io)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ProfileLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::Unavailable {
                        endpoint: format!("the lock of profile '{profile}'"),
                        reason: format!(
                            "another vouch process has held it for more than {} s",
                            wait.as_secs()
                        ),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_gives_up_with_exit_5() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProfileLock::acquire(dir.path(), "p", Duration::from_secs(1)).unwrap();
        let err = ProfileLock::acquire(dir.path(), "p", Duration::from_millis(50)).err().unwrap();
        assert_eq!(err.exit_code(), 5);
        // other profiles are independent
        ProfileLock::acquire(dir.path(), "q", Duration::from_millis(50)).unwrap();
        drop(first);
        ProfileLock::acquire(dir.path(), "p", Duration::from_millis(50)).unwrap();
    }
}
