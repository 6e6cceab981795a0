//! Choosing and opening the platform's credential store.
//!
//! `auto` means: macOS Keychain; Windows Credential Manager; on Linux the Secret Service when a
//! session bus is configured and a Secret Service answers on it, otherwise kernel keyutils. A
//! Secret Service that answers but is *locked* is never skipped in favour of keyutils: that
//! would hide the user's stored credentials behind a different store.
//!
//! The Secret Service backend is `dbus-secret-service-keyring-store` rather than the zbus one:
//! on this project's reference machine a clean release build of it took about 16 s and 1.3 MB
//! against about 75 s and 3.7 MB for zbus, with the same ~10 ms read latency. libdbus is built
//! in statically ("vendored"): linking the system's libdbus made the dynamic loader bind it and
//! seven libraries it pulls in at every start, 79 % of `vouch --version`'s instructions
//! (docs/benchmarks.md). Its `dbus-secret-service` is a patched copy (`vendor/`): the encrypted
//! session's Diffie-Hellman is CSPRNG-keyed and constant-time (docs/secret-service-session.md).
//!
//! Opening a store is time-bounded like every other store call that can hang. Nothing here ever writes a
//! secret anywhere but a secure store.

use super::sealed_copy::Lookup;
use super::{SecretStore, StoreKind, is_no_reply};
use crate::env::Env;
use crate::error::Error;
use std::time::Duration;

/// What `--store` / `VOUCH_STORE` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    Auto,
    SecretService,
    Keyutils,
    Keychain,
    Windows,
}

/// Open the store `choice` names, on this platform.
pub fn open(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<SecretStore, Error> {
    imp::open(choice, env, timeout)
}

/// The sealed copy of `entry`'s record ([`super::sealed_copy`]), read without the encrypted
/// session. [`Lookup::NotKept`] when the store `choice` names is not the Secret Service;
/// [`Lookup::Absent`] when there is no usable copy, for
/// whatever reason (the caller then reads the record itself, which reports any real failure).
/// A Secret Service that does not answer within `timeout` is exit 6 here as it would be there.
pub fn read_sealed(choice: StoreChoice, env: &Env, timeout: Duration, entry: &str) -> Result<Lookup, Error> {
    imp::read_sealed(choice, env, timeout, entry)
}

/// Whether the store `choice` names is usable here, found without prompting and without
/// unlocking anything (`vouch doctor`): it is opened, a Secret Service's collections are asked
/// whether they are locked (a locked one is reported, never unlocked), and a probe item holding
/// no secret is written and deleted. Returns notes worth showing about a usable store.
pub fn check(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
    imp::check(choice, env, timeout)
}

/// Whether a D-Bus session bus is configured: its address is in the environment, or the
/// systemd-style socket `$XDG_RUNTIME_DIR/bus` exists (libdbus looks there too). Always false
/// where vouch does not use D-Bus.
pub fn session_bus_configured(env: &Env) -> bool {
    cfg!(target_os = "linux")
        && (env.get("DBUS_SESSION_BUS_ADDRESS").is_some()
            || env.get("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(dir).join("bus").exists()))
}

/// A Secret Service that did not answer (exit 6), as every path here reports it.
#[cfg(target_os = "linux")]
fn not_answering(reason: String) -> Error {
    Error::StoreLocked { store: StoreKind::SecretService.description(), reason }
}

fn unsupported(kind: StoreKind) -> Error {
    Error::NoSecureStore {
        reason: format!("the {} does not exist on this platform", kind.description()),
        remedy: "Use --store auto, or the store of this platform".to_string(),
    }
}

/// Construct a backend within the time bound (when it can hang), classifying failure as exit
/// 6 or 7.
fn construct(
    kind: StoreKind,
    timeout: Duration,
    make: impl FnOnce() -> keyring_core::Result<std::sync::Arc<keyring_core::CredentialStore>> + Send + 'static,
) -> Result<SecretStore, Error> {
    let made = if kind.can_hang() { super::run_bounded(timeout, make) } else { Some(make()) };
    match made {
        Some(Ok(backend)) => Ok(SecretStore::new(kind, backend, timeout)),
        Some(Err(keyring_core::Error::PlatformFailure(e))) if is_no_reply(e.as_ref()) => {
            Err(Error::StoreLocked { store: kind.description(), reason: "it did not answer".to_string() })
        }
        Some(Err(keyring_core::Error::NoStorageAccess(_))) if kind != StoreKind::Keyutils => {
            Err(Error::StoreLocked {
                store: kind.description(),
                reason: "access needs unlocking".to_string(),
            })
        }
        Some(Err(_)) => Err(Error::NoSecureStore {
            reason: format!("the {} is not available", kind.description()),
            remedy: kind.remedy().to_string(),
        }),
        None => Err(Error::StoreLocked {
            store: kind.description(),
            reason: format!("it did not answer within {} s", timeout.as_secs_f32()),
        }),
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use std::sync::Arc;

    pub fn open(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<SecretStore, Error> {
        match choice {
            StoreChoice::SecretService => {
                if !super::session_bus_configured(env) {
                    return Err(Error::NoSecureStore {
                        reason: "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset)"
                            .to_string(),
                        remedy: StoreKind::SecretService.remedy().to_string(),
                    });
                }
                secret_service(timeout)
            }
            StoreChoice::Keyutils => keyutils(timeout),
            StoreChoice::Auto => {
                if super::session_bus_configured(env) {
                    match secret_service(timeout) {
                        Err(Error::NoSecureStore { .. }) => {}
                        other => return other,
                    }
                }
                keyutils(timeout)
            }
            StoreChoice::Keychain => Err(unsupported(StoreKind::Keychain)),
            StoreChoice::Windows => Err(unsupported(StoreKind::Windows)),
        }
    }

    pub fn check(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        match choice {
            StoreChoice::SecretService => {
                let store = open(choice, env, timeout)?;
                secret_service_unlocked(timeout)?;
                store.probe()?;
                Ok(Vec::new())
            }
            StoreChoice::Keyutils => {
                crate::store::keyutils::reachability().map_err(|reason| Error::NoSecureStore {
                    reason,
                    remedy: StoreKind::Keyutils.remedy().to_string(),
                })?;
                open(choice, env, timeout)?.probe()?;
                let mut notes = Vec::new();
                if crate::store::keyutils::session_links_user_keyring() == Some(false) {
                    notes.push(
                        "this process's session keyring does not link the user keyring (as under \
                         `keyctl session -`, or systemd's KeyringMode=private); vouch writes through its \
                         process keyring, so this is handled"
                            .to_string(),
                    );
                }
                Ok(notes)
            }
            StoreChoice::Auto => match open(choice, env, timeout)?.kind() {
                StoreKind::SecretService => check(StoreChoice::SecretService, env, timeout),
                _ => check(StoreChoice::Keyutils, env, timeout),
            },
            StoreChoice::Keychain => Err(unsupported(StoreKind::Keychain)),
            StoreChoice::Windows => Err(unsupported(StoreKind::Windows)),
        }
    }

    /// Ask the Secret Service, on a connection of its own, whether its default collection or
    /// any collection holding vouch items is locked. These are property reads and a search:
    /// none of them prompts or unlocks.
    fn secret_service_unlocked(timeout: Duration) -> Result<(), Error> {
        use dbus_secret_service::{EncryptionType, Error as E, SecretService};
        let store = StoreKind::SecretService.description();
        let answer = crate::store::run_bounded(timeout, || -> Result<(bool, usize), E> {
            let ss = SecretService::connect(EncryptionType::Plain)?;
            let locked = ss.get_default_collection()?.is_locked()?;
            let found =
                ss.search_items(std::collections::HashMap::from([("service", crate::store::SERVICE)]))?;
            Ok((locked, found.locked.len()))
        });
        match answer {
            None => Err(Error::StoreLocked {
                store,
                reason: format!("it did not answer within {} s", timeout.as_secs_f32()),
            }),
            Some(Ok((true, _))) => {
                Err(Error::StoreLocked { store, reason: "its default collection is locked".to_string() })
            }
            Some(Ok((false, locked))) if locked > 0 => Err(Error::StoreLocked {
                store,
                reason: format!("{locked} vouch item(s) are in a locked collection"),
            }),
            Some(Ok(_)) => Ok(()),
            Some(Err(E::NoResult)) => Err(Error::NoSecureStore {
                reason: "the Secret Service has no default collection".to_string(),
                remedy: "Create a keyring and make it the default (Seahorse: File > New > Password Keyring, \
                         then \"Set as default\")"
                    .to_string(),
            }),
            Some(Err(err)) if is_no_reply(&err) => {
                Err(Error::StoreLocked { store, reason: "it did not answer".to_string() })
            }
            Some(Err(_)) => Err(Error::NoSecureStore {
                reason: format!("the {store} did not answer its queries"),
                remedy: StoreKind::SecretService.remedy().to_string(),
            }),
        }
    }

    pub fn read_sealed(
        choice: StoreChoice,
        env: &Env,
        timeout: Duration,
        entry: &str,
    ) -> Result<Lookup, Error> {
        if !matches!(choice, StoreChoice::Auto | StoreChoice::SecretService)
            || !super::session_bus_configured(env)
        {
            return Ok(Lookup::NotKept);
        }
        // No key (after a reboot, where @u is out of reach, or where no Secret Service ever
        // kept a copy): no copy to look for, and no connection for it.
        let Some(key) = crate::store::keyutils::sealing_key() else { return Ok(Lookup::Absent(None)) };
        let name = entry.to_string();
        let deadline = std::time::Instant::now() + timeout;
        let read = move || {
            crate::store::sealed_copy_bus::Bus::connect(deadline)
                .and_then(|bus| bus.read(&key, crate::store::keyutils::boot_tag, &name))
        };
        match crate::store::run_bounded(timeout, read) {
            Some(Ok(lookup)) => Ok(lookup),
            Some(Err(err)) if err.not_answering() => Err(not_answering("it did not answer".to_string())),
            Some(Err(_)) => Ok(Lookup::Absent(None)),
            None => Err(not_answering(format!("it did not answer within {} s", timeout.as_secs_f32()))),
        }
    }

    fn secret_service(timeout: Duration) -> Result<SecretStore, Error> {
        construct(StoreKind::SecretService, timeout, || {
            let store = dbus_secret_service_keyring_store::Store::new()?;
            Ok(store as Arc<keyring_core::CredentialStore>)
        })
        .map(SecretStore::labelled)
    }

    fn keyutils(timeout: Duration) -> Result<SecretStore, Error> {
        construct(StoreKind::Keyutils, timeout, || {
            let store = crate::store::keyutils::UserKeyringStore::new()?;
            Ok(store as Arc<keyring_core::CredentialStore>)
        })
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::*;
    use std::sync::Arc;

    pub fn open(choice: StoreChoice, _env: &Env, timeout: Duration) -> Result<SecretStore, Error> {
        match choice {
            StoreChoice::Auto | StoreChoice::Keychain => construct(StoreKind::Keychain, timeout, || {
                let store = apple_native_keyring_store::keychain::Store::new()?;
                Ok(store as Arc<keyring_core::CredentialStore>)
            }),
            StoreChoice::SecretService => Err(unsupported(StoreKind::SecretService)),
            StoreChoice::Keyutils => Err(unsupported(StoreKind::Keyutils)),
            StoreChoice::Windows => Err(unsupported(StoreKind::Windows)),
        }
    }

    pub fn check(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        open(choice, env, timeout)?.probe().map(|()| Vec::new())
    }

    pub fn read_sealed(_: StoreChoice, _: &Env, _: Duration, _: &str) -> Result<Lookup, Error> {
        Ok(Lookup::NotKept)
    }
}

#[cfg(target_os = "windows")]
mod imp {
    use super::*;
    use std::sync::Arc;

    pub fn open(choice: StoreChoice, _env: &Env, timeout: Duration) -> Result<SecretStore, Error> {
        match choice {
            StoreChoice::Auto | StoreChoice::Windows => construct(StoreKind::Windows, timeout, || {
                let store = windows_native_keyring_store::Store::new()?;
                Ok(store as Arc<keyring_core::CredentialStore>)
            }),
            StoreChoice::SecretService => Err(unsupported(StoreKind::SecretService)),
            StoreChoice::Keyutils => Err(unsupported(StoreKind::Keyutils)),
            StoreChoice::Keychain => Err(unsupported(StoreKind::Keychain)),
        }
    }

    pub fn check(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        open(choice, env, timeout)?.probe().map(|()| Vec::new())
    }

    pub fn read_sealed(_: StoreChoice, _: &Env, _: Duration, _: &str) -> Result<Lookup, Error> {
        Ok(Lookup::NotKept)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod imp {
    use super::*;

    pub fn open(_: StoreChoice, _: &Env, _: Duration) -> Result<SecretStore, Error> {
        Err(Error::NoSecureStore {
            reason: "vouch has no credential store for this operating system".to_string(),
            remedy: "Use Linux, macOS or Windows".to_string(),
        })
    }

    pub fn check(choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        open(choice, env, timeout).map(|_| Vec::new())
    }

    pub fn read_sealed(_: StoreChoice, _: &Env, _: Duration, _: &str) -> Result<Lookup, Error> {
        Ok(Lookup::NotKept)
    }
}
