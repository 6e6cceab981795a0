//! `vouch setup-kube --context NAME --profile PROFILE [--remove]`: make a kubeconfig context
//! authenticate through `vouch kube-credential`.
//!
//! The kubeconfig is `--kubeconfig`, else `$KUBECONFIG`'s first file, else `~/.kube/config`.
//! It is parsed, changed by [`crate::helpers::kube::add_exec_user`] (or `remove_exec_user`),
//! and replaced atomically with its mode kept ([`crate::helpers::replace_file`]). No token is
//! ever written to it: the exec user only names the profile.

use super::Outcome;
use crate::cli::SetupKubeArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::helpers::{self, kube};

pub fn run(args: SetupKubeArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let name = match (&args.profile, args.remove) {
        // Undoing works for a profile that is gone already.
        (Some(name), true) => name.clone(),
        _ => config.resolve(args.profile.as_deref(), &ctx.env)?.0,
    };
    let path = match args.kubeconfig {
        Some(path) => path,
        None => kube::kubeconfig_path(&ctx.env)?,
    };
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::usage(format!("cannot read {shown}: {e}"))),
    };
    let mut doc = kube::parse_kubeconfig(&text, &shown)?;
    if args.remove {
        if kube::remove_exec_user(&mut doc, &args.context, &name)? {
            helpers::replace_file(&path, kube::render_kubeconfig(&doc)?.as_bytes(), 0o600)?;
            ctx.note(format_args!(
                "The context '{}' in {shown} no longer uses vouch; give it a user with `kubectl config \
                 set-context {} --user=USER`.",
                args.context, args.context
            ));
        } else {
            ctx.note(format_args!(
                "The context '{}' in {shown} did not use vouch's profile '{name}'.",
                args.context
            ));
        }
        return Ok(Outcome::Done);
    }
    kube::add_exec_user(&mut doc, &args.context, &name, &helpers::vouch_binary()?)?;
    helpers::replace_file(&path, kube::render_kubeconfig(&doc)?.as_bytes(), 0o600)?;
    ctx.note(format_args!(
        "kubectl now gets tokens for the context '{}' from vouch (profile '{name}', user '{}' in {shown}).",
        args.context,
        kube::user_name(&name)
    ));
    Ok(Outcome::Done)
}
