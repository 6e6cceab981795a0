//! Refresh: keeping a profile's access token fresh without ever losing the session, and
//! without ever sending a refresh token that may have been consumed.
//!
//! The refresh token moves through the states written down in docs/crash-safety.md; this
//! module is their only implementation:
//!
//! - **fresh**: stored, not known to be consumed. It may be sent.
//! - **sent**: an in-flight marker ([`crate::lock::InFlight`]) naming it is on disk before the
//!   request leaves, under the credential's lock, with SIGINT/SIGTERM deferred. Then:
//!   - **rotated / kept**: the answer came; the new record (the new refresh token, or the same
//!     one) is stored, and what the answer showed about rotation is recorded
//!     ([`Rotation`]). The marker goes.
//!   - **rejected**: `invalid_grant`, or a bare 400/401/403: after re-reading the store, the
//!     record is marked `reauth_required` (exit 4). The marker goes.
//!   - **answered, not acted on** (429, 5xx, an OAuth error such as `temporarily_unavailable`,
//!     nothing sent at all): the token is still fresh (exit 5). The marker goes.
//!   - **not there** (the token endpoint's host did not resolve or refused the connection, so
//!     nothing was sent; or it answered 404): the token is still fresh. The marker goes. If
//!     the endpoint came from cached metadata, the entry is dropped; when nothing was sent,
//!     the provider is asked where its token endpoint is now, and if it moved, the token is
//!     sent there, once, through this same state machine. A request that reached a server
//!     is never repeated.
//!   - **lost**: the request may have arrived but no usable answer came back. If the record
//!     shows the provider keeps refresh tokens, resending is safe: the token stays fresh and
//!     the next command retries (exit 5). Otherwise it is **spent** ([`Spent::Lost`]).
//!   - **unstorable**: the answer came but the store refused the new record. If the refresh
//!     token did not change, nothing was consumed: the token stays fresh. If it rotated, the
//!     record is stored again without the access token (what fits: usually the access token
//!     is the large part); failing that, the old one is **spent** ([`Spent::Unstorable`]).
//!   - **interrupted**: the process died while sent. The marker survives it; the next refresh
//!     finds it and treats the token as lost.
//! - **spent**: never sent again by any process. The access token is handed out until it
//!   expires; then the session needs a new sign-in (exit 4) and the message says why. The
//!   record says so; where the store refuses even that write, the marker stays on disk and
//!   says it instead.
//!
//! Single flight: a refresh runs under the credential's lock. After taking the lock the record
//! is read again: if another process wrote a newer generation meanwhile, that record is used
//! and no second refresh is sent.
//!
//! Client-credentials profiles have no refresh token: they mint a new access token with the
//! stored client secret instead, which no answer consumes.

use crate::config::{Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::client_credentials;
use crate::lock::{InFlight, ProfileLock};
use crate::oauth::{self, Client, GrantError, Tokens};
use crate::provider;
use crate::record::{Record, Rotation, Spent};
use crate::secret::{AccessToken, RefreshToken};
use crate::store::EntryKey;
use crate::store::sealed_copy::Lookup;
use std::path::Path;

/// Whether `record`'s access token must be renewed to last `min_ttl` more seconds.
pub fn needs_refresh(record: &Record, now: u64, min_ttl: u64) -> bool {
    !record.has_access_token() || record.expires_in(now).is_some_and(|left| left < min_ttl as i64)
}

/// The stored record of `key`, refreshed first if it expires within `min_ttl` seconds.
pub fn usable_record(
    ctx: &mut Context,
    key: &EntryKey,
    profile: &Profile,
    min_ttl: u64,
) -> Result<Record, Error> {
    let now = ctx.now();
    let copy = match ctx.sealed_copy(&key.entry)? {
        Lookup::Found(copy) if key.owns(&copy) && !needs_refresh(&copy, now, min_ttl) => {
            ctx.log(format_args!("store: secret-service, the sealed copy of '{}'", key.profile));
            return Ok(*copy);
        }
        other => other,
    };
    let store = ctx.store()?;
    let Some(record) = store.load(key)? else {
        // A copy may outlive a record deleted by another program: it is never served without
        // its record, and goes now (unless a login is writing one right now).
        if !matches!(copy, Lookup::NotKept)
            && let Some(_lock) = lock_if_free(ctx, key)
        {
            store.forget_copies(&key.entry);
        }
        return Err(signed_out(key));
    };
    if record.reauth_required {
        return Err(dead(key));
    }
    if !needs_refresh(&record, ctx.now(), min_ttl) {
        if let Lookup::Absent(seen) = &copy
            && store.seals(&key.entry)
            && crate::store::sealed_copy::eligible(&record)
            && store.can_seal()
            && let Some(_lock) = lock_if_free(ctx, key)
        {
            // The copy is written only if the record still shows what was seen of it before it
            // was read, so nothing rewritten since gets a copy of what was read. Not seen yet
            // (no sealing key until now): seen now, and read again after.
            match seen {
                Some(seen) => store.reseal(&key.entry, &record, seen),
                None => {
                    if let Some(seen) = store.seen(&key.entry)
                        && let Ok(Some(current)) = store.load(key)
                        && current.generation == record.generation
                    {
                        store.reseal(&key.entry, &current, &seen);
                    }
                }
            }
        }
        return Ok(record);
    }
    if let Some(spent) = record.refresh_spent {
        return until_expiry(ctx, key, record, spent, true);
    }
    ctx.log(format_args!("refresh: the access token of '{}' expires within {min_ttl} s", key.profile));
    refresh(ctx, key, profile, Some(record.generation))
}

/// `key`'s lock, if no other process holds it right now: for the sealed copy's upkeep on the
/// read path, which a logout, login or refresh under way does itself.
fn lock_if_free(ctx: &mut Context, key: &EntryKey) -> Option<ProfileLock> {
    let store = ctx.store().ok()?;
    let state_dir = ctx.state_dir().ok()?;
    ProfileLock::acquire(&state_dir, &store.lock_name(key), std::time::Duration::ZERO).ok()
}

/// Refresh `key` under its lock. `seen` is the generation this process read before deciding
/// to refresh; if the stored one has moved since, the stored record is returned as is.
/// `None` forces a refresh (`vouch refresh`).
pub fn refresh(
    ctx: &mut Context,
    key: &EntryKey,
    profile: &Profile,
    seen: Option<u64>,
) -> Result<Record, Error> {
    (ctx.checkpoint)("refresh:before-lock")?;
    let state_dir = ctx.state_dir()?;
    let store = ctx.store()?;
    let lock_name = store.lock_name(key);
    let _lock = match seen {
        // Someone else may be refreshing right now: wait for them, then read what they wrote.
        Some(generation) => {
            match ProfileLock::acquire_or_wait(&state_dir, &lock_name, ctx.settings.lock_wait)? {
                Some(lock) => lock,
                None => {
                    let after = store.load(key)?.ok_or_else(|| signed_out(key))?;
                    if after.generation != generation {
                        ctx.log(format_args!("refresh: another process already refreshed '{}'", key.profile));
                        return settled(ctx, key, after, true);
                    }
                    ProfileLock::acquire(&state_dir, &lock_name, ctx.settings.lock_wait)?
                }
            }
        }
        None => ProfileLock::acquire(&state_dir, &lock_name, ctx.settings.lock_wait)?,
    };
    let current = store.load(key)?.ok_or_else(|| signed_out(key))?;
    if seen.is_some_and(|g| g != current.generation) {
        ctx.log(format_args!("refresh: another process already refreshed '{}'", key.profile));
        return settled(ctx, key, current, seen.is_some());
    }
    if current.reauth_required {
        return Err(dead(key));
    }
    if let Some(spent) = current.refresh_spent {
        return until_expiry(ctx, key, current, spent, seen.is_some());
    }

    let mut provider = provider::resolve(ctx, profile)?;
    let sending =
        Sending { key, state_dir: &state_dir, lock_name: &lock_name, current: &current, jit: seen.is_some() };
    loop {
        let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();
        // Everything sent belongs to the issuer that minted the record.
        let client = Client {
            issuer: current.issuer.clone().unwrap_or_else(|| key.issuer.clone()),
            // A DPoP-bound grant is refreshed with proofs from its own key (RFC 9449 §5).
            dpop: current.dpop_key.clone(),
            ..provider.client(profile, current.client_secret.clone())
        };
        let attempt = match (&current.refresh_token, profile.flow, &current.client_secret) {
            (Some(refresh_token), _, _) => {
                let refresh_token = refresh_token.clone();
                with_refresh_token(ctx, &sending, &refresh_token, &token_url, &client)
            }
            (None, Some(Flow::ClientCredentials), Some(_)) => {
                with_client_secret(ctx, &sending, profile, &token_url, &client)
            }
            _ => Err(Attempt::Failed(Error::Rejected {
                profile: key.profile.clone(),
                reason: "the access token has expired and there is no refresh token to renew it".to_string(),
            })),
        };
        let (error, sent) = match attempt {
            Ok(record) => return Ok(record),
            Err(Attempt::Failed(error)) => return Err(error),
            Err(Attempt::NotThere { error, sent }) => (error, sent),
        };
        // The token endpoint is not there. If it came from cached metadata, it may have moved:
        // drop the entry, and when nothing was sent, ask the provider where it is now and send
        // there, once. (A request that reached a server is never repeated by this command.)
        if !provider::endpoint_missing(ctx, &provider, "token") || sent {
            return Err(error);
        }
        let fresh = match provider::resolve_fresh(ctx, profile) {
            Ok(fresh) if fresh.token.is_some() && fresh.token != provider.token => fresh,
            Ok(_) => return Err(error),
            Err(rediscovery) => {
                ctx.log(format_args!("refresh: rediscovery failed too: {rediscovery}"));
                return Err(error);
            }
        };
        ctx.log(format_args!("refresh: the token endpoint moved; sending to the one the provider names now"));
        provider = fresh;
    }
}

/// Why one attempt at the token endpoint did not renew the record.
enum Attempt {
    /// Settled: report it.
    Failed(Error),
    /// Nothing is at the token endpoint: its host did not resolve or refused the connection
    /// (`sent` false: nothing was sent), or it answered 404 (`sent` true). The credential is
    /// as it was.
    NotThere { error: Error, sent: bool },
}

impl From<Error> for Attempt {
    fn from(error: Error) -> Self {
        Attempt::Failed(error)
    }
}

/// Mint a new access token with the stored client secret (no answer consumes it).
fn with_client_secret(
    ctx: &mut Context,
    sending: &Sending<'_>,
    profile: &Profile,
    token_url: &url::Url,
    client: &Client,
) -> Result<Record, Attempt> {
    let Sending { key, current, .. } = *sending;
    let scope = profile.scopes.join(" ");
    let interrupts = ctx.interrupts();
    let (tokens, critical) = match client_credentials::grant(ctx, token_url, client, &scope) {
        Ok(minted) => minted,
        Err(GrantError::Unreachable(error)) => return Err(Attempt::NotThere { error, sent: false }),
        Err(GrantError::NoEndpoint(error)) => return Err(Attempt::NotThere { error, sent: true }),
        Err(other) => {
            return Err(match other.into_error(&key.profile, token_url, client) {
                err @ Error::Rejected { .. } => after_rejection(ctx, key, current, err),
                err => err,
            }
            .into());
        }
    };
    let renewed = renewed_record(current, tokens, ctx.now(), None);
    ctx.store()?.save(key, &renewed)?;
    drop(critical);
    interrupts.check()?;
    Ok(renewed)
}

/// One refresh under way: which credential, where its marker lives, the record it starts
/// from, and whether a still-valid access token may be handed out if it cannot complete (a
/// just-in-time refresh may; `vouch refresh` reports the failure).
struct Sending<'a> {
    key: &'a EntryKey,
    state_dir: &'a Path,
    /// The credential's lock and marker name ([`crate::store::SecretStore::lock_name`]).
    lock_name: &'a str,
    current: &'a Record,
    jit: bool,
}

/// Send `refresh_token` once, and settle every outcome as the module docs say.
fn with_refresh_token(
    ctx: &mut Context,
    sending: &Sending<'_>,
    refresh_token: &RefreshToken,
    token_url: &url::Url,
    client: &Client,
) -> Result<Record, Attempt> {
    let Sending { key, state_dir, lock_name, current, .. } = *sending;
    let keeps = current.rotation == Some(Rotation::Keeps);
    if InFlight::was_cut_off(state_dir, lock_name, refresh_token.expose_secret()) {
        if keeps {
            ctx.log(format_args!(
                "refresh: an earlier refresh was cut off; this provider keeps refresh tokens"
            ));
        } else {
            return Ok(spend(ctx, sending, Spent::Interrupted, None)?);
        }
    }
    let interrupts = ctx.interrupts();
    let critical = interrupts.critical();
    let in_flight = InFlight::begin(state_dir, lock_name, refresh_token.expose_secret())?;
    let params = [("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose_secret())];
    let sent = oauth::token_request(ctx, token_url, client, &params);
    (ctx.checkpoint)("refresh:answered")?;
    let tokens = match sent {
        Ok(tokens) => tokens,
        Err(GrantError::OAuth { code, description }) if code == "invalid_grant" => {
            drop(in_flight);
            let detail = description.map(|d| format!(": {}", oauth::sanitize(&d))).unwrap_or_default();
            let err = Error::Rejected {
                profile: key.profile.clone(),
                reason: format!("the provider no longer accepts its refresh token (invalid_grant{detail})"),
            };
            return Err(after_rejection(ctx, key, current, err).into());
        }
        Err(refused @ GrantError::Refused { .. }) => {
            drop(in_flight);
            let err = refused.into_error(&key.profile, token_url, client);
            return Err(after_rejection(ctx, key, current, err).into());
        }
        Err(GrantError::Lost(err)) if keeps => {
            drop(in_flight);
            return Err(retry_later(key, err).into());
        }
        Err(GrantError::Lost(err)) => {
            return Ok(spend(ctx, sending, Spent::Lost, Some((in_flight, err)))?);
        }
        // Nothing is there (no answer at all, or a 404 that processed no grant): the refresh
        // token was not consumed and stays fresh.
        Err(GrantError::Unreachable(error)) => {
            drop(in_flight);
            return Err(Attempt::NotThere { error, sent: false });
        }
        Err(GrantError::NoEndpoint(error)) => {
            drop(in_flight);
            return Err(Attempt::NotThere { error, sent: true });
        }
        Err(other) => {
            drop(in_flight);
            return Err(other.into_error(&key.profile, token_url, client).into());
        }
    };

    let rotation = match &tokens.refresh_token {
        Some(new) if !new.same_as(refresh_token) => Rotation::Rotates,
        _ => Rotation::Keeps,
    };
    let renewed = renewed_record(current, tokens, ctx.now(), Some(rotation));
    let store = ctx.store()?;
    match store.save(key, &renewed) {
        Ok(()) => {}
        Err(refused) if rotation == Rotation::Keeps => {
            // Nothing was consumed: the stored record, and its refresh token, still work.
            drop(in_flight);
            ctx.note(format_args!(
                "warning: the new access token of '{}' could not be stored ({refused}); the stored refresh \
                 token is unchanged, so the next command refreshes again",
                key.profile
            ));
            drop(critical);
            interrupts.check()?;
            return Ok(renewed);
        }
        Err(too_large @ Error::RecordTooLarge { .. }) => {
            // Keep what fits: the new refresh token alone (the access token is the large part).
            let slim = Record { access_token: AccessToken::new(""), expires_at: None, ..renewed.clone() };
            if store.save(key, &slim).is_err() {
                return Ok(spend(ctx, sending, Spent::Unstorable, Some((in_flight, too_large)))?);
            }
            ctx.note(format_args!(
                "warning: the new access token of '{}' is too large for the {}; only its refresh token was \
                 stored, so every command refreshes",
                key.profile,
                store.kind().description()
            ));
        }
        Err(refused) => return Ok(spend(ctx, sending, Spent::Unstorable, Some((in_flight, refused)))?),
    }
    // Stored: the marker goes (with `in_flight`), then deferred signals may end the command.
    drop(in_flight);
    drop(critical);
    ctx.log(format_args!("refresh: stored generation {} of '{}'", renewed.generation, key.profile));
    interrupts.check()?;
    Ok(renewed)
}

/// The record after a successful refresh: a new access token, the new refresh token if one
/// came back (else the old one is kept), the next generation, and what it showed.
pub fn renewed_record(current: &Record, tokens: Tokens, now: u64, rotation: Option<Rotation>) -> Record {
    Record {
        generation: current.generation + 1,
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_at: tokens.expires_in.map(|s| now + s),
        refresh_expires_at: match &tokens.refresh_token {
            Some(_) => tokens.refresh_expires_in.map(|s| now + s),
            None => current.refresh_expires_at,
        },
        refresh_token: tokens.refresh_token.or_else(|| current.refresh_token.clone()),
        scope: tokens.scope.or_else(|| current.scope.clone()),
        reauth_required: false,
        rotation: rotation.or(current.rotation),
        refresh_spent: None,
        ..current.clone()
    }
}

/// The refresh token may have been consumed (`spent`): record that, so no process sends it
/// again. `sent` is the marker of the request that was just lost, and the error that lost
/// it; the marker is removed only once the record says the same, so that a store that
/// refuses every write still leaves one guard on disk.
fn spend(
    ctx: &mut Context,
    sending: &Sending<'_>,
    spent: Spent,
    sent: Option<(InFlight, Error)>,
) -> Result<Record, Error> {
    let Sending { key, state_dir, lock_name, current, jit } = *sending;
    let marked = Record { generation: current.generation + 1, refresh_spent: Some(spent), ..current.clone() };
    let stored = ctx.store().and_then(|store| store.save(key, &marked));
    let (in_flight, cause) = match sent {
        Some((in_flight, cause)) => (Some(in_flight), Some(cause)),
        None => (None, None),
    };
    match (stored, in_flight) {
        (Ok(()), Some(in_flight)) => drop(in_flight),
        (Ok(()), None) => InFlight::clear(state_dir, lock_name),
        (Err(_), Some(in_flight)) => in_flight.keep(),
        (Err(_), None) => {}
    }
    if let Some(cause) = &cause {
        ctx.log(format_args!("refresh: cause: {cause}"));
    }
    ctx.log(format_args!("refresh: the refresh token of '{}' is spent ({spent:?})", key.profile));
    match (until_expiry(ctx, key, marked, spent, jit), cause) {
        // An answer that broke the protocol stays a protocol error (exit 9), and says why the
        // session cannot be refreshed any more.
        (Err(Error::Rejected { .. }), Some(Error::Protocol { endpoint, reason })) => Err(Error::Protocol {
            endpoint,
            reason: format!(
                "{reason}; it answered success, so it may have replaced the refresh token, which vouch \
                     will not resend: run `vouch login {}` once the provider is fixed",
                key.profile
            ),
        }),
        (other, _) => other,
    }
}

/// A record whose refresh token is spent: its access token while it lasts (for a
/// just-in-time refresh), then exit 4.
fn until_expiry(
    ctx: &mut Context,
    key: &EntryKey,
    record: Record,
    spent: Spent,
    jit: bool,
) -> Result<Record, Error> {
    let left = record.expires_in(ctx.now());
    if jit && record.has_access_token() && left.is_none_or(|left| left > 0) {
        let when = left.map(|s| format!("in {s} s")).unwrap_or_default();
        ctx.note(format_args!(
            "warning: '{}' cannot be refreshed ({}); its access token works until it expires{}, then run `vouch login {}`",
            key.profile,
            spent.explain(),
            if when.is_empty() { String::new() } else { format!(" {when}") },
            key.profile
        ));
        return Ok(record);
    }
    Err(Error::Rejected { profile: key.profile.clone(), reason: spent.explain().to_string() })
}

/// What another process left: usable, or the reason it is not.
fn settled(ctx: &mut Context, key: &EntryKey, record: Record, jit: bool) -> Result<Record, Error> {
    if record.reauth_required {
        return Err(dead(key));
    }
    match record.refresh_spent {
        Some(spent) => until_expiry(ctx, key, record, spent, jit),
        None => Ok(record),
    }
}

/// The provider refused the credential. Unless the stored record changed meanwhile (it
/// cannot while we hold the lock, but a store that another tool writes to might), the
/// session is dead: mark it so nothing sends that token again.
fn after_rejection(ctx: &mut Context, key: &EntryKey, failed: &Record, rejection: Error) -> Error {
    let Ok(store) = ctx.store() else { return rejection };
    match store.load(key) {
        Ok(Some(now)) if now.generation == failed.generation => {
            let marked = Record { generation: now.generation + 1, reauth_required: true, ..now };
            match store.save(key, &marked) {
                Ok(()) => rejection,
                Err(err) => err,
            }
        }
        Ok(_) => Error::Unavailable {
            endpoint: format!("profile '{}'", key.profile),
            reason: "its credential changed while it was being refreshed; run the command again".to_string(),
        },
        Err(err) => err,
    }
}

/// A lost answer from a provider that keeps refresh tokens: safe to send again later.
fn retry_later(key: &EntryKey, err: Error) -> Error {
    let reason = match err {
        Error::Unavailable { reason, .. } | Error::Protocol { reason, .. } => reason,
        other => other.to_string(),
    };
    Error::Unavailable {
        endpoint: format!("the token endpoint of '{}'", key.profile),
        reason: format!(
            "{reason}; the answer was lost, but this provider keeps refresh tokens, so the next command simply \
             tries again"
        ),
    }
}

fn signed_out(key: &EntryKey) -> Error {
    Error::SignedOut { profile: key.profile.clone() }
}

fn dead(key: &EntryKey) -> Error {
    Error::Rejected {
        profile: key.profile.clone(),
        reason: "the provider rejected this session's refresh token earlier; it will not be retried"
            .to_string(),
    }
}
