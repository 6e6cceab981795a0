//! The login flows: each obtains a fresh credential from the provider, and stores nothing.
//!
//! - [`device`]: RFC 8628 device authorization (the default when the provider offers it);
//! - [`browser`]: authorization code with PKCE (RFC 7636) via the system browser and a
//!   loopback redirect (RFC 8252);
//! - [`client_credentials`]: a confidential client's own credentials, for CI;
//! - [`pasted`]: an access token the user already has.
//!
//! Confirming the result with the provider and writing it is the caller's job (`login`, and
//! later `rotate`), so that every flow goes through the same "confirm, then store" path.

pub mod browser;
pub mod client_credentials;
pub mod device;
pub mod pasted;

use crate::config::Flow;
use crate::context::Context;
use crate::error::Error;
use crate::oauth::{Client, Tokens};
use crate::provider::Provider;
use crate::secret::ClientSecret;
use crate::signals::CriticalSection;
use std::time::Duration;

/// What a flow needs to know.
pub struct Request<'a> {
    pub profile: &'a str,
    pub provider: &'a Provider,
    pub client: &'a Client,
    /// Space-separated scopes; empty for none.
    pub scope: &'a str,
    /// Do not launch a browser (the URL is printed either way).
    pub no_open: bool,
    /// Upper bound on waiting for a person.
    pub timeout: Option<Duration>,
    /// The browser flow's redirect URI (the profile's `redirect_uri`); `None`: the default.
    pub redirect_uri: Option<&'a str>,
    /// Browser flow: read the redirected address from the terminal instead of listening.
    pub paste: bool,
    /// The stored client secret of an existing client-credentials profile, if any.
    pub stored_client_secret: Option<&'a ClientSecret>,
}

/// What a flow obtained, not yet confirmed or stored.
pub struct Obtained {
    pub tokens: Tokens,
    /// The client secret, for client-credentials profiles (stored with the tokens).
    pub client_secret: Option<ClientSecret>,
    /// The OIDC nonce sent with the authorization request, to check in the ID token.
    pub nonce: Option<String>,
    /// Signals stay deferred from the moment the minting request was sent until the caller
    /// has written the result and drops this.
    pub critical: Option<CriticalSection>,
}

/// Run `flow`.
pub fn run(flow: Flow, ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    match flow {
        Flow::Device => device::run(ctx, request),
        Flow::Browser => browser::run(ctx, request),
        Flow::ClientCredentials => client_credentials::run(ctx, request),
        Flow::Token => pasted::run(ctx, request),
    }
}

/// The flow to use when none was asked for: the profile's, else device authorization when
/// the provider offers it, else the browser.
pub fn default_flow(provider: &Provider) -> Result<Flow, Error> {
    if provider.device.is_some() {
        Ok(Flow::Device)
    } else if provider.authorize.is_some() {
        Ok(Flow::Browser)
    } else {
        Err(Error::usage(format!(
            "the provider at {} offers neither device authorization nor a browser login; choose a flow \
             (--client-credentials or --with-token) or pass --device-url / --auth-url",
            provider.issuer
        )))
    }
}
