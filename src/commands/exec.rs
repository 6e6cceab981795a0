//! `vouch exec`: run a command with a fresh access token in its environment.
//!
//! The token goes into one environment variable of the child (`VOUCH_TOKEN` unless `--env`),
//! never into its arguments, where `ps` shows them. `VOUCH_CLIENT_SECRET` is not passed on.
//! The child's exit code is vouch's (a child killed by a signal gives 128 + the signal), and
//! SIGINT and SIGTERM that vouch receives are forwarded to it. When no token can be had the
//! child is not started and vouch exits with the classified code. A profile bound to this
//! machine with DPoP is refused (exit 2): the child could not make the proofs its token needs.

use super::Outcome;
use crate::cli::ExecArgs;
use crate::context::Context;
use crate::error::Error;
use crate::refresh;
use std::process::Command;

pub fn run(args: ExecArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let valid_var = !args.var.is_empty()
        && !args.var.starts_with(|c: char| c.is_ascii_digit())
        && args.var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_var {
        return Err(Error::usage(format!("'{}' is not an environment variable name", args.var)));
    }
    let (name, profile, key) = crate::identity::profile(ctx, args.name.as_deref())?;
    if crate::dpop::is_bound(&profile, None) {
        return Err(crate::dpop::bound_elsewhere(&name, "a command run by `vouch exec`"));
    }
    let record = refresh::usable_record(ctx, &key, &profile, args.min_ttl)?;
    if crate::dpop::is_bound(&profile, Some(&record)) {
        return Err(crate::dpop::bound_elsewhere(&name, "a command run by `vouch exec`"));
    }

    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::usage("no command to run: `vouch exec NAME -- CMD [ARGS...]`"));
    };
    let mut command = Command::new(program);
    command
        .args(rest)
        .env_clear()
        .envs(ctx.env.iter().filter(|(k, _)| *k != "VOUCH_CLIENT_SECRET"))
        .env(&args.var, record.access_token.expose_secret());
    drop(record);
    let interrupts = ctx.interrupts();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            ctx.note(format_args!("vouch: cannot run '{program}': {e}"));
            let code = if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
            return Ok(Outcome::Exit(code));
        }
    };
    interrupts.forward_to(child.id());
    let status = child.wait().map_err(|e| Error::internal(format!("waiting for '{program}' failed: {e}")))?;
    Ok(Outcome::Exit(exit_code(status)))
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(signal)) => 128u8.saturating_add(signal.clamp(0, 127) as u8),
        (None, None) => 1,
    }
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> u8 {
    status.code().map_or(1, |c| c.clamp(0, 255) as u8)
}
