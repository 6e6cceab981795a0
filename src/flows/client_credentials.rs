//! Flow `--client-credentials` (RFC 6749 §4.4): a confidential client signs in as itself. For
//! CI jobs and service accounts.
//!
//! The client secret comes from `VOUCH_CLIENT_SECRET`, else the secret already stored for this
//! profile, else stdin (a hidden prompt on a terminal). Never from argv. It is the
//! profile's long-lived credential, so it is stored with the access token and used to mint
//! the next one.

use super::{Obtained, Request};
use crate::context::Context;
use crate::error::Error;
use crate::oauth::{self, Client};
use crate::secret::ClientSecret;
use crate::secret_input;

pub fn run(ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    let token_url = request.provider.require(&request.provider.token, "token", "--token-url")?.clone();
    // The environment first, then the secret already stored for this profile (so a re-login
    // never waits on a stdin nobody writes to), then stdin or a prompt.
    let secret = match (ctx.env.get("VOUCH_CLIENT_SECRET"), request.stored_client_secret) {
        (Some(from_env), _) => ClientSecret::new(from_env),
        (None, Some(stored)) => stored.clone(),
        (None, None) => secret_input::read(ctx, &format!("the client secret of '{}'", request.client.id))?
            .map(|typed| ClientSecret::new(typed.as_str()))
            .ok_or_else(|| {
                Error::usage(
                    "no client secret was given: set VOUCH_CLIENT_SECRET, or pipe the secret on stdin \
                     (`vouch login NAME --client-credentials < secret-file`)",
                )
            })?,
    };
    let client = Client { secret: Some(secret.clone()), ..request.client.clone() };
    mint(ctx, request.profile, &token_url, &client, request.scope).map(|(tokens, critical)| Obtained {
        tokens,
        client_secret: Some(secret),
        nonce: None,
        critical: Some(critical),
    })
}

/// Run the client-credentials grant. Shared with rotation of the client secret.
pub fn mint(
    ctx: &mut Context,
    profile: &str,
    token_url: &url::Url,
    client: &Client,
    scope: &str,
) -> Result<(oauth::Tokens, crate::signals::CriticalSection), Error> {
    grant(ctx, token_url, client, scope).map_err(|e| e.into_error(profile, token_url, client))
}

/// [`mint`], with the provider's answer not yet classified (just-in-time renewal tells an
/// endpoint that is not there from the others).
pub fn grant(
    ctx: &mut Context,
    token_url: &url::Url,
    client: &Client,
    scope: &str,
) -> Result<(oauth::Tokens, crate::signals::CriticalSection), oauth::GrantError> {
    let mut params = vec![("grant_type", "client_credentials")];
    if !scope.is_empty() {
        params.push(("scope", scope));
    }
    let critical = ctx.interrupts().critical();
    let tokens = oauth::token_request(ctx, token_url, client, &params)?;
    Ok((tokens, critical))
}
