//! `vouch login`: obtain a credential through a flow, have the provider confirm it, and only
//! then store it and write the profile.
//!
//! Order matters and is the point of this file:
//! 1. settle the profile (flags, else the existing profile) and check the store is usable,
//!    before any secret is read or any request is sent;
//! 2. sign in and have the provider confirm the result ([`crate::sign_in`]);
//! 3. under the profile lock, write the record (one atomic store write), then the profile;
//!    a failed profile write removes the record again;
//! 4. revoke the replaced refresh token, best effort.
//!
//! Any failure before step 4 leaves no trace.
//!
//! A login that changes the profile's issuer or client starts clean: the profile gets a new
//! credential id (a new store entry, [`crate::identity`]), nothing of the old credential (its
//! client secret, its refresh token) is used for the new provider, and once the new
//! credential is stored the old one is revoked at its own provider (or left alone there with
//! a warning) and deleted.

use super::Outcome;
use crate::cli::LoginArgs;
use crate::config::{self, Config, Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::browser;
use crate::http;
use crate::lock::ProfileLock;
use crate::provider;
use crate::record::Record;
use crate::sign_in::{self, Options, SignedIn};
use crate::store::{EntryKey, SecretStore};
use crate::{identity, oauth};
use std::io::Write;
use std::time::Duration;

pub fn run(args: LoginArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    // From here on Ctrl-C and SIGTERM end the command with 130 / 143, deferred while a
    // credential is being minted and written.
    let interrupts = ctx.interrupts();
    config::validate_name(&args.name)?;
    let name = args.name.clone();
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let existing = config.profiles.get(&name).cloned();
    let mut profile = merge_profile(&args, existing.as_ref())?;
    let old_key = match &existing {
        Some(old) => Some(identity::resolve(ctx, &dir, &name, old)?),
        None => None,
    };
    // The same provider and client keep the credential; anything else starts clean.
    let switching = existing
        .as_ref()
        .filter(|old| old.issuer != profile.issuer || old.client_id != profile.client_id)
        .zip(old_key.clone());
    profile.credential_id = match (&old_key, &switching) {
        (Some(old), None) => old.entry.rsplit('~').next().map(str::to_string),
        _ => Some(identity::new_credential_id()?),
    };
    let key =
        identity::key(&name, &profile).ok_or_else(|| Error::internal("the profile has no credential id"))?;

    // Check everything local before asking for a secret or contacting the provider.
    let store = ctx.store()?;
    let previous = if switching.is_some() { None } else { load_replaceable(&store, &key)? };
    if previous.is_none() {
        // Reading an existing record proved the store unlocked; otherwise check before any
        // person approves anything or any token is minted.
        store.check_writable()?;
    }

    let options = Options {
        flow: chosen_flow(&args),
        no_open: args.no_open,
        timeout: args.timeout.map(Duration::from_secs),
        paste: args.paste,
        confidential: args.confidential,
        dpop: args.dpop,
    };
    let SignedIn { mut record, provider, client, critical, flow } =
        sign_in::sign_in(ctx, &name, &mut profile, previous.as_ref(), &options)?;

    // Confirmed by the provider: now, and only now, store it, under the profile lock and on
    // top of whatever is stored by then.
    // Signals wait until both writes are done, whatever the flow.
    let writing = interrupts.critical();
    let state_dir = ctx.state_dir()?;
    let lock = ProfileLock::acquire(&state_dir, &store.lock_name(&key), ctx.settings.lock_wait)?;
    let replaced = if switching.is_some() { None } else { load_replaceable(&store, &key)? };
    // A marker of a refresh that died mid-flight names the replaced refresh token: moot now.
    crate::lock::InFlight::clear(&state_dir, &store.lock_name(&key));
    record.generation = replaced.as_ref().map_or(0, |r| r.generation) + 1;
    store.save(&key, &record)?;
    if let Err(err) = Config::update(&dir, |config| {
        config.profiles.insert(name.clone(), profile);
    }) {
        // Keep the two in step: put back what was there, so a failed login loses nothing.
        let _ = match &replaced {
            Some(old) => store.save(&key, old),
            None => store.delete(&key).map(|_| ()),
        };
        return Err(err);
    }
    drop(lock);
    drop(writing);
    drop(critical);

    if let Some((old_profile, old_key)) = &switching {
        retire_other_provider(ctx, &store, old_profile, old_key);
    }
    let revoke = config.profiles.get(&name).is_none_or(|p| p.revoke_replaced != Some(false));
    drop(config);
    if revoke
        && let Err(err) = sign_in::revoke_replaced(ctx, &key, &provider, &client, replaced.as_ref(), &record)
    {
        // This provider revokes a whole grant, and the new credential shared it: never revoke
        // on this profile's re-logins again.
        Config::update(&dir, |config| {
            if let Some(profile) = config.profiles.get_mut(&name) {
                profile.revoke_replaced = Some(false);
            }
        })?;
        return Err(err);
    }
    let who = record.account.as_ref().map(|a| format!(" as {a}")).unwrap_or_default();
    ctx.note(format_args!(
        "Signed in to '{name}'{who}; the credential is in the {}.",
        store.kind().description()
    ));
    if args.json {
        let summary = serde_json::json!({
            "profile": name,
            "account": record.account,
            "flow": flow.name(),
            "expires_at": record.expires_at,
            "has_refresh_token": record.refresh_token.is_some(),
            "scope": record.scope,
            "store": store.kind().id(),
        });
        writeln!(ctx.stdout, "{}", serde_json::to_string_pretty(&summary).unwrap_or_default())
            .map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))?;
    }
    interrupts.check()?;
    Ok(Outcome::Done)
}

/// The credential of the provider or client a login switched away from: revoke it at its
/// own provider, best effort, and delete it.
fn retire_other_provider(ctx: &mut Context, store: &SecretStore, old_profile: &Profile, old_key: &EntryKey) {
    let name = old_key.profile.as_str();
    for entry in [old_key.clone(), old_key.previous()] {
        let Ok(Some(old)) = store.load(&entry) else { continue };
        let revoked = match (&old.refresh_token, provider::resolve(ctx, old_profile)) {
            (None, _) => Ok(oauth::Revoked::Yes),
            (Some(token), Ok(old_provider)) => match old_provider.revoke.clone() {
                Some(url) => {
                    let client = old_provider.client(old_profile, old.client_secret.clone());
                    oauth::revoke(ctx, &url, &client, token.expose_secret(), "refresh_token")
                }
                None => Err(Error::usage("it has no revocation endpoint")),
            },
            (Some(_), Err(err)) => Err(err),
        };
        match revoked {
            Ok(oauth::Revoked::Refused { reason }) => ctx.note(format_args!(
                "{}",
                oauth::refused_warning(&format!("the old credential of '{name}' at {}", old_key.issuer), &reason)
            )),
            Ok(oauth::Revoked::Yes) => ctx.note(format_args!(
                "'{name}' now signs in to another provider or client; its old credential was revoked at {} and \
                 deleted.",
                old_key.issuer
            )),
            Err(err) => ctx.note(format_args!(
                "warning: '{name}' moved to another provider or client; the old credential was deleted here but could \
                 not be revoked at {} ({}), so it stays valid there until it expires",
                old_key.issuer,
                err.class()
            )),
        }
        let _ = store.delete(&entry);
    }
}

/// The stored record a login replaces; an unreadable one is simply replaced.
fn load_replaceable(store: &SecretStore, key: &EntryKey) -> Result<Option<Record>, Error> {
    match store.load(key) {
        Ok(previous) => Ok(previous),
        Err(Error::Unreadable { .. } | Error::ForeignCredential { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

fn chosen_flow(args: &LoginArgs) -> Option<Flow> {
    [
        (args.device, Flow::Device),
        (args.browser || args.paste, Flow::Browser),
        (args.client_credentials, Flow::ClientCredentials),
        (args.with_token, Flow::Token),
    ]
    .into_iter()
    .find_map(|(chosen, flow)| chosen.then_some(flow))
}

/// The profile this login will write: flags first, then what the existing profile has.
fn merge_profile(args: &LoginArgs, existing: Option<&Profile>) -> Result<Profile, Error> {
    let pick = |flag: &Option<String>, old: fn(&Profile) -> &Option<String>| {
        flag.clone().or_else(|| existing.and_then(|p| old(p).clone()))
    };
    let preset = pick(&args.provider, |p| &p.provider);
    let issuer = args
        .issuer
        .clone()
        .or_else(|| existing.map(|p| p.issuer.clone()))
        .or_else(|| preset.as_deref().and_then(provider::preset_issuer).map(str::to_string));
    let client_id = args.client_id.clone().or_else(|| existing.map(|p| p.client_id.clone()));
    let (Some(issuer), Some(client_id)) = (issuer, client_id) else {
        return Err(Error::usage(format!(
            "'{}' is a new profile: its first login needs --issuer URL (or --provider) and --client-id ID",
            args.name
        )));
    };
    http::user_url(&issuer)?;
    let scopes: Vec<String> =
        args.scopes.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect();
    let profile = Profile {
        issuer,
        client_id,
        scopes: if scopes.is_empty() {
            existing.map(|p| p.scopes.clone()).unwrap_or_default()
        } else {
            scopes
        },
        provider: preset,
        flow: existing.and_then(|p| p.flow),
        auth_method: existing.and_then(|p| p.auth_method),
        token_url: pick(&args.token_url, |p| &p.token_url),
        device_url: pick(&args.device_url, |p| &p.device_url),
        auth_url: pick(&args.auth_url, |p| &p.auth_url),
        revoke_url: pick(&args.revoke_url, |p| &p.revoke_url),
        userinfo_url: pick(&args.userinfo_url, |p| &p.userinfo_url),
        redirect_uri: browser::settle_redirect(
            args.redirect_uri.as_deref(),
            args.redirect_port,
            existing.and_then(|p| p.redirect_uri.as_deref()),
        )?,
        hosts: existing.map(|p| p.hosts.clone()).unwrap_or_default(),
        git_username: existing.and_then(|p| p.git_username.clone()),
        git_auth: existing.and_then(|p| p.git_auth),
        docker_username: existing.and_then(|p| p.docker_username.clone()),
        revoke_replaced: existing.and_then(|p| p.revoke_replaced),
        credential_id: None,
        dpop: existing.and_then(|p| p.dpop),
        api_base: pick(&args.api_base, |p| &p.api_base),
    };
    for url in [
        &profile.token_url,
        &profile.device_url,
        &profile.auth_url,
        &profile.revoke_url,
        &profile.userinfo_url,
        &profile.api_base,
    ]
    .into_iter()
    .flatten()
    {
        http::user_url(url)?;
    }
    Ok(profile)
}
