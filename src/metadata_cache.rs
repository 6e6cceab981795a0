//! The provider metadata cache: what discovery found for an issuer, kept on disk so that a
//! refresh is one request to the token endpoint instead of two.
//!
//! - **What**: only the metadata a [`crate::provider::Provider`] is built from (endpoints,
//!   client authentication methods, scopes, the RFC 9207 flag), never a secret: it is what the
//!   provider publishes to anyone.
//! - **Where**: one file per issuer in [`crate::paths::cache_dir`] (inside the state
//!   directory), named by the SHA-256 of the exact issuer string. The file repeats the issuer,
//!   and an entry whose issuer is not exactly the one asked for is never used.
//! - **How long**: what the discovery answer's `Cache-Control: max-age` allows, less its
//!   `Age`; [`DEFAULT_LIFETIME`] when it says nothing; never more than [`MAX_LIFETIME`].
//!   `no-store`, `no-cache` (vouch does not revalidate) and `max-age=0` mean "not kept", and
//!   remove what was kept. The context's clock decides expiry.
//! - **Trust**: an entry is read only if the file passes [`crate::paths::read_private_file`]
//!   (this user's, writable by nobody else, not a link, small) and decodes, and every endpoint
//!   in it passes the same checks as a discovery document's ([`crate::http::provider_url`]).
//!   Anything else is ignored (with a `-v` line) and replaced by the next discovery: the cache
//!   can cost a request, never a command. Writes go to a temporary file renamed over the old
//!   one.
//!
//! This module does not decide when the cache is consulted or dropped: [`crate::provider`]
//! does (a sign-in always rediscovers; an endpoint that is not there drops the entry).

use crate::context::Context;
use crate::discovery::{Document, Metadata};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// How long metadata is kept when the provider's answer says nothing about caching.
pub const DEFAULT_LIFETIME: u64 = 24 * 3600;

/// The longest metadata is kept, whatever the provider says.
pub const MAX_LIFETIME: u64 = 7 * 24 * 3600;

/// The largest cache file read.
const MAX_FILE: u64 = 256 * 1024;

/// The file format's version; another version is ignored.
const VERSION: u32 = 2;

/// How long a discovery answer may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Not at all (`no-store`, `no-cache`, `max-age=0`, or an answer already too old).
    DontKeep,
    /// This many seconds from now.
    Seconds(u64),
}

/// The lifetime of an answer with these `Cache-Control` and `Age` headers (RFC 9111 §4.2.1:
/// an invalid `max-age` makes the answer stale; of several, the smallest counts here).
pub fn lifetime(cache_control: Option<&str>, age: Option<&str>) -> Lifetime {
    let mut max_age: Option<u64> = None;
    for directive in cache_control.unwrap_or_default().split(',') {
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive.trim(), None),
        };
        match name.to_ascii_lowercase().as_str() {
            "no-store" | "no-cache" => return Lifetime::DontKeep,
            "max-age" => match value.and_then(seconds) {
                Some(n) => max_age = Some(max_age.map_or(n, |m| m.min(n))),
                None => return Lifetime::DontKeep,
            },
            _ => {}
        }
    }
    let age = age.and_then(seconds).unwrap_or(0);
    match max_age.map(|n| n.saturating_sub(age)) {
        Some(0) => Lifetime::DontKeep,
        Some(left) => Lifetime::Seconds(left.min(MAX_LIFETIME)),
        None => Lifetime::Seconds(DEFAULT_LIFETIME),
    }
}

/// A delta-seconds value (RFC 9111 §1.2.2): digits only; too large saturates.
fn seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// A cache file: the discovery document as vouch checked it, and when it was fetched. The
/// document is checked again on every read, by the same code as a fresh one.
#[derive(Serialize, Deserialize)]
struct Entry {
    version: u32,
    fetched_at: u64,
    expires_at: u64,
    openid: bool,
    #[serde(flatten)]
    document: Document,
}

/// Metadata read from the cache.
pub struct Hit {
    pub metadata: Metadata,
    /// Seconds since it was fetched.
    pub age: u64,
    /// Seconds it stays fresh.
    pub left: u64,
}

/// The file name of `issuer`'s entry.
pub fn file_name(issuer: &str) -> String {
    let digest = Sha256::digest(issuer.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}.json")
}

/// The path of `issuer`'s entry, if the cache directory can be used (else a `-v` line).
pub fn path(ctx: &mut Context, issuer: &str) -> Option<PathBuf> {
    match ctx.cache_dir() {
        Ok(dir) => Some(dir.join(file_name(issuer))),
        Err(err) => {
            ctx.log(format_args!("metadata cache: not used ({err})"));
            None
        }
    }
}

/// The fresh cached metadata of exactly `issuer`, or `None` (missing, stale, untrusted).
pub fn load(ctx: &mut Context, issuer: &str) -> Option<Hit> {
    let path = path(ctx, issuer)?;
    let ignore = |ctx: &mut Context, why: &str| {
        ctx.log(format_args!("metadata cache: ignoring {} ({why})", path.display()));
        None
    };
    let bytes = match crate::paths::read_private_file(&path, MAX_FILE) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(why) => return ignore(ctx, &why),
    };
    let Ok(entry) = serde_json::from_slice::<Entry>(&bytes) else {
        return ignore(ctx, "it is not a metadata cache entry");
    };
    if entry.version != VERSION {
        return ignore(ctx, "another format version");
    }
    if entry.document.issuer() != Some(issuer) {
        return ignore(ctx, "it is another issuer's");
    }
    let now = ctx.now();
    if entry.fetched_at > now || entry.expires_at < entry.fetched_at {
        return ignore(ctx, "its times are in the future or out of order");
    }
    if entry.expires_at - entry.fetched_at > MAX_LIFETIME {
        return ignore(ctx, "it claims a longer lifetime than vouch allows");
    }
    if entry.expires_at <= now {
        ctx.log(format_args!(
            "metadata cache: the entry of {issuer} expired {} s ago",
            now - entry.expires_at
        ));
        return None;
    }
    let Ok(metadata) = crate::discovery::check(entry.document, issuer, entry.openid, "the metadata cache")
    else {
        return ignore(ctx, "it names an endpoint that is neither https nor loopback");
    };
    Some(Hit { metadata, age: now - entry.fetched_at, left: entry.expires_at - now })
}

/// Keep `metadata` for `lifetime` (replacing what was kept), or drop it when it may not be
/// kept. Failures are `-v` lines: the cache is an optimisation.
pub fn store(ctx: &mut Context, metadata: &Metadata, lifetime: Lifetime) {
    let Lifetime::Seconds(seconds) = lifetime else {
        ctx.log(format_args!("metadata cache: {} may not be kept (Cache-Control)", metadata.issuer));
        return forget(ctx, &metadata.issuer);
    };
    let Some(path) = path(ctx, &metadata.issuer) else { return };
    let now = ctx.now();
    let entry = Entry {
        version: VERSION,
        fetched_at: now,
        expires_at: now.saturating_add(seconds.min(MAX_LIFETIME)),
        openid: metadata.openid,
        document: Document::from(metadata),
    };
    let Ok(bytes) = serde_json::to_vec_pretty(&entry) else { return };
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    match crate::paths::write_private_file(dir, name, &bytes) {
        Ok(()) => {
            ctx.log(format_args!("metadata cache: kept the metadata of {} for {seconds} s", metadata.issuer))
        }
        Err(err) => ctx.log(format_args!("metadata cache: could not write {} ({err})", path.display())),
    }
}

/// Drop `issuer`'s entry, if there is one.
pub fn forget(ctx: &mut Context, issuer: &str) {
    let Some(path) = path(ctx, issuer) else { return };
    match std::fs::remove_file(&path) {
        Ok(()) => ctx.log(format_args!("metadata cache: dropped the entry of {issuer}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => ctx.log(format_args!("metadata cache: could not remove {} ({err})", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_decides_the_lifetime() {
        let cases: &[(Option<&str>, Option<&str>, Lifetime)] = &[
            (None, None, Lifetime::Seconds(DEFAULT_LIFETIME)),
            (Some("public"), None, Lifetime::Seconds(DEFAULT_LIFETIME)),
            (Some("max-age=3600"), None, Lifetime::Seconds(3600)),
            (Some("public, max-age=3600"), Some("600"), Lifetime::Seconds(3000)),
            (Some("Max-Age=\"60\", private"), None, Lifetime::Seconds(60)),
            (Some("max-age=60, max-age=30"), None, Lifetime::Seconds(30)),
            (Some("max-age=99999999999999999999999"), None, Lifetime::Seconds(MAX_LIFETIME)),
            (Some("max-age=3600"), Some("4000"), Lifetime::DontKeep),
            (Some("max-age=0"), None, Lifetime::DontKeep),
            (Some("max-age=-1"), None, Lifetime::DontKeep),
            (Some("max-age=soon"), None, Lifetime::DontKeep),
            (Some("no-store"), None, Lifetime::DontKeep),
            (Some("max-age=3600, no-cache"), None, Lifetime::DontKeep),
            (Some("NO-CACHE=\"set-cookie\""), None, Lifetime::DontKeep),
            (None, Some("garbage"), Lifetime::Seconds(DEFAULT_LIFETIME)),
        ];
        for (cache_control, age, expected) in cases {
            assert_eq!(lifetime(*cache_control, *age), *expected, "{cache_control:?} age {age:?}");
        }
    }

    #[test]
    fn file_names_are_a_hash_of_the_exact_issuer() {
        let a = file_name("https://idp.example");
        assert_ne!(a, file_name("https://idp.example/"));
        assert_ne!(a, file_name("https://IDP.example"));
        assert_eq!(a, file_name("https://idp.example"));
        assert!(a.ends_with(".json") && a.len() == 64 + 5 && !a.contains('/'));
    }
}
