//! `vouch login`: obtain a credential, have the provider confirm it, and only then store it
//! and write the profile.
//!
//! Flow `--with-token`: the token comes from stdin, or a hidden prompt when stdin is a
//! terminal, never from argv. It is verified at the userinfo endpoint (discovered, or
//! `--verify-url`). A rejected token leaves no trace: nothing stored, no profile written.

use super::Outcome;
use crate::cli::LoginArgs;
use crate::config::{self, Config, Profile};
use crate::context::Context;
use crate::discovery;
use crate::error::Error;
use crate::http;
use crate::record::Record;
use crate::secret::AccessToken;
use crate::userinfo;
use std::io::Read;
use zeroize::Zeroizing;

/// The most a pasted token may be; real tokens are a few KiB at most.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;

pub fn run(args: LoginArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    config::validate_name(&args.name)?;
    let name = args.name.clone();
    let dir = ctx.config_dir()?;
    let mut config = Config::load(&dir)?;
    let profile = merge_profile(&args, config.profiles.get(&name))?;

    // Check everything local before asking for the secret: the store must be usable.
    let store = ctx.store()?;
    let token = read_token(ctx, &name)?;

    let verify_url = match &profile.userinfo_url {
        Some(url) => http::user_url(url)?,
        None => discovery::discover(ctx, &profile.issuer)?.and_then(|m| m.userinfo_endpoint).ok_or_else(|| {
            Error::usage(format!(
                "the provider at {} publishes no userinfo endpoint to verify the token with; pass --verify-url URL",
                profile.issuer
            ))
        })?,
    };
    let account = userinfo::confirm(ctx, &verify_url, &token, &name)?;

    // Confirmed by the server: now, and only now, store it.
    let generation = match store.load(&name) {
        Ok(previous) => previous.map_or(0, |r| r.generation),
        // An unreadable old record is replaced by the confirmed new one.
        Err(Error::Unreadable { .. }) => 0,
        Err(other) => return Err(other),
    };
    let record = Record {
        generation: generation + 1,
        access_token: token,
        token_type: "Bearer".to_string(),
        expires_at: None,
        refresh_token: None,
        scope: (!profile.scopes.is_empty()).then(|| profile.scopes.join(" ")),
        account: account.clone(),
    };
    store.save(&name, &record)?;
    config.profiles.insert(name.clone(), profile);
    if let Err(err) = config.save(&dir) {
        // Keep the two in step: no stored credential without its profile.
        let _ = store.delete(&name);
        return Err(err);
    }
    let who = account.map(|a| format!(" as {a}")).unwrap_or_default();
    ctx.note(format_args!("Signed in to '{name}'{who}; the token is in the {}.", store.kind().description()));
    Ok(Outcome::Done)
}

/// The profile this login will write: flags first, then what the existing profile has.
fn merge_profile(args: &LoginArgs, existing: Option<&Profile>) -> Result<Profile, Error> {
    let issuer = args.issuer.clone().or_else(|| existing.map(|p| p.issuer.clone()));
    let client_id = args.client_id.clone().or_else(|| existing.map(|p| p.client_id.clone()));
    let (Some(issuer), Some(client_id)) = (issuer, client_id) else {
        return Err(Error::usage(format!(
            "'{}' is a new profile: its first login needs --issuer URL and --client-id ID",
            args.name
        )));
    };
    http::user_url(&issuer)?;
    let scopes: Vec<String> =
        args.scopes.iter().flat_map(|s| s.split_whitespace()).map(str::to_string).collect();
    let scopes =
        if scopes.is_empty() { existing.map(|p| p.scopes.clone()).unwrap_or_default() } else { scopes };
    let userinfo_url = args.verify_url.clone().or_else(|| existing.and_then(|p| p.userinfo_url.clone()));
    if let Some(url) = &userinfo_url {
        http::user_url(url)?;
    }
    Ok(Profile { issuer, client_id, scopes, userinfo_url })
}

/// The pasted token: from a hidden prompt on a terminal, else all of stdin.
fn read_token(ctx: &mut Context, name: &str) -> Result<AccessToken, Error> {
    let text = if ctx.terminal.stdin {
        Zeroizing::new(
            (ctx.prompt_secret)(&format!("Paste the access token for '{name}' (input is hidden): "))
                .map_err(|e| {
                    Error::usage(format!(
                        "cannot read the token from the terminal ({e}); pipe it on stdin instead"
                    ))
                })?,
        )
    } else {
        let mut bytes = Zeroizing::new(Vec::new());
        ctx.stdin
            .by_ref()
            .take(MAX_TOKEN_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read the token from stdin ({e})")))?;
        if bytes.len() as u64 > MAX_TOKEN_BYTES {
            return Err(Error::usage("stdin holds more than 64 KiB; that is not a token"));
        }
        Zeroizing::new(
            String::from_utf8(std::mem::take(&mut *bytes))
                .map_err(|_| Error::usage("the token on stdin is not UTF-8 text"))?,
        )
    };
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::usage(
            "no token was given: pipe it on stdin, e.g. `printf %s \"$TOKEN\" | vouch login NAME --with-token`",
        ));
    }
    // RFC 6750 b64token characters, plus the few other printable ones some providers use.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::usage(
            "the input is not a single token: it contains spaces, control or non-ASCII characters",
        ));
    }
    Ok(AccessToken::new(token))
}
