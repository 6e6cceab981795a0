//! Requests to resource servers (APIs, the userinfo endpoint) with a profile's access token.
//!
//! A Bearer token goes as `Authorization: Bearer TOKEN`. A DPoP-bound token goes as
//! `Authorization: DPoP TOKEN` with a fresh proof in the `DPoP` header, whose `ath` claim is
//! the token's hash (RFC 9449 §7). A server that answers `401` with
//! `WWW-Authenticate: DPoP error="use_dpop_nonce"` and a `DPoP-Nonce` gets the request once
//! more with that nonce, never a third time (§9); nonces are remembered per origin through the
//! context.
//!
//! Every request goes through [`crate::http::send_with`], so the issuer check applies: the
//! caller registers the URL as one the token may go to before calling. This module never shows
//! the token or a proof.

use crate::context::Context;
use crate::dpop::ProofRequest;
use crate::http::{self, Auth, Body, Extra, Failure, Response};
use crate::secret::{AccessToken, DpopKey};
use url::Url;

/// One request, as the caller wants it sent.
pub struct Sent<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    pub body: Body<'a>,
    /// Headers besides `Authorization` and `DPoP`.
    pub headers: &'a [(String, String)],
}

/// Send `sent` with `token` (bound to `dpop` when given), minted by `issuer`.
pub fn send(
    ctx: &mut Context,
    sent: &Sent<'_>,
    token: &AccessToken,
    dpop: Option<&DpopKey>,
    issuer: &str,
) -> Result<Response, Failure> {
    let response = send_once(ctx, sent, token, dpop, issuer)?;
    let challenged = dpop.is_some()
        && response.status == 401
        && response.dpop_nonce.is_some()
        && crate::dpop::asks_for_nonce(&[], response.www_authenticate.as_deref());
    if !challenged {
        return Ok(response);
    }
    ctx.log(format_args!("dpop: {} asked for a nonce; sending once more with it", http::redact(sent.url)));
    send_once(ctx, sent, token, dpop, issuer)
}

fn send_once(
    ctx: &mut Context,
    sent: &Sent<'_>,
    token: &AccessToken,
    dpop: Option<&DpopKey>,
    issuer: &str,
) -> Result<Response, Failure> {
    let not_sent = |error| Failure { error, maybe_delivered: false, unreachable: false };
    let proof = match dpop {
        Some(key) => {
            let nonce = ctx.dpop_nonce(sent.url);
            let request = ProofRequest {
                method: sent.method,
                url: sent.url,
                now: ctx.now(),
                nonce: nonce.as_deref(),
                access_token: Some(token),
            };
            Some(key.proof(&request).map_err(not_sent)?)
        }
        None => None,
    };
    let auth = if dpop.is_some() { Auth::DPoP(token) } else { Auth::Bearer(token) };
    let extra = Extra { dpop_proof: proof.as_ref().map(|p| p.as_str()), headers: sent.headers };
    let response = http::send_with(ctx, sent.method, sent.url, auth, sent.body, extra, Some(issuer))?;
    if let (Some(_), Some(nonce)) = (dpop, &response.dpop_nonce) {
        ctx.remember_dpop_nonce(sent.url, nonce);
    }
    Ok(response)
}
