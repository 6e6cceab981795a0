//! The command lines that git, kubectl, cargo, docker and scripts run hundreds of times,
//! understood without building clap's command tree.
//!
//! Building and walking clap's tree was the largest part of a `vouch --store keyutils token`
//! that was vouch's own (≈ 290 k of its 1 M instructions; docs/benchmarks.md). [`parse`]
//! recognises only the plain shapes of the hot commands (`token`, `git-credential`,
//! `kube-credential`, `cargo-credential`, `docker-credential`) with the global options, and
//! returns exactly the [`Cli`] clap would build; anything else (help, a misspelling, a repeated
//! option, an unknown flag, a value that looks like a flag, text that is not UTF-8) returns
//! `None` and goes to clap, which parses it or reports the error in its own words. A test holds
//! every accepted shape against clap's result.
//!
//! It must never accept a command line clap would refuse, nor read one differently.

use crate::cli::{
    CargoCredentialArgs, Cli, Command, DockerCredentialArgs, GitCredentialArgs, GlobalArgs,
    KubeCredentialArgs, StoreArg, TokenArgs,
};
use std::ffi::OsString;
use std::path::PathBuf;

/// The hot subcommands, and which options each takes besides the global ones.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hot {
    Token,
    GitCredential,
    KubeCredential,
    CargoCredential,
    DockerCredential,
}

impl Hot {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "token" => Self::Token,
            "git-credential" => Self::GitCredential,
            "kube-credential" => Self::KubeCredential,
            "cargo-credential" => Self::CargoCredential,
            "docker-credential" => Self::DockerCredential,
            _ => return None,
        })
    }

    /// Whether the positional argument is required (an operation) rather than optional (a name).
    fn positional_required(self) -> bool {
        matches!(self, Self::GitCredential | Self::DockerCredential)
    }
}

/// The command line `args` (program name first) as clap would parse it, when it is one of the
/// plain shapes of a hot command; otherwise `None`. `env` reads the variables clap would read
/// (`VOUCH_STORE`, `VOUCH_CONFIG_DIR`).
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    let mut words = Vec::with_capacity(args.len());
    for arg in args.get(1..)? {
        words.push(arg.to_str()?);
    }
    let mut store: Option<StoreArg> = None;
    let mut config_dir: Option<PathBuf> = None;
    let (mut verbose, mut no_input) = (false, false);
    let mut hot: Option<Hot> = None;
    let mut positional: Option<String> = None;
    let (mut json, mut min_ttl, mut cargo_plugin) = (false, None::<u64>, false);

    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        // `--name=value` or `--name value`; a value must not look like an option.
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (word, None),
        };
        let mut value = || -> Option<&str> {
            let value = match inline {
                Some(value) => value,
                None => {
                    let next = *words.get(i)?;
                    i += 1;
                    next
                }
            };
            (!value.is_empty() && !value.starts_with('-')).then_some(value)
        };
        match flag {
            "--store" if store.is_none() => store = Some(store_arg(value()?)?),
            "--config-dir" if config_dir.is_none() => config_dir = Some(PathBuf::from(value()?)),
            "-v" | "--verbose" if !verbose && inline.is_none() => verbose = true,
            "--no-input" if !no_input && inline.is_none() => no_input = true,
            "--json" if hot == Some(Hot::Token) && !json && inline.is_none() => json = true,
            "--min-ttl" if hot == Some(Hot::Token) && min_ttl.is_none() => {
                let digits = value()?;
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                min_ttl = Some(digits.parse().ok()?);
            }
            "--cargo-plugin" if hot == Some(Hot::CargoCredential) && !cargo_plugin && inline.is_none() => {
                cargo_plugin = true
            }
            _ if word.starts_with('-') => return None,
            _ if hot.is_none() => hot = Some(Hot::from_name(word)?),
            _ if positional.is_none() => positional = Some(word.to_string()),
            _ => return None,
        }
    }

    let hot = hot?;
    if hot.positional_required() && positional.is_none() {
        return None;
    }
    // clap reads both variables even when the option is given (they are global options, read
    // at every command level), and refuses a bad value either way: so does this.
    let store_env = match env("VOUCH_STORE") {
        None => None,
        Some(value) => Some(store_arg(value.to_str()?)?),
    };
    let config_dir_env = match env("VOUCH_CONFIG_DIR") {
        None => None,
        Some(dir) if dir.is_empty() => return None,
        Some(dir) => Some(PathBuf::from(dir)),
    };
    let store = store.or(store_env).unwrap_or(StoreArg::Auto);
    let config_dir = config_dir.or(config_dir_env);
    let command = match hot {
        Hot::Token => Command::Token(TokenArgs { name: positional, json, min_ttl: min_ttl.unwrap_or(60) }),
        Hot::GitCredential => Command::GitCredential(GitCredentialArgs { operation: positional? }),
        Hot::KubeCredential => Command::KubeCredential(KubeCredentialArgs { name: positional }),
        Hot::CargoCredential => {
            Command::CargoCredential(CargoCredentialArgs { name: positional, cargo_plugin })
        }
        Hot::DockerCredential => Command::DockerCredential(DockerCredentialArgs { operation: positional? }),
    };
    Some(Cli { global: GlobalArgs { store, config_dir, verbose, no_input }, command })
}

/// A `--store` value exactly as clap's value enum spells it.
fn store_arg(value: &str) -> Option<StoreArg> {
    Some(match value {
        "auto" => StoreArg::Auto,
        "secret-service" => StoreArg::SecretService,
        "keyutils" => StoreArg::Keyutils,
        "keychain" => StoreArg::Keychain,
        "windows" => StoreArg::Windows,
        _ => return None,
    })
}

/// `parse` with the process's own environment, as clap reads it.
pub fn parse_with_process_env(args: &[OsString]) -> Option<Cli> {
    parse(args, |name| std::env::var_os(name))
}
