//! `vouch docker-credential get|store|erase|list|version` (as docker runs it:
//! `docker-credential-vouch OP`): docker's credential helper.
//!
//! - `get`: the profile whose hosts match the registry answers with its access token,
//!   refreshed just in time ([`crate::helpers::token_for`]), in the shape
//!   [`crate::helpers::docker::answer`] writes. A registry no profile serves gets
//!   `credentials not found in native keychain`, so the client goes on without credentials.
//! - `store` (`docker login`): refused, exit 2. vouch keeps only what its own provider issued;
//!   the password is read, never kept, never shown.
//! - `erase` (`docker logout`): the cached access token is expired so the next `get` refreshes
//!   ([`crate::helpers::expire`]); the refresh token stays. Signing out is `vouch logout`.
//! - `list`: the hosts vouch serves and their usernames; `version`: one line.
//!
//! stdout carries only the protocol: the answer, or on failure the one line docker shows, with
//! vouch's exit code (never 0). The message and its class also go to stderr through the
//! normal error path. The helper never prompts.

use super::Outcome;
use crate::cli::DockerCredentialArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::helpers::{self, Target, docker};
use std::io::{Read, Write};
use zeroize::Zeroizing;

pub fn run(args: DockerCredentialArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    // A helper runs under another program: it never waits for a person.
    ctx.settings.no_input = true;
    let result = match args.operation.as_str() {
        "get" => get(ctx),
        "store" => store(ctx),
        "erase" => erase(ctx),
        "list" => list(ctx),
        "version" => answer(ctx, &docker::version()),
        other => {
            let shown: String = other.chars().filter(|c| !c.is_control()).take(64).collect();
            Err(Error::usage(format!(
                "Unknown credential action `{shown}`: vouch's docker helper knows get, store, erase, list and version"
            )))
        }
    };
    if let Err(err) = &result {
        answer(ctx, &docker::failure(err))?;
    }
    result.map(|()| Outcome::Done)
}

fn get(ctx: &mut Context) -> Result<(), Error> {
    let server_url = server_url(ctx)?;
    let resource =
        docker::resource(&server_url).ok_or_else(|| Error::NotServed { url: shown(&server_url) })?;
    let grant = helpers::token_for(ctx, &resource)?;
    answer(ctx, &docker::answer(&server_url, &grant))?;
    ctx.log(format_args!("docker-credential: answered for '{}'", grant.profile));
    Ok(())
}

/// `docker login` handed vouch a password: refuse, saying whether vouch serves the registry.
fn store(ctx: &mut Context) -> Result<(), Error> {
    let payload = payload(ctx)?;
    let request = docker::parse_store(&payload);
    drop(payload);
    let serving = request.as_ref().and_then(|r| docker::address(&r.server_url)).and_then(|address| {
        let config = Config::load(&ctx.config_dir().ok()?).ok()?;
        helpers::serving(&config, &address).map(|(name, _)| name)
    });
    Err(docker::refusal(request.as_ref(), serving.as_deref()))
}

/// `docker logout`: drop the cached access token of the profile serving the registry.
fn erase(ctx: &mut Context) -> Result<(), Error> {
    let server_url = server_url(ctx)?;
    let address = docker::address(&server_url).ok_or_else(|| Error::NotServed { url: shown(&server_url) })?;
    let (profile, _) = helpers::expire(ctx, &Target::Address(address))?;
    ctx.note(format_args!(
        "vouch: the cached access token of '{profile}' was dropped (the next pull refreshes it); \
         `vouch logout {profile}` signs out"
    ));
    Ok(())
}

fn list(ctx: &mut Context) -> Result<(), Error> {
    let config = Config::load(&ctx.config_dir()?)?;
    answer(ctx, &docker::list(&config))
}

/// The server URL a `get` or `erase` names.
fn server_url(ctx: &mut Context) -> Result<String, Error> {
    let payload = payload(ctx)?;
    let text = String::from_utf8_lossy(&payload).trim().to_string();
    if text.is_empty() {
        return Err(Error::usage(docker::MISSING_SERVER_URL));
    }
    Ok(text)
}

/// The payload on stdin, zeroized on drop: a `store` carries a password.
fn payload(ctx: &mut Context) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut input = Zeroizing::new(Vec::with_capacity(256));
    ctx.stdin
        .by_ref()
        .take(docker::MAX_PAYLOAD as u64 + 1)
        .read_to_end(&mut input)
        .map_err(|e| Error::internal(format!("cannot read docker's request: {e}")))?;
    if input.len() > docker::MAX_PAYLOAD {
        return Err(Error::usage("docker's request is longer than any credential request"));
    }
    Ok(input)
}

/// A server URL for a message: bounded, on one line.
fn shown(server_url: &str) -> String {
    server_url.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Write the protocol's answer (or failure line).
fn answer(ctx: &mut Context, text: &str) -> Result<(), Error> {
    ctx.stdout
        .write_all(text.as_bytes())
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot answer docker: {e}")))
}
