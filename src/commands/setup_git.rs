//! `vouch setup-git`: make git ask vouch for a host's credentials.
//!
//! It records the host in the profile's `hosts`, then writes git's configuration (global by
//! default): `credential.<URL>.helper` is first reset to the empty list, as gh does, so that no
//! helper git would otherwise inherit (a plaintext `store`, say) keeps vouch's tokens, and then
//! set to this vouch binary. A host with a path also gets `credential.<URL>.useHttpPath`, so
//! git sends the path to match on. `--remove` undoes both.

use super::Outcome;
use crate::cli::SetupGitArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::git::HostPattern;
use std::process::Command;

pub fn run(args: SetupGitArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let (name, mut profile) = config.resolve(args.profile.as_deref(), &ctx.env)?;
    let pattern = HostPattern::parse(&args.host).map_err(Error::usage)?;
    let entry = pattern.to_config_string();
    let scope = if args.local { "--local" } else { "--global" };
    let key = |what: &str| format!("credential.{}.{what}", pattern.git_url());

    if args.remove {
        profile.hosts.retain(|h| HostPattern::parse(h).map_or(true, |p| p != pattern));
        Config::update(&dir, |config| {
            config.profiles.insert(name.clone(), profile);
        })?;
        // Exit 5 from `git config --unset` means "no such key": already removed.
        git(ctx, &["config", scope, "--unset-all", &key("helper")], &[0, 5])?;
        git(ctx, &["config", scope, "--unset-all", &key("useHttpPath")], &[0, 5])?;
        ctx.note(format_args!("git no longer asks vouch for {}.", pattern.git_url()));
        return Ok(Outcome::Done);
    }

    if !profile.hosts.iter().any(|h| HostPattern::parse(h).is_ok_and(|p| p == pattern)) {
        profile.hosts.push(entry);
    }
    Config::update(&dir, |config| {
        config.profiles.insert(name.clone(), profile);
    })?;
    let helper = helper_command()?;
    git(ctx, &["config", scope, "--replace-all", &key("helper"), ""], &[0])?;
    git(ctx, &["config", scope, "--add", &key("helper"), &helper], &[0])?;
    if pattern.path.is_some() {
        git(ctx, &["config", scope, &key("useHttpPath"), "true"], &[0])?;
    }
    ctx.note(format_args!("git now asks vouch (profile '{name}') for {}.", pattern.git_url()));
    Ok(Outcome::Done)
}

/// `!'/path/to/vouch' git-credential`, quoted for the shell git runs it with.
fn helper_command() -> Result<String, Error> {
    let exe =
        std::env::current_exe().map_err(|e| Error::internal(format!("cannot find the vouch binary: {e}")))?;
    let path = exe.display().to_string().replace('\'', r"'\''");
    Ok(format!("!'{path}' git-credential"))
}

/// Run git with the context's environment; `ok` lists the exit codes that count as success.
fn git(ctx: &mut Context, args: &[&str], ok: &[i32]) -> Result<(), Error> {
    ctx.log(format_args!("setup-git: git {}", args[..args.len().min(4)].join(" ")));
    let output = Command::new("git")
        .args(args)
        .env_clear()
        .envs(ctx.env.iter())
        .output()
        .map_err(|e| Error::usage(format!("cannot run git ({e}); is git installed?")))?;
    match output.status.code() {
        Some(code) if ok.contains(&code) => Ok(()),
        _ => Err(Error::usage(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}
