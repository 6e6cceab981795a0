//! The sealed copy: what `vouch token` needs of a profile's record, in a Secret Service item of
//! its own, sealed by vouch with a key that never crosses the bus.
//!
//! Reading the record itself needs the Secret Service's encrypted session, whose
//! Diffie-Hellman costs gnome-keyring about 7 ms of CPU per `OpenSession`: more than
//! everything else a `vouch token` does (docs/secret-service-session.md). The record must
//! travel encrypted because it holds the refresh token. So every record write on the Secret
//! Service also writes this copy:
//!
//! - **what it holds**: the record without its long-lived secrets (no refresh token, no client
//!   secret), only for records that can be handed out as they are: an access token, not dead,
//!   not bound to a DPoP key, stamped with its issuer and client. Anything else has no copy.
//! - **how it is sealed**: XChaCha20-Poly1305 under a 256-bit **sealing key** that lives in the
//!   user's kernel keyring (`@u`, [`crate::store::keyutils`]), with a fresh random 192-bit
//!   nonce per seal and the entry name as associated data, so a copy moved to another
//!   profile's entry does not open. The item is read over a `plain` session: the bus, and any
//!   capture of it, carries only ciphertext under a key it never saw, which is more than the
//!   encrypted session gives (an unauthenticated 1024-bit exchange and unauthenticated CBC).
//! - **where it lives**: the record's collection, service [`SERVICE`], user the entry name. A
//!   locked collection hides it like the record, and a logout deletes it with the record; a copy
//!   that could not be deleted matches no record and is never served.
//! - **what is authoritative**: the record. A copy is served only while the record carries the
//!   copy's [`STAMP`] and modification time. The copy is disposable: a missing key (after a
//!   reboot, or in a process that cannot reach `@u`), a missing, foreign, tampered or expiring
//!   copy all fall back to reading the record over the encrypted session, which then writes a
//!   fresh copy under the profile's lock (unless the copy was sealed under another process's
//!   live key, see [`Lookup::OtherKey`]).
//!
//! This module owns the format and the sealing; it never touches a store.

use crate::record::Record;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

/// The service the copies are filed under in the Secret Service (the record's is
/// [`crate::store::SERVICE`], so no search for records ever finds a copy).
pub const SERVICE: &str = "vouch-sealed";

/// What a sealed copy starts with: the format, so a later one can be told apart.
const PREFIX: &[u8] = b"vouch-sealed-1:";

/// Associated data: binds a copy to the entry it was sealed for.
const CONTEXT: &[u8] = b"vouch sealed copy\0";

/// The attribute that ties a record to its copy: each time a copy is written, the record is
/// stamped with a new random value of it, which the copy holds sealed. A copy is served only
/// while a search for the record *with that value* finds it, so a record rewritten by anything
/// that does not write the copy (an older vouch, `secret-tool`, Seahorse) is no longer matched
/// by the copy, and the record is read instead.
pub const STAMP: &str = "vouch-seal";

/// A new stamp value: 128 random bits, hex; `None` if the CSPRNG fails.
pub fn new_stamp() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The length of a stamp value.
const STAMP_LEN: usize = 32;

/// The 256-bit key copies are sealed with. Wiped when dropped; never printed.
pub struct SealingKey(Zeroizing<[u8; 32]>);

impl SealingKey {
    /// A new key from the OS CSPRNG; `None` if the CSPRNG fails.
    pub fn generate() -> Option<SealingKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).ok()?;
        Some(SealingKey(key))
    }

    /// The key kept as `bytes`; `None` unless it is exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<SealingKey> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(SealingKey(key))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// Whether `record` may have a copy: it can be handed out as it is stored.
pub fn eligible(record: &Record) -> bool {
    record.has_access_token()
        && !record.reauth_required
        && record.dpop_key.is_none()
        && record.issuer.is_some()
        && record.client_id.is_some()
}

/// What a read of a profile's sealed copy found.
#[derive(Debug)]
pub enum Lookup {
    /// A copy that opened, of the record as it is now.
    Found(Box<Record>),
    /// No usable copy under this process's key (none, changed, stale, or no key yet): reading
    /// the record should write one, if the record is still as it was [`Seen`] then (`None`:
    /// the record was not there once and unlocked).
    Absent(Option<Seen>),
    /// A copy sealed under another key than this process's (a process with another user
    /// keyring shares this Secret Service): leave it, the other process would only rewrite it.
    OtherKey,
    /// This store keeps no copies, or this process cannot use them.
    NotKept,
}

/// What a record item showed of itself, without its secret: its stamp attribute (if any) and
/// its modification time. A copy is written for a record read after this was seen only if the
/// record still shows the same, so that nothing rewritten in between gets a copy of what was
/// read before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub stamp: Option<String>,
    pub modified: Option<u64>,
}

/// A copy, opened.
pub struct Opened {
    /// The stamp the record must carry.
    pub stamp: String,
    /// The record's modification time (unix seconds) when the copy was written.
    pub modified: u64,
    pub record: Record,
}

/// What opening a copy gave.
pub enum Opening {
    Opened(Box<Opened>),
    /// Sealed under another key, in the boot this tag names ([`boot_tag`] of the sealer).
    OtherKey {
        boot: String,
    },
    /// Not a copy this key opens for this entry (changed, moved, another format).
    Unusable,
}

/// A non-secret name of `key`, so that a copy sealed under another key can be told from a
/// damaged one: the first 64 bits of SHA-256 over a fixed label and the key, in hex.
fn key_id(key: &SealingKey) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new().chain_update(b"vouch sealing key id\0").chain_update(key.expose()).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A non-secret tag of the boot `boot_id` (the kernel's `/proc/sys/kernel/random/boot_id`):
/// sealing keys live until reboot, so a copy sealed under another key in another boot was
/// sealed under a key that is gone, while one from this boot was sealed by a process with
/// another user keyring.
pub fn boot_tag(boot_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest =
        Sha256::new().chain_update(b"vouch boot\0").chain_update(boot_id.trim().as_bytes()).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The copy of `record` for `entry`, whose record item carries `stamp` and was last modified
/// at `modified`, sealed with `key` in the boot tagged `boot`: `vouch-sealed-1:KEYID:BOOT:` and
/// base64url of the nonce and the ciphertext. `None` when the record may not have a copy
/// ([`eligible`]), the stamp is not one of [`new_stamp`]'s, or the CSPRNG fails.
pub fn seal(
    key: &SealingKey,
    boot: &str,
    entry: &str,
    stamp: &str,
    modified: u64,
    record: &Record,
) -> Option<Zeroizing<Vec<u8>>> {
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !eligible(record) || !hex(stamp, STAMP_LEN) || !hex(boot, 16) {
        return None;
    }
    let copy = Record { refresh_token: None, client_secret: None, ..record.clone() };
    let mut plain = Zeroizing::new(format!("{stamp}{modified:016x}").into_bytes());
    plain.extend_from_slice(&copy.encode());
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).ok()?;
    let head = format!("{}{}:{boot}:", String::from_utf8_lossy(PREFIX), key_id(key));
    let aad = associated_data(&head, entry);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let sealed = cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad }).ok()?;
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    let mut out = Zeroizing::new(head.into_bytes());
    out.extend_from_slice(URL_SAFE_NO_PAD.encode(&body).as_bytes());
    Some(out)
}

/// Open the copy `sealed` of `entry` with `key`. The caller still checks that the record
/// carries the stamp and modification time, whose it is, and whether it lasts long enough.
pub fn open(key: &SealingKey, entry: &str, sealed: &[u8]) -> Opening {
    // The head: PREFIX, 16 hex digits of key id, ':', 16 hex digits of boot tag, ':'.
    let Some(rest) = sealed.strip_prefix(PREFIX) else { return Opening::Unusable };
    let field = |at: usize| rest.get(at..at + 16).filter(|f| f.iter().all(u8::is_ascii_hexdigit));
    let (Some(id), Some(boot)) = (field(0), field(17)) else { return Opening::Unusable };
    if rest.get(16) != Some(&b':') || rest.get(33) != Some(&b':') {
        return Opening::Unusable;
    }
    if id != key_id(key).as_bytes() {
        return Opening::OtherKey { boot: String::from_utf8_lossy(boot).into_owned() };
    }
    let head = &sealed[..PREFIX.len() + 34];
    match open_body(key, entry, head, &rest[34..]) {
        Some(opened) => Opening::Opened(Box::new(opened)),
        None => Opening::Unusable,
    }
}

fn open_body(key: &SealingKey, entry: &str, head: &[u8], body: &[u8]) -> Option<Opened> {
    let body = Zeroizing::new(URL_SAFE_NO_PAD.decode(body).ok()?);
    if body.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = body.split_at(24);
    let aad = associated_data(std::str::from_utf8(head).ok()?, entry);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let plain = Zeroizing::new(
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).ok()?,
    );
    let header = STAMP_LEN + 16;
    if plain.len() < header || !plain[..header].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let stamp = std::str::from_utf8(&plain[..STAMP_LEN]).ok()?.to_string();
    let modified = u64::from_str_radix(std::str::from_utf8(&plain[STAMP_LEN..header]).ok()?, 16).ok()?;
    let record = Record::decode(&plain[header..]).ok()?;
    (eligible(&record) && record.refresh_token.is_none() && record.client_secret.is_none())
        .then_some(Opened { stamp, modified, record })
}

/// Associated data: the copy's head (format and key id) and the entry it was sealed for.
fn associated_data(head: &str, entry: &str) -> Vec<u8> {
    let mut aad = head.as_bytes().to_vec();
    aad.extend_from_slice(CONTEXT);
    aad.extend_from_slice(entry.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::{AccessToken, ClientSecret, RefreshToken};

    fn record() -> Record {
        Record {
            generation: 4,
            issuer: Some("https://id.example".to_string()),
            client_id: Some("cli".to_string()),
            access_token: AccessToken::new("at-secret-value"),
            token_type: "Bearer".to_string(),
            expires_at: Some(2_000_000_000),
            refresh_token: Some(RefreshToken::new("rt-secret-value")),
            refresh_expires_at: None,
            scope: Some("openid".to_string()),
            account: Some("alice".to_string()),
            session: None,
            client_secret: Some(ClientSecret::new("cs-secret-value")),
            reauth_required: false,
            rotation: None,
            refresh_spent: None,
            dpop_key: None,
        }
    }

    const BOOT: &str = "0123456789abcdef";

    fn key() -> SealingKey {
        SealingKey::generate().unwrap()
    }

    fn opened(opening: Opening) -> Option<Opened> {
        match opening {
            Opening::Opened(opened) => Some(*opened),
            _ => None,
        }
    }

    #[test]
    fn a_copy_opens_with_its_key_and_entry_and_holds_no_long_lived_secret() {
        let key = key();
        let stamp = new_stamp().unwrap();
        let sealed = seal(&key, BOOT, "work~abc", &stamp, 1_764_000_000, &record()).unwrap();
        let text = String::from_utf8(sealed.to_vec()).unwrap();
        assert!(text.starts_with(&format!("vouch-sealed-1:{}:{BOOT}:", key_id(&key))), "{text}");
        for secret in ["at-secret-value", "rt-secret-value", "cs-secret-value", "alice", "id.example", &stamp]
        {
            assert!(!text.contains(secret), "the sealed copy shows {secret}");
        }
        let opened = opened(open(&key, "work~abc", &sealed)).unwrap();
        assert_eq!((opened.stamp.as_str(), opened.modified), (stamp.as_str(), 1_764_000_000));
        let record = opened.record;
        assert_eq!(record.access_token.expose_secret(), "at-secret-value");
        assert_eq!((record.generation, record.expires_at), (4, Some(2_000_000_000)));
        assert_eq!(record.account.as_deref(), Some("alice"));
        assert!(record.refresh_token.is_none() && record.client_secret.is_none());
    }

    #[test]
    fn another_entry_a_changed_byte_or_a_changed_head_does_not_open() {
        let key = key();
        let sealed = seal(&key, BOOT, "work~abc", &new_stamp().unwrap(), 1, &record()).unwrap();
        assert!(matches!(open(&key, "home~abc", &sealed), Opening::Unusable));
        for at in [PREFIX.len() + 18, PREFIX.len() + 40, sealed.len() - 1] {
            let mut changed = sealed.to_vec();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            assert!(
                matches!(open(&key, "work~abc", &changed), Opening::Unusable),
                "a change at byte {at} was accepted"
            );
        }
        // The format version is authenticated too.
        let mut other_version = sealed.to_vec();
        other_version[PREFIX.len() - 2] = b'2';
        assert!(matches!(open(&key, "work~abc", &other_version), Opening::Unusable));
        for short in [
            &b"vouch-sealed-1:"[..],
            b"vouch-sealed-1:0123456789abcdef:",
            b"vouch-sealed-1:0123456789abcdef:0123456789abcdef",
        ] {
            assert!(matches!(open(&key, "work~abc", short), Opening::Unusable));
        }
        assert!(
            matches!(open(&key, "work~abc", &record().encode()), Opening::Unusable),
            "a bare record is not a copy"
        );
    }

    #[test]
    fn a_copy_under_another_key_is_told_apart() {
        let sealed = seal(&key(), BOOT, "work~abc", &new_stamp().unwrap(), 1, &record()).unwrap();
        assert!(matches!(open(&key(), "work~abc", &sealed), Opening::OtherKey { boot } if boot == BOOT));
        assert_eq!(boot_tag("abc\n"), boot_tag("abc"));
        assert_ne!(boot_tag("abc"), boot_tag("abd"));
        assert_eq!(boot_tag("x").len(), 16);
    }

    #[test]
    fn records_that_cannot_be_handed_out_as_stored_have_no_copy() {
        let key = key();
        let dead = Record { reauth_required: true, ..record() };
        let empty = Record { access_token: AccessToken::new(""), ..record() };
        let unstamped = Record { issuer: None, ..record() };
        let bound = Record { dpop_key: Some(crate::secret::DpopKey::new("k")), ..record() };
        for record in [dead, empty, unstamped, bound] {
            assert!(seal(&key, BOOT, "work~abc", &new_stamp().unwrap(), 1, &record).is_none());
        }
    }

    #[test]
    fn two_seals_of_one_record_differ_and_stamps_are_checked() {
        let key = key();
        let stamp = new_stamp().unwrap();
        assert_ne!(
            *seal(&key, BOOT, "w", &stamp, 1, &record()).unwrap(),
            *seal(&key, BOOT, "w", &stamp, 1, &record()).unwrap()
        );
        assert_ne!(stamp, new_stamp().unwrap());
        assert!(seal(&key, BOOT, "w", "short", 1, &record()).is_none());
        assert!(seal(&key, BOOT, "w", &"z".repeat(32), 1, &record()).is_none());
        assert!(seal(&key, "not-a-boot-tag!!", "w", &stamp, 1, &record()).is_none());
    }

    #[test]
    fn the_key_is_32_bytes_and_never_printed() {
        assert!(SealingKey::from_bytes(&[1; 31]).is_none() && SealingKey::from_bytes(&[1; 33]).is_none());
        let key = SealingKey::from_bytes(&[7; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
        assert!(!key_id(&key).contains("0707"));
    }
}
