//! `vouch rotate`: replace a profile's long-lived credential, never losing a working one.
//!
//! **User profiles.** First a refresh ([`crate::refresh`]). If the provider rotates refresh
//! tokens, it answers with a new one and has consumed the old one: the new record is written
//! in one store write inside a deferred-signal section, and the old token is never sent again
//! (revoking a consumed token would be a replay, RFC 9700 §4.14.2). If the provider kept the
//! same refresh token, the grant itself is replaced:
//! 1. the current record is copied to a fallback entry (`ENTRY#previous`);
//! 2. a new grant is obtained with the profile's login flow (interactive; exit 2 under
//!    `--no-input`) and confirmed by the provider;
//! 3. it is stored as current (one write; the current entry is always a usable credential);
//! 4. the old grant's refresh token is revoked;
//! 5. the fallback is deleted.
//!
//! A revocation the provider refuses for good ([`oauth::refused_for_good`]: a public client on
//! a provider that wants client authentication at `/revoke`, say) finishes the rotation with a
//! warning that the old grant stays valid at the provider until it expires. Only a transient
//! failure (network, 5xx, 429) keeps the fallback for a later run.
//!
//! Interrupted anywhere, the current entry holds the old or the new credential, both usable.
//! `status` shows an unfinished rotation (a fallback exists) and `rotate` again finishes it:
//! if the fallback's refresh token differs from the current one it is revoked, then the
//! fallback is deleted.
//!
//! **Client-credentials profiles.** `--client-secret-stdin` reads the new secret, proves it
//! by minting a token, and only then replaces the stored secret and token in one write.

use super::Outcome;
use crate::cli::RotateArgs;
use crate::config::{Config, Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::client_credentials;
use crate::identity;
use crate::lock::ProfileLock;
use crate::oauth::{self, Client, Revoked};
use crate::provider;
use crate::record::Record;
use crate::refresh;
use crate::secret::ClientSecret;
use crate::secret_input;
use crate::sign_in::{self, Options, SignedIn};
use crate::store::{EntryKey, SecretStore};

pub fn run(args: RotateArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let interrupts = ctx.interrupts();
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let (name, mut profile) = config.resolve(args.name.as_deref(), &ctx.env)?;
    let key = identity::resolve(ctx, &dir, &name, &profile)?;
    let store = ctx.store()?;

    if args.client_secret_stdin || profile.flow == Some(Flow::ClientCredentials) {
        return rotate_client_secret(ctx, &store, &key, &profile, args.client_secret_stdin);
    }
    if finish_pending(ctx, &store, &key, &profile)? {
        return Ok(Outcome::Done);
    }

    let before = store.load(&key)?.ok_or_else(|| Error::SignedOut { profile: name.clone() })?;
    // A DPoP-bound grant is replaced with a new key: refreshing would keep the old one.
    if let Some(old) = before.refresh_token.as_ref().filter(|_| before.dpop_key.is_none()) {
        let after = refresh::refresh(ctx, &key, &profile, None)?;
        if after.refresh_token.as_ref().is_some_and(|new| !new.same_as(old)) {
            ctx.note(format_args!(
                "Rotated '{name}': the provider issued a new refresh token and retired the old one."
            ));
            return Ok(Outcome::Done);
        }
        ctx.log(format_args!("rotate: the provider kept the refresh token; replacing the grant"));
    }

    // The provider does not rotate refresh tokens (or there is none): replace the grant.
    if ctx.settings.no_input {
        return Err(Error::usage(format!(
            "rotating '{name}' needs a new sign-in because the provider does not rotate refresh tokens \
             (or the profile is bound to a DPoP key, which only a new sign-in replaces); \
             run `vouch rotate {name}` at a terminal, without --no-input or VOUCH_NO_INPUT"
        )));
    }
    let current = store.load(&key)?.ok_or_else(|| Error::SignedOut { profile: name.clone() })?;
    store.save(&key.previous(), &current)?;
    (ctx.checkpoint)("rotate:fallback-stored")?;
    let options = Options {
        flow: None,
        no_open: args.no_open,
        timeout: None,
        paste: false,
        confidential: false,
        dpop: false,
    };
    let SignedIn { mut record, provider, client, critical, .. } =
        sign_in::sign_in(ctx, &name, &mut profile, Some(&current), &options)?;
    (ctx.checkpoint)("rotate:new-grant-obtained")?;
    {
        let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(&key), ctx.settings.lock_wait)?;
        let stored = store.load(&key)?;
        record.generation = stored.map_or(current.generation, |r| r.generation) + 1;
        store.save(&key, &record)?;
    }
    drop(critical);
    (ctx.checkpoint)("rotate:new-stored")?;
    Config::update(&dir, |config| {
        config.profiles.insert(name.clone(), profile);
    })?;
    if retire_fallback(ctx, &store, &key, &provider, &client, &current, &record)? {
        ctx.note(format_args!("Rotated '{name}': a new grant is stored and the old one was revoked."));
    } else {
        ctx.note(format_args!("Rotated '{name}': a new grant is stored."));
    }
    interrupts.check()?;
    Ok(Outcome::Done)
}

/// Finish a rotation that was interrupted. Returns whether one was finished.
fn finish_pending(
    ctx: &mut Context,
    store: &SecretStore,
    key: &EntryKey,
    profile: &Profile,
) -> Result<bool, Error> {
    let name = key.profile.as_str();
    let fallback = match store.load(&key.previous()) {
        Ok(Some(fallback)) => fallback,
        Ok(None) => return Ok(false),
        // An unreadable fallback cannot be revoked with: drop it.
        Err(Error::Unreadable { .. }) => {
            store.delete(&key.previous())?;
            return Ok(false);
        }
        Err(other) => return Err(other),
    };
    let current = store.load(key)?;
    let Some(current) = current.filter(|c| !c.reauth_required) else {
        // The current credential is gone or dead: the fallback becomes current again.
        store.save(key, &Record { reauth_required: false, ..fallback })?;
        store.delete(&key.previous())?;
        ctx.note(format_args!("Restored the previous credential of '{name}' from an interrupted rotation."));
        return Ok(false);
    };
    let same_grant = match (&fallback.refresh_token, &current.refresh_token) {
        (Some(a), Some(b)) => a.same_as(b),
        _ => fallback.access_token.same_as(&current.access_token),
    };
    if same_grant {
        // Interrupted before the new grant was stored: start over.
        store.delete(&key.previous())?;
        return Ok(false);
    }
    let provider = provider::resolve(ctx, profile)?;
    let client = provider.client(profile, current.client_secret.clone());
    if retire_fallback(ctx, store, key, &provider, &client, &fallback, &current)? {
        ctx.note(format_args!("Finished the interrupted rotation of '{name}'."));
    } else {
        ctx.note(format_args!(
            "Finished the interrupted rotation of '{name}' without revoking the old grant."
        ));
    }
    Ok(true)
}

/// Steps 4 and 5: revoke the old grant's refresh token, then delete the fallback. If the
/// revocation cannot be done now, the fallback stays so that `rotate` can finish later; if the
/// provider refuses it for good, a warning says so and the fallback goes all the same.
/// Returns whether the old grant was revoked (or needed no revocation).
fn retire_fallback(
    ctx: &mut Context,
    store: &SecretStore,
    key: &EntryKey,
    provider: &provider::Provider,
    client: &Client,
    old: &Record,
    new: &Record,
) -> Result<bool, Error> {
    let mut revoked = true;
    if let (Some(url), Some(token)) = (&provider.revoke, &old.refresh_token)
        && !new.refresh_token.as_ref().is_some_and(|t| t.same_as(token))
        && !sign_in::may_share_grant(old, new)
    {
        let url = url.clone();
        // The old refresh token is bound to the old DPoP key, if any.
        let client = Client { dpop: old.dpop_key.clone(), ..client.clone() };
        if let Revoked::Refused { reason } =
            oauth::revoke(ctx, &url, &client, token.expose_secret(), "refresh_token")?
        {
            let what = format!("the previous credential of '{}'", key.profile);
            ctx.note(format_args!("{}", oauth::refused_warning(&what, &reason)));
            revoked = false;
        }
    }
    (ctx.checkpoint)("rotate:old-revoked")?;
    store.delete(&key.previous())?;
    Ok(revoked)
}

/// Client-credentials rotation: prove the new secret, then replace the stored one.
fn rotate_client_secret(
    ctx: &mut Context,
    store: &SecretStore,
    key: &EntryKey,
    profile: &Profile,
    from_stdin: bool,
) -> Result<Outcome, Error> {
    let name = key.profile.as_str();
    if profile.flow != Some(Flow::ClientCredentials) {
        return Err(Error::usage(format!(
            "'{name}' is not a client-credentials profile; rotate it without --client-secret-stdin"
        )));
    }
    if !from_stdin {
        return Err(Error::usage(format!(
            "rotating the client secret of '{name}' needs the new secret: `printf %s \"$NEW_SECRET\" | vouch rotate {name} --client-secret-stdin`"
        )));
    }
    let secret = secret_input::read(ctx, &format!("the new client secret of '{name}'"))?
        .map(|s| ClientSecret::new(s.as_str()))
        .ok_or_else(|| Error::usage("no new client secret on stdin"))?;
    let provider = provider::resolve(ctx, profile)?;
    let token_url = provider.require(&provider.token, "token", "--token-url")?.clone();
    let client = provider.client(profile, Some(secret.clone()));
    let (tokens, critical) =
        client_credentials::mint(ctx, name, &token_url, &client, &profile.scopes.join(" "))?;
    let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(key), ctx.settings.lock_wait)?;
    let current = store.load(key)?.ok_or_else(|| Error::SignedOut { profile: name.to_string() })?;
    let mut record = refresh::renewed_record(&current, tokens, ctx.now(), None);
    record.client_secret = Some(secret);
    store.save(key, &record)?;
    drop(critical);
    ctx.note(format_args!(
        "Rotated the client secret of '{name}': the new one works and is stored. Retire the old one at the provider."
    ));
    ctx.interrupts().check()?;
    Ok(Outcome::Done)
}
