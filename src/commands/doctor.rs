//! `vouch doctor`: why vouch cannot work here, and what to do.
//!
//! It runs a fixed list of checks and reports each as `ok`, `warn`, `fail` or `skip`, with a
//! detail and, when something is wrong, a remedy:
//! - **stores**: which store `--store` picks (what `auto` would choose), and for each store of
//!   the platform whether it is usable and why not: no session bus, no Secret Service on it, a
//!   locked collection (asked without unlocking or prompting), a kernel that refuses keyctl
//!   (seccomp), a session keyring that does not link the user keyring (handled; said so). A
//!   usable store proves it by writing and deleting a probe item that holds no secret;
//! - **config** and **state**: where they are, their owners and modes, and whether
//!   [`crate::paths`]' checks accept them (the same checks, not a copy);
//! - **provider:NAME** and **clock**, only with `--online`: each profile's discovery, and the
//!   local clock against a provider's HTTP `Date` (ID tokens are refused when it is far off);
//! - **git:NAME:HOST**: whether git asks vouch for each host of each profile, and which other
//!   helpers it also runs ([`git::effective_helpers`], as `setup-git` does), storing ones first;
//! - **orphans**: credentials in the store that no profile owns ([`identity::orphans`]).
//!
//! The report is the command's data: stdout, or `--json` (`{"checks": [...], "exit_code"}`).
//! Exit 0 when no check failed, warnings included; otherwise the exit code of the first failed
//! check in report order, which is the code that a command meeting the same problem exits with.
//! It never prompts, never unlocks a store, never reads a stored credential and never prints a
//! secret: details name stores, paths, hosts, profiles and error classes only.

use super::Outcome;
use super::setup_git;
use crate::cli::DoctorArgs;
use crate::config::{Config, FILE_NAME, Profile};
use crate::context::Context;
use crate::error::{Error, exit};
use crate::git::{self, HostPattern};
use crate::http::{self, Auth, Body};
use crate::store::StoreKind;
use crate::store::platform::{self, StoreChoice};
use crate::{discovery, identity, paths};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// vouch works, but something deserves attention (a helper that may store tokens, orphans).
    Warn,
    /// vouch cannot work as configured; the exit code says how.
    Fail,
    /// Not checked, or not relevant here; the detail says why.
    Skip,
}

/// One check, as reported. Field names are the stable `--json` schema.
#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
    /// What to do; null when there is nothing to do.
    pub remedy: Option<String>,
    /// For a failure, the exit code the same problem gives other commands.
    #[serde(skip)]
    pub code: u8,
}

impl Check {
    fn new(name: &str, status: Status, detail: String, remedy: Option<String>, code: u8) -> Check {
        Check { name: name.to_string(), status, detail, remedy, code }
    }

    fn ok(name: &str, detail: String) -> Check {
        Check::new(name, Status::Ok, detail, None, exit::OK)
    }

    fn skip(name: &str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Skip, detail.into(), None, exit::OK)
    }

    fn warn(name: &str, detail: String, remedy: String) -> Check {
        Check::new(name, Status::Warn, detail, Some(remedy), exit::OK)
    }

    fn fail(name: &str, detail: String, remedy: String, code: u8) -> Check {
        Check::new(name, Status::Fail, detail, Some(remedy), code)
    }

    /// A failure from an error: its exit code, its message split into detail and remedy.
    fn from_error(name: &str, err: &Error, remedy: &str) -> Check {
        let (detail, remedy) = explain(err, remedy);
        Check::fail(name, detail, remedy, err.exit_code())
    }
}

/// An error's message as a detail and a remedy (`fallback` when the error names none).
fn explain(err: &Error, fallback: &str) -> (String, String) {
    match err {
        Error::UnsafeLocation { path, reason, remedy } => (
            format!("vouch will not use {path}: {reason}"),
            if remedy.is_empty() { fallback.to_string() } else { capitalize(remedy) },
        ),
        Error::StoreLocked { store, reason } => (
            format!("the {store} is locked or waiting for you ({reason})"),
            if *store == StoreKind::SecretService.description() {
                "Unlock it (log in to the desktop, or run `gnome-keyring-daemon --unlock` and type the \
                 password); vouch doctor never unlocks it. Or use the kernel keyring with --store keyutils"
                    .to_string()
            } else {
                format!("Unlock the {store} and retry")
            },
        ),
        Error::NoSecureStore { reason, remedy } => (reason.clone(), remedy.clone()),
        other => (other.to_string(), fallback.to_string()),
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    checks: &'a [Check],
    exit_code: u8,
}

pub fn run(args: DoctorArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let mut checks = Vec::new();
    let store_usable = stores(ctx, &mut checks);
    let config = config(ctx, &mut checks);
    checks.push(state(ctx));
    if args.online {
        providers(ctx, config.as_ref(), &mut checks);
    } else {
        let offline = "not checked: vouch doctor is offline unless --online";
        checks.push(Check::skip("provider", offline));
        checks.push(Check::skip("clock", offline));
    }
    git_helpers(ctx, config.as_ref(), &mut checks);
    checks.push(orphans(ctx, store_usable, config.as_ref()));

    let code = exit_code(&checks);
    print(ctx, &checks, code, args.json)?;
    Ok(if code == exit::OK { Outcome::Done } else { Outcome::Exit(code) })
}

/// 0 when no check failed; else the code of the first failure (never 0).
pub fn exit_code(checks: &[Check]) -> u8 {
    match checks.iter().find(|c| c.status == Status::Fail) {
        None => exit::OK,
        Some(c) if c.code == exit::OK => exit::INTERNAL,
        Some(c) => c.code,
    }
}

// ----- stores ---------------------------------------------------------------------------

/// The stores this platform has.
fn platform_stores() -> &'static [StoreKind] {
    if cfg!(target_os = "linux") {
        &[StoreKind::SecretService, StoreKind::Keyutils]
    } else if cfg!(target_os = "macos") {
        &[StoreKind::Keychain]
    } else if cfg!(target_os = "windows") {
        &[StoreKind::Windows]
    } else {
        &[]
    }
}

fn choice_of(kind: StoreKind, fallback: StoreChoice) -> StoreChoice {
    match kind {
        StoreKind::SecretService => StoreChoice::SecretService,
        StoreKind::Keyutils => StoreChoice::Keyutils,
        StoreKind::Keychain => StoreChoice::Keychain,
        StoreKind::Windows => StoreChoice::Windows,
        StoreKind::Mock => fallback,
    }
}

fn choice_name(choice: StoreChoice) -> &'static str {
    match choice {
        StoreChoice::Auto => "auto",
        StoreChoice::SecretService => "secret-service",
        StoreChoice::Keyutils => "keyutils",
        StoreChoice::Keychain => "keychain",
        StoreChoice::Windows => "windows",
    }
}

/// The `store` check and one `store:ID` check per store. Returns whether the store vouch
/// uses is usable.
fn stores(ctx: &mut Context, checks: &mut Vec<Check>) -> bool {
    let choice = ctx.settings.store;
    let timeout = ctx.settings.store_timeout;
    let env = ctx.env.clone();
    let flag = format!("--store {}", choice_name(choice));
    // Which store vouch would use: opening is what selection does (no write, no unlock).
    let picked = ctx.stores.open(choice, &env, timeout).map(|store| store.kind());
    let mut kinds: Vec<StoreKind> = platform_stores().to_vec();
    if let Ok(kind) = picked
        && !kinds.contains(&kind)
    {
        kinds.push(kind);
    }
    let mut results = Vec::new();
    for kind in kinds {
        let result = if kind == StoreKind::SecretService && !platform::session_bus_configured(&env) {
            Err(Error::NoSecureStore {
                reason: "there is no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset and there is no \
                         $XDG_RUNTIME_DIR/bus"
                    .to_string(),
                remedy: StoreKind::SecretService.remedy().to_string(),
            })
        } else {
            ctx.stores.check(choice_of(kind, choice), &env, timeout)
        };
        results.push((kind, result));
    }

    let usable = match &picked {
        Err(err) => {
            let (detail, remedy) = explain(err, "");
            let what = match choice {
                StoreChoice::Auto => "no store is usable",
                _ => "the store it names is not usable",
            };
            checks.push(Check::fail("store", format!("{flag}: {what}: {detail}"), remedy, err.exit_code()));
            false
        }
        Ok(kind) => match results.iter().find(|(k, _)| k == kind) {
            Some((_, Ok(_))) => {
                checks.push(Check::ok(
                    "store",
                    format!(
                        "{flag}: vouch uses the {}, which keeps credentials {}",
                        kind.description(),
                        kind.persistence()
                    ),
                ));
                true
            }
            Some((_, Err(err))) => {
                let (detail, remedy) = explain(err, "");
                checks.push(Check::fail(
                    "store",
                    format!("{flag}: vouch uses the {}, which is not usable: {detail}", kind.description()),
                    remedy,
                    err.exit_code(),
                ));
                false
            }
            None => false,
        },
    };

    for (kind, result) in results {
        let name = format!("store:{}", kind.id());
        // A store that is unusable fails when vouch would use it, or when no store is usable
        // at all (then each is a reason, with its remedy); otherwise it is skipped.
        let chosen = picked.as_ref().is_ok_and(|k| *k == kind)
            || picked.is_err()
            || choice_of(kind, StoreChoice::Auto) == choice;
        checks.push(match result {
            Ok(notes) => {
                let mut detail =
                    format!("the {} is usable (a probe item was written and deleted)", kind.description());
                for note in notes {
                    detail.push_str("; ");
                    detail.push_str(&note);
                }
                Check::ok(&name, detail)
            }
            Err(err) if chosen => Check::from_error(&name, &err, ""),
            Err(err) => {
                let (detail, _) = explain(&err, "");
                let used = match &picked {
                    Ok(k) => format!("; vouch uses the {} instead", k.description()),
                    Err(_) => String::new(),
                };
                Check::skip(&name, format!("not usable here: {detail}{used}"))
            }
        });
    }
    usable
}

// ----- files ----------------------------------------------------------------------------

/// Owner and mode of `path`, for details: "yours, mode 700".
fn describe(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match path.symlink_metadata() {
            Ok(meta) => {
                let me = rustix::process::getuid().as_raw();
                let owner = if meta.uid() == me {
                    "yours".to_string()
                } else {
                    format!("owned by user id {}", meta.uid())
                };
                format!("{owner}, mode {:o}", meta.mode() & 0o7777)
            }
            Err(_) => "missing".to_string(),
        }
    }
    #[cfg(not(unix))]
    {
        if path.exists() { "present".to_string() } else { "missing".to_string() }
    }
}

/// The `config` check; the config when it can be used.
fn config(ctx: &mut Context, checks: &mut Vec<Check>) -> Option<Config> {
    let dir = match ctx.config_dir() {
        Ok(dir) => dir,
        Err(err) => {
            checks.push(Check::from_error("config", &err, "Set HOME, or pass --config-dir DIR"));
            return None;
        }
    };
    match Config::load(&dir) {
        Ok(config) => {
            let file = dir.join(FILE_NAME);
            let detail = if !dir.exists() {
                format!("{} does not exist yet; the first `vouch login` creates it", dir.display())
            } else if !file.exists() {
                format!("{} ({}) has no {FILE_NAME} yet (no profiles)", dir.display(), describe(&dir))
            } else {
                format!(
                    "{} ({}), {FILE_NAME} ({}), {} profile(s); accepted",
                    dir.display(),
                    describe(&dir),
                    describe(&file),
                    config.profiles.len()
                )
            };
            checks.push(Check::ok("config", detail));
            Some(config)
        }
        Err(err) => {
            let mut check = Check::from_error("config", &err, "Fix or remove the file");
            if dir.exists() && !matches!(err, Error::UnsafeLocation { .. }) {
                check.detail.push_str(&format!(" ({}: {})", dir.display(), describe(&dir)));
            }
            checks.push(check);
            None
        }
    }
}

/// The `state` check: where locks and in-flight markers live. Nothing is created.
fn state(ctx: &mut Context) -> Check {
    let dir = match ctx.state_dir_location() {
        Ok(dir) => dir,
        Err(err) => return Check::from_error("state", &err, "Set HOME"),
    };
    match paths::check_dir_if_present(&dir) {
        Ok(()) if dir.exists() => Check::ok(
            "state",
            format!(
                "{} ({}) holds locks and in-flight markers, no secrets; accepted",
                dir.display(),
                describe(&dir)
            ),
        ),
        Ok(()) => Check::ok(
            "state",
            format!(
                "{} does not exist yet; vouch creates it (mode 700) when it first needs a lock",
                dir.display()
            ),
        ),
        Err(err) => Check::from_error("state", &err, "Remove it, and let vouch create it again"),
    }
}

// ----- provider and clock ---------------------------------------------------------------

/// Skew up to this is fine.
const SKEW_OK: i64 = 60;
/// Beyond this, ID tokens with short lifetimes are refused as expired (vouch allows 60 s).
const SKEW_FAIL: i64 = 300;

fn providers(ctx: &mut Context, config: Option<&Config>, checks: &mut Vec<Check>) {
    let Some(config) = config.filter(|c| !c.profiles.is_empty()) else {
        let why = if config.is_some() { "no profiles yet" } else { "the config cannot be read (see config)" };
        checks.push(Check::skip("provider", why));
        checks.push(Check::skip("clock", why));
        return;
    };
    // (issuer, local minus provider, in seconds)
    let mut skew: Option<(String, i64)> = None;
    for (name, profile) in &config.profiles {
        let (check, date) = provider(ctx, name, profile);
        if skew.is_none()
            && let Some(date) = date
        {
            skew = Some((profile.issuer.clone(), ctx.now() as i64 - date));
        }
        checks.push(check);
    }
    checks.push(clock(skew));
}

/// One profile's provider: reachable, and its discovery usable. Also the provider's `Date`.
fn provider(ctx: &mut Context, name: &str, profile: &Profile) -> (Check, Option<i64>) {
    let check_name = format!("provider:{name}");
    let issuer = match http::user_url(&profile.issuer) {
        Ok(url) => url,
        Err(err) => {
            return (Check::from_error(&check_name, &err, "Fix the profile's issuer in config.toml"), None);
        }
    };
    let [(first, _), _] = discovery::well_known_urls(&issuer);
    let probed = http::request(ctx, "GET", &first, Auth::None, Body::None, None);
    let date = probed.as_ref().ok().and_then(|r| r.date.as_deref()).and_then(parse_http_date);
    let unreachable = "Check the network, the proxy (HTTPS_PROXY, NO_PROXY) and the issuer URL; retry later";
    if let Err(err) = &probed
        && err.exit_code() == exit::UNAVAILABLE
    {
        return (Check::from_error(&check_name, err, unreachable), date);
    }
    let no_discovery = profile.provider.is_some()
        || (profile.token_url.is_some() && (profile.device_url.is_some() || profile.auth_url.is_some()));
    if no_discovery {
        let source = match &profile.provider {
            Some(preset) => format!("the built-in preset '{preset}'"),
            None => "the profile's own endpoint settings".to_string(),
        };
        return (
            Check::ok(
                &check_name,
                format!("{} answers; endpoints come from {source}", http::redact(&issuer)),
            ),
            date,
        );
    }
    let check = match discovery::discover(ctx, &profile.issuer) {
        Ok(Some(meta)) if meta.token_endpoint.is_some() || profile.token_url.is_some() => Check::ok(
            &check_name,
            format!(
                "{} answers; its {} discovery document names its endpoints",
                http::redact(&issuer),
                if meta.openid { "OpenID Connect" } else { "RFC 8414" }
            ),
        ),
        Ok(found) => Check::fail(
            &check_name,
            format!(
                "{} {}, and the profile names no token endpoint",
                http::redact(&issuer),
                if found.is_some() {
                    "publishes a discovery document without a token endpoint"
                } else {
                    "publishes no discovery document"
                }
            ),
            format!("Run `vouch login {name} --token-url URL --device-url URL` (or --auth-url URL)"),
            exit::USAGE,
        ),
        Err(err) => {
            let remedy = if err.exit_code() == exit::UNAVAILABLE {
                unreachable
            } else {
                "Check the issuer: it must be exactly the one the provider publishes (no extra trailing /)"
            };
            Check::from_error(&check_name, &err, remedy)
        }
    };
    (check, date)
}

fn clock(skew: Option<(String, i64)>) -> Check {
    let Some((issuer, skew)) = skew else {
        return Check::skip("clock", "no provider answered with a Date header");
    };
    let off = skew.unsigned_abs();
    let direction = if skew > 0 { "ahead of" } else { "behind" };
    let detail = format!("the local clock is {off} s {direction} {issuer} (its HTTP Date header)");
    let remedy = "Synchronise the clock (`timedatectl set-ntp true`, chrony or ntpd); in a container or \
                  virtual machine, fix the host's clock";
    if skew.abs() <= SKEW_OK {
        Check::ok("clock", detail)
    } else if skew.abs() <= SKEW_FAIL {
        Check::warn(
            "clock",
            format!("{detail}; vouch allows {SKEW_OK} s when it checks an ID token's expiry"),
            remedy.to_string(),
        )
    } else {
        Check::fail(
            "clock",
            format!("{detail}; ID tokens would be refused as expired (vouch allows {SKEW_OK} s)"),
            remedy.to_string(),
            exit::PROTOCOL,
        )
    }
}

/// Unix seconds of an HTTP date in the IMF-fixdate form every server must send
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 §5.6.7).
pub fn parse_http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    if *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    // Days from 1970-01-01 to the date (proleptic Gregorian; H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

// ----- git ------------------------------------------------------------------------------

/// Helpers that keep what git hands them on `store`: vouch's token would outlive vouch.
const STORING_HELPERS: &[&str] = &[
    "store",
    "cache",
    "libsecret",
    "gnome-keyring",
    "manager",
    "manager-core",
    "osxkeychain",
    "wincred",
    "netrc",
];

/// The helper's name: `!'/usr/lib/git-core/git-credential-store' --file x` → `store`.
fn helper_name(value: &str) -> String {
    let command = value.trim().trim_start_matches('!').trim_start();
    let first = command.split_whitespace().next().unwrap_or_default().trim_matches(['\'', '"']);
    let base = first.rsplit(['/', '\\']).next().unwrap_or(first);
    let base = base.strip_suffix(".exe").unwrap_or(base);
    base.strip_prefix("git-credential-").unwrap_or(base).to_string()
}

/// A command that removes one helper entry.
fn removal(entry: &git::HelperEntry) -> String {
    let plain = entry.value.chars().all(|c| c.is_ascii_alphanumeric() || " -_./=:".contains(c));
    if plain && entry.scope != "command" {
        let pattern = entry.value.replace('.', "\\.");
        format!("git config --{} --unset-all {} '^{pattern}$'", entry.scope, entry.key)
    } else if entry.scope == "command" {
        "drop it from `git -c` / GIT_CONFIG_PARAMETERS".to_string()
    } else {
        format!("remove it with `git config --{} --edit`", entry.scope)
    }
}

fn git_helpers(ctx: &mut Context, config: Option<&Config>, checks: &mut Vec<Check>) {
    let hosts: Vec<(String, String)> = config
        .map(|c| {
            c.profiles
                .iter()
                .flat_map(|(name, p)| p.hosts.iter().map(move |h| (name.clone(), h.clone())))
                .collect()
        })
        .unwrap_or_default();
    if hosts.is_empty() {
        checks.push(Check::skip(
            "git",
            "no profile serves a git host (`vouch setup-git --host HOST` adds one)",
        ));
        return;
    }
    // Exit 1 from `--get-regexp` means "no such key".
    let listed = setup_git::git_output(
        ctx,
        &["config", "--show-scope", "-z", "--get-regexp", r"^credential\.(.*\.)?helper$"],
        &[0, 1],
    );
    let listed = match listed {
        Ok(listed) => listed,
        Err(err) => {
            checks.push(Check::warn(
                "git",
                format!("cannot read git's configuration: {err}"),
                "Install git, or fix git's configuration".to_string(),
            ));
            return;
        }
    };
    let entries = git::HelperEntry::parse_list(&listed);
    let helper = setup_git::helper_command().unwrap_or_else(|_| "vouch".to_string());
    for (profile, host) in hosts {
        let name = format!("git:{profile}:{host}");
        let pattern = match HostPattern::parse(&host) {
            Ok(pattern) => pattern,
            Err(reason) => {
                checks.push(Check::fail(
                    &name,
                    reason,
                    format!("Fix `hosts` of profile '{profile}' in config.toml"),
                    exit::USAGE,
                ));
                continue;
            }
        };
        let url = pattern.git_url();
        let effective = git::effective_helpers(&entries, &pattern);
        let ours = effective.iter().any(|e| setup_git::is_vouch_helper(&e.value, &helper));
        let others: Vec<&git::HelperEntry> =
            effective.into_iter().filter(|e| !setup_git::is_vouch_helper(&e.value, &helper)).collect();
        let described: Vec<String> = others
            .iter()
            .map(|e| {
                let what = if STORING_HELPERS.contains(&helper_name(&e.value).as_str()) {
                    "a storing helper: it would keep vouch's tokens"
                } else {
                    "it is handed vouch's tokens on `store`"
                };
                format!("'{}' ({} configuration, {}; {what})", e.value, e.scope, e.key)
            })
            .collect();
        if !ours {
            let also = if described.is_empty() {
                String::new()
            } else {
                format!("; it asks {}", described.join(", "))
            };
            checks.push(Check::fail(
                &name,
                format!("git does not ask vouch for {url}{also}"),
                format!("Run `vouch setup-git --host {host} --profile {profile}`"),
                exit::USAGE,
            ));
        } else if others.is_empty() {
            checks.push(Check::ok(&name, format!("git asks vouch, and only vouch, for {url}")));
        } else {
            let removals: Vec<String> = others.iter().map(|e| removal(e)).collect();
            checks.push(Check::warn(
                &name,
                format!("git asks vouch for {url}, but also {}", described.join(", ")),
                format!(
                    "Remove it ({}), or configure it only for the hosts that need it; `vouch setup-git --host {host} \
                     --profile {profile}` resets the helpers configured before vouch's",
                    removals.join("; ")
                ),
            ));
        }
    }
}

// ----- orphans --------------------------------------------------------------------------

fn orphans(ctx: &mut Context, store_usable: bool, config: Option<&Config>) -> Check {
    if !store_usable {
        return Check::skip("orphans", "not checked: the store is not usable (see store)");
    }
    let Some(config) = config else {
        return Check::skip("orphans", "not checked: the config cannot be read (see config)");
    };
    let store = match ctx.store() {
        Ok(store) => store,
        Err(err) => return Check::skip("orphans", format!("not checked: {}", explain(&err, "").0)),
    };
    match identity::orphans(&store, config) {
        Ok(found) if found.is_empty() => Check::ok(
            "orphans",
            format!("every vouch credential in the {} belongs to a profile", store.kind().description()),
        ),
        Ok(found) => {
            let mut profiles: Vec<&str> = found.iter().map(|o| identity::profile_of(o)).collect();
            profiles.dedup();
            Check::warn(
                "orphans",
                format!(
                    "the {} holds {} vouch credential(s) that no profile of this configuration owns (made for \
                     profiles named {})",
                    store.kind().description(),
                    found.len(),
                    profiles.join(", ")
                ),
                "`vouch logout --orphans` revokes and deletes them; if they belong to another --config-dir, \
                 run it there instead"
                    .to_string(),
            )
        }
        Err(err) => {
            let (detail, remedy) = explain(&err, "Retry; see `vouch status`");
            Check::warn("orphans", format!("cannot list the store's entries: {detail}"), remedy)
        }
    }
}

// ----- output ---------------------------------------------------------------------------

fn print(ctx: &mut Context, checks: &[Check], code: u8, json: bool) -> Result<(), Error> {
    let text = if json {
        serde_json::to_string_pretty(&Report { checks, exit_code: code })
            .map_err(|e| Error::internal(format!("cannot encode the report: {e}")))?
    } else {
        human(checks, code)
    };
    writeln!(ctx.stdout, "{text}").map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))
}

fn human(checks: &[Check], code: u8) -> String {
    let mut out = String::new();
    for check in checks {
        let label = match check.status {
            Status::Ok => "ok  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        out.push_str(&format!("{label}  {}: {}\n", check.name, check.detail));
        if let Some(remedy) =
            check.remedy.as_ref().filter(|_| matches!(check.status, Status::Warn | Status::Fail))
        {
            out.push_str(&format!("      fix: {remedy}\n"));
        }
    }
    let count = |status| checks.iter().filter(|c| c.status == status).count();
    let (failed, warned) = (count(Status::Fail), count(Status::Warn));
    if failed == 0 && warned == 0 {
        out.push_str("Everything vouch checked is fine.");
    } else if failed == 0 {
        out.push_str(&format!("{warned} warning(s); vouch works here (exit 0)."));
    } else {
        out.push_str(&format!(
            "{failed} failure(s), {warned} warning(s); exit {code}, from the first failure."
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_and_garbage_does_not() {
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"), Some(1_835_481_599));
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_exit_code_is_the_first_failures_and_warnings_are_zero() {
        let checks =
            vec![Check::ok("a", "x".into()), Check::warn("b", "x".into(), "y".into()), Check::skip("c", "x")];
        assert_eq!(exit_code(&checks), 0);
        let mut checks = checks;
        checks.push(Check::fail("d", "x".into(), "y".into(), exit::STORE_LOCKED));
        checks.push(Check::fail("e", "x".into(), "y".into(), exit::USAGE));
        assert_eq!(exit_code(&checks), 6);
        assert_eq!(exit_code(&[Check::fail("f", "x".into(), "y".into(), exit::OK)]), 1);
    }

    #[test]
    fn helper_names_and_removals() {
        assert_eq!(helper_name("store"), "store");
        assert_eq!(helper_name("!'/usr/lib/git-core/git-credential-store' --file x"), "store");
        assert_eq!(
            helper_name("/usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret"),
            "libsecret"
        );
        assert_eq!(helper_name("cache --timeout 9"), "cache");
        let entry = |scope: &str, value: &str| git::HelperEntry {
            scope: scope.into(),
            key: "credential.helper".into(),
            url: None,
            value: value.into(),
        };
        assert_eq!(
            removal(&entry("global", "store")),
            "git config --global --unset-all credential.helper '^store$'"
        );
        assert!(removal(&entry("local", "!f() { echo x; }; f")).contains("--local --edit"));
    }

    #[test]
    fn clock_thresholds() {
        assert_eq!(clock(Some(("i".into(), 3))).status, Status::Ok);
        assert_eq!(clock(Some(("i".into(), -120))).status, Status::Warn);
        let far = clock(Some(("i".into(), 3600)));
        assert_eq!((far.status, far.code), (Status::Fail, exit::PROTOCOL));
        assert!(far.detail.contains("3600 s ahead of i"), "{}", far.detail);
        assert_eq!(clock(None).status, Status::Skip);
    }
}
