//! Refresh: keeping a profile's access token fresh without ever losing the session.
//!
//! - **Just in time.** [`usable_record`] hands out the stored record, refreshing it first when
//!   the access token expires within `min_ttl` seconds. `token` (and later `exec` and
//!   `git-credential get`) use it.
//! - **Single flight.** A refresh runs under the profile's lock file. After taking the lock
//!   the record is read again: if another process wrote a newer generation meanwhile, that
//!   record is used and no second refresh is sent. Every writer holds the lock, so an older
//!   token can never overwrite a newer one.
//! - **Rotation-safe.** Only the stored, current refresh token is ever sent; one that was
//!   replaced is never sent again (RFC 9700 §4.14.2: replaying a rotated refresh token can
//!   revoke the whole grant). On `invalid_grant` the store is read once more; if the token is
//!   still the one that failed, the session is dead: the record is marked `reauth_required`,
//!   the command exits 4, and nothing retries it automatically.
//! - **No blind retries.** Transient failures leave the record untouched (exit 5). Once a
//!   refresh request has been sent it is not re-sent automatically, because the provider may
//!   have consumed the token even though its answer was lost.
//! - **Signals deferred.** From sending the request to writing the result, SIGINT and SIGTERM
//!   wait (see [`crate::signals`]).
//! - **Crash-aware.** An in-flight marker ([`crate::lock::InFlight`]) spans the same window; a
//!   process killed inside it leaves the marker, and the next refresh of that record declares
//!   the session dead (exit 4) rather than replay a refresh token that may have been consumed.
//!
//! Client-credentials profiles have no refresh token: they mint a new access token with the
//! stored client secret instead.

use crate::config::{Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::client_credentials;
use crate::lock::{InFlight, ProfileLock};
use crate::oauth::{self, Client, GrantError, Tokens};
use crate::provider;
use crate::record::Record;

/// Whether `record`'s access token must be renewed to last `min_ttl` more seconds.
pub fn needs_refresh(record: &Record, now: u64, min_ttl: u64) -> bool {
    record.expires_in(now).is_some_and(|left| left < min_ttl as i64)
}

/// The stored record for `name`, refreshed first if it expires within `min_ttl` seconds.
pub fn usable_record(
    ctx: &mut Context,
    name: &str,
    profile: &Profile,
    min_ttl: u64,
) -> Result<Record, Error> {
    let store = ctx.store()?;
    let record = store.load(name)?.ok_or_else(|| Error::SignedOut { profile: name.to_string() })?;
    if record.reauth_required {
        return Err(dead(name));
    }
    if !needs_refresh(&record, ctx.now(), min_ttl) {
        return Ok(record);
    }
    ctx.log(format_args!("refresh: the access token of '{name}' expires within {min_ttl} s"));
    refresh(ctx, name, profile, Some(record.generation))
}

/// Refresh `name` under its lock. `seen` is the generation this process read before deciding
/// to refresh; if the stored one has moved since, the stored record is returned as is.
/// `None` forces a refresh (`vouch refresh`).
pub fn refresh(ctx: &mut Context, name: &str, profile: &Profile, seen: Option<u64>) -> Result<Record, Error> {
    let interrupts = ctx.interrupts();
    (ctx.checkpoint)("refresh:before-lock")?;
    let lock_dir = ctx.lock_dir()?;
    let store = ctx.store()?;
    let _lock = match seen {
        // Someone else may be refreshing right now: wait for them, then read what they wrote.
        Some(generation) => match ProfileLock::acquire_or_wait(&lock_dir, name, ctx.settings.lock_wait)? {
            Some(lock) => lock,
            None => {
                let after =
                    store.load(name)?.ok_or_else(|| Error::SignedOut { profile: name.to_string() })?;
                if after.generation != generation {
                    ctx.log(format_args!("refresh: another process already refreshed '{name}'"));
                    return if after.reauth_required { Err(dead(name)) } else { Ok(after) };
                }
                ProfileLock::acquire(&lock_dir, name, ctx.settings.lock_wait)?
            }
        },
        None => ProfileLock::acquire(&lock_dir, name, ctx.settings.lock_wait)?,
    };
    let current = store.load(name)?.ok_or_else(|| Error::SignedOut { profile: name.to_string() })?;
    if seen.is_some_and(|g| g != current.generation) {
        ctx.log(format_args!("refresh: another process already refreshed '{name}'"));
        return if current.reauth_required { Err(dead(name)) } else { Ok(current) };
    }
    if current.reauth_required {
        return Err(dead(name));
    }

    let provider = provider::resolve(ctx, profile)?;
    let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();
    let client = Client {
        id: profile.client_id.clone(),
        secret: current.client_secret.clone(),
        method: profile.auth_method.unwrap_or_else(|| oauth::choose_auth_method(&provider.auth_methods)),
    };

    let (tokens, critical) = match (&current.refresh_token, profile.flow, &current.client_secret) {
        (Some(refresh_token), _, _) => {
            if InFlight::was_cut_off(&lock_dir, name, refresh_token.expose_secret()) {
                let err = cut_off(ctx, name, &current);
                InFlight::clear(&lock_dir, name);
                return Err(err);
            }
            let critical = interrupts.critical();
            let in_flight = InFlight::begin(&lock_dir, name, refresh_token.expose_secret())?;
            let sent = oauth::token_request(
                ctx,
                &token_url,
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose_secret())],
            );
            match sent {
                Ok(tokens) => (tokens, (critical, Some(in_flight))),
                Err(GrantError::OAuth { code, description }) if code == "invalid_grant" => {
                    return Err(after_invalid_grant(ctx, name, &current, description));
                }
                Err(GrantError::Failed(Error::Unavailable { endpoint, reason })) => {
                    return Err(Error::Unavailable {
                        endpoint,
                        reason: format!(
                            "{reason}; the stored credential is unchanged. If the request reached the provider it \
                             may have replaced the refresh token, so vouch does not resend it on its own: run \
                             `vouch refresh {name}` to try again"
                        ),
                    });
                }
                Err(other) => return Err(other.into_error(name, &token_url, &client)),
            }
        }
        (None, Some(Flow::ClientCredentials), Some(_)) => {
            let scope = profile.scopes.join(" ");
            let (tokens, critical) = client_credentials::mint(ctx, name, &token_url, &client, &scope)?;
            (tokens, (critical, None))
        }
        _ => {
            return Err(Error::Rejected {
                profile: name.to_string(),
                reason: "the access token has expired and there is no refresh token to renew it".to_string(),
            });
        }
    };

    let renewed = renewed_record(&current, tokens, ctx.now());
    store.save(name, &renewed)?;
    // Stored: the marker goes (with `in_flight`), then deferred signals may end the command.
    let (critical, in_flight) = critical;
    drop(in_flight);
    drop(critical);
    ctx.log(format_args!("refresh: stored generation {} of '{name}'", renewed.generation));
    interrupts.check()?;
    Ok(renewed)
}

/// The record after a successful refresh: a new access token, the new refresh token if one
/// came back (else the old one is kept), the next generation.
pub fn renewed_record(current: &Record, tokens: Tokens, now: u64) -> Record {
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
        account: current.account.clone(),
        session: current.session.clone(),
        client_secret: current.client_secret.clone(),
        reauth_required: false,
    }
}

/// The provider said `invalid_grant`. Unless the stored refresh token changed meanwhile (it
/// cannot while we hold the lock, but a store that another tool writes to might), the
/// session is dead: mark it so nothing sends that token again.
fn after_invalid_grant(ctx: &mut Context, name: &str, failed: &Record, description: Option<String>) -> Error {
    let Ok(store) = ctx.store() else { return dead(name) };
    match store.load(name) {
        Ok(Some(now)) if now.generation == failed.generation => {
            let marked = Record { generation: now.generation + 1, reauth_required: true, ..now };
            if let Err(err) = store.save(name, &marked) {
                return err;
            }
            let detail = description.map(|d| {
                format!(": {}", d.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
            });
            Error::Rejected {
                profile: name.to_string(),
                reason: format!(
                    "the provider no longer accepts its refresh token (invalid_grant{})",
                    detail.unwrap_or_default()
                ),
            }
        }
        Ok(_) => Error::Unavailable {
            endpoint: format!("profile '{name}'"),
            reason: "its credential changed while it was being refreshed; run the command again".to_string(),
        },
        Err(err) => err,
    }
}

/// A previous process was killed between sending a refresh of this very record and storing
/// its answer. The provider may have consumed the refresh token; resending it could be seen as
/// a replay and revoke the grant, so the session is marked dead instead.
fn cut_off(ctx: &mut Context, name: &str, current: &Record) -> Error {
    let marked = Record { generation: current.generation + 1, reauth_required: true, ..current.clone() };
    if let Err(err) = ctx.store().and_then(|store| store.save(name, &marked)) {
        return err;
    }
    Error::Rejected {
        profile: name.to_string(),
        reason: "an earlier refresh was killed after its request was sent, so the provider may already have \
                 replaced the refresh token; vouch does not resend it"
            .to_string(),
    }
}

fn dead(name: &str) -> Error {
    Error::Rejected {
        profile: name.to_string(),
        reason: "the provider rejected this session's refresh token earlier; it will not be retried"
            .to_string(),
    }
}
