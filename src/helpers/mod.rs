//! The credential helpers: git, kubectl and cargo ask vouch for tokens, each in its own
//! protocol, and all of them are answered from one store, by one refresh.
//!
//! Each protocol module ([`git`], [`kube`], [`cargo`], [`docker`]) only translates: its client's request
//! becomes one [`Resource`] ("a token for this profile, or for whatever profile serves this
//! URL, good for at least this long"), and the [`Grant`] that comes back becomes the client's
//! answer. Everything between is written once, here: finding the profile (by name, or by the
//! host patterns of [`crate::git::HostPattern`]), the entry key ([`crate::identity`]), the
//! just-in-time refresh with its single flight and refresh-token state machine
//! ([`crate::refresh::usable_record`]), and the one error type whose classes every helper maps
//! to its protocol's own kinds. [`reject`] is the other shared step: a client saw a token
//! rejected, so the cached access token is expired (never the refresh token); [`expire`] is
//! the same for a client that names no token (`docker logout`).
//!
//! The hot path of every helper costs what `vouch token` costs: one read of `config.toml`
//! and one store read (plus a refresh when the token is about to expire). Helpers never prompt
//! and never sign in: a profile that needs a person gets an error that says `vouch login NAME`.
//!
//! This module must not write to stdout (the protocol modules' callers do, once) and must not
//! know any protocol's wire format. [`replace_file`] is the one way the `setup-*` commands
//! write another program's configuration: atomically, keeping the file's mode.

pub mod cargo;
pub mod docker;
pub mod git;
pub mod kube;

use crate::config::{Config, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::git::HostPattern;
use crate::lock::ProfileLock;
use crate::record::Record;
use crate::{identity, refresh};
use std::path::Path;
use zeroize::Zeroizing;

/// A URL a client wants a credential for, in the parts host patterns match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `https`, or `http` (served only to loopback patterns).
    pub protocol: String,
    /// Host, with `:port` when the URL has one.
    pub host: String,
    /// The path without its leading `/`, when the client sent one.
    pub path: Option<String>,
}

impl Address {
    /// The parts of `url` (`https://host:8443/x` or, after a scheme prefix such as cargo's
    /// `sparse+`, the same), or `None` for something that is not an http(s) URL.
    pub fn from_url(url: &str) -> Option<Address> {
        let url = url.strip_prefix("sparse+").unwrap_or(url);
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return None;
        }
        let mut host = parsed.host_str()?.to_ascii_lowercase();
        if let Some(port) = parsed.port() {
            host.push_str(&format!(":{port}"));
        }
        let path = Some(parsed.path().trim_matches('/').to_string()).filter(|p| !p.is_empty());
        Some(Address { protocol: parsed.scheme().to_string(), host, path })
    }

    /// `protocol://host/path`, for messages.
    pub fn display(&self) -> String {
        let path = self.path.as_deref().map(|p| format!("/{p}")).unwrap_or_default();
        format!("{}://{}{path}", self.protocol, self.host)
    }
}

/// Which profile a request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This profile; `None` is `VOUCH_PROFILE`, else the only profile.
    Profile(Option<String>),
    /// The profile whose host patterns match this address most specifically.
    Address(Address),
}

/// The one request every helper makes: a token for this target, good for `min_ttl` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub target: Target,
    pub min_ttl: u64,
}

/// What a helper gets back: the profile that answered and its usable record.
pub struct Grant {
    pub profile: String,
    pub settings: Profile,
    pub record: Record,
}

impl Grant {
    /// The access token. Exposed only to be written into the helper's answer.
    pub fn token(&self) -> &str {
        self.record.access_token.expose_secret()
    }

    /// Unix seconds at which the access token expires, if the provider said.
    pub fn expires_at(&self) -> Option<u64> {
        self.record.expires_at
    }
}

/// A usable token for `resource`: the profile found, its record refreshed just in time.
///
/// Errors are the crate's: [`Error::NotServed`] when no profile serves the address (git then
/// falls through, cargo tries its next provider), [`Error::SignedOut`] and the rest as
/// `vouch token` has them.
pub fn token_for(ctx: &mut Context, resource: &Resource) -> Result<Grant, Error> {
    // A helper runs under another program: it never waits for a person.
    ctx.settings.no_input = true;
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let (name, profile) = profile_for(ctx, &config, &resource.target)?;
    let key = identity::resolve(ctx, &dir, &name, &profile)?;
    // git, kubectl and cargo send Bearer tokens: a DPoP-bound one is useless to them.
    let via = "this credential helper";
    if crate::dpop::is_bound(&profile, None) {
        return Err(crate::dpop::bound_elsewhere(&name, via));
    }
    let record = refresh::usable_record(ctx, &key, &profile, resource.min_ttl)?;
    if crate::dpop::is_bound(&profile, Some(&record)) {
        return Err(crate::dpop::bound_elsewhere(&name, via));
    }
    Ok(Grant { profile: name, settings: profile, record })
}

/// The client saw `rejected` refused by the server. If it is the stored access token of the
/// target's profile, mark it expired so the next request refreshes; the refresh token is
/// kept (a rejection is usually transient, or a revoked access token). Returns whether the
/// stored record changed. A target no profile serves, or another token, changes nothing.
pub fn reject(ctx: &mut Context, target: &Target, rejected: &str) -> Result<bool, Error> {
    match expire_access_token(ctx, target, Some(rejected)) {
        Ok((_, changed)) => Ok(changed),
        Err(Error::NotServed { .. }) => Ok(false),
        Err(err) => Err(err),
    }
}

/// The client is done with the target's credential but names no token (`docker logout`):
/// the cached access token of the profile that serves it is expired, whatever it is, so the
/// next request refreshes; the refresh token is kept (signing out is `vouch logout`). Returns
/// the profile and whether the stored record changed; [`Error::NotServed`] when no profile
/// serves the target.
pub fn expire(ctx: &mut Context, target: &Target) -> Result<(String, bool), Error> {
    expire_access_token(ctx, target, None)
}

/// Mark the stored access token of the target's profile expired, if it is `only` (any token
/// when `None`).
fn expire_access_token(
    ctx: &mut Context,
    target: &Target,
    only: Option<&str>,
) -> Result<(String, bool), Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let (name, profile) = profile_for(ctx, &config, target)?;
    let key = identity::resolve(ctx, &dir, &name, &profile)?;
    let store = ctx.store()?;
    let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(&key), ctx.settings.lock_wait)?;
    let Some(record) = store.load(&key)? else { return Ok((name, false)) };
    let unchanged = match only {
        Some(token) => token.is_empty() || record.access_token.expose_secret() != token,
        None => record.expires_at.is_some_and(|at| at < ctx.now()),
    };
    if unchanged {
        return Ok((name, false));
    }
    let expired =
        Record { generation: record.generation + 1, expires_at: Some(ctx.now().saturating_sub(1)), ..record };
    store.save(&key, &expired)?;
    let why = if only.is_some() { "was rejected" } else { "was dropped" };
    ctx.log(format_args!("helper: the access token of '{name}' {why}; it will be refreshed"));
    Ok((name, true))
}

/// The profile a target means.
fn profile_for(ctx: &Context, config: &Config, target: &Target) -> Result<(String, Profile), Error> {
    match target {
        Target::Profile(name) => config.resolve(name.as_deref(), &ctx.env),
        Target::Address(address) => {
            serving(config, address).ok_or_else(|| Error::NotServed { url: address.display() })
        }
    }
}

/// The profile that serves `address`, if any: the most specific matching host pattern.
pub fn serving(config: &Config, address: &Address) -> Option<(String, Profile)> {
    config
        .profiles
        .iter()
        .flat_map(|(name, profile)| {
            profile.hosts.iter().filter_map(move |h| HostPattern::parse(h).ok().map(|p| (name, profile, p)))
        })
        .filter(|(_, _, pattern)| pattern.matches(&address.protocol, &address.host, address.path.as_deref()))
        .max_by_key(|(_, _, pattern)| pattern.path.as_ref().map_or(0, String::len))
        .map(|(name, profile, _)| (name.clone(), profile.clone()))
}

/// Replace `path` with `bytes` atomically: a temporary file beside it (the same mode as the
/// file it replaces, else `mode`), synced, then renamed over it. A symbolic link is followed,
/// so the file it points to is replaced and the link stays. Used for other programs'
/// configuration files, which must never be seen half-written.
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    use std::io::Write;
    let target = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(_) => path.to_path_buf(),
    };
    let failed = |e: std::io::Error| Error::usage(format!("cannot write {}: {e}", target.display()));
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&target).map_or(mode, |m| m.permissions().mode() & 0o7777)
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.vouch-{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let written = options
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, &target));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(failed(e));
    }
    Ok(())
}

/// `value` as a JSON string literal, in memory that is zeroized on drop: for answers that
/// carry a token.
pub fn json_string(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(value.len() * 2 + 2));
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// This vouch binary's absolute path, for the configuration files that run it.
pub fn vouch_binary() -> Result<String, Error> {
    let exe =
        std::env::current_exe().map_err(|e| Error::internal(format!("cannot find the vouch binary: {e}")))?;
    Ok(exe.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_urls_and_index_urls() {
        let a = Address::from_url("sparse+https://Reg.Example:8443/index/").unwrap();
        assert_eq!(
            a,
            Address { protocol: "https".into(), host: "reg.example:8443".into(), path: Some("index".into()) }
        );
        assert_eq!(a.display(), "https://reg.example:8443/index");
        assert_eq!(Address::from_url("https://k.example").unwrap().path, None);
        for bad in ["ftp://x/", "not a url", "git+ssh://x/"] {
            assert!(Address::from_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn json_strings_escape_what_json_requires() {
        for s in ["plain", "q\"b\\s", "ctl\u{1}\n", "ünï"] {
            let back: String = serde_json::from_str(&json_string(s)).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn the_most_specific_pattern_serves() {
        let mut config = Config::default();
        let with_hosts = |hosts: &[&str]| Profile {
            issuer: "https://id.example".into(),
            client_id: "cli".into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Profile::default()
        };
        config.profiles.insert("any".into(), with_hosts(&["reg.example"]));
        config.profiles.insert("team".into(), with_hosts(&["reg.example/team"]));
        let at = |url: &str| serving(&config, &Address::from_url(url).unwrap()).map(|(n, _)| n);
        assert_eq!(at("https://reg.example/team/index").as_deref(), Some("team"));
        assert_eq!(at("https://reg.example/other").as_deref(), Some("any"));
        assert_eq!(at("http://reg.example/"), None);
        assert_eq!(at("https://elsewhere.example/"), None);
    }

    #[test]
    fn replacing_a_file_keeps_its_mode_and_leaves_no_temporary() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&path, b"new", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        let fresh = dir.path().join("sub/fresh");
        replace_file(&fresh, b"x", 0o600).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
