//! `vouch completions SHELL`: print the completion script, generated from the same clap
//! definition as the binary (the committed `completions/` files are the same bytes).

use super::Outcome;
use crate::cli::CompletionsArgs;
use crate::context::Context;
use crate::docs;
use crate::error::Error;

pub fn run(args: CompletionsArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    ctx.stdout
        .write_all(&docs::completion(args.shell))
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))?;
    Ok(Outcome::Done)
}
