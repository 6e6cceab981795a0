//! The command line, as pure clap definitions.
//!
//! This file imports nothing from the crate, so generators of completions and man pages can
//! `include!` it. Its types stop at the command boundary: each command turns its arguments
//! into domain values first.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Sign in to OAuth 2.0 / OpenID Connect providers; hand tokens to people, scripts, CI and git.
/// Tokens live only in the OS credential store, never in a plaintext file.
#[derive(Debug, Parser)]
#[command(
    name = "vouch",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 ok, 2 usage, 3 signed out, 4 rejected, 5 unavailable, 6 store locked, \
                  7 no secure store, 8 unreadable, 9 protocol, 10 denied (man vouch)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Credential store: auto, secret-service, keyutils (until reboot), keychain, windows
    #[arg(long, global = true, env = "VOUCH_STORE", value_enum, default_value_t = StoreArg::Auto, hide_possible_values = true)]
    pub store: StoreArg,

    /// Directory holding config.toml [default: $XDG_CONFIG_HOME/vouch]
    #[arg(long, global = true, env = "VOUCH_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Log operations, endpoints and status codes to stderr (never secrets)
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Fail (exit 2) instead of waiting for a person [env: VOUCH_NO_INPUT=1; automatic without a terminal]
    #[arg(long, global = true)]
    pub no_input: bool,
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

/// The subcommands. Parsed once per process, so the size of the largest variant is no concern.
/// `defer`: clap builds a subcommand's arguments only when that subcommand runs (or help,
/// completions and man pages need them), not all of them on every call.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Sign in and store the credential once the provider has confirmed it
    #[command(long_about = "Sign in and store the credential once the provider has confirmed it.\n\n\
        The first login to a profile needs --issuer (or --provider) and --client-id; later logins \
        reuse them, and the profile's flow.\n\n\
        Examples:\n  vouch login work --issuer https://login.example.com --client-id cli\n  \
        vouch login gh --provider github --client-id Iv1.0123456789abcdef\n  \
        vouch login okta --browser --redirect-uri http://localhost:8400/callback\n  \
        vouch login work --paste   # over ssh, when the provider has no device flow\n  \
        printf %s \"$SECRET\" | vouch login ci --issuer https://login.example.com --client-id svc --client-credentials\n  \
        printf %s \"$TOKEN\" | vouch login work --with-token")]
    Login(LoginArgs),

    /// Show whether profiles are signed in (offline unless --verify)
    Status(StatusArgs),

    /// Print a profile's access token to stdout
    #[command(long_about = "Print a profile's access token, and a newline, to stdout.\n\n\
        Example:\n  curl -H \"Authorization: Bearer $(vouch token work)\" https://api.example.com/")]
    Token(TokenArgs),

    /// Renew the access token now with the refresh token (or the client secret)
    Refresh(RefreshArgs),

    /// Replace the long-lived credential with a fresh one, never losing a working one
    #[command(
        long_about = "Replace the long-lived credential with a fresh one, never losing a working one.\n\n\
        For a user profile: refresh to get a new refresh token (or, if the provider does not rotate \
        refresh tokens, sign in again with the profile's flow), confirm it, store it, revoke the old \
        grant. Interrupted, it keeps the previous credential as a fallback; run it again to finish.\n\n\
        For a client-credentials profile: read the new client secret from stdin, prove it by minting \
        a token, and only then replace the stored secret.\n\n\
        Examples:\n  vouch rotate work\n  printf %s \"$NEW_SECRET\" | vouch rotate ci --client-secret-stdin"
    )]
    Rotate(RotateArgs),

    /// Revoke and delete a profile's stored credential (keeps its settings)
    Logout(LogoutArgs),

    /// Run a command with a fresh access token in its environment (never in its arguments)
    #[command(long_about = "Run a command with a fresh access token in its environment only.\n\n\
        The token goes into VOUCH_TOKEN (or --env VAR), never into argv. The command's exit code \
        is passed through, and SIGINT and SIGTERM are forwarded to it. If no token can be had, the \
        command is not run and vouch exits with the classified code.\n\n\
        Example:\n  vouch exec work -- sh -c 'curl -H \"Authorization: Bearer $VOUCH_TOKEN\" https://api.example.com/'")]
    Exec(ExecArgs),

    /// Call an API with a profile's token (Bearer, or DPoP with a proof); the body on stdout
    #[command(long_about = "Call an API with a profile's access token, refreshed just in time.\n\n\
        The token goes as `Authorization: Bearer`, or for a profile bound with --dpop as \
        `Authorization: DPoP` with a fresh proof. It goes only to the hosts the profile lists: its \
        api_base and its hosts; other URLs are refused (exit 2). Relative URLs are resolved against \
        api_base. Only https, or http to loopback. After a 401 with error=\"invalid_token\" the token \
        is refreshed and the request sent once more; after a DPoP nonce challenge, once more with the \
        nonce. The body goes to stdout; the exit code follows the status: 2xx 0, 401/403 4, \
        408/429/5xx 5, other 4xx 2, anything else 9.\n\n\
        Examples:\n  vouch api work /v1/me\n  vouch api work -X POST -H 'Content-Type: application/json' \
        --data @item.json /v1/items\n  vouch api work -i https://api.example.com/v1/status")]
    Api(ApiArgs),

    /// git credential helper: `get`, `store` and `erase` on stdin/stdout (gitcredentials(7))
    #[command(long_about = "git credential helper (gitcredentials(7)).\n\n\
        `get` answers with a fresh access token for the profile whose hosts match the request, and \
        nothing at all for other hosts. `store` does nothing: vouch stores only what its provider \
        confirmed. `erase` drops the cached access token so the next `get` refreshes; it never \
        deletes the refresh token. Set it up with `vouch setup-git --host HOST`.")]
    GitCredential(GitCredentialArgs),

    /// Make git use vouch for a host (credential.https://HOST.helper)
    #[command(long_about = "Make git use vouch for a host.\n\n\
        Adds HOST to the profile's hosts and sets credential.https://HOST.helper in git's global \
        (or --local) configuration, first resetting the helpers git would otherwise inherit for \
        that URL, so no other helper stores vouch's tokens in plaintext. --remove undoes both.\n\n\
        Example:\n  vouch setup-git --host github.com --profile gh")]
    SetupGit(SetupGitArgs),

    /// Tell why vouch cannot work here, and what to do (offline unless --online)
    #[command(long_about = "Tell why vouch cannot work here, and what to do.\n\n\
        Checks the credential stores (and which one --store picks), the config and state \
        directories, git's credential helpers for each profile's hosts, and credentials in the \
        store that no profile owns; with --online also each provider's discovery and the clock \
        against the provider's. It never prompts, never unlocks a store, and never prints a secret.\n\n\
        Each check is ok, warn, fail or skip. Exit 0 when no check failed (warnings included); \
        otherwise the exit code of the first failed check, which is the code a command meeting the \
        same problem would exit with (6 store locked, 7 no usable store, 2 unsafe or invalid \
        config or state location, 5 provider unreachable, 9 provider broken or clock skewed).\n\n\
        Examples:\n  vouch doctor\n  vouch doctor --online --json")]
    Doctor(DoctorArgs),
    /// kubectl exec credential plugin: an ExecCredential with a fresh token on stdout
    #[command(long_about = "kubectl exec credential plugin (client.authentication.k8s.io/v1).\n\n\
        Prints an ExecCredential with the profile's access token, refreshed just in time, and its \
        expiry, so kubectl runs it again once the token expires. Reads KUBERNETES_EXEC_INFO; never \
        prompts: a profile that needs a sign-in fails with a message kubectl shows. Without PROFILE, \
        the cluster's server (with provideClusterInfo) is matched against the profiles' hosts. Set it \
        up with `vouch setup-kube --context NAME --profile PROFILE`.")]
    KubeCredential(KubeCredentialArgs),

    /// Make a kubeconfig context authenticate through vouch (an exec user)
    #[command(long_about = "Make a kubeconfig context authenticate through vouch.\n\n\
        Adds the user vouch-PROFILE, whose exec plugin runs `vouch kube-credential PROFILE` with \
        interactiveMode Never, to the kubeconfig ($KUBECONFIG's first file, else ~/.kube/config) and \
        makes the context use it. The file is replaced atomically and every other key is kept (its \
        comments are not). --remove undoes both.\n\n\
        Example:\n  vouch setup-kube --context prod --profile work")]
    SetupKube(SetupKubeArgs),

    /// cargo credential provider: cargo's JSON protocol on stdin/stdout
    #[command(
        long_about = "cargo credential provider (cargo's credential provider protocol, version 1).\n\n\
        cargo runs it as `vouch --cargo-plugin`. A `get` is answered with `Bearer TOKEN` for the \
        profile named in the registry's credential-provider (else PROFILE, else the profile whose \
        hosts match the registry's index URL), cached by cargo until the token expires. vouch never \
        keeps a token from `cargo login TOKEN`, and `cargo logout` points at `vouch logout`. Set it up \
        with `vouch setup-cargo --registry NAME --profile PROFILE`."
    )]
    CargoCredential(CargoCredentialArgs),

    /// Make cargo get a registry's token from vouch (registries.NAME.credential-provider)
    #[command(long_about = "Make cargo get a registry's token from vouch.\n\n\
        Sets registries.NAME.credential-provider = [\"/path/to/vouch\", \"cargo-credential\", \"PROFILE\"] \
        in cargo's config.toml ($CARGO_HOME, else ~/.cargo), keeping everything else in the file, \
        comments included. The registry's index must be configured as usual. --remove undoes it.\n\n\
        Example:\n  vouch setup-cargo --registry internal --profile work")]
    SetupCargo(SetupCargoArgs),

    /// docker credential helper: get, store, erase, list, version (docker-credential-helpers)
    #[command(long_about = "docker credential helper (the docker-credential-helpers protocol).\n\n\
        docker, skopeo and podman run it as `docker-credential-vouch OP` (a link to vouch) for the \
        registries `credHelpers` maps to `vouch`. `get` answers {\"ServerURL\",\"Username\",\"Secret\"} \
        with the access token of the profile whose hosts match the registry, refreshed just in time, \
        and the username `docker_username` (default oauth2); a registry no profile serves gets \
        `credentials not found in native keychain`. `store` is refused: vouch never keeps a password \
        it is handed. `erase` (docker logout) drops the cached access token, never the refresh token. \
        `list` names the hosts vouch serves with their usernames. Set it up with \
        `vouch setup-docker --registry HOST --profile NAME`.")]
    DockerCredential(DockerCredentialArgs),

    /// Make docker get a registry's token from vouch (credHelpers in ~/.docker/config.json)
    #[command(long_about = "Make docker (and skopeo, podman) get a registry's token from vouch.\n\n\
        Adds HOST to the profile's hosts and sets credHelpers.HOST = \"vouch\" in docker's config.json \
        ($DOCKER_CONFIG, else ~/.docker), keeping every other key; the file is replaced atomically and \
        a file that is not JSON is refused, never overwritten. docker runs `docker-credential-vouch` \
        from PATH: link it once (`ln -s \"$(command -v vouch)\" ~/.local/bin/docker-credential-vouch`). \
        --username sets the username the registry expects with the token (default oauth2). --remove \
        undoes both.\n\n\
        Example:\n  vouch setup-docker --registry registry.example.com --profile work")]
    SetupDocker(SetupDockerArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(long_about = "Print a shell completion script to stdout.\n\n\
        Examples:\n  vouch completions bash > ~/.local/share/bash-completion/completions/vouch\n  \
        vouch completions zsh > \"${fpath[1]}/_vouch\"\n  vouch completions fish > ~/.config/fish/completions/vouch.fish")]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("flow").multiple(false))]
pub struct LoginArgs {
    /// Profile name
    pub name: String,

    /// Issuer URL of the provider (needed the first time, unless --provider)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,

    /// OAuth client id (needed the first time)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Scope to request; repeat it or separate scopes with spaces [default: the profile's, else
    /// "openid", plus "offline_access" when the OpenID provider offers it]
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// Built-in provider preset, used instead of discovery (bring your own OAuth App client id)
    #[arg(long, value_name = "NAME", value_parser = ["github"])]
    pub provider: Option<String>,

    /// Device authorization (RFC 8628): show a code to enter on another device
    /// [default when the provider offers it]
    #[arg(long, group = "flow")]
    pub device: bool,

    /// Authorization code with PKCE in the system browser, redirected to a loopback address
    #[arg(long, group = "flow")]
    pub browser: bool,

    /// Browser sign-in without a local browser (over ssh): print the URL, then read back the
    /// address the browser was sent to, pasted on the terminal; implies --browser
    #[arg(long, conflicts_with_all = ["device", "client_credentials", "with_token"])]
    pub paste: bool,

    /// Sign in as a confidential client (CI, service accounts); the client secret comes from
    /// VOUCH_CLIENT_SECRET, stdin, or a hidden prompt, never the command line
    #[arg(long, group = "flow")]
    pub client_credentials: bool,

    /// Store an existing access token read from stdin (or a hidden prompt), once the provider
    /// accepts it
    #[arg(long, group = "flow")]
    pub with_token: bool,

    /// Do not open a browser (the URL is printed on stderr either way)
    #[arg(long)]
    pub no_open: bool,

    /// Give up waiting for approval after this many seconds (1 to 86400)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: Option<u64>,

    /// The client has a secret even though a person signs in (Google's desktop and TV
    /// clients): authenticate with the one in VOUCH_CLIENT_SECRET, and keep it for refreshes
    #[arg(long)]
    pub confidential: bool,

    /// Token endpoint, for providers without discovery
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,

    /// Device authorization endpoint, for providers without discovery
    #[arg(long, value_name = "URL")]
    pub device_url: Option<String>,

    /// Authorization endpoint, for providers without discovery
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,

    /// Revocation endpoint (RFC 7009), for providers without discovery
    #[arg(long, value_name = "URL")]
    pub revoke_url: Option<String>,

    /// Browser redirect URI exactly as registered at the provider: http://127.0.0.1, [::1] or
    /// localhost, a port (or none for any free one) and a path; saved in the profile
    #[arg(long, value_name = "URL")]
    pub redirect_uri: Option<String>,

    /// Fixed port for the browser redirect (http://127.0.0.1:PORT/callback, or the saved
    /// redirect URI with this port); saved in the profile
    #[arg(long, value_name = "PORT", conflicts_with = "redirect_uri",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub redirect_port: Option<u16>,

    /// Userinfo endpoint, or any URL that answers 2xx to a valid bearer token; used to confirm
    /// tokens before storing them
    #[arg(long, alias = "verify-url", value_name = "URL")]
    pub userinfo_url: Option<String>,

    /// Base URL of the API this profile's tokens are for: `vouch api` resolves relative URLs
    /// against it and may send the token there; saved in the profile
    #[arg(long, value_name = "URL")]
    pub api_base: Option<String>,

    /// Bind the tokens to a new key kept in the credential store (DPoP, RFC 9449), so that a
    /// copied token is useless elsewhere; saved in the profile. Use the profile through
    /// `vouch api`
    #[arg(long, conflicts_with = "with_token")]
    pub dpop: bool,

    /// On success, print the signed-in profile as JSON on stdout
    #[arg(long)]
    pub json: bool,
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

    /// Refresh first unless the token stays valid at least this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub min_ttl: u64,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    #[arg(conflicts_with = "all")]
    pub name: Option<String>,

    /// Sign out of every profile
    #[arg(long)]
    pub all: bool,

    /// Revoke and delete the credentials in the store that no profile of this configuration
    /// owns (left by a deleted config, another --config-dir, or an older vouch)
    #[arg(long, conflicts_with_all = ["name", "all"])]
    pub orphans: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    pub name: Option<String>,

    /// Client-credentials profiles: read the new client secret from stdin
    #[arg(long)]
    pub client_secret_stdin: bool,

    /// Do not open a browser if an interactive sign-in is needed
    #[arg(long)]
    pub no_open: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Profile name [default: $VOUCH_PROFILE, or the only profile]
    pub name: Option<String>,

    /// Environment variable that receives the token
    #[arg(long = "env", value_name = "VAR", default_value = "VOUCH_TOKEN")]
    pub var: String,

    /// Refresh first unless the token stays valid at least this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub min_ttl: u64,

    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// [NAME] URL: the profile [default: $VOUCH_PROFILE, or the only profile], then the URL,
    /// absolute or relative to the profile's api_base
    #[arg(value_name = "NAME_OR_URL", num_args = 1..=2, required = true)]
    pub target: Vec<String>,

    /// HTTP method
    #[arg(short = 'X', long, value_name = "METHOD", default_value = "GET")]
    pub method: String,

    /// A request header, 'Name: value'; repeatable (never Authorization or DPoP)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Request body: @FILE, - for stdin, or the text itself [Content-Type default:
    /// application/json]
    #[arg(long, value_name = "DATA")]
    pub data: Option<String>,

    /// Print the status line and the response headers before the body
    #[arg(short = 'i', long)]
    pub include: bool,

    /// Follow `Link: <...>; rel="next"` (GET only), printing each page's body in turn
    #[arg(long)]
    pub paginate: bool,

    /// Refresh first unless the token stays valid at least this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub min_ttl: u64,
}

#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    /// get, store or erase (others are ignored, as git expects)
    pub operation: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("scope").multiple(false))]
pub struct SetupGitArgs {
    /// Host to serve: HOST[:PORT][/PATH] over https, or http://HOST:PORT for loopback
    #[arg(long, value_name = "HOST")]
    pub host: String,

    /// Profile that answers for the host [default: $VOUCH_PROFILE, or the only profile]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Write git's global configuration (the default)
    #[arg(long, group = "scope")]
    pub global: bool,

    /// Write the current repository's configuration
    #[arg(long, group = "scope")]
    pub local: bool,

    /// Undo: remove the host from the profile and vouch from git's configuration
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: {"checks": [{"name", "status", "detail", "remedy"}...], "exit_code"}
    #[arg(long)]
    pub json: bool,

    /// Also ask each profile's provider: reachability, discovery, and clock skew (HTTP Date)
    #[arg(long, alias = "network")]
    pub online: bool,
}

#[derive(Debug, Args)]
pub struct KubeCredentialArgs {
    /// Profile name [default: the profile serving the cluster's server, else $VOUCH_PROFILE,
    /// or the only profile]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetupKubeArgs {
    /// The kubeconfig context that should authenticate through vouch
    #[arg(long, value_name = "NAME")]
    pub context: String,

    /// Profile whose tokens kubectl gets [default: $VOUCH_PROFILE, or the only profile]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// The kubeconfig to edit [default: $KUBECONFIG's first file, else ~/.kube/config]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Undo: the context no longer uses vouch's user, which goes once no context does
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct CargoCredentialArgs {
    /// Profile name, when the request does not name one [default: the profile whose hosts
    /// match the registry]
    pub name: Option<String>,

    /// Added by cargo to every credential provider it runs
    #[arg(long, hide = true)]
    pub cargo_plugin: bool,
}

#[derive(Debug, Args)]
pub struct SetupCargoArgs {
    /// The registry's name in cargo's configuration ([registries.NAME])
    #[arg(long, value_name = "NAME")]
    pub registry: String,

    /// Profile whose tokens cargo gets [default: $VOUCH_PROFILE, or the only profile]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Undo: remove vouch as the registry's credential provider
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct DockerCredentialArgs {
    /// get, store, erase, list or version
    pub operation: String,
}

#[derive(Debug, Args)]
pub struct SetupDockerArgs {
    /// The registry, as docker names it: its host, with :PORT when it has one
    #[arg(long, value_name = "HOST")]
    pub registry: String,

    /// Profile whose tokens docker gets [default: $VOUCH_PROFILE, or the only profile]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// The username the registry expects with the token (oauth2, <token>, an account name)
    /// [default: oauth2]
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,

    /// Undo: remove vouch from the registry's credHelpers and the host from the profile
    #[arg(long, conflicts_with = "username")]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
