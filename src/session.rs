//! The current session of a profile: the stored record, checked for use.
//!
//! Commands that hand out a token (`token` now; `exec` and `git-credential` later) come here
//! rather than to the store, so the rule for "is this token usable" lives in one place.

use crate::context::Context;
use crate::error::Error;
use crate::record::Record;

/// The stored record for `profile`, if its access token is usable for at least `min_ttl`
/// more seconds. A missing record is the signed-out state (exit 3); an expired token that
/// cannot be renewed is a rejected credential (exit 4).
pub fn usable_record(ctx: &mut Context, profile: &str, min_ttl: u64) -> Result<Record, Error> {
    let store = ctx.store()?;
    let record = store.load(profile)?.ok_or_else(|| Error::SignedOut { profile: profile.to_string() })?;
    let now = ctx.now();
    match record.expires_in(now) {
        Some(left) if left < min_ttl as i64 => Err(Error::Rejected {
            profile: profile.to_string(),
            reason: if left <= 0 {
                "the access token has expired".to_string()
            } else {
                format!("the access token expires in {left} s")
            },
        }),
        _ => Ok(record),
    }
}
