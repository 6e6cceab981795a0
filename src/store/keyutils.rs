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
//! Keys are `user` keys described `keyring:PROFILE@vouch` (the upstream naming). Each key's
//! permissions grant the owning user, not only the possessor, read, write and setattr, so a process in
//! a fresh `keyctl session` (which does not possess keys in `@u`) can still use them. No other
//! user or group is granted anything.

use keyring_core::api::{CredentialApi, CredentialPersistence, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

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
        // add_key on an existing description replaces the payload in place: one atomic write.
        let key = ring.add_key(&self.description, secret).map_err(convert)?;
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
        key.set_perms(perms).map_err(convert)
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        let key = user_keyring()?.search(&self.description).map_err(convert)?;
        key.read_to_vec().map_err(convert)
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
