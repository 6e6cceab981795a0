//! `vouch logout`: revoke the credential at the provider (RFC 7009), then delete it locally.
//!
//! The refresh token is revoked with `token_type_hint=refresh_token`, then the access token,
//! when the provider has a revocation endpoint; a confidential client authenticates. The
//! local entry is deleted **in every case**: when revocation fails (offline, provider down)
//! a warning says the token stays valid at the provider until it expires, and the command
//! still succeeds. A provider that refuses the revocation for good (401 to a public client
//! on a provider that wants client authentication at `/revoke`, say) gets the same wording as
//! in `rotate` ([`oauth::refused_warning`]). Idempotent: logging out of a signed-out profile is exit 0 with a note.
//! The profile's non-secret settings are kept for the next login.
//!
//! When several store items match the profile's entry (another program stored an item with
//! vouch's attributes and more), only vouch's are revoked and deleted: an item is vouch's when
//! its secret decodes as a vouch record or it carries vouch's label
//! ([`crate::store::SecretStore::duplicates`]). The others are left in place, and the command
//! says so.

use super::Outcome;
use crate::cli::LogoutArgs;
use crate::config::{Config, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::identity;
use crate::lock::{InFlight, ProfileLock};
use crate::oauth::{self, Client, Revoked};
use crate::provider;
use crate::record::Record;

pub fn run(args: LogoutArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    if args.orphans {
        return orphans(ctx, &config);
    }
    let names =
        if args.all { config.names() } else { vec![config.resolve(args.name.as_deref(), &ctx.env)?.0] };
    if names.is_empty() {
        ctx.note(format_args!("No profiles to sign out of."));
        return Ok(Outcome::Done);
    }
    let store = ctx.store()?;
    for name in names {
        let profile = &config.profiles[&name];
        let key = identity::resolve(ctx, &dir, &name, profile)?;
        let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(&key), ctx.settings.lock_wait)?;
        let (record, duplicates) = match store.load(&key) {
            Ok(record) => (record, Vec::new()),
            // Unreadable (corrupt, or several items match the entry), or minted for another
            // provider than the profile now names: nothing to revoke with here, but vouch's
            // items must still go.
            Err(Error::Unreadable { .. } | Error::ForeignCredential { .. }) => {
                (None, store.duplicates(&key)?)
            }
            Err(other) => return Err(other),
        };
        if let Some(record) = &record {
            revoke(ctx, &name, profile, record);
        }
        // Several items match: revoke what vouch's among them hold for this profile's provider.
        for record in duplicates.iter().filter_map(|d| d.record.as_ref()) {
            if key.owns(record) {
                revoke(ctx, &name, profile, record);
            } else {
                ctx.note(format_args!(
                    "warning: a credential of '{name}' minted for another provider was deleted without being \
                     revoked; it stays valid there until it expires"
                ));
            }
        }
        InFlight::clear(&ctx.state_dir()?, &store.lock_name(&key));
        let fallback = store.delete(&key.previous())?;
        if store.delete(&key)? || fallback {
            ctx.note(format_args!(
                "Signed out of '{name}'; its settings are kept for the next `vouch login {name}`."
            ));
        } else {
            ctx.note(format_args!("'{name}' was already signed out."));
        }
        let foreign = duplicates.iter().filter(|d| !d.vouch).count();
        if foreign > 0 {
            ctx.note(format_args!(
                "warning: {foreign} other item(s) in the {} match the entry of '{name}' but are not vouch's \
                 (another program stored them); they were left in place. Until they are removed (with the \
                 program that stored them, or Seahorse or secret-tool), '{name}' cannot be read",
                store.kind().description()
            ));
        }
    }
    Ok(Outcome::Done)
}

/// `--orphans`: revoke, where the record says at which provider, and delete every entry that
/// no profile of this configuration owns.
fn orphans(ctx: &mut Context, config: &Config) -> Result<Outcome, Error> {
    let store = ctx.store()?;
    let orphans = identity::orphans(&store, config)?;
    if orphans.is_empty() {
        ctx.note(format_args!("No orphaned credentials in the {}.", store.kind().description()));
        return Ok(Outcome::Done);
    }
    for entry in orphans {
        let shown = identity::profile_of(&entry).to_string();
        let record = store.load_entry(&entry, &shown).ok().flatten();
        let owner = record.as_ref().and_then(|r| Some((r.issuer.clone()?, r.client_id.clone()?)));
        match (&record, owner) {
            (Some(record), Some((issuer, client_id))) => {
                let profile = Profile { issuer: issuer.clone(), client_id, ..Profile::default() };
                revoke(ctx, &shown, &profile, record);
                ctx.note(format_args!("Deleted an orphaned credential of '{shown}' (issued by {issuer})."));
            }
            _ => ctx.note(format_args!(
                "Deleted an orphaned credential of '{shown}'; it does not say which provider issued it, so it \
                 was not revoked there and stays valid until it expires"
            )),
        }
        store.delete_entry(&entry, &shown)?;
    }
    Ok(Outcome::Done)
}

/// Revoke what `record` holds, best effort: failures become a warning.
fn revoke(ctx: &mut Context, name: &str, profile: &Profile, record: &Record) {
    let what = format!("the credential of '{name}'");
    match try_revoke(ctx, profile, record) {
        Ok(Revoked::Yes) => {}
        Ok(Revoked::Refused { reason }) => ctx.note(format_args!("{}", oauth::refused_warning(&what, &reason))),
        Err(err) => ctx.note(format_args!(
            "warning: could not revoke {what} at the provider ({}); it stays valid at the provider until it expires",
            err.class()
        )),
    }
}

/// Revoke the refresh token, then the access token. A refusal of the first does not stop
/// the second (a provider may revoke one type and not the other); the first refusal is
/// reported.
fn try_revoke(ctx: &mut Context, profile: &Profile, record: &Record) -> Result<Revoked, Error> {
    let provider = provider::resolve(ctx, profile)?;
    let Some(url) = provider.revoke.clone() else {
        ctx.log(format_args!("logout: the provider has no revocation endpoint"));
        return Ok(Revoked::Yes);
    };
    let client =
        Client { dpop: record.dpop_key.clone(), ..provider.client(profile, record.client_secret.clone()) };
    let first = match &record.refresh_token {
        Some(refresh_token) => {
            oauth::revoke(ctx, &url, &client, refresh_token.expose_secret(), "refresh_token")?
        }
        None => Revoked::Yes,
    };
    if !record.has_access_token() {
        return Ok(first);
    }
    let second = oauth::revoke(ctx, &url, &client, record.access_token.expose_secret(), "access_token")?;
    Ok(if first == Revoked::Yes { second } else { first })
}
