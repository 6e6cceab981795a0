//! `vouch setup-cargo --registry NAME --profile PROFILE [--remove]`: make cargo get a
//! registry's token from `vouch cargo-credential`.
//!
//! Edits cargo's user configuration (`$CARGO_HOME/config.toml`, else `~/.cargo/config.toml`)
//! with a format-preserving TOML editor, so comments and layout stay, and replaces the file
//! atomically with its mode kept ([`crate::helpers::replace_file`]). It writes only the
//! command that runs vouch: no token ever goes into cargo's files.

use super::Outcome;
use crate::cli::SetupCargoArgs;
use crate::config::Config;
use crate::context::Context;
use crate::error::Error;
use crate::helpers::{self, cargo};

pub fn run(args: SetupCargoArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    cargo::validate_registry(&args.registry)?;
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let path = cargo::config_file(&cargo::cargo_home(&ctx.env)?);
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::usage(format!("cannot read {shown}: {e}"))),
    };
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::usage(format!("{shown} is not TOML cargo can read ({e}); fix it first")))?;
    if args.remove {
        if cargo::remove_provider(&mut doc, &args.registry) {
            helpers::replace_file(&path, doc.to_string().as_bytes(), 0o600)?;
            ctx.note(format_args!("cargo no longer asks vouch for the registry '{}'.", args.registry));
        } else {
            ctx.note(format_args!(
                "vouch was not the credential provider of '{}' in {shown}.",
                args.registry
            ));
        }
        return Ok(Outcome::Done);
    }
    let (name, _) = config.resolve(args.profile.as_deref(), &ctx.env)?;
    let vouch = helpers::vouch_binary()?;
    cargo::set_provider(&mut doc, &args.registry, &[&vouch, "cargo-credential", &name])?;
    helpers::replace_file(&path, doc.to_string().as_bytes(), 0o600)?;
    ctx.note(format_args!(
        "cargo now gets tokens for the registry '{}' from vouch (profile '{name}', in {shown}).",
        args.registry
    ));
    let has_index =
        doc.get("registries").and_then(|r| r.get(&args.registry)).and_then(|r| r.get("index")).is_some();
    if !has_index {
        ctx.note(format_args!(
            "note: cargo needs the registry's index too: `[registries.{}] index = \"sparse+https://…\"`",
            args.registry
        ));
    }
    Ok(Outcome::Done)
}
