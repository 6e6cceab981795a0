//! `vouch git-credential get|store|erase`: the git credential helper.
//!
//! - `get`: the profile whose hosts match the request's protocol, host (and path, when the
//!   pattern has one) answers with the access token, refreshed just in time, and
//!   `password_expiry_utc`. When git advertised `capability[]=authtype` (git 2.46 and later)
//!   the answer is `authtype` and `credential` (`Basic` over the profile's git username,
//!   default `oauth2`, and the token; or `Bearer` and the token for `git_auth = "bearer"`)
//!   with `ephemeral=true`, so that git's other helpers never keep it: `store` and `cache`
//!   only save a username and password, and `cache` refuses ephemeral credentials outright.
//!   An older git gets `username` and `password`; there the reset of the helper list that
//!   `setup-git` writes is what keeps other helpers away. Unknown hosts get no answer at all,
//!   so git falls through to its next helper.
//! - `store`: nothing. vouch stores only what its own provider confirmed.
//! - `erase`: git saw the token rejected. The cached access token is marked expired so the
//!   next `get` refreshes; the refresh token is never deleted (deleting it forces a new login
//!   for what is usually a transient rejection).
//!
//! stdout carries only protocol lines, written once at the end; everything else goes to
//! stderr (the crate denies `print!`/`println!` outright). The helper never prompts: a profile
//! that needs a new sign-in gets an empty answer and a one-line hint on stderr.

use super::Outcome;
use crate::cli::GitCredentialArgs;
use crate::config::{Config, GitAuth, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::git::{self, HostPattern};
use crate::lock::ProfileLock;
use crate::record::Record;
use crate::{identity, refresh};
use std::io::{Read, Write};
use zeroize::Zeroizing;

/// git's own margin: answer with a token that is good for at least this long.
const MIN_TTL: u64 = 60;

pub fn run(args: GitCredentialArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let mut input = Vec::new();
    let _ = ctx.stdin.by_ref().take(git::MAX_REQUEST as u64).read_to_end(&mut input);
    let request = git::Request::parse(&input);
    match args.operation.as_str() {
        "get" => get(ctx, &request),
        "erase" => erase(ctx, &request),
        // `store`, and operations a newer git may invent: nothing to do.
        _ => Ok(Outcome::Done),
    }
}

/// The profile that answers for this request, if any: the most specific matching pattern.
pub fn find_profile(config: &Config, request: &git::Request) -> Option<(String, Profile)> {
    let protocol = request.get("protocol")?;
    let host = request.get("host")?;
    let path = request.get("path");
    config
        .profiles
        .iter()
        .flat_map(|(name, profile)| {
            profile.hosts.iter().filter_map(move |h| HostPattern::parse(h).ok().map(|p| (name, profile, p)))
        })
        .filter(|(_, _, pattern)| pattern.matches(protocol, host, path))
        .max_by_key(|(_, _, pattern)| pattern.path.as_ref().map_or(0, String::len))
        .map(|(name, profile, _)| (name.clone(), profile.clone()))
}

fn get(ctx: &mut Context, request: &git::Request) -> Result<Outcome, Error> {
    let dir = match ctx.config_dir() {
        Ok(dir) => dir,
        Err(err) => return hint(ctx, None, &err),
    };
    let config = match Config::load(&dir) {
        Ok(config) => config,
        Err(err) => return hint(ctx, None, &err),
    };
    let Some((name, profile)) = find_profile(&config, request) else {
        ctx.log(format_args!("git-credential: no profile serves this host"));
        return Ok(Outcome::Done);
    };
    let key = match identity::resolve(ctx, &dir, &name, &profile) {
        Ok(key) => key,
        Err(err) => return hint(ctx, Some(&name), &err),
    };
    let record = match refresh::usable_record(ctx, &key, &profile, MIN_TTL) {
        Ok(record) => record,
        Err(err) => return hint(ctx, Some(&name), &err),
    };
    let token = record.access_token.expose_secret();
    let username = profile.git_username.as_deref().unwrap_or("oauth2");
    let expiry = record.expires_at.map(|at| at.to_string());
    let basic = Zeroizing::new(basic_credential(username, token));
    let mut answer: Vec<(&str, &str)> = Vec::new();
    if request.has_capability("authtype") {
        let (authtype, credential) = match profile.git_auth {
            Some(GitAuth::Bearer) => ("Bearer", token),
            _ => ("Basic", basic.as_str()),
        };
        answer.extend([("capability[]", "authtype"), ("authtype", authtype), ("credential", credential)]);
        answer.push(("ephemeral", "true"));
    } else {
        answer.push(("username", username));
        answer.push(("password", token));
    }
    if let Some(expiry) = &expiry {
        answer.push(("password_expiry_utc", expiry));
    }
    let text = git::format(&answer);
    ctx.stdout
        .write_all(text.as_bytes())
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot answer git: {e}")))?;
    ctx.log(format_args!("git-credential: answered for '{name}'"));
    Ok(Outcome::Done)
}

/// git rejected the token we gave: expire the cached access token so the next `get`
/// refreshes. Only if it is ours and still the stored one; the refresh token is kept.
fn erase(ctx: &mut Context, request: &git::Request) -> Result<Outcome, Error> {
    let Ok(dir) = ctx.config_dir() else { return Ok(Outcome::Done) };
    let Ok(config) = Config::load(&dir) else { return Ok(Outcome::Done) };
    let Some((name, profile)) = find_profile(&config, request) else { return Ok(Outcome::Done) };
    let Some(rejected) = rejected_token(request) else { return Ok(Outcome::Done) };
    let key = identity::resolve(ctx, &dir, &name, &profile)?;
    let store = ctx.store()?;
    let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(&key), ctx.settings.lock_wait)?;
    let Some(record) = store.load(&key)? else { return Ok(Outcome::Done) };
    if record.access_token.expose_secret() != rejected.as_str() {
        return Ok(Outcome::Done);
    }
    let now = ctx.now();
    let expired =
        Record { generation: record.generation + 1, expires_at: Some(now.saturating_sub(1)), ..record };
    store.save(&key, &expired)?;
    ctx.log(format_args!("git-credential: the access token of '{name}' was rejected; it will be refreshed"));
    Ok(Outcome::Done)
}

/// The HTTP Basic credential (RFC 7617) for `username` and `token`: base64 of `user:token`.
fn basic_credential(username: &str, token: &str) -> String {
    use base64::Engine;
    let pair = Zeroizing::new(format!("{username}:{token}"));
    base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
}

/// The token git says was rejected: its `password`, a `Bearer` credential, or the password
/// inside a `Basic` one.
fn rejected_token(request: &git::Request) -> Option<Zeroizing<String>> {
    if let Some(password) = request.get("password") {
        return Some(Zeroizing::new(password.to_string()));
    }
    let credential = request.get("credential")?;
    if !request.get("authtype").is_some_and(|t| t.eq_ignore_ascii_case("basic")) {
        return Some(Zeroizing::new(credential.to_string()));
    }
    use base64::Engine;
    let decoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(credential).ok()?);
    let pair = std::str::from_utf8(&decoded).ok()?;
    pair.split_once(':').map(|(_, token)| Zeroizing::new(token.to_string()))
}

/// No answer for git, and one line for the person on stderr.
fn hint(ctx: &mut Context, name: Option<&str>, err: &Error) -> Result<Outcome, Error> {
    let profile = name.map(|n| format!(" for '{n}'")).unwrap_or_default();
    ctx.note(format_args!("vouch: no token for git{profile}: {err}"));
    Ok(Outcome::Done)
}
