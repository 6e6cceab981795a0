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
//! - **where it lives**: the same collection as the record, service [`SERVICE`], user the
//!   entry name. A locked collection hides it like the record ([`SecretStore`] reads nothing
//!   from a locked item), and a logout from any environment deletes it with the record.
//! - **what is authoritative**: the record. The copy is disposable: a missing key (after a
//!   reboot, or in a process that cannot reach `@u`), a missing, foreign, tampered or expiring
//!   copy all fall back to reading the record over the encrypted session, which then writes a
//!   fresh copy under the profile's lock.
//!
//! This module owns the format and the sealing; it never touches a store.
//!
//! [`SecretStore`]: crate::store::SecretStore

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

/// The copy of `record` for `entry`, whose record carries `stamp`, sealed with `key`; `None`
/// when the record may not have one ([`eligible`]), the stamp is not one of [`new_stamp`]'s,
/// or the CSPRNG fails.
pub fn seal(key: &SealingKey, entry: &str, stamp: &str, record: &Record) -> Option<Zeroizing<Vec<u8>>> {
    if !eligible(record) || stamp.len() != STAMP_LEN {
        return None;
    }
    let copy = Record { refresh_token: None, client_secret: None, ..record.clone() };
    let mut plain = Zeroizing::new(stamp.as_bytes().to_vec());
    plain.extend_from_slice(&copy.encode());
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).ok()?;
    let aad = associated_data(entry);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let sealed = cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: &plain, aad: &aad }).ok()?;
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    let mut out = Zeroizing::new(PREFIX.to_vec());
    out.extend_from_slice(URL_SAFE_NO_PAD.encode(&body).as_bytes());
    Some(out)
}

/// The stamp and the record sealed in `sealed` for `entry`, if it opens with `key` and is
/// still [`eligible`]; `None` for anything else (another key, another entry, a changed byte,
/// another format). The caller still checks that the record carries the stamp, whose it is,
/// and whether it lasts long enough.
pub fn open(key: &SealingKey, entry: &str, sealed: &[u8]) -> Option<(String, Record)> {
    let body = Zeroizing::new(URL_SAFE_NO_PAD.decode(sealed.strip_prefix(PREFIX)?).ok()?);
    if body.len() < 24 {
        return None;
    }
    let (nonce, ciphertext) = body.split_at(24);
    let aad = associated_data(entry);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    let plain = Zeroizing::new(
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).ok()?,
    );
    if plain.len() < STAMP_LEN || !plain[..STAMP_LEN].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let (stamp, record) = plain.split_at(STAMP_LEN);
    let record = Record::decode(record).ok()?;
    let stamp = String::from_utf8(stamp.to_vec()).ok()?;
    (eligible(&record) && record.refresh_token.is_none() && record.client_secret.is_none())
        .then_some((stamp, record))
}

fn associated_data(entry: &str) -> Vec<u8> {
    let mut aad = CONTEXT.to_vec();
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

    fn key() -> SealingKey {
        SealingKey::generate().unwrap()
    }

    #[test]
    fn a_copy_opens_with_its_key_and_entry_and_holds_no_long_lived_secret() {
        let key = key();
        let stamp = new_stamp().unwrap();
        let sealed = seal(&key, "work~abc", &stamp, &record()).unwrap();
        let text = String::from_utf8(sealed.to_vec()).unwrap();
        assert!(text.starts_with("vouch-sealed-1:"));
        for secret in ["at-secret-value", "rt-secret-value", "cs-secret-value", "alice", "id.example"] {
            assert!(!text.contains(secret), "the sealed copy shows {secret}");
        }
        let (opened_stamp, opened) = open(&key, "work~abc", &sealed).unwrap();
        assert_eq!(opened_stamp, stamp);
        assert_eq!(opened.access_token.expose_secret(), "at-secret-value");
        assert_eq!((opened.generation, opened.expires_at), (4, Some(2_000_000_000)));
        assert_eq!(opened.account.as_deref(), Some("alice"));
        assert!(opened.refresh_token.is_none() && opened.client_secret.is_none());
    }

    #[test]
    fn another_key_another_entry_or_a_changed_byte_does_not_open() {
        let key = key();
        let sealed = seal(&key, "work~abc", &new_stamp().unwrap(), &record()).unwrap();
        assert!(open(&SealingKey::generate().unwrap(), "work~abc", &sealed).is_none());
        assert!(open(&key, "home~abc", &sealed).is_none());
        for at in [PREFIX.len(), PREFIX.len() + 20, sealed.len() - 1] {
            let mut changed = sealed.to_vec();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            assert!(open(&key, "work~abc", &changed).is_none(), "a change at byte {at} was accepted");
        }
        assert!(open(&key, "work~abc", b"vouch-sealed-1:").is_none());
        assert!(open(&key, "work~abc", &record().encode()).is_none(), "a bare record is not a copy");
    }

    #[test]
    fn records_that_cannot_be_handed_out_as_stored_have_no_copy() {
        let key = key();
        let dead = Record { reauth_required: true, ..record() };
        let empty = Record { access_token: AccessToken::new(""), ..record() };
        let unstamped = Record { issuer: None, ..record() };
        let bound = Record { dpop_key: Some(crate::secret::DpopKey::new("k")), ..record() };
        for record in [dead, empty, unstamped, bound] {
            assert!(seal(&key, "work~abc", &new_stamp().unwrap(), &record).is_none());
        }
    }

    #[test]
    fn two_seals_of_one_record_differ() {
        let key = key();
        let stamp = new_stamp().unwrap();
        assert_ne!(
            *seal(&key, "w", &stamp, &record()).unwrap(),
            *seal(&key, "w", &stamp, &record()).unwrap()
        );
        assert_ne!(stamp, new_stamp().unwrap());
        assert!(seal(&key, "w", "short", &record()).is_none());
    }

    #[test]
    fn the_key_is_32_bytes_and_never_printed() {
        assert!(SealingKey::from_bytes(&[1; 31]).is_none() && SealingKey::from_bytes(&[1; 33]).is_none());
        let key = SealingKey::from_bytes(&[7; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
    }
}
