//! The kernel keyutils backend, kept in the **user keyring** (`@u`).
//!
//! The upstream `linux-keyutils-keyring-store` files keys in the session keyring and links
//! them into the persistent keyring. Headless processes (CI containers, ssh sessions, this
//! project's own CI) often have no session keyring of their own, and linking there fails with
//! EACCES. The user keyring exists for every uid, is shared by all of that user's processes
//! and sessions, and lasts until reboot, which is what a credential cache wants. So this
//! module implements keyring-core's store API directly on the same `linux-keyutils` crate,
//! with the user keyring.
//!
//! Keys are `user` keys described `keyring:ENTRY@vouch` (the upstream naming). Each key's
//! permissions grant the owning user, not only the possessor, read, write and setattr, so a
//! process in a fresh `keyctl session` (which does not possess keys in `@u`) can still use
//! them. No other user or group is granted anything.
//!
//! **Writes under a session keyring that does not link `@u`** (`keyctl session -`, systemd
//! services with the default `KeyringMode=private`, some container runtimes): such a process
//! does not *possess* `@u` or the keys in it. A key added straight into `@u` is then not
//! possessed either, and setting its permissions fails with EACCES, because a new key grants
//! its owning user nothing but "view" until they are set. So a key is written in three steps
//! that need no possession of `@u`: it is created in this process's own process keyring
//! (possessed, so its permissions can be set), linked into `@u` (which needs only the user's
//! write permission on `@u`, and atomically displaces the previous key of that description),
//! and unlinked from the process keyring.

use super::sealed_copy::SealingKey;
use keyring_core::api::{CredentialApi, CredentialPersistence, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The store: stateless, the kernel holds everything.
#[derive(Debug, Default)]
pub struct UserKeyringStore;

impl UserKeyringStore {
    /// Check that the user keyring is reachable, so that selection can fail early and clearly.
    pub fn new() -> Result<Arc<Self>> {
        user_keyring()?;
        Ok(Arc::new(UserKeyringStore))
    }
}

impl CredentialStoreApi for UserKeyringStore {
    fn vendor(&self) -> String {
        "vouch user-keyring store on linux-keyutils".to_string()
    }

    fn id(&self) -> String {
        "user-keyring".to_string()
    }

    /// Every key of `service` in `@u` (the `service` spec; other specs are ignored).
    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let service = spec.get("service").copied().unwrap_or_default();
        let suffix = format!("@{service}");
        let links = user_keyring()?.get_links(MAX_KEYS).map_err(convert)?;
        let mut found = Vec::new();
        for node in links.iter() {
            let Some(key) = node.as_key() else { continue };
            let Ok(meta) = key.metadata() else { continue };
            let description = meta.get_description();
            if let Some(user) = description.strip_prefix("keyring:").and_then(|d| d.strip_suffix(&suffix)) {
                found.push(self.build(service, user, None)?);
            }
        }
        Ok(found)
    }

    fn build(&self, service: &str, user: &str, _modifiers: Option<&HashMap<&str, &str>>) -> Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(UserKey {
            description: format!("keyring:{user}@{service}"),
            specifiers: (service.to_string(), user.to_string()),
        })))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn persistence(&self) -> CredentialPersistence {
        CredentialPersistence::UntilReboot
    }
}

/// One key in the user keyring.
#[derive(Debug)]
struct UserKey {
    description: String,
    specifiers: (String, String),
}

/// More keys than a non-root user's quota (200) allows.
const MAX_KEYS: usize = 1024;

fn user_keyring() -> Result<KeyRing> {
    KeyRing::from_special_id(KeyRingIdentifier::User, false).map_err(convert)
}

/// Map a keyutils error to keyring-core's model, as the upstream store does.
fn convert(err: KeyError) -> Error {
    match err {
        KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired => Error::NoEntry,
        KeyError::AccessDenied | KeyError::PermissionDenied => {
            Error::NoStorageAccess(Box::new(KeyutilsFailure(err)))
        }
        // The per-user key quota (kernel.keys.maxbytes, 20000 bytes for non-root users).
        KeyError::QuotaExceeded => Error::TooLong("value".to_string(), 20000),
        other => Error::PlatformFailure(Box::new(KeyutilsFailure(other))),
    }
}

/// A keyutils error code (never carries key material).
#[derive(Debug)]
struct KeyutilsFailure(KeyError);

impl std::fmt::Display for KeyutilsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "keyutils: {:?}", self.0)
    }
}

impl std::error::Error for KeyutilsFailure {}

impl CredentialApi for UserKey {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let ring = user_keyring()?;
        // See the module docs: create where we possess the key, then link it into @u, which
        // displaces the previous key of this description in one step.
        let staging = KeyRing::from_special_id(KeyRingIdentifier::Process, true).map_err(convert)?;
        let key = staging.add_key(&self.description, secret).map_err(convert)?;
        let linked = set_user_perms(key).and_then(|()| ring.link_key(key));
        let _ = staging.unlink_key(key);
        linked.map_err(convert)
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        let key = user_keyring()?.search(&self.description).map_err(convert)?;
        read_exact_size(key).map_err(convert)
    }

    fn delete_credential(&self) -> Result<()> {
        let key = user_keyring()?.search(&self.description).map_err(convert)?;
        key.invalidate().map_err(convert)
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        user_keyring()?.search(&self.description).map_err(convert)?;
        Ok(None)
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some(self.specifiers.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A key's payload in a buffer of its own size. `Key::read_to_vec` reads into 64 KiB, which
/// the caller then has to zeroize in full; a record is a few hundred bytes to a few KiB.
/// KEYCTL_READ returns the payload's size whether or not it fitted, so a payload larger than
/// the first guess (or one replaced by a larger one in between) costs one more read.
fn read_exact_size(key: linux_keyutils::Key) -> std::result::Result<Vec<u8>, KeyError> {
    let mut buffer = zeroize::Zeroizing::new(vec![0u8; FIRST_READ]);
    loop {
        let len = key.read(&mut *buffer)?;
        if len <= buffer.len() {
            buffer.truncate(len);
            return Ok(std::mem::take(&mut *buffer));
        }
        // The old buffer is zeroized when it is replaced.
        buffer = zeroize::Zeroizing::new(vec![0u8; len]);
    }
}

/// The first read's buffer: larger than any record vouch writes for a typical provider.
const FIRST_READ: usize = 4096;

/// Grant the owning user (not only the possessor) what vouch needs, and nobody else anything.
fn set_user_perms(key: linux_keyutils::Key) -> std::result::Result<(), KeyError> {
    let perms = KeyPermissionsBuilder::builder()
        .posessor(Permission::ALL)
        .user(
            Permission::VIEW
                | Permission::READ
                | Permission::WRITE
                | Permission::SEARCH
                | Permission::SETATTR,
        )
        .build();
    key.set_perms(perms)
}

/// Where the sealing key of sealed copies ([`crate::store::sealed_copy`]) lives in `@u`. Not
/// under the `vouch` service, so no listing of records ever shows it.
const SEALING_KEY: &str = "keyring:key@vouch-sealed";

/// The sealing key of sealed copies, if `@u` holds one this process can read. Two system
/// calls; no key is created.
pub fn sealing_key() -> Option<SealingKey> {
    let key = user_keyring().ok()?.search(SEALING_KEY).ok()?;
    SealingKey::from_bytes(&Zeroizing::new(read_exact_size(key).ok()?))
}

/// The sealing key, created (from the OS CSPRNG) if `@u` has none, and read back after it is
/// written, so that processes creating one at nearly the same time mostly end up with the same;
/// one whose key another displaced in between seals under a dead key until its profile's next
/// write (docs/secret-service-session.md, "What is left"). `None` when the user keyring cannot
/// be reached or written: then nothing is sealed.
pub fn sealing_key_or_new() -> Option<SealingKey> {
    if let Some(key) = sealing_key() {
        return Some(key);
    }
    let fresh = SealingKey::generate()?;
    UserKey { description: SEALING_KEY.to_string(), specifiers: (String::new(), String::new()) }
        .set_secret(fresh.expose())
        .ok()?;
    sealing_key()
}

/// The tag of this boot ([`super::sealed_copy::boot_tag`]), from the kernel's boot id.
/// Debug builds take `VOUCH_TEST_BOOT_ID` instead when it is set: the suite's only way to
/// seal a copy "before a reboot".
pub fn boot_tag() -> Option<String> {
    #[cfg(debug_assertions)]
    if let Ok(id) = std::env::var("VOUCH_TEST_BOOT_ID") {
        return Some(super::sealed_copy::boot_tag(&id));
    }
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(super::sealed_copy::boot_tag(&id))
}

/// Whether this process can reach the user keyring, and if not, why, in words that name the
/// likely cause (`vouch doctor`). Touches no key.
pub fn reachability() -> std::result::Result<(), String> {
    match KeyRing::from_special_id(KeyRingIdentifier::User, false) {
        Ok(_) => Ok(()),
        Err(err) => Err(refusal(err)),
    }
}

/// A keyutils refusal, explained.
fn refusal(err: KeyError) -> String {
    match err {
        KeyError::PermissionDenied => "the kernel refused keyctl with EPERM: a container's seccomp profile \
             (Docker's default) blocks keyctl and add_key, or this user namespace has no keyring of its own"
            .to_string(),
        KeyError::AccessDenied => "the kernel refused the user keyring with EACCES".to_string(),
        KeyError::Unknown(code) if code == libc::ENOSYS => {
            "the kernel answered keyctl with ENOSYS: keyutils \
             is not built into this kernel, or a seccomp profile hides the call"
                .to_string()
        }
        other => format!("keyctl failed ({other:?})"),
    }
}

/// Whether this process's session keyring links the user keyring `@u`; `None` when that
/// cannot be told (no readable session keyring). `Some(false)` is the `keyctl session -` /
/// systemd `KeyringMode=private` situation the module docs describe, which writes handle.
pub fn session_links_user_keyring() -> Option<bool> {
    let user = KeyRing::from_special_id(KeyRingIdentifier::User, false).ok()?;
    let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false).ok()?;
    let links = session.get_links(MAX_KEYS).ok()?;
    Some(links.iter().any(|node| node.as_ring() == Some(user)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_their_cause() {
        assert!(
            refusal(KeyError::PermissionDenied).contains("EPERM")
                && refusal(KeyError::PermissionDenied).contains("seccomp")
        );
        assert!(refusal(KeyError::Unknown(libc::ENOSYS)).contains("ENOSYS"));
        assert!(refusal(KeyError::AccessDenied).contains("EACCES"));
    }

    /// Real keys in this user's `@u`, each named for this process and removed at the end.
    #[test]
    fn payloads_around_the_first_read_size_come_back_whole() {
        let store = UserKeyringStore::new().expect("the user keyring (install keyutils)");
        for size in [1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 3 * FIRST_READ] {
            let user = format!("unit-read-{}-{size}", std::process::id());
            let entry = store.build("vouch-unit-test", &user, None).unwrap();
            let value: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            entry.set_secret(&value).unwrap();
            let back = entry.get_secret();
            entry.delete_credential().unwrap();
            assert!(back.unwrap() == value, "a {size}-byte payload did not read back whole");
        }
    }
}
