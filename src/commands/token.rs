//! `vouch token`: print the access token. The one command whose job is to print a secret.

use super::Outcome;
use crate::cli::TokenArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::session;
use std::io::Write;

pub fn run(args: TokenArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let config = Config::load(&ctx.config_dir()?)?;
    let (name, _profile) = config.resolve(args.name.as_deref(), &ctx.env)?;
    let record = session::usable_record(ctx, &name, 0)?;
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
