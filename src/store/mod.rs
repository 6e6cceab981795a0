//! The storage core: every read, write and delete of a secret goes through [`SecretStore`].
//!
//! It owns four things:
//! - **the entry layout**: one entry per profile, service `vouch`, user = the profile's
//!   [`EntryKey::entry`] (`PROFILE~ID`, see [`crate::identity`]), holding one [`Record`]
//!   written in a single call (so a reader sees the old record or the new one);
//! - **identity**: a record is stamped with the issuer and client it was minted for when it is
//!   saved, and a record whose issuer or client is not the key's is never handed out
//!   ([`Error::ForeignCredential`]);
//! - **the time bound**: every call to a backend that can hang (one behind a daemon: D-Bus,
//!   Keychain, Credential Manager) runs on a helper thread and is abandoned after the store
//!   timeout, so a hung D-Bus never hangs vouch; running out of time counts as "locked or
//!   waiting" (exit 6). keyutils calls are system calls that the kernel answers without
//!   waiting for another process, so they run on the calling thread ([`StoreKind::can_hang`]):
//!   a thread per call was most of a keyutils read's own cost;
//! - **classification**: keyring-core errors become [`Error`] variants here and nowhere else.
//!   Payloads that can hold secret bytes (`BadEncoding`, `BadDataFormat`, `Ambiguous`) are
//!   dropped on the spot.
//!
//! Choosing and constructing a backend is [`platform`]'s job. There is no plaintext fallback
//! anywhere in this module or below it.

pub mod platform;
pub mod sealed_copy;
#[cfg(target_os = "linux")]
pub mod sealed_copy_bus;

#[cfg(target_os = "linux")]
pub mod keyutils;

use crate::error::Error;
use crate::record::Record;
use keyring_core::{CredentialStore, Entry};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use zeroize::Zeroizing;

/// The service name every vouch entry is filed under.
pub const SERVICE: &str = "vouch";

/// The entry `check_writable` writes and deletes; it holds no secret.
const PROBE: &str = "#probe";

/// How long one store call may take before it is abandoned.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The store entry of one profile's credential, and the provider and client it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryKey {
    /// The profile, for messages.
    pub profile: String,
    /// The entry's user name in the store.
    pub entry: String,
    /// The issuer that mints, and alone receives, this credential.
    pub issuer: String,
    pub client_id: String,
}

impl EntryKey {
    /// The entry that holds the previous credential while a rotation is under way. `#` cannot
    /// appear in entry names, so it never collides with a profile's entry.
    pub fn previous(&self) -> EntryKey {
        EntryKey { entry: format!("{}#previous", self.entry), ..self.clone() }
    }

    /// Whether `record` was minted by this key's issuer for its client.
    pub fn owns(&self, record: &Record) -> bool {
        record.issuer.as_deref() == Some(self.issuer.as_str())
            && record.client_id.as_deref() == Some(self.client_id.as_str())
    }
}

/// The start of the label vouch gives its items, in stores that show labels.
const LABEL_PREFIX: &str = "vouch credential for profile ";

/// The start of the label of a sealed copy ([`sealed_copy`]).
const SEALED_LABEL_PREFIX: &str = "vouch sealed access token for profile ";

/// One of several store items that match one entry: another program stored an item with
/// vouch's attributes and more, so a search for vouch's finds both.
pub struct Duplicate {
    entry: Arc<Entry>,
    /// Its record, when its secret decodes as a vouch record.
    pub record: Option<Record>,
    /// Whether it is vouch's: its secret decodes as a vouch record, or it carries vouch's
    /// label. Items that are not vouch's are never deleted or overwritten on purpose.
    pub vouch: bool,
}

/// Which credential store holds the secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    SecretService,
    Keyutils,
    Keychain,
    Windows,
    /// keyring-core's in-memory mock, for tests only.
    Mock,
}

impl StoreKind {
    /// The name used by `--store` and in `--json` output.
    pub fn id(self) -> &'static str {
        match self {
            StoreKind::SecretService => "secret-service",
            StoreKind::Keyutils => "keyutils",
            StoreKind::Keychain => "keychain",
            StoreKind::Windows => "windows",
            StoreKind::Mock => "mock",
        }
    }

    /// The name used in sentences.
    pub fn description(self) -> &'static str {
        match self {
            StoreKind::SecretService => "Secret Service keyring",
            StoreKind::Keyutils => "kernel keyring (keyutils)",
            StoreKind::Keychain => "macOS Keychain",
            StoreKind::Windows => "Windows Credential Manager",
            StoreKind::Mock => "in-memory test store",
        }
    }

    /// How long the store keeps a secret, for `status`.
    pub fn persistence(self) -> &'static str {
        match self {
            StoreKind::Keyutils => "until reboot",
            StoreKind::Mock => "until the process exits",
            _ => "until deleted",
        }
    }

    /// What to do when this store cannot be used (printed with exit 7).
    pub fn remedy(self) -> &'static str {
        match self {
            StoreKind::SecretService => {
                "Start a Secret Service in a D-Bus session (install gnome-keyring or KeePassXC; \
                 over ssh, run `dbus-run-session -- $SHELL` and unlock it with \
                 `gnome-keyring-daemon --unlock`), or use the kernel keyring with --store keyutils"
            }
            StoreKind::Keyutils => {
                "The kernel refused the user keyring. vouch needs the keyctl and add_key system calls and \
                 this user's keyring (@u): in a container, allow both calls in its seccomp profile; in a \
                 user namespace without its own keyring quota, run vouch outside it; or use a Secret Service \
                 with --store secret-service"
            }
            StoreKind::Keychain => "Make sure the login keychain exists and can be unlocked",
            StoreKind::Windows => "Make sure Windows Credential Manager is available for this user",
            StoreKind::Mock => "This is a test store",
        }
    }

    /// Whether a call can wait on another process (a daemon behind D-Bus or an OS service),
    /// and so must run under the time bound. keyutils is the kernel's own store: its system
    /// calls never wait for another process, except to read a key that a process of the same
    /// user is still instantiating through request_key(2), which vouch never does.
    pub fn can_hang(self) -> bool {
        !matches!(self, StoreKind::Keyutils)
    }

    /// The largest value the store accepts, where it has a documented limit.
    pub fn size_limit(self) -> Option<usize> {
        match self {
            // CRED_MAX_CREDENTIAL_BLOB_SIZE: 5 * 512 bytes.
            StoreKind::Windows => Some(2560),
            // The kernel's limit on a "user" key payload.
            StoreKind::Keyutils => Some(32767),
            _ => None,
        }
    }
}

/// A credential store, ready for use.
#[derive(Clone)]
pub struct SecretStore {
    kind: StoreKind,
    backend: Arc<CredentialStore>,
    timeout: Duration,
    /// Give new items a human label (Secret Service shows it in Seahorse and KeePassXC).
    labelled: bool,
}

impl SecretStore {
    pub fn new(kind: StoreKind, backend: Arc<CredentialStore>, timeout: Duration) -> Self {
        SecretStore { kind, backend, timeout, labelled: false }
    }

    /// Label new items "vouch credential for profile NAME", for stores that show labels.
    pub fn labelled(self) -> Self {
        SecretStore { labelled: true, ..self }
    }

    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The name of `key`'s lock and in-flight marker: one per credential, and the same entry
    /// name in another store is another credential.
    pub fn lock_name(&self, key: &EntryKey) -> String {
        format!("{}.{}", self.kind.id(), key.entry)
    }

    /// The stored record of `key`, or `None` when the profile is signed out. A record minted
    /// for another issuer or client is refused, never returned.
    pub fn load(&self, key: &EntryKey) -> Result<Option<Record>, Error> {
        let Some(record) = self.load_entry(&key.entry, &key.profile)? else { return Ok(None) };
        if !key.owns(&record) {
            return Err(Error::ForeignCredential {
                profile: key.profile.clone(),
                minted_for: match (&record.issuer, &record.client_id) {
                    (Some(issuer), Some(client)) => format!("{issuer} (client {client})"),
                    _ => "an unknown provider".to_string(),
                },
                configured: format!("{} (client {})", key.issuer, key.client_id),
            });
        }
        Ok(Some(record))
    }

    /// Replace the stored record of `key` in one write, stamped with the key's issuer and
    /// client.
    pub fn save(&self, key: &EntryKey, record: &Record) -> Result<(), Error> {
        let stamped = Record {
            issuer: Some(key.issuer.clone()),
            client_id: Some(key.client_id.clone()),
            ..record.clone()
        };
        self.save_entry(&key.entry, &key.profile, &stamped)
    }

    /// Delete `key`'s entry. Returns whether there was one.
    pub fn delete(&self, key: &EntryKey) -> Result<bool, Error> {
        self.delete_entry(&key.entry, &key.profile)
    }

    /// The record in the entry named `entry`, whoever minted it (migration and orphans).
    /// `profile` names it in messages.
    pub fn load_entry(&self, entry: &str, profile: &str) -> Result<Option<Record>, Error> {
        let bytes = match self.call(entry, |e| e.get_secret().map(Zeroizing::new)) {
            Ok(bytes) => bytes,
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(err) => return Err(self.classify(profile, err)),
        };
        Record::decode(&bytes)
            .map(Some)
            .map_err(|reason| Error::Unreadable { profile: profile.to_string(), reason })
    }

    /// Write `record` to the entry named `entry` as it is.
    pub fn save_entry(&self, entry: &str, profile: &str, record: &Record) -> Result<(), Error> {
        let bytes = record.encode();
        if let Some(limit) = self.kind.size_limit()
            && bytes.len() > limit
        {
            return Err(Error::RecordTooLarge { store: self.kind.description(), size: bytes.len(), limit });
        }
        let size = bytes.len();
        let started = std::time::Instant::now();
        // No copy may match the record once it changes: restamped first, so that a crash before
        // the new copy is written leaves none of what this write replaces. A Secret Service that
        // does not answer would not take the write either; any other failure only costs the
        // copies (deleted if it can be done, and no new one).
        #[cfg(target_os = "linux")]
        let expected = if self.seals(entry) {
            let name = entry.to_string();
            match self.on_copy_bus(self.timeout, move |bus| bus.invalidate(&name)) {
                CopyOutcome::Done(seen) => Some(seen),
                CopyOutcome::NotAnswering => return Err(self.classify(profile, timed_out(self.timeout))),
                CopyOutcome::Failed => {
                    self.forget_copies(entry);
                    None
                }
            }
        } else {
            None
        };
        self.call(entry, move |e| e.set_secret(&bytes)).map_err(|err| match err {
            keyring_core::Error::TooLong(_, limit) => {
                Error::RecordTooLarge { store: self.kind.description(), size, limit: limit as usize }
            }
            other => self.classify(profile, other),
        })?;
        // In what is left of one store timeout: the copy is an optimisation, the write is done.
        #[cfg(target_os = "linux")]
        if let Some(expected) = expected {
            self.reseal_within(entry, record, &expected, self.timeout.saturating_sub(started.elapsed()));
        }
        let _ = started;
        Ok(())
    }

    /// Whether `entry` has a sealed copy ([`sealed_copy`]) in this store: a profile's entry
    /// (not a `#previous` or `#probe` one) on the Secret Service.
    pub fn seals(&self, entry: &str) -> bool {
        self.kind == StoreKind::SecretService && !entry.contains('#')
    }

    /// Whether this process can seal copies: it has, or can create, the sealing key.
    pub fn can_seal(&self) -> bool {
        sealing_key_or_new().is_some()
    }

    /// What `entry`'s record item shows of itself on the Secret Service (its stamp and
    /// modification time), if it is there once and unlocked and the service answers.
    pub fn seen(&self, entry: &str) -> Option<sealed_copy::Seen> {
        #[cfg(target_os = "linux")]
        if self.seals(entry) {
            let name = entry.to_string();
            if let CopyOutcome::Done(seen) = self.on_copy_bus(self.timeout, move |bus| bus.record_seen(&name))
            {
                return seen;
            }
        }
        let _ = entry;
        None
    }

    /// Write `entry`'s sealed copy of `record`, read under the profile's lock after the record
    /// item was `seen` as it was ([`sealed_copy_bus::Bus::write`]), within the store timeout.
    pub fn reseal(&self, entry: &str, record: &Record, seen: &sealed_copy::Seen) {
        #[cfg(target_os = "linux")]
        self.reseal_within(entry, record, seen, self.timeout);
        #[cfg(not(target_os = "linux"))]
        let _ = (entry, record, seen);
    }

    /// [`SecretStore::reseal`] within `budget`. Best effort: the record is authoritative, and a
    /// copy left behind no longer matches it. Creates the sealing key if `@u` has none; without
    /// one, the copies go.
    #[cfg(target_os = "linux")]
    fn reseal_within(
        &self,
        entry: &str,
        record: &Record,
        expected: &sealed_copy::Seen,
        budget: std::time::Duration,
    ) {
        if !self.seals(entry) || budget.is_zero() {
            return;
        }
        let name = entry.to_string();
        let profile = name.split(['~', '#']).next().unwrap_or_default();
        let label = format!("{SEALED_LABEL_PREFIX}{profile}");
        match (sealing_key_or_new(), keyutils::boot_tag()) {
            (Some(key), Some(boot)) => {
                let (record, expected) = (record.clone(), expected.clone());
                self.on_copy_bus(budget, move |bus| {
                    bus.write(&key, &boot, &name, &record, &expected, &label).map(|_| ())
                })
            }
            _ => self.on_copy_bus(budget, move |bus| bus.delete(&name)),
        };
    }

    /// Delete `entry`'s sealed copies, if this store keeps copies. Best effort; returns false
    /// only when the Secret Service did not answer.
    pub fn forget_copies(&self, entry: &str) -> bool {
        #[cfg(target_os = "linux")]
        if self.seals(entry) {
            let name = entry.to_string();
            return !matches!(
                self.on_copy_bus(self.timeout, move |bus| bus.delete(&name)),
                CopyOutcome::NotAnswering
            );
        }
        let _ = entry;
        true
    }

    /// Run `op` on a `plain`-session connection of the sealed copy's own, within `budget`; the
    /// connection stops changing anything a little before the budget runs out, so nothing it
    /// does lands after the caller stopped waiting.
    #[cfg(target_os = "linux")]
    fn on_copy_bus<T: Send + 'static>(
        &self,
        budget: std::time::Duration,
        op: impl FnOnce(&sealed_copy_bus::Bus) -> Result<T, sealed_copy_bus::CopyError> + Send + 'static,
    ) -> CopyOutcome<T> {
        let deadline = std::time::Instant::now() + budget.saturating_sub(budget / 10);
        match run_bounded(budget, move || sealed_copy_bus::Bus::connect(deadline).and_then(|bus| op(&bus))) {
            None => CopyOutcome::NotAnswering,
            Some(Ok(done)) => CopyOutcome::Done(done),
            Some(Err(err)) if err.not_answering() => CopyOutcome::NotAnswering,
            Some(Err(_)) => CopyOutcome::Failed,
        }
    }

    /// The names of every vouch entry in the store (orphan detection). Entries whose name
    /// cannot be read are left out.
    pub fn entries(&self) -> Result<Vec<String>, Error> {
        let backend = self.backend.clone();
        let found = self
            .bounded(move || backend.search(&HashMap::from([("service", SERVICE)])))
            .map_err(|err| self.classify("(all)", err))?;
        let mut names: Vec<String> = found
            .iter()
            .filter_map(|entry| {
                entry.get_specifiers().map(|(_, user)| user).or_else(|| {
                    entry
                        .get_attributes()
                        .ok()
                        .and_then(|mut a| a.remove("username").or_else(|| a.remove("user")))
                })
            })
            .filter(|name| name != PROBE)
            .collect();
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    /// Fail now if a write would fail later: a Secret Service or Keychain collection can be
    /// locked while searching it still works, so "no entry" proves nothing. Writes and deletes
    /// a probe item (`#probe`, holding no secret); other stores have no lock and skip this.
    pub fn check_writable(&self) -> Result<(), Error> {
        if !matches!(self.kind, StoreKind::SecretService | StoreKind::Keychain) {
            return Ok(());
        }
        self.probe()
    }

    /// Write and delete the probe item (`#probe`, holding no secret), whatever the store:
    /// `vouch doctor`'s proof that writes work. On a Secret Service, call it only once the
    /// collection is known to be unlocked: a write to a locked one asks the user to unlock it.
    pub fn probe(&self) -> Result<(), Error> {
        self.call(PROBE, |entry| entry.set_secret(b"probe")).map_err(|err| self.classify(PROBE, err))?;
        self.delete_entry(PROBE, PROBE).map(|_| ())
    }

    /// Delete the entry named `entry`. Returns whether vouch's item was there. When several
    /// items match it ([`SecretStore::duplicates`]), only vouch's are deleted: the others
    /// belong to another program.
    pub fn delete_entry(&self, entry: &str, profile: &str) -> Result<bool, Error> {
        // The copies go first (a copy left behind matches no record, but a store that does not
        // answer will not delete the record either).
        if !self.forget_copies(entry) {
            return Err(self.classify(profile, timed_out(self.timeout)));
        }
        match self.call(entry, |e| e.delete_credential()) {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(keyring_core::Error::Ambiguous(entries)) => {
                let mut deleted = false;
                for duplicate in self.inspect(entries) {
                    if duplicate.vouch {
                        let entry = duplicate.entry;
                        self.bounded(move || entry.delete_credential())
                            .map_err(|err| self.classify(profile, err))?;
                        deleted = true;
                    }
                }
                Ok(deleted)
            }
            Err(err) => Err(self.classify(profile, err)),
        }
    }

    /// The items that match `key`'s entry when there are several (each read, and judged
    /// vouch's or not); empty when there is one or none.
    pub fn duplicates(&self, key: &EntryKey) -> Result<Vec<Duplicate>, Error> {
        match self.call(&key.entry, |e| e.get_secret().map(|_| ())) {
            Err(keyring_core::Error::Ambiguous(entries)) => Ok(self.inspect(entries)),
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(Vec::new()),
            Err(err) => Err(self.classify(&key.profile, err)),
        }
    }

    /// Read each of several matching items, and tell vouch's from the others. An item that
    /// cannot be read is judged by its label alone.
    fn inspect(&self, entries: Vec<Entry>) -> Vec<Duplicate> {
        entries
            .into_iter()
            .map(|entry| {
                let entry = Arc::new(entry);
                let reader = entry.clone();
                let secret = self.bounded(move || reader.get_secret().map(Zeroizing::new));
                let record = secret.ok().and_then(|bytes| Record::decode(&bytes).ok());
                let labeller = entry.clone();
                let labelled = run_bounded(self.timeout, move || label_of(&labeller))
                    .flatten()
                    .is_some_and(|label| label.starts_with(LABEL_PREFIX));
                Duplicate { vouch: record.is_some() || labelled, record, entry }
            })
            .collect()
    }

    /// Run `op` on this profile's entry, within the time bound.
    fn call<T: Send + 'static>(
        &self,
        entry: &str,
        op: impl FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> keyring_core::Result<T> {
        let backend = self.backend.clone();
        let user = entry.to_string();
        let labelled = self.labelled;
        self.bounded(move || {
            let profile = user.split(['~', '#']).next().unwrap_or_default();
            let label = format!("{LABEL_PREFIX}{profile}");
            let mods: HashMap<&str, &str> =
                if labelled { HashMap::from([("label", label.as_str())]) } else { HashMap::new() };
            let entry = backend.build(SERVICE, &user, (!mods.is_empty()).then_some(&mods))?;
            op(&entry)
        })
    }

    /// Run `op` within the store timeout: on a helper thread that is given up after the
    /// timeout, or on this thread for a store whose calls cannot hang.
    fn bounded<T: Send + 'static>(
        &self,
        op: impl FnOnce() -> keyring_core::Result<T> + Send + 'static,
    ) -> keyring_core::Result<T> {
        if !self.kind.can_hang() {
            return op();
        }
        run_bounded(self.timeout, op).unwrap_or(Err(timed_out(self.timeout)))
    }

    /// Turn a keyring-core error into vouch's classification. The only place that does.
    fn classify(&self, profile: &str, err: keyring_core::Error) -> Error {
        classify(self.kind, profile, err)
    }
}

/// The label of a store item, in stores that have labels (the Secret Service).
#[cfg(target_os = "linux")]
fn label_of(entry: &Entry) -> Option<String> {
    entry.as_any().downcast_ref::<dbus_secret_service_keyring_store::cred::Wrapper>()?.get_label().ok()
}

#[cfg(not(target_os = "linux"))]
fn label_of(_: &Entry) -> Option<String> {
    None
}

/// How a call on the sealed copy's connection ended.
#[cfg(target_os = "linux")]
enum CopyOutcome<T> {
    Done(T),
    /// The Secret Service answered, but not with success (best effort: carry on).
    Failed,
    /// It did not answer in time.
    NotAnswering,
}

/// The sealing key of sealed copies, created if there is none.
#[cfg(target_os = "linux")]
fn sealing_key_or_new() -> Option<sealed_copy::SealingKey> {
    keyutils::sealing_key_or_new()
}

#[cfg(not(target_os = "linux"))]
fn sealing_key_or_new() -> Option<sealed_copy::SealingKey> {
    None
}

/// Run `op` on a helper thread, returning `None` if it has not finished within `timeout`.
/// An abandoned call keeps its thread until the process exits, which is soon: vouch is a
/// short-lived CLI and a timeout ends the command.
pub(crate) fn run_bounded<T: Send + 'static>(
    timeout: Duration,
    op: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    let spawned = std::thread::Builder::new().name("vouch-store".into()).spawn(move || {
        let _ = tx.send(op());
    });
    match spawned {
        Ok(_) => rx.recv_timeout(timeout).ok(),
        Err(_) => None,
    }
}

/// Whether a backend error says the store did not answer in time (a hung daemon), which is
/// "locked or waiting" (exit 6), not "no store" (exit 7).
#[cfg(target_os = "linux")]
pub(crate) fn is_no_reply(err: &(dyn std::error::Error + 'static)) -> bool {
    match err.downcast_ref::<dbus_secret_service::Error>() {
        Some(dbus_secret_service::Error::Dbus(e)) => matches!(
            e.name(),
            Some(
                "org.freedesktop.DBus.Error.NoReply"
                    | "org.freedesktop.DBus.Error.Timeout"
                    | "org.freedesktop.DBus.Error.TimedOut"
            )
        ),
        _ => false,
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn is_no_reply(_: &(dyn std::error::Error + 'static)) -> bool {
    false
}

/// The marker error for a call that ran out of time.
#[derive(Debug)]
struct TimedOut(Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it did not answer within {} s", self.0.as_secs_f32())
    }
}

impl std::error::Error for TimedOut {}

fn timed_out(timeout: Duration) -> keyring_core::Error {
    keyring_core::Error::NoStorageAccess(Box::new(TimedOut(timeout)))
}

/// Classify a keyring-core error for a store of `kind`. Messages are built from the error's
/// category, never from payloads that could carry secret bytes.
pub(crate) fn classify(kind: StoreKind, profile: &str, err: keyring_core::Error) -> Error {
    use keyring_core::Error as K;
    let store = kind.description();
    match err {
        K::NoStorageAccess(source) => {
            if let Some(t) = source.downcast_ref::<TimedOut>() {
                return Error::StoreLocked { store, reason: t.to_string() };
            }
            match kind {
                // keyutils answers EACCES when the kernel refuses the keyring: that is not a
                // locked store that the user can unlock, it is a store that cannot be used.
                StoreKind::Keyutils => Error::NoSecureStore {
                    reason: format!("the {store} refused access (EACCES)"),
                    remedy: StoreKind::Keyutils.remedy().to_string(),
                },
                _ => Error::StoreLocked { store, reason: "access needs unlocking".to_string() },
            }
        }
        K::PlatformFailure(source) if is_no_reply(source.as_ref()) => {
            Error::StoreLocked { store, reason: "it did not answer".to_string() }
        }
        K::PlatformFailure(_) | K::NoDefaultStore => {
            Error::NoSecureStore { reason: format!("the {store} failed"), remedy: kind.remedy().to_string() }
        }
        K::NoEntry => Error::SignedOut { profile: profile.to_string() },
        K::BadEncoding(_) => {
            Error::Unreadable { profile: profile.to_string(), reason: "it is not valid UTF-8".to_string() }
        }
        K::BadDataFormat(..) | K::BadStoreFormat(_) => Error::Unreadable {
            profile: profile.to_string(),
            reason: "the store says its data is malformed".to_string(),
        },
        K::Ambiguous(entries) => Error::Unreadable {
            profile: profile.to_string(),
            reason: format!("{} store items match it where one is expected", entries.len()),
        },
        K::Invalid(attr, _) => Error::internal(format!("the {store} rejected the value of '{attr}'")),
        K::NotSupportedByStore(_) => {
            Error::internal(format!("the {store} does not support a needed operation"))
        }
        _ => Error::internal(format!("the {store} failed in an unexpected way")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, RefreshToken};
    use keyring_core::api::CredentialStoreApi;
    use keyring_core::mock;

    fn mock_store() -> (Arc<mock::Store>, SecretStore) {
        let backend = mock::Store::new().unwrap();
        let store = SecretStore::new(StoreKind::Mock, backend.clone(), DEFAULT_TIMEOUT);
        (backend, store)
    }

    fn inject(backend: &Arc<mock::Store>, profile: &str, err: keyring_core::Error) {
        let entry = backend.build(SERVICE, profile, None).unwrap();
        let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    fn key() -> EntryKey {
        EntryKey {
            profile: "p".into(),
            entry: "p".into(),
            issuer: "https://id.example".into(),
            client_id: "cli".into(),
        }
    }

    fn record(generation: u64) -> Record {
        Record {
            generation,
            issuer: None,
            client_id: None,
            access_token: AccessToken::new("at-canary"),
            token_type: "Bearer".into(),
            expires_at: None,
            refresh_token: Some(RefreshToken::new("rt-canary")),
            refresh_expires_at: None,
            scope: None,
            account: None,
            session: None,
            client_secret: None,
            reauth_required: false,
            rotation: None,
            refresh_spent: None,
            dpop_key: None,
        }
    }

    fn boxed(msg: &str) -> keyring_core::error::PlatformError {
        Box::new(std::io::Error::other(msg.to_string()))
    }

    #[test]
    fn save_load_delete_round_trip() {
        let (_, store) = mock_store();
        assert!(store.load(&key()).unwrap().is_none());
        store.save(&key(), &record(1)).unwrap();
        let back = store.load(&key()).unwrap().unwrap();
        assert_eq!(back.generation, 1);
        assert_eq!(back.access_token.expose_secret(), "at-canary");
        assert!(store.delete(&key()).unwrap());
        assert!(!store.delete(&key()).unwrap());
        assert!(store.load(&key()).unwrap().is_none());
    }

    #[test]
    fn records_are_stamped_with_their_owner_and_refused_to_another() {
        let (_, store) = mock_store();
        store.save(&key(), &record(1)).unwrap();
        let back = store.load(&key()).unwrap().unwrap();
        assert_eq!(back.issuer.as_deref(), Some("https://id.example"));
        assert_eq!(back.client_id.as_deref(), Some("cli"));
        for other in [
            EntryKey { issuer: "https://other.example".into(), ..key() },
            EntryKey { client_id: "other".into(), ..key() },
        ] {
            let err = store.load(&other).unwrap_err();
            assert!(matches!(err, Error::ForeignCredential { .. }), "{err:?}");
            assert_eq!(err.exit_code(), 2);
            assert!(!err.to_string().contains("canary"), "{err}");
        }
        assert_eq!(store.entries().unwrap(), vec!["p".to_string()]);
    }

    #[test]
    fn every_keyring_error_is_classified() {
        type Case = (fn() -> keyring_core::Error, StoreKind, u8);
        let cases: Vec<Case> = vec![
            (|| keyring_core::Error::NoStorageAccess(boxed("Prompt")), StoreKind::SecretService, 6),
            (|| keyring_core::Error::NoStorageAccess(boxed("EACCES")), StoreKind::Keyutils, 7),
            (|| keyring_core::Error::PlatformFailure(boxed("no bus")), StoreKind::SecretService, 7),
            (|| keyring_core::Error::BadEncoding(b"secret-bytes".to_vec()), StoreKind::Mock, 8),
            (|| keyring_core::Error::BadDataFormat(b"secret-bytes".to_vec(), boxed("x")), StoreKind::Mock, 8),
            (|| keyring_core::Error::Ambiguous(vec![]), StoreKind::SecretService, 8),
            (|| keyring_core::Error::Invalid("x".into(), "y".into()), StoreKind::Mock, 1),
        ];
        for (make, kind, code) in cases {
            let (backend, store) = mock_store();
            let store = SecretStore { kind, ..store };
            inject(&backend, "p", make());
            let err = store.load(&key()).unwrap_err();
            assert_eq!(err.exit_code(), code, "{err}");
            assert!(!err.to_string().contains("secret-bytes"), "{err}");
            assert!(!format!("{err:?}").contains("secret-bytes"), "{err:?}");
        }
    }

    #[test]
    fn write_errors_are_classified_and_leave_the_old_record() {
        let (backend, store) = mock_store();
        store.save(&key(), &record(1)).unwrap();
        inject(&backend, "p", keyring_core::Error::NoStorageAccess(boxed("Locked")));
        let store6 = SecretStore { kind: StoreKind::SecretService, ..store.clone() };
        assert_eq!(store6.save(&key(), &record(2)).unwrap_err().exit_code(), 6);
        assert_eq!(store.load(&key()).unwrap().unwrap().generation, 1);
    }

    #[test]
    fn corrupt_bytes_are_unreadable_not_signed_out() {
        let (backend, store) = mock_store();
        let entry = backend.build(SERVICE, "p", None).unwrap();
        entry.set_secret(b"not json").unwrap();
        assert_eq!(store.load(&key()).unwrap_err().exit_code(), 8);
        // and logout can still remove it
        assert!(store.delete(&key()).unwrap());
    }

    #[test]
    fn oversized_records_are_refused_not_truncated() {
        let (backend, store) = mock_store();
        let store = SecretStore { kind: StoreKind::Windows, ..store };
        let mut big = record(1);
        big.access_token = AccessToken::new("x".repeat(3000));
        let err = store.save(&key(), &big).unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge { limit: 2560, .. }), "{err:?}");
        let entry = backend.build(SERVICE, "p", None).unwrap();
        assert!(matches!(entry.get_secret(), Err(keyring_core::Error::NoEntry)));
    }

    #[test]
    fn only_stores_that_can_hang_pay_for_a_helper_thread() {
        let (_, store) = mock_store();
        let here = std::thread::current().id();
        let on = |kind| SecretStore { kind, ..store.clone() }.bounded(|| Ok(std::thread::current().id()));
        assert_eq!(on(StoreKind::Keyutils).unwrap(), here, "a keyutils call needs no thread");
        for kind in [StoreKind::SecretService, StoreKind::Keychain, StoreKind::Windows, StoreKind::Mock] {
            assert_ne!(on(kind).unwrap(), here, "{kind:?} calls must stay time-bounded");
        }
    }

    #[test]
    fn a_hung_call_is_abandoned_and_counts_as_locked() {
        let (_, store) = mock_store();
        let store = SecretStore { timeout: Duration::from_millis(50), ..store };
        let started = std::time::Instant::now();
        let result = store.bounded(|| {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        });
        let err = classify(StoreKind::SecretService, "p", result.unwrap_err());
        assert_eq!(err.exit_code(), 6);
        assert!(err.to_string().contains("did not answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
}
