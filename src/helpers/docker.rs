//! docker's credential helper protocol (docker-credential-helpers) to and from the shared
//! [`Resource`].
//!
//! docker (and skopeo, podman, buildah) run `docker-credential-vouch OP` for every registry
//! that `credHelpers` in `config.json` maps to `vouch`, with the operation as the only argument
//! and its payload on stdin:
//!
//! - `get`: the payload is the registry's server URL (`reg.example`, `127.0.0.1:5000`, or a URL
//!   such as `https://index.docker.io/v1/`). It becomes an [`Address`] (https unless the URL
//!   says `http://`) that the profiles' host patterns match, and the [`Grant`] becomes
//!   `{"ServerURL":…,"Username":…,"Secret":TOKEN}`. The username is the profile's
//!   `docker_username`, default `oauth2` ([`DEFAULT_USERNAME`]); `<token>` makes docker treat
//!   the secret as an identity token.
//! - `store`: vouch never keeps a password it is handed ([`refusal`]).
//! - `erase` (`docker logout`): the payload is a server URL; the cached access token of the
//!   profile serving it is expired, never the refresh token.
//! - `list`: the hosts vouch serves and their usernames, never a secret.
//! - `version`: one line naming the helper.
//!
//! Failures are one line on stdout and a non-zero exit, as every helper does; a registry no
//! profile serves is exactly [`NOT_FOUND`], which clients take for "no credentials" and go on
//! anonymously. This module formats; the command writes.

use super::{Address, Grant, Resource, Target, json_string};
use crate::config::Config;
use crate::error::Error;
use crate::git::HostPattern;
use crate::secret::AccessToken;
use serde::Deserialize;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// What every helper prints when it has no credentials: clients compare it exactly.
pub const NOT_FOUND: &str = "credentials not found in native keychain";

/// What the helpers print for a request without a server URL.
pub const MISSING_SERVER_URL: &str = "no credentials server URL";

/// The username given with the token when the profile sets none.
pub const DEFAULT_USERNAME: &str = "oauth2";

/// Answer with a token that is good for at least this long.
pub const MIN_TTL: u64 = 60;

/// The longest payload vouch reads (a server URL, or a `store`'s few hundred bytes).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The address a server URL names, if it is one: `host[:port][/path]` (https), or an
/// `http(s)://` URL.
pub fn address(server_url: &str) -> Option<Address> {
    let server_url = server_url.trim();
    if server_url.contains("://") {
        return Address::from_url(server_url);
    }
    if server_url.is_empty() || server_url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // Parsed by hand, so a port stays as written (`reg:443` is its own credHelpers key).
    let (host, path) = server_url.split_once('/').map_or((server_url, None), |(h, p)| (h, Some(p)));
    Address::from_url(&format!("https://{host}/"))?;
    Some(Address {
        protocol: "https".into(),
        host: host.to_ascii_lowercase(),
        path: path.map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty()),
    })
}

/// The shared request for a `get` of `server_url`.
pub fn resource(server_url: &str) -> Option<Resource> {
    address(server_url).map(|address| Resource { target: Target::Address(address), min_ttl: MIN_TTL })
}

/// The username a profile gives with its token.
pub fn username(settings: &crate::config::Profile) -> &str {
    settings.docker_username.as_deref().unwrap_or(DEFAULT_USERNAME)
}

/// The `get` answer for `grant`, with its newline.
pub fn answer(server_url: &str, grant: &Grant) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(grant.token().len() + 128));
    out.push_str("{\"ServerURL\":");
    out.push_str(&json_string(server_url.trim()));
    out.push_str(",\"Username\":");
    out.push_str(&json_string(username(&grant.settings)));
    out.push_str(",\"Secret\":");
    out.push_str(&json_string(grant.token()));
    out.push_str("}\n");
    out
}

/// The `list` answer: every host a profile serves (without a path: docker keys helpers by
/// registry host), with that profile's username. The most specific profile wins a host two
/// profiles name, as in [`super::serving`].
pub fn list(config: &Config) -> String {
    let mut hosts = BTreeMap::new();
    for address in config
        .profiles
        .values()
        .flat_map(|p| p.hosts.iter().filter_map(|h| HostPattern::parse(h).ok()))
        .filter(|pattern| pattern.path.is_none())
        .map(|pattern| Address { protocol: pattern.scheme.clone(), host: pattern.host.clone(), path: None })
    {
        if let Some((_, profile)) = super::serving(config, &address) {
            let key = if address.protocol == "https" {
                address.host.clone()
            } else {
                format!("{}://{}", address.protocol, address.host)
            };
            hosts.insert(key, username(&profile).to_string());
        }
    }
    let mut out = serde_json::to_string(&hosts).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// The `version` answer.
pub fn version() -> String {
    format!("docker-credential-vouch (vouch) {}\n", env!("CARGO_PKG_VERSION"))
}

/// What `store` is handed: the password is read only to be dropped unread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoreRequest {
    #[serde(rename = "ServerURL", default)]
    pub server_url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    #[allow(dead_code)]
    pub secret: Option<AccessToken>,
}

/// Parse a `store` payload; `None` when it is not the JSON credentials docker sends.
pub fn parse_store(payload: &[u8]) -> Option<StoreRequest> {
    serde_json::from_slice(payload).ok()
}

/// Why `store` is refused, for the registry in `request` served by `serving` (if any).
pub fn refusal(request: Option<&StoreRequest>, serving: Option<&str>) -> Error {
    let registry = request.map(|r| r.server_url.trim()).filter(|s| !s.is_empty()).unwrap_or("the registry");
    let registry: String = registry.chars().take(200).collect();
    match serving {
        Some(profile) => Error::usage(format!(
            "vouch does not keep passwords: it serves {registry} with the tokens of profile '{profile}' by itself, so \
             `docker login` is not needed there (sign in with `vouch login {profile}`)"
        )),
        None => Error::usage(format!(
            "vouch does not keep passwords, and no profile serves {registry}: give docker's credHelpers another \
             helper for it, or serve it with `vouch setup-docker --registry HOST --profile NAME`"
        )),
    }
}

/// The line docker shows for a failed operation (never a secret: vouch's messages hold none).
pub fn failure(err: &Error) -> String {
    match err {
        Error::NotServed { .. } => format!("{NOT_FOUND}\n"),
        err => format!("{}\n", err.to_string().replace(['\n', '\r'], " ")),
    }
}

/// Whether a `credHelpers` value runs vouch.
pub fn is_vouch(value: &serde_json::Value) -> bool {
    value.as_str() == Some("vouch")
}

/// docker's configuration file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_file(env: &crate::env::Env) -> Result<std::path::PathBuf, Error> {
    if let Some(dir) = env.get("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(std::path::Path::new(dir).join("config.json"));
    }
    let home = env.get("HOME").ok_or_else(|| Error::usage("neither DOCKER_CONFIG nor HOME is set"))?;
    Ok(std::path::Path::new(home).join(".docker").join("config.json"))
}

/// The registry of `setup-docker`: `HOST[:PORT]`, as docker keys `credHelpers`.
pub fn registry_pattern(registry: &str) -> Result<HostPattern, Error> {
    let pattern = HostPattern::parse(registry).map_err(Error::usage)?;
    if pattern.scheme != "https" || pattern.path.is_some() {
        return Err(Error::usage(format!(
            "'{registry}' is not a registry host: docker names registries HOST[:PORT], without a scheme or path"
        )));
    }
    Ok(pattern)
}

/// Set `credHelpers.HOST = "vouch"` in a parsed `config.json`, keeping every other key.
pub fn set_helper(doc: &mut serde_json::Value, host: &str) -> Result<(), Error> {
    let not_object =
        |what: &str| Error::usage(format!("docker's `{what}` is not a JSON object; fix the file first"));
    let root = doc.as_object_mut().ok_or_else(|| not_object("config.json"))?;
    let helpers = root.entry("credHelpers").or_insert_with(|| serde_json::json!({}));
    let helpers = helpers.as_object_mut().ok_or_else(|| not_object("credHelpers"))?;
    helpers.insert(host.to_string(), serde_json::Value::String("vouch".into()));
    Ok(())
}

/// Remove `credHelpers.HOST` if it runs vouch (and `credHelpers` once empty). Returns whether
/// it did.
pub fn remove_helper(doc: &mut serde_json::Value, host: &str) -> bool {
    let Some(root) = doc.as_object_mut() else { return false };
    let Some(helpers) = root.get_mut("credHelpers").and_then(|h| h.as_object_mut()) else { return false };
    if !helpers.get(host).is_some_and(is_vouch) {
        return false;
    }
    helpers.remove(host);
    if helpers.is_empty() {
        root.remove("credHelpers");
    }
    true
}

/// Whether `auths.HOST` keeps a password (`auth` or `identitytoken`) in the file.
pub fn has_stored_password(doc: &serde_json::Value, host: &str) -> bool {
    let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) else { return false };
    auths.iter().filter(|(key, _)| address(key).is_some_and(|a| a.host == host)).any(|(_, entry)| {
        ["auth", "password", "identitytoken"]
            .iter()
            .any(|k| entry.get(k).and_then(|v| v.as_str()).is_some_and(|v| !v.is_empty()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Profile;

    #[test]
    fn server_urls_become_addresses() {
        let a = address("Reg.Example:5000\n").unwrap();
        assert_eq!(
            (a.protocol.as_str(), a.host.as_str(), a.path.as_deref()),
            ("https", "reg.example:5000", None)
        );
        let hub = address("https://index.docker.io/v1/").unwrap();
        assert_eq!((hub.host.as_str(), hub.path.as_deref()), ("index.docker.io", Some("v1")));
        assert_eq!(address("http://127.0.0.1:5000").unwrap().protocol, "http");
        assert_eq!(
            address("reg.example:443/ns/").unwrap(),
            Address { protocol: "https".into(), host: "reg.example:443".into(), path: Some("ns".into()) }
        );
        for bad in ["", "  ", "a b", "ftp://x", "://", "x\u{1}y", "@/x", "/x"] {
            assert!(address(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn list_names_hosts_with_their_usernames_and_no_paths() {
        let mut config = Config::default();
        let profile = |hosts: &[&str], user: Option<&str>| Profile {
            issuer: "https://id.example".into(),
            client_id: "cli".into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            docker_username: user.map(str::to_string),
            ..Profile::default()
        };
        config.profiles.insert("a".into(), profile(&["reg.example", "git.example/org"], None));
        config.profiles.insert("b".into(), profile(&["http://127.0.0.1:5000", "bad host"], Some("<token>")));
        assert_eq!(list(&config), "{\"http://127.0.0.1:5000\":\"<token>\",\"reg.example\":\"oauth2\"}\n");
        assert_eq!(list(&Config::default()), "{}\n");
    }

    #[test]
    fn credhelpers_are_set_and_removed_keeping_every_other_key() {
        let mut doc: serde_json::Value = serde_json::from_str(
            r#"{"auths":{"other.example":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"},"psFormat":"x"}"#,
        )
        .unwrap();
        set_helper(&mut doc, "reg.example").unwrap();
        assert_eq!(doc["credHelpers"]["reg.example"], "vouch");
        assert_eq!(doc["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(doc["psFormat"], "x");
        assert!(has_stored_password(&doc, "other.example") && !has_stored_password(&doc, "reg.example"));
        assert!(remove_helper(&mut doc, "reg.example"));
        assert!(!remove_helper(&mut doc, "reg.example"));
        assert!(!remove_helper(&mut doc, "gcr.io"), "someone else's helper stays");
        assert_eq!(doc["credHelpers"], serde_json::json!({"gcr.io": "gcloud"}));
        let mut only: serde_json::Value = serde_json::json!({});
        set_helper(&mut only, "r").unwrap();
        assert!(remove_helper(&mut only, "r"));
        assert_eq!(only, serde_json::json!({}));
        for odd in [r#"[]"#, r#"{"credHelpers":[]}"#, r#"{"credHelpers":"vouch"}"#] {
            let mut doc: serde_json::Value = serde_json::from_str(odd).unwrap();
            assert_eq!(set_helper(&mut doc, "r").unwrap_err().exit_code(), 2, "{odd}");
        }
    }

    #[test]
    fn registries_are_hosts_and_ports_only() {
        assert_eq!(registry_pattern("Reg.Example:5000").unwrap().host, "reg.example:5000");
        for bad in ["reg.example/team", "http://127.0.0.1:5000", "", "a b"] {
            assert_eq!(registry_pattern(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn store_payloads_never_show_their_password() {
        let r = parse_store(br#"{"ServerURL":"reg.example","Username":"u","Secret":"canary-pw"}"#).unwrap();
        assert_eq!((r.server_url.as_str(), r.username.as_str()), ("reg.example", "u"));
        assert!(!format!("{r:?}").contains("canary-pw"));
        assert!(parse_store(b"not json").is_none());
        let message = refusal(Some(&r), Some("work")).to_string();
        assert!(message.contains("vouch login work") && message.contains("reg.example"), "{message}");
        assert!(refusal(None, None).to_string().contains("vouch setup-docker"));
        assert_eq!(failure(&Error::NotServed { url: "x".into() }), format!("{NOT_FOUND}\n"));
    }
}
