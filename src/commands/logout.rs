//! `vouch logout`: delete a profile's stored credential, keeping its non-secret settings.
//!
//! Works offline and is idempotent: logging out of a signed-out profile is exit 0 with a note.

use super::Outcome;
use crate::cli::LogoutArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;

pub fn run(args: LogoutArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let config = Config::load(&ctx.config_dir()?)?;
    let names =
        if args.all { config.names() } else { vec![config.resolve(args.name.as_deref(), &ctx.env)?.0] };
    if names.is_empty() {
        ctx.note(format_args!("No profiles to sign out of."));
        return Ok(Outcome::Done);
    }
    let store = ctx.store()?;
    for name in names {
        if store.delete(&name)? {
            ctx.note(format_args!(
                "Signed out of '{name}'; its settings are kept for the next `vouch login {name}`."
            ));
        } else {
            ctx.note(format_args!("'{name}' was already signed out."));
        }
    }
    Ok(Outcome::Done)
}
