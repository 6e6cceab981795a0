//! `vouch setup-git`: make git ask vouch for a host's credentials.
//!
//! It records the host in the profile's `hosts`, then writes git's configuration (global by
//! default): `credential.<URL>.helper` is first reset to the empty list, as gh does, so that no
//! helper git would otherwise inherit (a plaintext `store`, say) keeps vouch's tokens, and then
//! set to this vouch binary. A host with a path also gets `credential.<URL>.useHttpPath`, so
//! git sends the path to match on. `--remove` undoes both.
//!
//! The reset clears only what git reads before it: a helper configured later (further down
//! the same file, or in the repository's configuration, read after the global one) still runs
//! after vouch, and `git credential approve` hands it vouch's token. So after writing, it reads
//! back every `credential.*helper` entry, works out the list git will run for the host
//! ([`git::effective_helpers`]), and warns about every helper in it that is not vouch (and when
//! a later reset drops vouch itself).
//!
//! git runs with the context's environment minus `VOUCH_CLIENT_SECRET`.

use super::Outcome;
use crate::cli::SetupGitArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::git::{self, HostPattern};
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
    warn_about_other_helpers(ctx, &pattern, &helper)?;
    Ok(Outcome::Done)
}

/// Warn about every helper git will run for `pattern` besides vouch's own.
fn warn_about_other_helpers(ctx: &mut Context, pattern: &HostPattern, helper: &str) -> Result<(), Error> {
    // Exit 1 from `--get-regexp` means "no such key".
    let listed = git_output(
        ctx,
        &["config", "--show-scope", "-z", "--get-regexp", r"^credential\.(.*\.)?helper$"],
        &[0, 1],
    )?;
    let entries = git::HelperEntry::parse_list(&listed);
    let effective = git::effective_helpers(&entries, pattern);
    let url = pattern.git_url();
    let is_vouch = |value: &str| is_vouch_helper(value, helper);
    if !effective.iter().any(|e| is_vouch(&e.value)) {
        ctx.note(format_args!(
            "warning: git will not ask vouch for {url}: a later empty `helper` in git's configuration clears \
             the list; `git config --show-scope --show-origin --get-regexp credential` shows where"
        ));
    }
    for other in effective.iter().filter(|e| !is_vouch(&e.value)) {
        ctx.note(format_args!(
            "warning: git also runs the credential helper '{}' for {url} ({} configuration, {}), after vouch's \
             reset; it may store vouch's tokens (git 2.46 and later mark them ephemeral, which `store` and \
             `cache` honour). Remove it, or configure it for the hosts that need it only",
            other.value, other.scope, other.key
        ));
    }
    Ok(())
}

/// Whether a configured helper value is vouch (`helper` is this binary's own entry).
pub(crate) fn is_vouch_helper(value: &str, helper: &str) -> bool {
    value == helper || value == "vouch" || value.ends_with(" git-credential")
}

/// `!'/path/to/vouch' git-credential`, quoted for the shell git runs it with.
pub(crate) fn helper_command() -> Result<String, Error> {
    let exe =
        std::env::current_exe().map_err(|e| Error::internal(format!("cannot find the vouch binary: {e}")))?;
    let path = exe.display().to_string().replace('\'', r"'\''");
    Ok(format!("!'{path}' git-credential"))
}

/// Run git with the context's environment; `ok` lists the exit codes that count as success.
fn git(ctx: &mut Context, args: &[&str], ok: &[i32]) -> Result<(), Error> {
    git_output(ctx, args, ok).map(drop)
}

/// Run git with the context's environment, minus vouch's own secrets; its stdout.
pub(crate) fn git_output(ctx: &mut Context, args: &[&str], ok: &[i32]) -> Result<Vec<u8>, Error> {
    ctx.log(format_args!("setup-git: git {}", args[..args.len().min(4)].join(" ")));
    let output = Command::new("git")
        .args(args)
        .env_clear()
        .envs(ctx.env.iter().filter(|(k, _)| *k != "VOUCH_CLIENT_SECRET"))
        .output()
        .map_err(|e| Error::usage(format!("cannot run git ({e}); is git installed?")))?;
    match output.status.code() {
        Some(code) if ok.contains(&code) => Ok(output.stdout),
        _ => Err(Error::usage(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}
