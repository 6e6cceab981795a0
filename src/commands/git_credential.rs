//! `vouch git-credential get|store|erase`: the git credential helper.
//!
//! - `get`: the profile whose hosts match the request answers with its access token, refreshed
//!   just in time ([`crate::helpers::token_for`]), in the shape [`crate::helpers::git`] picks.
//!   Unknown hosts get no answer at all, so git falls through to its next helper.
//! - `store`: nothing. vouch stores only what its own provider confirmed.
//! - `erase`: git saw the token rejected. The cached access token is marked expired so the
//!   next `get` refreshes ([`crate::helpers::reject`]); the refresh token is never deleted
//!   (deleting it forces a new login for what is usually a transient rejection).
//!
//! stdout carries only protocol lines, written once at the end; everything else goes to
//! stderr (the crate denies `print!`/`println!` outright). The helper never prompts, and never
//! fails git: a profile that needs a new sign-in gets an empty answer and a one-line hint on
//! stderr, and the exit code is 0.

use super::Outcome;
use crate::cli::GitCredentialArgs;
use crate::context::Context;
use crate::error::Error;
use crate::git::{self, Request};
use crate::helpers::{self, Target};
use std::io::{Read, Write};

pub fn run(args: GitCredentialArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let mut input = Vec::new();
    let _ = ctx.stdin.by_ref().take(git::MAX_REQUEST as u64).read_to_end(&mut input);
    let request = Request::parse(&input);
    match args.operation.as_str() {
        "get" => get(ctx, &request),
        "erase" => erase(ctx, &request),
        // `store`, and operations a newer git may invent: nothing to do.
        _ => Ok(Outcome::Done),
    }
}

fn get(ctx: &mut Context, request: &Request) -> Result<Outcome, Error> {
    let Some(resource) = helpers::git::resource(request) else { return Ok(Outcome::Done) };
    let grant = match helpers::token_for(ctx, &resource) {
        Ok(grant) => grant,
        Err(Error::NotServed { .. }) => {
            ctx.log(format_args!("git-credential: no profile serves this host"));
            return Ok(Outcome::Done);
        }
        Err(err) => {
            ctx.note(format_args!("vouch: no token for git: {err}"));
            return Ok(Outcome::Done);
        }
    };
    let text = helpers::git::answer(request, &grant);
    ctx.stdout
        .write_all(text.as_bytes())
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot answer git: {e}")))?;
    ctx.log(format_args!("git-credential: answered for '{}'", grant.profile));
    Ok(Outcome::Done)
}

/// git rejected the token we gave: expire it, if it is ours and still the stored one.
fn erase(ctx: &mut Context, request: &Request) -> Result<Outcome, Error> {
    let (Some(address), Some(rejected)) =
        (helpers::git::address(request), helpers::git::rejected_token(request))
    else {
        return Ok(Outcome::Done);
    };
    match helpers::reject(ctx, &Target::Address(address), &rejected) {
        Ok(_) => Ok(Outcome::Done),
        // The old helper ignored a config it could not read; keep git's flow going the same way.
        Err(err @ (Error::Config { .. } | Error::UnsafeLocation { .. })) => {
            ctx.log(format_args!("git-credential: erase skipped: {err}"));
            Ok(Outcome::Done)
        }
        Err(err) => Err(err),
    }
}
