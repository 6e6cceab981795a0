//! cargo's credential provider protocol (version 1) to and from the shared [`Resource`].
//!
//! cargo runs the provider as `PATH --cargo-plugin` and speaks single lines of JSON: the
//! provider says hello (`{"v":[1]}`), cargo sends one request, the provider answers, cargo
//! closes stdin. The rest of the configured command (`["vouch", "cargo-credential", "work"]`)
//! arrives in the request's `args`, so `vouch --cargo-plugin` is an alias of
//! `vouch cargo-credential --cargo-plugin` (see [`crate::cli_args`]).
//!
//! - `get` (any `operation`): the profile named in `args` (else on the command line), else the
//!   one whose host patterns match the registry's `index-url`, answers with
//!   `Bearer TOKEN` (cargo sends the token as the whole `Authorization` value), cached by
//!   cargo until the access token expires (`"cache":"expires"`), or for the session when the
//!   provider gave no expiry; `operation_independent: true`.
//! - `login`: vouch never stores a token it is handed (`cargo login TOKEN` gets
//!   `operation-not-supported`); without one it checks that the profile has a usable token.
//! - `logout`: `operation-not-supported`, naming `vouch logout NAME`, which signs out for
//!   every client at once.
//! - Unknown kinds get `operation-not-supported`; unknown fields are ignored.
//!
//! Errors map to cargo's kinds: no profile for the registry is `url-not-supported` (cargo
//! tries its next provider), a signed-out profile is `not-found`, anything else is `other`
//! with vouch's message, which never carries a secret.

use super::{Address, Grant, Resource, Target};
use crate::context::Context;
use crate::error::Error;
use crate::secret::AccessToken;
use serde::Deserialize;
use zeroize::Zeroizing;

/// The provider's hello: the protocol versions it speaks.
pub const HELLO: &str = r#"{"v":[1]}"#;

/// Answer with a token good for at least this long.
pub const MIN_TTL: u64 = 60;

/// The longest request line vouch reads (real ones are a few hundred bytes).
pub const MAX_LINE: usize = 1024 * 1024;

/// The registry a request is about.
#[derive(Debug, Clone, Deserialize)]
pub struct Registry {
    #[serde(rename = "index-url")]
    pub index_url: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// One request from cargo, as sent (unknown fields ignored).
#[derive(Debug, Deserialize)]
pub struct Request {
    pub v: u64,
    pub kind: String,
    pub registry: Registry,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// `login`: a token the user gave cargo. vouch never stores it.
    #[serde(default)]
    pub token: Option<AccessToken>,
}

/// Parse one request line.
pub fn parse(line: &[u8]) -> Result<Request, Error> {
    let request: Request = serde_json::from_slice(line).map_err(|e| {
        Error::usage(format!(
            "cargo's request is not a credential request of protocol version 1 (line {}, column {}); run this \
             through cargo (`vouch setup-cargo` configures it)",
            e.line(),
            e.column()
        ))
    })?;
    if request.v != 1 {
        return Err(Error::usage(format!(
            "cargo asked for credential protocol version {}; vouch speaks version 1",
            request.v
        )));
    }
    Ok(request)
}

/// The profile the request's `args` name: `[cargo-credential] [--profile] NAME`.
fn named_profile(args: &[String]) -> Result<Option<String>, Error> {
    let mut rest = args.iter().map(String::as_str).skip_while(|a| *a == "cargo-credential");
    match (rest.next(), rest.next(), rest.next()) {
        (None, _, _) => Ok(None),
        (Some("--profile"), Some(name), None) => Ok(Some(name.to_string())),
        (Some(name), None, _) if !name.starts_with('-') => Ok(Some(name.to_string())),
        _ => Err(Error::usage(format!(
            "cargo passed the arguments {args:?}; vouch expects `credential-provider = [\"vouch\", \
             \"cargo-credential\", \"PROFILE\"]`"
        ))),
    }
}

/// The shared request for `request`: named in `args`, else `default` (the command line),
/// else by the registry's address.
pub fn resource(request: &Request, default: Option<&str>) -> Result<Resource, Error> {
    // cargo sends tokens to plain-http registries; vouch's tokens go there only on loopback.
    let index = request.registry.index_url.strip_prefix("sparse+").unwrap_or(&request.registry.index_url);
    if let Ok(url) = url::Url::parse(index)
        && url.scheme() == "http"
        && !crate::http::is_loopback(&url)
    {
        return Err(Error::InsecureUrl { url: index.chars().take(200).collect() });
    }
    let target = match named_profile(&request.args)?.or_else(|| default.map(str::to_string)) {
        Some(name) => Target::Profile(Some(name)),
        None => Target::Address(Address::from_url(&request.registry.index_url).ok_or_else(|| {
            Error::NotServed { url: request.registry.index_url.chars().take(200).collect() }
        })?),
    };
    Ok(Resource { target, min_ttl: MIN_TTL })
}

/// Serve one request: the answer line (without its newline).
pub fn serve(ctx: &mut Context, request: &Request, default: Option<&str>) -> Zeroizing<String> {
    let registry = request.registry.name.as_deref().unwrap_or(&request.registry.index_url).to_string();
    match request.kind.as_str() {
        "get" => match resource(request, default).and_then(|r| super::token_for(ctx, &r)) {
            Ok(grant) => {
                ctx.log(format_args!("cargo-credential: answered for '{}' ({registry})", grant.profile));
                got(&grant)
            }
            Err(err) => {
                // cargo shows a `not-found` as its own "no token found"; say why here too.
                if !matches!(err, Error::NotServed { .. }) {
                    ctx.note(format_args!("vouch: no token for cargo ({registry}): {err}"));
                }
                failure(&err)
            }
        },
        "login" if request.token.is_some() => unsupported(
            ctx,
            "vouch does not keep tokens it is handed; it gives cargo the tokens its provider issues to a vouch \
             profile: run `vouch login NAME`, then `vouch setup-cargo --registry REGISTRY --profile NAME`",
        ),
        "login" => match resource(request, default).and_then(|r| super::token_for(ctx, &r)) {
            Ok(grant) => {
                ctx.note(format_args!(
                    "vouch: cargo gets tokens for {registry} from profile '{}', which is signed in",
                    grant.profile
                ));
                Zeroizing::new(r#"{"Ok":{"kind":"login"}}"#.to_string())
            }
            Err(err) => failure(&err),
        },
        "logout" => unsupported(
            ctx,
            "vouch keeps no registry token for cargo to forget; `vouch logout NAME` signs the profile out \
             (for every program that uses it)",
        ),
        _ => unsupported(ctx, "vouch only answers get, login and logout"),
    }
}

/// The `get` answer for `grant`.
pub fn got(grant: &Grant) -> Zeroizing<String> {
    let bearer = Zeroizing::new(format!("Bearer {}", grant.token()));
    let token = super::json_string(&bearer);
    let cache = match grant.expires_at() {
        Some(at) => format!(r#""cache":"expires","expiration":{at}"#),
        None => r#""cache":"session""#.to_string(),
    };
    let mut out = Zeroizing::new(String::with_capacity(token.len() + cache.len() + 80));
    out.push_str(r#"{"Ok":{"kind":"get","token":"#);
    out.push_str(&token);
    out.push(',');
    out.push_str(&cache);
    out.push_str(r#","operation_independent":true}}"#);
    out
}

/// An error answer, in cargo's kinds.
pub fn failure(err: &Error) -> Zeroizing<String> {
    let kind = match err {
        Error::NotServed { .. } => "url-not-supported",
        Error::SignedOut { .. } | Error::NoProfiles => "not-found",
        _ => "other",
    };
    Zeroizing::new(refusal(kind, &format!("vouch ({}): {err}", err.class())))
}

/// `operation-not-supported`, whose message cargo does not show: it goes to stderr as well.
fn unsupported(ctx: &mut Context, why: &str) -> Zeroizing<String> {
    ctx.note(format_args!("vouch: {why}"));
    Zeroizing::new(refusal("operation-not-supported", why))
}

fn refusal(kind: &str, message: &str) -> String {
    serde_json::json!({"Err": {"kind": kind, "message": message}}).to_string()
}

/// cargo's home: `$CARGO_HOME`, else `~/.cargo`.
pub fn cargo_home(env: &crate::env::Env) -> Result<std::path::PathBuf, Error> {
    if let Some(home) = env.get("CARGO_HOME") {
        return Ok(home.into());
    }
    let home = env.get("HOME").ok_or_else(|| Error::usage("neither CARGO_HOME nor HOME is set"))?;
    Ok(std::path::Path::new(home).join(".cargo"))
}

/// The configuration file cargo reads in `home`: `config.toml`, or the older `config` when
/// only that one exists.
pub fn config_file(home: &std::path::Path) -> std::path::PathBuf {
    let legacy = home.join("config");
    if !home.join("config.toml").exists() && legacy.is_file() { legacy } else { home.join("config.toml") }
}

/// Check a registry name as cargo does: letters, digits, `-` and `_`.
pub fn validate_registry(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("'{name}' is not a registry name: use letters, digits, '-' and '_'")))
    }
}

/// Set `registries.NAME.credential-provider` to `provider`, keeping everything else in `doc`
/// (comments and layout too).
pub fn set_provider(
    doc: &mut toml_edit::DocumentMut,
    registry: &str,
    provider: &[&str],
) -> Result<(), Error> {
    let not_table = |what: &str| Error::usage(format!("cargo's `{what}` is not a table; fix the file first"));
    let registries = doc.as_table_mut().entry("registries").or_insert_with(|| {
        let mut table = toml_edit::Table::new();
        table.set_implicit(true);
        toml_edit::Item::Table(table)
    });
    let registries = registries.as_table_like_mut().ok_or_else(|| not_table("registries"))?;
    if registries.get(registry).is_none() {
        registries.insert(registry, toml_edit::Item::Table(toml_edit::Table::new()));
    }
    let entry = registries
        .get_mut(registry)
        .and_then(|item| item.as_table_like_mut())
        .ok_or_else(|| not_table(&format!("registries.{registry}")))?;
    let array: toml_edit::Array = provider.iter().copied().collect();
    entry.insert("credential-provider", toml_edit::value(array));
    Ok(())
}

/// Remove `registries.NAME.credential-provider` if it runs vouch. Returns whether it did.
pub fn remove_provider(doc: &mut toml_edit::DocumentMut, registry: &str) -> bool {
    let Some(entry) = doc
        .get_mut("registries")
        .and_then(|r| r.as_table_like_mut())
        .and_then(|r| r.get_mut(registry))
        .and_then(|e| e.as_table_like_mut())
    else {
        return false;
    };
    let words: Vec<String> = match entry.get("credential-provider") {
        Some(item) => match (item.as_str(), item.as_array()) {
            (Some(text), _) => text.split_whitespace().map(str::to_string).collect(),
            (_, Some(array)) => array.iter().filter_map(|v| v.as_str()).map(str::to_string).collect(),
            _ => return false,
        },
        None => return false,
    };
    if words.get(1).map(String::as_str) != Some("cargo-credential") {
        return false;
    }
    entry.remove("credential-provider");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Request {
        parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn requests_parse_leniently_and_versions_strictly() {
        let r = request(
            r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://r.example/index/","name":"r","headers":[]},"args":["cargo-credential","work"],"new-field":{}}"#,
        );
        assert_eq!((r.kind.as_str(), r.operation.as_deref()), ("get", Some("read")));
        assert_eq!(resource(&r, None).unwrap().target, Target::Profile(Some("work".into())));
        let login = request(r#"{"v":1,"kind":"login","registry":{"index-url":"x"},"token":"canary-pasted"}"#);
        assert!(!format!("{login:?}").contains("canary-pasted"), "Debug shows the token");
        for bad in [
            "",
            "{",
            r#"{"v":2,"kind":"get","registry":{"index-url":"x"}}"#,
            r#"{"v":1,"kind":"get"}"#,
            r#"{"v":"1","kind":"get","registry":{"index-url":"x"}}"#,
        ] {
            assert_eq!(parse(bad.as_bytes()).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn the_profile_comes_from_args_then_the_command_line_then_the_host() {
        let with_args = |args: &str| {
            request(&format!(
                r#"{{"v":1,"kind":"get","registry":{{"index-url":"sparse+https://r.example/index/"}},"args":{args}}}"#
            ))
        };
        let target =
            |args: &str, default: Option<&str>| resource(&with_args(args), default).map(|r| r.target);
        assert_eq!(target(r#"["--profile","a"]"#, Some("b")).unwrap(), Target::Profile(Some("a".into())));
        assert_eq!(target(r#"["cargo-credential"]"#, Some("b")).unwrap(), Target::Profile(Some("b".into())));
        assert!(matches!(target("[]", None).unwrap(), Target::Address(a) if a.host == "r.example"));
        for bad in [r#"["--frobnicate"]"#, r#"["a","b"]"#, r#"["--profile"]"#] {
            assert_eq!(target(bad, None).unwrap_err().exit_code(), 2, "{bad}");
        }
        // A named profile's token never goes to a plain-http registry off loopback.
        let plain = |index: &str| {
            request(&format!(r#"{{"v":1,"kind":"get","registry":{{"index-url":"{index}"}},"args":["p"]}}"#))
        };
        let err = resource(&plain("sparse+http://r.example/index/"), None).unwrap_err();
        assert!(matches!(err, Error::InsecureUrl { .. }), "{err}");
        assert!(resource(&plain("sparse+http://127.0.0.1:9/index/"), None).is_ok());
    }

    #[test]
    fn the_provider_is_set_and_removed_keeping_the_rest_of_the_file() {
        let text = "# my cargo config\n[net]\nretry = 3 # keep\n\n[registries.internal]\nindex = \"sparse+https://r.example/index/\" # ours\n";
        let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
        set_provider(&mut doc, "internal", &["/bin/vouch", "cargo-credential", "work"]).unwrap();
        set_provider(&mut doc, "other", &["/bin/vouch", "cargo-credential", "w2"]).unwrap();
        let out = doc.to_string();
        assert!(out.starts_with("# my cargo config\n[net]\nretry = 3 # keep\n"), "{out}");
        assert!(out.contains("index = \"sparse+https://r.example/index/\" # ours\n"), "{out}");
        assert!(
            out.contains("credential-provider = [\"/bin/vouch\", \"cargo-credential\", \"work\"]"),
            "{out}"
        );
        let parsed: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(parsed["registries"]["other"]["credential-provider"][2].as_str(), Some("w2"));
        assert!(remove_provider(&mut doc, "internal"));
        assert!(!remove_provider(&mut doc, "internal"));
        assert!(!remove_provider(&mut doc, "missing"));
        assert!(doc.to_string().contains("index = \"sparse+https://r.example/index/\" # ours"));
        // Someone else's provider stays.
        let mut theirs: toml_edit::DocumentMut =
            "[registries.x]\ncredential-provider = \"cargo:token\"\n".parse().unwrap();
        assert!(!remove_provider(&mut theirs, "x"));
        // A file whose `registries` is not a table is refused, not clobbered.
        let mut odd: toml_edit::DocumentMut = "registries = 3\n".parse().unwrap();
        assert_eq!(set_provider(&mut odd, "x", &["v"]).unwrap_err().exit_code(), 2);
        let mut inline: toml_edit::DocumentMut = "registries = { x = { index = \"i\" } }\n".parse().unwrap();
        set_provider(&mut inline, "x", &["v", "cargo-credential"]).unwrap();
        assert!(remove_provider(&mut inline, "x"));
        assert!(validate_registry("my-reg_1").is_ok());
        assert!(validate_registry("a.b").is_err() && validate_registry("").is_err());
    }

    #[test]
    fn errors_map_to_cargo_kinds() {
        let kind = |err: Error| {
            let v: serde_json::Value = serde_json::from_str(&failure(&err)).unwrap();
            (
                v["Err"]["kind"].as_str().unwrap().to_string(),
                v["Err"]["message"].as_str().unwrap().to_string(),
            )
        };
        assert_eq!(kind(Error::NotServed { url: "https://x".into() }).0, "url-not-supported");
        let (k, message) = kind(Error::SignedOut { profile: "w".into() });
        assert_eq!(k, "not-found");
        assert!(message.contains("vouch login w"), "{message}");
        let (k, message) = kind(Error::Unavailable { endpoint: "e".into(), reason: "r".into() });
        assert_eq!(k, "other");
        assert!(message.contains("unavailable"), "{message}");
    }
}
