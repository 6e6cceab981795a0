//! The stored record: what vouch keeps in the credential store for one profile.
//!
//! One store entry per profile (service `vouch`, user = the profile's entry name, see
//! [`crate::identity`]) holds one small versioned JSON document, written in a single store
//! call so it is replaced atomically:
//!
//! ```json
//! {"version":2,"generation":3,"issuer":"https://id.example","client_id":"cli",
//!  "access_token":"…","token_type":"Bearer","expires_at":1767225600,
//!  "refresh_token":"…","rotation":"rotates","scope":"openid","account":"alice"}
//! ```
//!
//! A client-credentials profile also keeps its `client_secret` there. Version 2 added the
//! minting `issuer` and `client_id` (a credential is only ever sent back to them), what vouch
//! learned about refresh-token `rotation`, and `refresh_spent` (the refresh token may have
//! been consumed and must never be sent again; see docs/crash-safety.md). Version 1 records
//! are still read, and migrated by [`crate::identity`]. Version 3 is version 2 plus
//! `dpop_key`, the private key of a profile bound to this machine with DPoP
//! ([`crate::dpop`]): it is written only for such records (others stay version 2, readable by
//! any vouch), so that a vouch predating DPoP refuses the record instead of rewriting it
//! without its key.
//!
//! This module owns the format: encoding, decoding, and the version check. It never touches a
//! store. Decoding errors describe *where* the document is broken, never what it contains,
//! because a corrupt record may still hold secret bytes.

use crate::secret::{AccessToken, ClientSecret, DpopKey, RefreshToken};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The record format version this build writes for a record without a DPoP key.
pub const RECORD_VERSION: u32 = 2;

/// The version of a record that holds a DPoP key: version 2 plus `dpop_key`. A vouch that
/// predates DPoP refuses it (exit 8) instead of rewriting it without the key.
pub const DPOP_RECORD_VERSION: u32 = 3;

/// Record versions this build can read.
const READABLE_VERSIONS: [u64; 3] = [1, 2, 3];

/// What vouch has learned about the provider's refresh tokens from its own answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    /// A refresh answered with a new refresh token: the sent one is consumed by every refresh.
    Rotates,
    /// A refresh answered with the same refresh token, or none: resending one is safe.
    Keeps,
}

/// Why the stored refresh token must never be sent again, although the session is not known
/// to be dead: the provider may already have consumed it (RFC 9700 §4.14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Spent {
    /// The refresh request was sent but its answer never arrived (reset, time-out).
    Lost,
    /// The provider answered with a new credential that the store refused to keep.
    Unstorable,
    /// A process was killed between sending the request and storing the answer.
    Interrupted,
}

impl Spent {
    /// Why the session needs a new sign-in, for messages.
    pub fn explain(self) -> &'static str {
        match self {
            Spent::Lost => {
                "the provider's answer to the last refresh was lost after the request was sent, so the provider \
                 may already have replaced the refresh token; vouch never resends one that may be consumed"
            }
            Spent::Unstorable => {
                "the provider issued a new credential at the last refresh, but the credential store refused to \
                 keep it, and the previous refresh token was consumed"
            }
            Spent::Interrupted => {
                "an earlier refresh did not finish after its request was sent (the process was killed, or the store \
                 refused to record its answer), so the provider may already have \
                 replaced the refresh token; vouch never resends one that may be consumed"
            }
        }
    }
}

/// One profile's credential as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    /// Bumped on every write, so a process that loaded generation N can tell whether someone
    /// else has written since.
    pub generation: u64,
    /// The issuer that minted this credential (version 2; `None` only in a version-1 record
    /// that is not migrated yet).
    #[serde(default)]
    pub issuer: Option<String>,
    /// The client it was minted for.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Empty when the access token was too large to keep and only the refresh token was
    /// stored: the next use refreshes.
    pub access_token: AccessToken,
    #[serde(default = "bearer")]
    pub token_type: String,
    /// Unix seconds; `None` when the provider did not say.
    #[serde(default)]
    pub expires_at: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Unix seconds when the refresh token stops working, when the provider said (GitHub Apps).
    #[serde(default)]
    pub refresh_expires_at: Option<u64>,
    #[serde(default)]
    pub scope: Option<String>,
    /// The account the provider confirmed (a username, email or subject), when known.
    #[serde(default)]
    pub account: Option<String>,
    /// The provider session the credential was issued in (the ID token's `sid`), when known.
    #[serde(default)]
    pub session: Option<String>,
    /// A client-credentials profile's client secret: its long-lived credential, which mints
    /// new access tokens.
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// The provider refused this record's refresh token (invalid_grant): the session is dead
    /// and is not retried until the user logs in again.
    #[serde(default)]
    pub reauth_required: bool,
    /// What the provider's refresh answers showed about rotation; `None` until one was seen.
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// Set when the refresh token may have been consumed: it is never sent again, and the
    /// access token is used until it expires.
    #[serde(default)]
    pub refresh_spent: Option<Spent>,
    /// The DPoP private key the tokens are bound to (RFC 9449), when the profile signed in
    /// with `--dpop`. Kept here and nowhere else; absent in records written before DPoP, which
    /// read as unbound (so the version stays 2).
    #[serde(default)]
    pub dpop_key: Option<DpopKey>,
}

fn bearer() -> String {
    "Bearer".to_string()
}

/// The serialized shape. Borrowing the secrets here is the store-write exposure point.
#[derive(Serialize)]
struct Stored<'a> {
    version: u32,
    generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    access_token: &'a str,
    token_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_expires_at: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    reauth_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation: Option<Rotation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_spent: Option<Spent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_key: Option<&'a str>,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<serde_json::Value>,
}

impl Record {
    /// Serialize for the store. The buffer is zeroized when dropped.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let stored = Stored {
            version: if self.dpop_key.is_some() { DPOP_RECORD_VERSION } else { RECORD_VERSION },
            generation: self.generation,
            issuer: self.issuer.as_deref(),
            client_id: self.client_id.as_deref(),
            access_token: self.access_token.expose_secret(),
            token_type: &self.token_type,
            expires_at: self.expires_at,
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret()),
            refresh_expires_at: self.refresh_expires_at,
            scope: self.scope.as_deref(),
            account: self.account.as_deref(),
            session: self.session.as_deref(),
            client_secret: self.client_secret.as_ref().map(|s| s.expose_secret()),
            reauth_required: self.reauth_required,
            rotation: self.rotation,
            refresh_spent: self.refresh_spent,
            dpop_key: self.dpop_key.as_ref().map(|k| k.expose_secret()),
        };
        // Serializing plain strings and integers into a Vec cannot fail.
        Zeroizing::new(serde_json::to_vec(&stored).unwrap_or_default())
    }

    /// Parse a stored record. The error string is safe to show: it never quotes the input.
    pub fn decode(bytes: &[u8]) -> Result<Record, String> {
        let head: VersionOnly = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        match head.version {
            None => return Err("it has no format version".to_string()),
            Some(v) if v.as_u64().is_some_and(|v| READABLE_VERSIONS.contains(&v)) => {}
            Some(v) => {
                let shown = v.as_u64().map_or("?".to_string(), |n| n.to_string());
                return Err(format!(
                    "unknown record format version {shown}; it may have been written by a newer vouch"
                ));
            }
        }
        let record: Record = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        if record.access_token.is_empty() && record.refresh_token.is_none() {
            return Err("its access token is empty".to_string());
        }
        Ok(record)
    }

    /// Whether the refresh token (if any) can still be used at `now`.
    pub fn can_refresh(&self, now: u64) -> bool {
        self.refresh_token.is_some()
            && self.refresh_spent.is_none()
            && !self.reauth_required
            && self.refresh_expires_at.is_none_or(|at| at > now)
    }

    /// Whether an access token is stored (a record too large for its store may keep only the
    /// refresh token).
    pub fn has_access_token(&self) -> bool {
        !self.access_token.is_empty()
    }

    /// Seconds until the access token expires (negative once expired); `None` if unknown.
    pub fn expires_in(&self, now: u64) -> Option<i64> {
        self.expires_at.map(|at| seconds_between(now, at))
    }
}

/// `to - from` in seconds, saturating instead of overflowing for absurd stored values.
pub fn seconds_between(from: u64, to: u64) -> i64 {
    (i128::from(to) - i128::from(from)).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Describe a serde_json error by its category and position only: serde_json's own message
/// can quote the offending value, which may be secret.
fn describe_json_error(err: serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "it could not be read",
        Category::Syntax => "it is not valid JSON",
        Category::Data => "a field is missing or has the wrong type",
        Category::Eof => "it is truncated",
    };
    format!("{what} (line {}, column {})", err.line(), err.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            generation: 7,
            issuer: Some("https://id.example".into()),
            client_id: Some("cli".into()),
            access_token: AccessToken::new("at-secret"),
            token_type: "Bearer".into(),
            expires_at: Some(1_800_000_000),
            refresh_token: Some(RefreshToken::new("rt-secret")),
            refresh_expires_at: None,
            scope: Some("openid".into()),
            account: Some("alice".into()),
            session: None,
            client_secret: None,
            reauth_required: false,
            rotation: Some(Rotation::Rotates),
            refresh_spent: None,
            dpop_key: None,
        }
    }

    #[test]
    fn round_trips() {
        let bytes = sample().encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"version":2,"generation":7,"issuer":"https://id.example","#), "{text}");
        assert!(text.contains(r#""rotation":"rotates""#), "{text}");
        let back = Record::decode(&bytes).unwrap();
        assert_eq!(back.generation, 7);
        assert_eq!(back.access_token.expose_secret(), "at-secret");
        assert_eq!(back.refresh_token.unwrap().expose_secret(), "rt-secret");
        assert_eq!(back.expires_at, Some(1_800_000_000));
        assert_eq!(back.account.as_deref(), Some("alice"));
        assert_eq!(back.client_id.as_deref(), Some("cli"));
        assert_eq!(back.rotation, Some(Rotation::Rotates));
    }

    #[test]
    fn a_dpop_key_is_kept_only_in_a_version_3_record() {
        let plain = sample().encode();
        assert!(std::str::from_utf8(&plain).unwrap().starts_with(r#"{"version":2,"#));
        let bound = Record { dpop_key: Some(DpopKey::new("key-canary")), ..sample() };
        let bytes = bound.encode();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with(r#"{"version":3,"#), "{text}");
        let back = Record::decode(&bytes).unwrap();
        assert_eq!(back.dpop_key.as_ref().map(|k| k.expose_secret()), Some("key-canary"));
        assert!(!format!("{back:?}").contains("key-canary"), "Debug must not show the key");
    }

    #[test]
    fn version_1_records_are_read_without_an_issuer() {
        let r = Record::decode(br#"{"version":1,"generation":4,"access_token":"x","refresh_token":"y"}"#)
            .unwrap();
        assert!(r.issuer.is_none() && r.client_id.is_none() && r.rotation.is_none());
        assert!(r.can_refresh(0));
        let spent = Record { refresh_spent: Some(Spent::Lost), ..r };
        assert!(!spent.can_refresh(0), "a possibly consumed refresh token is never usable");
    }

    #[test]
    fn expiry_arithmetic_saturates_on_absurd_values() {
        let mut r = sample();
        r.expires_at = Some(u64::MAX);
        assert_eq!(r.expires_in(1_700_000_000), i64::MAX.into());
        r.expires_at = Some(1u64 << 63);
        assert!(r.expires_in(1_700_000_000).unwrap() > 0);
        assert_eq!(seconds_between(u64::MAX, 0), i64::MIN);
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let r = Record::decode(br#"{"version":1,"generation":1,"access_token":"x"}"#).unwrap();
        assert_eq!(r.token_type, "Bearer");
        assert!(r.refresh_token.is_none() && r.expires_at.is_none());
    }

    #[test]
    fn rejects_unknown_versions_and_garbage_without_quoting_them() {
        let cases: &[&[u8]] = &[
            br#"{"version":4,"generation":1,"access_token":"leak-me"}"#,
            br#"{"generation":1,"access_token":"leak-me"}"#,
            br#"{"version":1,"generation":"leak-me","access_token":"x"}"#,
            br#"{"version":1,"generation":1,"access_token":""}"#,
            b"leak-me",
            b"{\"version\":1,\"access_token\":\"leak-me",
            b"\xff\xfe leak-me",
        ];
        for bytes in cases {
            let err = Record::decode(bytes).unwrap_err();
            assert!(!err.contains("leak-me"), "{err}");
        }
        assert!(Record::decode(br#"{"version":4}"#).unwrap_err().contains("version 4"));
    }
}
