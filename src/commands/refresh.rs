//! `vouch refresh`: renew the access token now, under the profile lock (see [`crate::refresh`]).

use super::Outcome;
use crate::cli::RefreshArgs;
use crate::context::Context;
use crate::error::Error;
use crate::refresh;

pub fn run(args: RefreshArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let (name, profile, key) = crate::identity::profile(ctx, args.name.as_deref())?;
    let record = refresh::refresh(ctx, &key, &profile, None)?;
    let until = record.expires_at.map(|at| {
        format!(", valid for {}", super::human_duration(crate::record::seconds_between(ctx.now(), at)))
    });
    ctx.note(format_args!("Refreshed '{name}'{}.", until.unwrap_or_default()));
    Ok(Outcome::Done)
}
