//! A profile's provider: which endpoints to call, and the provider's quirks.
//!
//! Endpoints come from a built-in preset (`--provider github`), or from discovery on the
//! issuer; endpoint overrides in the profile win over both. This module owns that resolution
//! and the presets. It does not talk OAuth itself: that is [`crate::oauth`].
//!
//! Discovered metadata is kept in [`crate::metadata_cache`] for as long as the provider
//! allows. [`resolve`] uses a fresh cache entry instead of discovering; [`resolve_fresh`]
//! (sign-in) always discovers, and refreshes the entry. A caller that finds an endpoint of
//! cached metadata missing calls [`endpoint_missing`], which drops the entry, so that the
//! next resolution rediscovers. Whatever the source, the endpoints are registered with the
//! HTTP layer here and only here: a credential goes only to an endpoint of its own issuer.

use crate::config::Profile;
use crate::context::Context;
use crate::discovery::{self, Metadata};
use crate::error::Error;
use crate::http;
use crate::metadata_cache;
use url::Url;

/// The built-in provider presets.
pub const PRESETS: &[&str] = &["github"];

/// Everything vouch needs to know about a provider.
#[derive(Debug, Clone, Default)]
pub struct Provider {
    pub issuer: String,
    pub token: Option<Url>,
    pub device: Option<Url>,
    pub authorize: Option<Url>,
    pub revoke: Option<Url>,
    pub userinfo: Option<Url>,
    /// `token_endpoint_auth_methods_supported`; empty when unknown.
    pub auth_methods: Vec<String>,
    /// `scopes_supported`, when published.
    pub scopes_supported: Option<Vec<String>>,
    /// RFC 9207: authorization responses always carry `iss`.
    pub iss_parameter_supported: bool,
    /// The provider speaks OpenID Connect (its metadata came from OIDC discovery).
    pub openid: bool,
    /// The metadata came from the cache, not from discovery in this process.
    pub from_cache: bool,
}

impl Provider {
    /// The OAuth client `profile` is at this provider, authenticating with `secret`.
    pub fn client(
        &self,
        profile: &Profile,
        secret: Option<crate::secret::ClientSecret>,
    ) -> crate::oauth::Client {
        crate::oauth::Client {
            issuer: profile.issuer.clone(),
            id: profile.client_id.clone(),
            secret,
            method: profile
                .auth_method
                .unwrap_or_else(|| crate::oauth::choose_auth_method(&self.auth_methods)),
            dpop: None,
        }
    }

    /// An endpoint the flow cannot do without.
    pub fn require<'a>(&self, endpoint: &'a Option<Url>, what: &str, flag: &str) -> Result<&'a Url, Error> {
        endpoint.as_ref().ok_or_else(|| {
            Error::usage(format!(
                "the provider at {} has no {what} endpoint that vouch knows of; pass {flag} URL",
                self.issuer
            ))
        })
    }
}

/// GitHub: no discovery; device flow and web flow on github.com, user API for verification.
fn github() -> Provider {
    let url = |s: &str| Url::parse(s).ok();
    Provider {
        issuer: "https://github.com".to_string(),
        token: url("https://github.com/login/oauth/access_token"),
        device: url("https://github.com/login/device/code"),
        authorize: url("https://github.com/login/oauth/authorize"),
        revoke: None,
        userinfo: url("https://api.github.com/user"),
        auth_methods: vec!["client_secret_post".to_string()],
        scopes_supported: None,
        iss_parameter_supported: false,
        openid: false,
        from_cache: false,
    }
}

/// The issuer a preset implies, for the first login to a preset profile.
pub fn preset_issuer(name: &str) -> Option<&'static str> {
    match name {
        "github" => Some("https://github.com"),
        _ => None,
    }
}

/// Resolve a profile's provider: preset, cached metadata or discovery, then overrides.
pub fn resolve(ctx: &mut Context, profile: &Profile) -> Result<Provider, Error> {
    resolve_with(ctx, profile, true)
}

/// [`resolve`] without the cache: discovery now (a sign-in, or an endpoint that moved), and
/// its answer kept for the next commands.
pub fn resolve_fresh(ctx: &mut Context, profile: &Profile) -> Result<Provider, Error> {
    resolve_with(ctx, profile, false)
}

/// An endpoint of `provider` is not there (its host did not resolve, it refused the
/// connection, or answered 404): if it came from the cache, drop the entry so that the next
/// resolution rediscovers. Returns whether there was cached metadata to drop.
pub fn endpoint_missing(ctx: &mut Context, provider: &Provider, what: &str) -> bool {
    if !provider.from_cache {
        return false;
    }
    ctx.log(format_args!("metadata: the cached {what} endpoint of {} is not there", provider.issuer));
    metadata_cache::forget(ctx, &provider.issuer);
    true
}

/// The issuer's metadata: from the cache when `cached` allows and it has a fresh entry, else
/// from discovery (which updates the cache). The flag says whether it came from the cache.
fn metadata(ctx: &mut Context, issuer: &str, cached: bool) -> Result<Option<(Metadata, bool)>, Error> {
    if cached && let Some(hit) = metadata_cache::load(ctx, issuer) {
        ctx.log(format_args!(
            "metadata: from the cache for {issuer} (fetched {} s ago, fresh for {} s more)",
            hit.age, hit.left
        ));
        return Ok(Some((hit.metadata, true)));
    }
    match discovery::fetch(ctx, issuer)? {
        Some(fetched) => {
            ctx.log(format_args!("metadata: discovered for {issuer}"));
            metadata_cache::store(ctx, &fetched.metadata, fetched.lifetime);
            Ok(Some((fetched.metadata, false)))
        }
        None => {
            metadata_cache::forget(ctx, issuer);
            Ok(None)
        }
    }
}

fn resolve_with(ctx: &mut Context, profile: &Profile, cached: bool) -> Result<Provider, Error> {
    let mut provider = match profile.provider.as_deref() {
        Some("github") => github(),
        Some(other) => {
            return Err(Error::usage(format!(
                "'{other}' is not a provider preset vouch knows (presets: {})",
                PRESETS.join(", ")
            )));
        }
        // Every endpoint a flow needs is given: no discovery (Entra's multi-tenant issuers,
        // providers without metadata).
        None if profile.token_url.is_some()
            && (profile.device_url.is_some() || profile.auth_url.is_some()) =>
        {
            Provider { issuer: profile.issuer.clone(), ..Provider::default() }
        }
        None => match metadata(ctx, &profile.issuer, cached)? {
            Some((meta, from_cache)) => Provider {
                issuer: meta.issuer,
                token: meta.token_endpoint,
                device: meta.device_authorization_endpoint,
                authorize: meta.authorization_endpoint,
                revoke: meta.revocation_endpoint,
                userinfo: meta.userinfo_endpoint,
                auth_methods: meta.token_endpoint_auth_methods_supported,
                scopes_supported: meta.scopes_supported,
                iss_parameter_supported: meta.iss_parameter_supported,
                openid: meta.openid,
                from_cache,
            },
            None => Provider { issuer: profile.issuer.clone(), ..Provider::default() },
        },
    };
    let overrides = [
        (&profile.token_url, &mut provider.token),
        (&profile.device_url, &mut provider.device),
        (&profile.auth_url, &mut provider.authorize),
        (&profile.revoke_url, &mut provider.revoke),
        (&profile.userinfo_url, &mut provider.userinfo),
    ];
    for (given, slot) in overrides {
        if let Some(text) = given {
            *slot = Some(http::user_url(text)?);
        }
    }
    // These, and only these, are where this issuer's credentials may be sent.
    let endpoints =
        [&provider.token, &provider.device, &provider.authorize, &provider.revoke, &provider.userinfo];
    for issuer in [&profile.issuer, &provider.issuer] {
        ctx.http_client().register_endpoints(issuer, endpoints.iter().filter_map(|e| e.as_ref()));
    }
    Ok(provider)
}
