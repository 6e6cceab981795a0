//! The command line, as pure clap definitions.
//!
//! This file imports nothing from the crate, so generators of completions and man pages can
//! `include!` it. Its types stop at the command boundary: each command turns its arguments
//! into domain values first.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Sign in to OAuth 2.0 / OpenID Connect providers and hand tokens to people, scripts, CI and git.
///
/// Tokens live only in the operating system's credential store (Secret Service or kernel
/// keyutils on Linux, Keychain on macOS, Credential Manager on Windows). vouch never falls back
/// to a plaintext file.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Credential store to use
    #[arg(long, global = true, env = "VOUCH_STORE", value_enum, default_value_t = StoreArg::Auto)]
    pub store: StoreArg,

    /// Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]
    #[arg(long, global = true, env = "VOUCH_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Log operations, endpoints and status codes to stderr (never secrets)
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// The credential stores vouch can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// The platform's store: Keychain, Credential Manager, or on Linux the Secret Service when
    /// a session bus answers, else kernel keyutils
    Auto,
    /// freedesktop Secret Service over D-Bus (GNOME Keyring, KeePassXC, KWallet)
    SecretService,
    /// Linux kernel user keyring; kept until reboot
    Keyutils,
    /// macOS Keychain
    Keychain,
    /// Windows Credential Manager
    Windows,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in and store the credential once the provider has confirmed it
    #[command(long_about = "Sign in and store the credential once the provider has confirmed it.\n\n\
        The first login to a profile needs --issuer and --client-id; later logins reuse them.\n\n\
        Example:\n  echo \"$TOKEN\" | vouch login work --issuer https://login.example.com --client-id cli --with-token")]
    Login(LoginArgs),

    /// Show whether profiles are signed in (offline unless --verify)
    Status(StatusArgs),

    /// Print a profile's access token to stdout
    #[command(long_about = "Print a profile's access token, and a newline, to stdout.\n\n\
        Example:\n  curl -H \"Authorization: Bearer $(vouch token work)\" https://api.example.com/")]
    Token(TokenArgs),

    /// Delete a profile's stored credential (keeps its settings)
    Logout(LogoutArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name
    pub name: String,

    /// Issuer URL of the provider (needed the first time)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// OAuth client id (needed the first time)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Scope to request; repeat it or separate scopes with spaces
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// Read an existing access token from stdin (or a hidden prompt on a terminal) and store
    /// it once the provider accepts it
    #[arg(long, required = true)]
    pub with_token: bool,

    /// URL that verifies a token (answers 2xx to a valid bearer token), for providers without
    /// discovery [default: the discovered userinfo endpoint]
    #[arg(long, alias = "userinfo-url", value_name = "URL")]
    pub verify_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Profile name [default: every profile]
    pub name: Option<String>,

    /// Print JSON: an object for a named profile, an array otherwise
    #[arg(long)]
    pub json: bool,

    /// Also ask the provider whether each stored token is still accepted
    #[arg(long)]
    pub verify: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    pub name: Option<String>,

    /// Print JSON with the token, its type and expiry instead of the bare token
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    #[arg(conflicts_with = "all")]
    pub name: Option<String>,

    /// Sign out of every profile
    #[arg(long)]
    pub all: bool,
}
