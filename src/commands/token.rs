//! `vouch token`: print the access token. The one command whose job is to print a secret.
//!
//! The token is refreshed first when it expires within `--min-ttl` seconds (default 60), so
//! `vouch token work --min-ttl 3600` gives a script a token good for an hour.
//!
//! A profile bound to this machine with DPoP is refused (exit 2, naming `vouch api`): its
//! token is useless without a proof from the key, which never leaves the store, and printing
//! it would only put it where it can leak.

use super::Outcome;
use crate::cli::TokenArgs;
use crate::context::Context;
use crate::error::Error;
use crate::{identity, refresh};
use std::io::Write;

pub fn run(args: TokenArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let (name, profile, key) = identity::profile(ctx, args.name.as_deref())?;
    if crate::dpop::is_bound(&profile, None) {
        return Err(crate::dpop::bound_elsewhere(&name, "a program reading `vouch token`"));
    }
    let record = refresh::usable_record(ctx, &key, &profile, args.min_ttl)?;
    if crate::dpop::is_bound(&profile, Some(&record)) {
        return Err(crate::dpop::bound_elsewhere(&name, "a program reading `vouch token`"));
    }
    // Debug builds only: lets the suite prove a panic holding a secret prints none of it.
    #[cfg(debug_assertions)]
    if ctx.env.get("VOUCH_DEBUG_PANIC").is_some() {
        panic!("debug panic while holding {}", record.access_token.expose_secret());
    }
    let written = if args.json {
        let value = serde_json::json!({
            "profile": name,
            "access_token": record.access_token.expose_secret(),
            "token_type": record.token_type,
            "expires_at": record.expires_at,
        });
        let text = zeroize::Zeroizing::new(value.to_string());
        writeln!(ctx.stdout, "{}", text.as_str())
    } else {
        writeln!(ctx.stdout, "{}", record.access_token.expose_secret())
    };
    written
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))?;
    Ok(Outcome::Done)
}
