//! Flow `--with-token`: an access token the user already has, read from stdin or a hidden
//! prompt. The caller verifies it with the provider before storing it.

use super::{Obtained, Request};
use crate::context::Context;
use crate::error::Error;
use crate::oauth::Tokens;
use crate::secret::AccessToken;
use crate::secret_input;

pub fn run(ctx: &mut Context, request: &Request<'_>) -> Result<Obtained, Error> {
    let what = format!("the access token for '{}'", request.profile);
    let token = secret_input::read(ctx, &what)?.ok_or_else(|| {
        Error::usage("no token was given: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | vouch login NAME --with-token`")
    })?;
    Ok(Obtained {
        tokens: Tokens {
            access_token: AccessToken::new(token.as_str()),
            token_type: "Bearer".to_string(),
            expires_in: None,
            refresh_token: None,
            scope: None,
            id_token: None,
            refresh_expires_in: None,
        },
        client_secret: None,
        nonce: None,
        critical: None,
    })
}
