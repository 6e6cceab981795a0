//! `vouch setup-docker --registry HOST --profile NAME [--username U] [--remove]`: make docker
//! (and skopeo, podman) get a registry's token from `docker-credential-vouch`.
//!
//! It records the host in the profile's `hosts` (and `--username` as its `docker_username`),
//! then sets `credHelpers.HOST = "vouch"` in docker's `config.json` (`$DOCKER_CONFIG`, else
//! `~/.docker`). The file is parsed as JSON and every other key kept (their order is not); a
//! file that does not parse is refused, never overwritten; it is replaced atomically with its
//! mode kept ([`crate::helpers::replace_file`]). No token is ever written there. `--remove`
//! undoes both, and takes out only a `credHelpers` entry that runs vouch.

use super::Outcome;
use crate::cli::SetupDockerArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::git::HostPattern;
use crate::helpers::{self, docker};

pub fn run(args: SetupDockerArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let pattern = docker::registry_pattern(&args.registry)?;
    let host = pattern.host.clone();
    if let Some(username) = &args.username
        && (username.is_empty() || username.chars().any(char::is_control))
    {
        return Err(Error::usage(
            "--username must be a non-empty name on one line (oauth2, <token>, an account)",
        ));
    }
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let path = docker::config_file(&ctx.env)?;
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::usage(format!("cannot read {shown}: {e}"))),
    };
    let mut doc: serde_json::Value = if text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!(
                "{shown} is not JSON docker can read (line {}, column {}); fix it first",
                e.line(),
                e.column()
            ))
        })?
    };

    if args.remove {
        if let Some((name, mut profile)) = match &args.profile {
            Some(name) => config.profiles.get(name).cloned().map(|p| (name.clone(), p)),
            None => config.resolve(None, &ctx.env).ok(),
        } {
            profile.hosts.retain(|h| HostPattern::parse(h).map_or(true, |p| p != pattern));
            Config::update(&dir, |config| {
                config.profiles.insert(name, profile);
            })?;
        }
        if docker::remove_helper(&mut doc, &host) {
            helpers::replace_file(&path, render(&doc)?.as_bytes(), 0o600)?;
            ctx.note(format_args!("docker no longer asks vouch for {host}."));
        } else {
            ctx.note(format_args!("vouch was not docker's credential helper for {host} in {shown}."));
        }
        return Ok(Outcome::Done);
    }

    let (name, mut profile) = config.resolve(args.profile.as_deref(), &ctx.env)?;
    docker::set_helper(&mut doc, &host)?;
    if !profile.hosts.iter().any(|h| HostPattern::parse(h).is_ok_and(|p| p == pattern)) {
        profile.hosts.push(pattern.to_config_string());
    }
    if let Some(username) = &args.username {
        profile.docker_username = Some(username.clone()).filter(|u| u != docker::DEFAULT_USERNAME);
    }
    let username = docker::username(&profile).to_string();
    Config::update(&dir, |config| {
        config.profiles.insert(name.clone(), profile);
    })?;
    helpers::replace_file(&path, render(&doc)?.as_bytes(), 0o600)?;
    ctx.note(format_args!(
        "docker now gets tokens for {host} from vouch (profile '{name}', username '{username}', in {shown})."
    ));
    if docker::has_stored_password(&doc, &host) {
        ctx.note(format_args!(
            "warning: {shown} still holds a password for {host} under `auths`; docker asks vouch first, but \
             remove it (delete that entry) so no password is left in the file"
        ));
    }
    if !on_path(ctx, "docker-credential-vouch") {
        let vouch = helpers::vouch_binary()?;
        ctx.note(format_args!(
            "note: docker runs `docker-credential-vouch` from PATH, and none is there; link it once: \
             ln -s '{vouch}' ~/.local/bin/docker-credential-vouch"
        ));
    }
    Ok(Outcome::Done)
}

/// The file as docker writes it: indented JSON and a final newline.
fn render(doc: &serde_json::Value) -> Result<String, Error> {
    let mut text = serde_json::to_string_pretty(doc)
        .map_err(|e| Error::internal(format!("cannot write docker's configuration: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// Whether `program` is an executable file in one of the context's PATH directories.
fn on_path(ctx: &Context, program: &str) -> bool {
    let Some(path) = ctx.env.get("PATH") else { return false };
    std::env::split_paths(path)
        .any(|dir| std::fs::metadata(dir.join(program)).is_ok_and(|m| is_executable(&m)))
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    metadata.is_file()
}
