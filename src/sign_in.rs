//! Signing in: obtain a fresh credential through a flow and have the provider confirm it.
//!
//! Shared by `login` and `rotate`. It settles the flow, scopes and client for a profile, runs
//! the flow ([`crate::flows`]), then confirms the result: the ID token's `iss`, `aud`, `exp`
//! and `nonce`, and the userinfo endpoint when the provider has one the scopes allow (always
//! for a pasted token). It returns the record to store and stores nothing itself.

use crate::config::{Flow, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::flows::{self, Obtained};
use crate::http;
use crate::oauth::{self, Client, IdClaims, IdTokenExpectations};
use crate::provider::{self, Provider};
use crate::record::Record;
use crate::secret::ClientSecret;
use crate::signals::CriticalSection;
use crate::store::EntryKey;
use crate::userinfo;
use std::time::Duration;

/// How to sign in.
pub struct Options {
    /// The flow asked for on the command line; else the profile's, else the provider's default.
    pub flow: Option<Flow>,
    pub no_open: bool,
    pub timeout: Option<Duration>,
    /// Browser flow: the person pastes the redirected address (`--paste`).
    pub paste: bool,
    /// The client has a secret (in VOUCH_CLIENT_SECRET) even for user flows.
    pub confidential: bool,
    /// Bind the grant to a new DPoP key (`--dpop`); the profile's `dpop = true` does too.
    pub dpop: bool,
}

/// A confirmed credential, ready to store.
pub struct SignedIn {
    /// The record to write; its generation follows the `previous` record given.
    pub record: Record,
    pub flow: Flow,
    pub provider: Provider,
    pub client: Client,
    /// Signals stay deferred until the caller has written the record and drops this.
    pub critical: Option<CriticalSection>,
}

/// Sign `name` in. May update `profile` (default scopes, the flow, the client auth method).
pub fn sign_in(
    ctx: &mut Context,
    name: &str,
    profile: &mut Profile,
    previous: Option<&Record>,
    options: &Options,
) -> Result<SignedIn, Error> {
    // A sign-in always asks the provider where its endpoints are now (and refreshes the cache).
    let provider = provider::resolve_fresh(ctx, profile)?;
    let flow = match options.flow.or(profile.flow) {
        Some(flow) => flow,
        None => flows::default_flow(&provider)?,
    };
    if profile.scopes.is_empty() && provider.openid && matches!(flow, Flow::Device | Flow::Browser) {
        profile.scopes = default_scopes(provider.scopes_supported.as_deref());
    }
    let scope = profile.scopes.join(" ");
    let auth_method =
        profile.auth_method.unwrap_or_else(|| oauth::choose_auth_method(&provider.auth_methods));
    // Some providers give even native apps a client secret (Google's desktop and TV clients).
    // With --confidential, VOUCH_CLIENT_SECRET authenticates the device and browser flows
    // and is kept for refreshes. Never implicitly: the variable is process-wide, and sending
    // one provider's secret to another would leak it. The client-credentials flow reads its own.
    let secret = match flow {
        Flow::ClientCredentials | Flow::Token => None,
        _ if options.confidential => {
            Some(ClientSecret::new(ctx.env.get("VOUCH_CLIENT_SECRET").ok_or_else(|| {
                Error::usage("--confidential needs the client secret in VOUCH_CLIENT_SECRET")
            })?))
        }
        _ => previous.and_then(|r| r.client_secret.clone()),
    };
    // DPoP: a fresh key pair for every sign-in (a new grant never reuses an old key).
    let dpop = options.dpop || profile.dpop == Some(true);
    if dpop && flow == Flow::Token {
        return Err(Error::usage(
            "a pasted token cannot be bound to a key; sign in with a flow (--device, --browser) to use --dpop",
        ));
    }
    let dpop = if dpop { Some(crate::secret::DpopKey::generate()?) } else { None };
    if let Some(key) = &dpop {
        ctx.log(format_args!("sign-in: DPoP key {} for '{name}'", key.thumbprint()?));
    }
    let client = Client { method: auth_method, dpop, ..provider.client(profile, secret) };
    ctx.log(format_args!("sign-in: flow {} for '{name}'", flow.name()));

    let redirect_uri = profile.redirect_uri.clone();
    let request = flows::Request {
        profile: name,
        provider: &provider,
        client: &client,
        scope: &scope,
        no_open: options.no_open,
        timeout: options.timeout,
        redirect_uri: redirect_uri.as_deref(),
        paste: options.paste,
        stored_client_secret: previous.and_then(|r| r.client_secret.as_ref()),
    };
    let obtained = flows::run(flow, ctx, &request)?;
    // Expiry counts from the moment the tokens arrived, not from after confirmation.
    let now = ctx.now();
    if scope.split(' ').any(|s| s == "offline_access") && obtained.tokens.refresh_token.is_none() {
        ctx.note(format_args!(
            "warning: the provider granted no refresh token although offline_access was asked for; \
             '{name}' will need a new sign-in when its access token expires"
        ));
    }
    let claims = match confirm(ctx, name, flow, profile, &provider, &obtained, client.dpop.as_ref()) {
        Ok(claims) => claims,
        Err(err) => {
            // Not stored, so not left valid at the provider either, where it can be helped.
            discard(ctx, &provider, &client, &obtained);
            return Err(err);
        }
    };

    let Obtained { tokens, client_secret, critical, .. } = obtained;
    let record = Record {
        generation: previous.map_or(0, |r| r.generation) + 1,
        issuer: Some(profile.issuer.clone()),
        client_id: Some(profile.client_id.clone()),
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_at: tokens.expires_in.map(|s| now + s),
        refresh_token: tokens.refresh_token,
        refresh_expires_at: tokens.refresh_expires_in.map(|s| now + s),
        scope: tokens.scope.or_else(|| (!scope.is_empty()).then(|| scope.clone())),
        account: claims.account,
        session: claims.session,
        client_secret: client_secret.or_else(|| client.secret.clone()),
        reauth_required: false,
        rotation: None,
        refresh_spent: None,
        dpop_key: client.dpop.clone(),
    };
    profile.flow = Some(flow);
    if client.dpop.is_some() {
        profile.dpop = Some(true);
    }
    if record.client_secret.is_some() {
        profile.auth_method = Some(auth_method);
    }
    Ok(SignedIn { record, flow, provider, client, critical })
}

/// Have the provider confirm what the flow obtained. Returns the account name when known.
fn confirm(
    ctx: &mut Context,
    name: &str,
    flow: Flow,
    profile: &Profile,
    provider: &Provider,
    obtained: &Obtained,
    obtained_key: Option<&crate::secret::DpopKey>,
) -> Result<IdClaims, Error> {
    let tokens = &obtained.tokens;
    let mut claims = IdClaims::default();
    if let Some(id_token) = &tokens.id_token {
        let from = provider.token.as_ref().map_or(provider.issuer.clone(), http::redact);
        let expect = IdTokenExpectations {
            issuer: &provider.issuer,
            client_id: &profile.client_id,
            nonce: obtained.nonce.as_deref(),
            now: ctx.now(),
        };
        claims = oauth::check_id_token(id_token, &expect, &from)?;
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
            match userinfo::confirm(ctx, &profile.issuer, &url, &tokens.access_token, obtained_key, name) {
                Ok(Some(name)) => claims.account = Some(name),
                Ok(None) => {}
                // A token for another resource (Entra: an api:// scope) is refused by the
                // userinfo endpoint; when a valid ID token already came with it from the
                // token endpoint, that issuance is the confirmation.
                Err(Error::Rejected { .. }) if tokens.id_token.is_some() => {
                    ctx.log(format_args!(
                        "sign-in: userinfo refused the access token; the checked ID token confirms it"
                    ));
                }
                Err(err) => return Err(err),
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
    Ok(claims)
}

/// Whether the replaced credential may belong to the same grant as the new one, so that
/// revoking it would revoke the new one too (RFC 7009 §2.1 lets a provider revoke the whole
/// grant): both were issued in the same provider session (`sid`).
pub fn may_share_grant(old: &Record, new: &Record) -> bool {
    old.session.is_some() && old.session == new.session
}

/// Revoke the refresh token a new sign-in replaced, when it differs and cannot share the new
/// credential's grant. Best effort: failing to revoke is a warning. But a provider that
/// revokes the new credential along with the old one is caught: the new access token is
/// checked again where a userinfo endpoint allows it, and if it died the record is marked
/// `reauth_required` and the error says to sign in again.
pub fn revoke_replaced(
    ctx: &mut Context,
    key: &EntryKey,
    provider: &Provider,
    client: &Client,
    previous: Option<&Record>,
    new: &Record,
) -> Result<(), Error> {
    let name = key.profile.as_str();
    let (Some(previous), Some(url)) = (previous, provider.revoke.clone()) else { return Ok(()) };
    let Some(old) = &previous.refresh_token else { return Ok(()) };
    if new.refresh_token.as_ref().is_some_and(|t| t.same_as(old)) {
        return Ok(());
    }
    if may_share_grant(previous, new) {
        ctx.log(format_args!(
            "sign-in: the replaced credential shares the provider session; not revoking it"
        ));
        return Ok(());
    }
    // Can the new access token be checked at userinfo? Only then can a revocation that took
    // the new credential down be noticed afterwards.
    let openid = new.scope.as_deref().is_some_and(|s| s.split(' ').any(|s| s == "openid"));
    let checkable = provider.userinfo.clone().filter(|_| openid).filter(|url| {
        userinfo::confirm(ctx, &client.issuer, url, &new.access_token, new.dpop_key.as_ref(), name).is_ok()
    });
    // The replaced refresh token is bound to the replaced key, if any.
    let client =
        Client { secret: new.client_secret.clone(), dpop: previous.dpop_key.clone(), ..client.clone() };
    match oauth::revoke(ctx, &url, &client, old.expose_secret(), "refresh_token") {
        Ok(oauth::Revoked::Yes) => {}
        Ok(oauth::Revoked::Refused { reason }) => {
            ctx.note(format_args!("{}", oauth::refused_warning("the replaced refresh token", &reason)));
            return Ok(());
        }
        Err(err) => {
            ctx.note(format_args!("warning: could not revoke the replaced refresh token ({})", err.class()));
            return Ok(());
        }
    }
    let Some(userinfo_url) = checkable else { return Ok(()) };
    match userinfo::confirm(
        ctx,
        &client.issuer,
        &userinfo_url,
        &new.access_token,
        new.dpop_key.as_ref(),
        name,
    ) {
        Err(Error::Rejected { .. }) => {
            let store = ctx.store()?;
            store.save(
                key,
                &Record { generation: new.generation + 1, reauth_required: true, ..new.clone() },
            )?;
            Err(Error::Rejected {
                profile: name.to_string(),
                reason:
                    "the provider revoked the new sign-in together with the replaced one (it shares their \
                         grant); the old grant is gone now, so signing in again will stick"
                        .to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// The default scopes for an OpenID provider: `openid`, plus `offline_access` (for a refresh
/// token) when the provider lists it or lists nothing. Google and GitLab refuse it.
fn default_scopes(supported: Option<&[String]>) -> Vec<String> {
    let mut scopes = vec!["openid".to_string()];
    if supported.is_none_or(|list| list.iter().any(|s| s == "offline_access")) {
        scopes.push("offline_access".to_string());
    }
    scopes
}

/// Revoke, best effort, a refresh token that was minted but will not be stored.
fn discard(ctx: &mut Context, provider: &Provider, client: &Client, obtained: &Obtained) {
    if let (Some(url), Some(token)) = (provider.revoke.clone(), &obtained.tokens.refresh_token) {
        let _ = oauth::revoke(ctx, &url, client, token.expose_secret(), "refresh_token");
    }
}
