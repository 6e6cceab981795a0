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
                if !session_bus_configured(env) {
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
                if session_bus_configured(env) {
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

    /// A session bus is configured when its address is in the environment, or when the
    /// systemd-style socket `$XDG_RUNTIME_DIR/bus` exists (libdbus looks there too).
    fn session_bus_configured(env: &Env) -> bool {
        if env.get("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
            return true;
        }
        env.get("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(dir).join("bus").exists())
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
}
