//! Per-profile lock files: single flight across processes.
//!
//! Every write of a profile's record (refresh, login, logout, rotate) happens while holding
//! `{state dir}/{store}.{entry}.lock`, an advisory whole-file lock (`File::lock`), where `entry` is the
//! credential's store entry ([`crate::identity`]): one credential, one lock. A process that
//! wanted to refresh re-reads the record after taking the lock, and uses what another process
//! wrote instead of refreshing again. Lock files hold no secret; they live in the state
//! directory, which depends on the user id alone, never on the environment
//! ([`crate::paths`]), mode 0600 in a 0700 directory.
//!
//! Waiting is bounded: running out of time is "unavailable, retry later" (exit 5).
//!
//! Beside each lock, an **in-flight marker** (`{entry}.inflight`) is written before a refresh
//! request leaves the process, and removed only once it is known that the refresh token it
//! names will not be needed again or may safely be sent again (see docs/crash-safety.md). It
//! holds a fingerprint of the refresh token being sent (the first 64 bits of its SHA-256:
//! enough to recognise the token, useless for recovering it). A process killed in between
//! (SIGKILL, power loss), or one whose answer was lost and whose store refused to record
//! that, leaves the marker behind; the next refresh of the same token finds it and knows the
//! token may already have been consumed, so it does not replay it (RFC 9700 §4.14.2).

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

impl ProfileLock {
    /// Take `profile`'s lock in `dir`, waiting at most `wait`.
    pub fn acquire(dir: &Path, profile: &str, wait: Duration) -> Result<ProfileLock, Error> {
        let file = open(dir, profile)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(ProfileLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(held_too_long(profile, wait)),
                Err(std::fs::TryLockError::Error(e)) => return Err(io_error(dir, e)),
            }
        }
    }

    /// Take the lock if it is free. If another process holds it, wait (at most `wait`) until
    /// it lets go, without taking it, and return `None`: the holder may have written what the
    /// caller needs, which the caller can read without the lock (store writes are atomic).
    /// This keeps a crowd of processes from queueing to re-read one by one under the lock.
    pub fn acquire_or_wait(dir: &Path, profile: &str, wait: Duration) -> Result<Option<ProfileLock>, Error> {
        let file = open(dir, profile)?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(ProfileLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(dir, e)),
        }
        let deadline = Instant::now() + wait;
        loop {
            // A shared lock is granted only once the exclusive holder is gone; drop it at once.
            match file.try_lock_shared() {
                Ok(()) => return Ok(None),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(held_too_long(profile, wait)),
                Err(std::fs::TryLockError::Error(e)) => return Err(io_error(dir, e)),
            }
        }
    }
}

fn open(dir: &Path, profile: &str) -> Result<File, Error> {
    crate::paths::ensure_private_dir(dir)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(dir.join(format!("{profile}.lock"))).map_err(|e| io_error(dir, e))
}

fn io_error(dir: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("cannot use the lock file in {} ({e})", dir.display()))
}

fn held_too_long(profile: &str, wait: Duration) -> Error {
    Error::Unavailable {
        endpoint: format!("the lock of profile '{profile}'"),
        reason: format!("another vouch process has held it for more than {} s", wait.as_secs()),
    }
}

/// A refresh request in flight; the marker is removed when this is dropped.
pub struct InFlight {
    path: PathBuf,
}

impl InFlight {
    fn path(dir: &Path, profile: &str) -> PathBuf {
        dir.join(format!("{profile}.inflight"))
    }

    fn fingerprint(token: &str) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(token.as_bytes())[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether a process died while sending exactly this refresh token for `profile`.
    pub fn was_cut_off(dir: &Path, profile: &str, token: &str) -> bool {
        std::fs::read_to_string(Self::path(dir, profile)).is_ok_and(|f| f.trim() == Self::fingerprint(token))
    }

    /// Forget a marker (the token it names will never be sent again, or may safely be).
    pub fn clear(dir: &Path, profile: &str) {
        let _ = std::fs::remove_file(Self::path(dir, profile));
    }

    /// Keep the marker on disk after this process: the token it names may have been
    /// consumed, and nothing else may record that.
    pub fn keep(self) {
        std::mem::forget(self);
    }

    /// Mark `token` as being sent. Call it while holding the profile lock.
    pub fn begin(dir: &Path, profile: &str, token: &str) -> Result<InFlight, Error> {
        let path = Self::path(dir, profile);
        // Written and synced before the request leaves: a power loss right after the send
        // must not lose it.
        let written = std::fs::File::create(&path).and_then(|mut file| {
            use std::io::Write;
            file.write_all(Self::fingerprint(token).as_bytes())?;
            file.sync_all()
        });
        written.map_err(|e| Error::internal(format!("cannot write {} ({e})", path.display())))?;
        Ok(InFlight { path })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
        // a follower waits for the holder without taking the lock
        let holder = std::thread::spawn({
            let dir = dir.path().to_path_buf();
            move || {
                let lock = ProfileLock::acquire(&dir, "r", Duration::from_secs(1)).unwrap();
                std::thread::sleep(Duration::from_millis(100));
                drop(lock);
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        let waited = std::time::Instant::now();
        assert!(ProfileLock::acquire_or_wait(dir.path(), "r", Duration::from_secs(2)).unwrap().is_none());
        assert!(waited.elapsed() >= Duration::from_millis(50));
        holder.join().unwrap();
        assert!(ProfileLock::acquire_or_wait(dir.path(), "r", Duration::from_secs(2)).unwrap().is_some());
        drop(first);
        ProfileLock::acquire(dir.path(), "p", Duration::from_millis(50)).unwrap();
    }

    #[test]
    fn an_in_flight_marker_outlives_only_a_killed_process() {
        let dir = tempfile::tempdir().unwrap();
        let marker = InFlight::begin(dir.path(), "p", "rt-one").unwrap();
        assert!(InFlight::was_cut_off(dir.path(), "p", "rt-one"));
        assert!(!InFlight::was_cut_off(dir.path(), "p", "rt-two"), "a marker of another token is stale");
        let text = std::fs::read_to_string(dir.path().join("p.inflight")).unwrap();
        assert!(!text.contains("rt-one") && text.len() == 16, "{text}");
        drop(marker);
        assert!(!InFlight::was_cut_off(dir.path(), "p", "rt-one"));
        std::mem::forget(InFlight::begin(dir.path(), "p", "rt-three").unwrap()); // as if killed
        assert!(InFlight::was_cut_off(dir.path(), "p", "rt-three"));
        InFlight::clear(dir.path(), "p");
        assert!(!InFlight::was_cut_off(dir.path(), "p", "rt-three"));
    }
}
