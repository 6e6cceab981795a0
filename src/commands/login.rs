//! `vouch login`: obtain a credential through a flow, have the provider confirm it, and only
//! then store it and write the profile.
//!
//! Order matters and is the point of this file:
//! 1. settle the profile (flags, else the existing profile) and check the store is usable,
//!    before any secret is read or any request is sent;
//! 2. run the flow ([`crate::flows`]);
//! 3. confirm: check the ID token's `iss`, `aud`, `exp` and `nonce`, and ask the userinfo
//!    endpoint when the provider has one the scopes allow (always for a pasted token);
//! 4. write the record (one atomic store write), then the profile; a failed profile write
//!    removes the record again;
//! 5. revoke the replaced refresh token, best effort.
//!
//! Any failure before step 4 leaves no trace.

use super::Outcome;
use crate::cli::LoginArgs;
use crate::config::{self, Config, Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::{self, Obtained};
use crate::http;
use crate::oauth::{self, Client, IdTokenExpectations};
use crate::provider::{self, Provider};
use crate::record::Record;
use crate::secret::ClientSecret;
use crate::userinfo;
use std::time::Duration;

pub fn run(args: LoginArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    // From here on Ctrl-C and SIGTERM end the command with 130 / 143, deferred while a
    // credential is being minted and written.
    ctx.interrupts();
    config::validate_name(&args.name)?;
    let name = args.name.clone();
    let dir = ctx.config_dir()?;
    let mut config = Config::load(&dir)?;
    let mut profile = merge_profile(&args, config.profiles.get(&name))?;

    // Check everything local before asking for a secret or contacting the provider.
    let store = ctx.store()?;
    let previous = match store.load(&name) {
        Ok(previous) => previous,
        // An unreadable old record is simply replaced by the confirmed new one.
        Err(Error::Unreadable { .. }) => None,
        Err(other) => return Err(other),
    };

    let provider = provider::resolve(ctx, &profile)?;
    let flow = match chosen_flow(&args).or(profile.flow) {
        Some(flow) => flow,
        None => flows::default_flow(&provider)?,
    };
    if profile.scopes.is_empty() && provider.openid && matches!(flow, Flow::Device | Flow::Browser) {
        profile.scopes = vec!["openid".to_string(), "offline_access".to_string()];
    }
    let scope = profile.scopes.join(" ");
    let auth_method =
        profile.auth_method.unwrap_or_else(|| oauth::choose_auth_method(&provider.auth_methods));
    // Some providers give even native apps a client secret (Google's desktop and TV clients):
    // VOUCH_CLIENT_SECRET makes any flow authenticate with it, and it is kept for refreshes.
    // The client-credentials flow reads its own secret.
    let secret = match flow {
        Flow::ClientCredentials | Flow::Token => None,
        _ => ctx
            .env
            .get("VOUCH_CLIENT_SECRET")
            .map(ClientSecret::new)
            .or_else(|| previous.as_ref().and_then(|r| r.client_secret.clone())),
    };
    let client = Client { id: profile.client_id.clone(), secret, method: auth_method };
    ctx.log(format_args!("login: flow {} for '{name}'", flow.name()));

    let request = flows::Request {
        profile: &name,
        provider: &provider,
        client: &client,
        scope: &scope,
        no_open: args.no_open,
        timeout: args.timeout.map(Duration::from_secs),
        stored_client_secret: previous.as_ref().and_then(|r| r.client_secret.as_ref()),
    };
    let obtained = flows::run(flow, ctx, &request)?;
    let account = confirm(ctx, &name, flow, &profile, &provider, &obtained)?;

    // Confirmed by the provider: now, and only now, store it.
    let now = ctx.now();
    let Obtained { tokens, client_secret, critical, .. } = obtained;
    let client_secret = client_secret.or_else(|| client.secret.clone());
    let record = Record {
        generation: previous.as_ref().map_or(0, |r| r.generation) + 1,
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_at: tokens.expires_in.map(|s| now + s),
        refresh_token: tokens.refresh_token,
        scope: tokens.scope.or_else(|| (!scope.is_empty()).then(|| scope.clone())),
        account: account.clone(),
        client_secret,
    };
    store.save(&name, &record)?;
    profile.flow = Some(flow);
    if record.client_secret.is_some() {
        profile.auth_method = Some(auth_method);
    }
    config.profiles.insert(name.clone(), profile);
    if let Err(err) = config.save(&dir) {
        // Keep the two in step: no stored credential without its profile.
        let _ = store.delete(&name);
        return Err(err);
    }
    drop(critical);

    revoke_replaced(ctx, &provider, &client, previous.as_ref(), &record);
    let who = account.map(|a| format!(" as {a}")).unwrap_or_default();
    ctx.note(format_args!(
        "Signed in to '{name}'{who}; the credential is in the {}.",
        store.kind().description()
    ));
    ctx.interrupts().check()?;
    Ok(Outcome::Done)
}

fn chosen_flow(args: &LoginArgs) -> Option<Flow> {
    [
        (args.device, Flow::Device),
        (args.browser, Flow::Browser),
        (args.client_credentials, Flow::ClientCredentials),
        (args.with_token, Flow::Token),
    ]
    .into_iter()
    .find_map(|(chosen, flow)| chosen.then_some(flow))
}

/// Have the provider confirm what the flow obtained. Returns the account name when known.
fn confirm(
    ctx: &mut Context,
    name: &str,
    flow: Flow,
    profile: &Profile,
    provider: &Provider,
    obtained: &Obtained,
) -> Result<Option<String>, Error> {
    let tokens = &obtained.tokens;
    let mut account = None;
    if let Some(id_token) = &tokens.id_token {
        let from = provider.token.as_ref().map_or(provider.issuer.clone(), http::redact);
        let expect = IdTokenExpectations {
            issuer: &provider.issuer,
            client_id: &profile.client_id,
            nonce: obtained.nonce.as_deref(),
            now: ctx.now(),
        };
        account = oauth::check_id_token(id_token, &expect, &from)?;
    }
    let granted = tokens.scope.as_deref().unwrap_or(&profile.scopes.join(" ")).to_string();
    // A client-credentials token was issued to the client itself: there is no user to ask
    // about, and its issuance by the token endpoint is the confirmation.
    let userinfo_allowed = flow != Flow::ClientCredentials
        && (profile.userinfo_url.is_some()
            || profile.provider.is_some()
            || granted.split(' ').any(|s| s == "openid"));
    match (&provider.userinfo, flow) {
        (Some(url), _) if flow == Flow::Token || userinfo_allowed => {
            let url = url.clone();
            if let Some(name) = userinfo::confirm(ctx, &url, &tokens.access_token, name)? {
                account = Some(name);
            }
        }
        (None, Flow::Token) => {
            return Err(Error::usage(format!(
                "the provider at {} publishes no userinfo endpoint to verify the token with; pass --userinfo-url URL",
                profile.issuer
            )));
        }
        _ => {}
    }
    Ok(account)
}

/// Revoke the refresh token the new login replaced, when it differs. Best effort: the old
/// grant would otherwise stay valid at the provider until it expires.
fn revoke_replaced(
    ctx: &mut Context,
    provider: &Provider,
    client: &Client,
    previous: Option<&Record>,
    new: &Record,
) {
    let (Some(old), Some(url)) = (previous.and_then(|r| r.refresh_token.as_ref()), provider.revoke.clone())
    else {
        return;
    };
    if new.refresh_token.as_ref().is_some_and(|t| t.same_as(old)) {
        return;
    }
    let client = Client { secret: new.client_secret.clone(), ..client.clone() };
    if let Err(err) = oauth::revoke(ctx, &url, &client, old.expose_secret(), "refresh_token") {
        ctx.note(format_args!("warning: could not revoke the replaced refresh token ({})", err.class()));
    }
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
    };
    for url in [
        &profile.token_url,
        &profile.device_url,
        &profile.auth_url,
        &profile.revoke_url,
        &profile.userinfo_url,
    ]
    .into_iter()
    .flatten()
    {
        http::user_url(url)?;
    }
    Ok(profile)
}
