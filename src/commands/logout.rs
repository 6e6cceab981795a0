//! `vouch logout`: revoke the credential at the provider (RFC 7009), then delete it locally.
//!
//! The refresh token is revoked with `token_type_hint=refresh_token`, then the access token,
//! when the provider has a revocation endpoint; a confidential client authenticates. The
//! local entry is deleted **in every case**: when revocation fails (offline, provider down)
//! a warning says the token stays valid at the provider until it expires, and the command
//! still succeeds. Idempotent: logging out of a signed-out profile is exit 0 with a note.
//! The profile's non-secret settings are kept for the next login.

use super::Outcome;
use crate::cli::LogoutArgs;
use crate::commands::rotate;
use crate::config::{Config, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::lock::ProfileLock;
use crate::oauth::{self, Client};
use crate::provider;
use crate::record::Record;

pub fn run(args: LogoutArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let config = Config::load(&ctx.config_dir()?)?;
    let names =
        if args.all { config.names() } else { vec![config.resolve(args.name.as_deref(), &ctx.env)?.0] };
    if names.is_empty() {
        ctx.note(format_args!("No profiles to sign out of."));
        return Ok(Outcome::Done);
    }
    let store = ctx.store()?;
    for name in names {
        let _lock = ProfileLock::acquire(&ctx.lock_dir()?, &name, ctx.settings.lock_wait)?;
        let record = match store.load(&name) {
            Ok(record) => record,
            // Unreadable: nothing to revoke with, but the entry must still go.
            Err(Error::Unreadable { .. }) => None,
            Err(other) => return Err(other),
        };
        if let Some(record) = &record {
            revoke(ctx, &name, &config.profiles[&name], record);
        }
        crate::lock::InFlight::clear(&ctx.lock_dir()?, &name);
        let fallback = store.delete(&rotate::fallback_entry(&name))?;
        if store.delete(&name)? || fallback {
            ctx.note(format_args!(
                "Signed out of '{name}'; its settings are kept for the next `vouch login {name}`."
            ));
        } else {
            ctx.note(format_args!("'{name}' was already signed out."));
        }
    }
    Ok(Outcome::Done)
}

/// Revoke what `record` holds, best effort: failures become a warning.
fn revoke(ctx: &mut Context, name: &str, profile: &Profile, record: &Record) {
    if let Err(err) = try_revoke(ctx, profile, record) {
        ctx.note(format_args!(
            "warning: could not revoke the credential of '{name}' at the provider ({}); it stays valid there until it expires",
            err.class()
        ));
    }
}

fn try_revoke(ctx: &mut Context, profile: &Profile, record: &Record) -> Result<(), Error> {
    let provider = provider::resolve(ctx, profile)?;
    let Some(url) = provider.revoke.clone() else {
        ctx.log(format_args!("logout: the provider has no revocation endpoint"));
        return Ok(());
    };
    let client = Client {
        id: profile.client_id.clone(),
        secret: record.client_secret.clone(),
        method: profile.auth_method.unwrap_or_else(|| oauth::choose_auth_method(&provider.auth_methods)),
    };
    if let Some(refresh_token) = &record.refresh_token {
        oauth::revoke(ctx, &url, &client, refresh_token.expose_secret(), "refresh_token")?;
    }
    oauth::revoke(ctx, &url, &client, record.access_token.expose_secret(), "access_token")
}
