//! vouch: a command-line credential manager for OAuth 2.0 / OpenID Connect tokens.
//!
//! The library holds everything; `main.rs` only parses the command line, builds the real
//! [`Context`] and turns the result into an exit code through [`execute`]. Tests drive
//! [`execute`] in-process with a fake context.
//!
//! Map of the crate:
//! - [`cli`]: clap definitions, nothing else; [`fast_args`]: the hot commands' plain command
//!   lines, read without building clap's tree (anything else goes to clap);
//! - [`commands`]: one module per subcommand;
//! - [`context`]: every side effect (env, stdio, clock, store, HTTP) behind one struct;
//! - [`error`]: the error enum and the exit-code table; [`docs`]: completions and man pages;
//! - [`store`]: the storage core on the OS credential store; [`record`]: what it stores;
//! - [`config`]: profiles in `config.toml`; [`paths`]: where things live and whether vouch
//!   may trust them (the bottom of the crate, with [`env`]);
//! - [`identity`]: which stored credential belongs to which profile (entry keys, migration,
//!   orphans);
//! - [`flows`]: the login flows (device, browser, client credentials, pasted token), and
//!   [`sign_in`]: running one and having the provider confirm the result;
//! - [`oauth`]: token, device and revocation endpoints, OAuth errors, ID tokens;
//! - [`provider`]: which endpoints a profile's provider has (discovery, presets, overrides);
//! - [`http`], [`discovery`], [`userinfo`]: talking to the provider; [`metadata_cache`]:
//!   discovered metadata kept between commands;
//! - [`signals`]: Ctrl-C and SIGTERM, deferred while a credential is being written;
//! - [`secret_input`], [`system_browser`]: asking the user for secrets, opening URLs;
//! - [`git`]: the git credential protocol and host patterns; [`hardening`]: no core dumps;
//! - [`helpers`]: git, kubectl, cargo and docker credential helpers, one shared token request;
//! - [`refresh`]: just-in-time refresh, single flight across processes ([`lock`]);
//! - [`secret`]: token types that never print themselves.

#![forbid(unsafe_code)]
// stdout is data (and in `git-credential`, protocol): nothing may print to it, or to stderr,
// behind the context's back.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod discovery;
pub mod docs;
pub mod dpop;
pub mod env;
pub mod error;
pub mod fast_args;
pub mod flows;
pub mod git;
pub mod hardening;
pub mod helpers;
pub mod http;
pub mod identity;
pub mod lock;
pub mod metadata_cache;
pub mod oauth;
pub mod paths;
pub mod provider;
pub mod record;
pub mod refresh;
pub mod resource;
pub mod secret;
pub mod secret_input;
pub mod sign_in;
pub mod signals;
pub mod store;
pub mod system_browser;
pub mod userinfo;

use cli::{Command, GlobalArgs, StoreArg};
use commands::Outcome;
pub use context::Context;
use context::Settings;
pub use error::Error;
use std::io::Write;
use store::platform::StoreChoice;

/// The command line, with three aliases: invoked as `git-credential-vouch` (a link, so that
/// git's `credential.helper = vouch` finds it), vouch acts as `vouch git-credential`; invoked
/// as `docker-credential-vouch` (how docker runs the helper `credHelpers` names `vouch`), as
/// `vouch docker-credential`; invoked as `vouch --cargo-plugin` (how cargo runs every
/// credential provider, with the rest of its configured command in the request), it acts as
/// `vouch cargo-credential --cargo-plugin`.
pub fn cli_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let invoked_as = args.first().and_then(|a| std::path::Path::new(a).file_stem()).and_then(|s| s.to_str());
    let helper = match invoked_as {
        Some("git-credential-vouch") => Some("git-credential"),
        Some("docker-credential-vouch") => Some("docker-credential"),
        _ => None,
    };
    if let Some(helper) = helper {
        args.insert(1, helper.into());
    } else if args.len() == 2 && args[1] == "--cargo-plugin" {
        args.insert(1, "cargo-credential".into());
    }
    args
}

/// What `vouch --version` and `vouch -V` print: clap's own line (`name version`), which a
/// test compares with clap's rendering.
pub const VERSION_LINE: &str = concat!("vouch ", env!("CARGO_PKG_VERSION"), "\n");

/// The version line when the command line is exactly `vouch --version` or `vouch -V`, so that
/// `main` can answer it without building clap's command tree (a third of its instructions).
/// Anything else, `--version` with other arguments included, is left to clap.
pub fn version_only(args: &[std::ffi::OsString]) -> Option<&'static str> {
    match args {
        [_, flag] if flag == "--version" || flag == "-V" => Some(VERSION_LINE),
        _ => None,
    }
}

/// Parse the command line exactly as `Cli::parse_from` does (clap's messages and exit codes),
/// but leave clap's command tree to the process exit instead of freeing it node by node,
/// which was 6 % of a `vouch --store keyutils token`.
pub fn parse_cli(args: Vec<std::ffi::OsString>) -> cli::Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = std::mem::ManuallyDrop::new(cli::Cli::command());
    let mut matches = command.try_get_matches_from_mut(args).unwrap_or_else(|e| e.exit());
    cli::Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut command).exit())
}

/// Turn the global options into settings.
pub fn settings(global: &GlobalArgs) -> Settings {
    Settings {
        store: match global.store {
            StoreArg::Auto => StoreChoice::Auto,
            StoreArg::SecretService => StoreChoice::SecretService,
            StoreArg::Keyutils => StoreChoice::Keyutils,
            StoreArg::Keychain => StoreChoice::Keychain,
            StoreArg::Windows => StoreChoice::Windows,
        },
        config_dir: global.config_dir.clone(),
        verbose: global.verbose,
        no_input: global.no_input,
        ..Settings::default()
    }
}

/// Run one command.
pub fn run(command: Command, ctx: &mut Context) -> Result<Outcome, Error> {
    match command {
        Command::Login(args) => commands::login::run(args, ctx),
        Command::Status(args) => commands::status::run(args, ctx),
        Command::Token(args) => commands::token::run(args, ctx),
        Command::Logout(args) => commands::logout::run(args, ctx),
        Command::Refresh(args) => commands::refresh::run(args, ctx),
        Command::Rotate(args) => commands::rotate::run(args, ctx),
        Command::Exec(args) => commands::exec::run(args, ctx),
        Command::Api(args) => commands::api::run(args, ctx),
        Command::GitCredential(args) => commands::git_credential::run(args, ctx),
        Command::SetupGit(args) => commands::setup_git::run(args, ctx),
        Command::Doctor(args) => commands::doctor::run(args, ctx),
        Command::KubeCredential(args) => commands::kube_credential::run(args, ctx),
        Command::SetupKube(args) => commands::setup_kube::run(args, ctx),
        Command::CargoCredential(args) => commands::cargo_credential::run(args, ctx),
        Command::SetupCargo(args) => commands::setup_cargo::run(args, ctx),
        Command::DockerCredential(args) => commands::docker_credential::run(args, ctx),
        Command::SetupDocker(args) => commands::setup_docker::run(args, ctx),
        Command::Completions(args) => commands::completions::run(args, ctx),
    }
}

/// Run one command and report its failure: the single place where an error becomes a
/// message on stderr and an exit code.
pub fn execute(command: Command, ctx: &mut Context) -> u8 {
    match run(command, ctx) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            ctx.log(format_args!("error class: {}", err.class()));
            let _ = writeln!(ctx.stderr, "vouch: {err}");
            let _ = ctx.stderr.flush();
            err.exit_code()
        }
    }
}
