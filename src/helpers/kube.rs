//! kubectl's exec credential plugin protocol (client-go `ExecCredential`) to and from the
//! shared [`Resource`], and the kubeconfig entry that runs it.
//!
//! - kubectl describes the request in `KUBERNETES_EXEC_INFO`: the `apiVersion` it wants back
//!   (`client.authentication.k8s.io/v1`, or `v1beta1`), whether a person is at the terminal
//!   (`spec.interactive`), and with `provideClusterInfo: true` the cluster (`spec.cluster`).
//!   A profile named on the command line is used; without one, a cluster's `server` is matched
//!   against the profiles' host patterns, and without that either the default profile is.
//! - A [`Grant`] becomes an `ExecCredential` with `status.token` and
//!   `status.expirationTimestamp` (RFC 3339), so kubectl runs the plugin again once the token
//!   has expired. kubectl keeps the credential in memory only.
//! - vouch never prompts here, interactive or not: a profile that needs a sign-in fails with
//!   one line on stderr, which kubectl shows, and the error's exit code.
//!
//! [`add_exec_user`] and [`remove_exec_user`] edit a parsed kubeconfig (YAML, or JSON, which
//! is YAML too): a user `vouch-PROFILE` whose `exec` runs `vouch kube-credential PROFILE`
//! with `interactiveMode: Never`, set as a context's user. Every other key is kept; comments
//! are not (the file is parsed and written again).

use super::{Address, Grant, Resource, Target};
use crate::env::Env;
use crate::error::Error;
use serde_norway::{Mapping, Value};
use std::path::PathBuf;
use zeroize::Zeroizing;

pub const V1: &str = "client.authentication.k8s.io/v1";
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// Answer with a token good for at least this long (kubectl uses it until it expires).
pub const MIN_TTL: u64 = 60;

/// The most of `KUBERNETES_EXEC_INFO` vouch reads (a cluster's CA data makes it a few KiB).
const MAX_EXEC_INFO: usize = 1024 * 1024;

/// What kubectl asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// The `apiVersion` the answer must carry.
    pub api_version: String,
    /// Whether kubectl says a person can answer prompts (vouch never prompts either way).
    pub interactive: bool,
    /// `spec.cluster.server`, when the kubeconfig has `provideClusterInfo: true`.
    pub server: Option<String>,
}

/// Read `KUBERNETES_EXEC_INFO`. Unset (run by hand) means v1, not interactive.
pub fn exec_info(value: Option<&str>) -> Result<ExecInfo, Error> {
    let Some(text) = value else {
        return Ok(ExecInfo { api_version: V1.to_string(), interactive: false, server: None });
    };
    let bad = |why: &str| {
        Error::usage(format!(
            "KUBERNETES_EXEC_INFO from kubectl is not usable ({why}); run this through kubectl, whose kubeconfig \
             `vouch setup-kube` writes"
        ))
    };
    if text.len() > MAX_EXEC_INFO {
        return Err(bad("it is too large"));
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| bad("it is not JSON"))?;
    if !value.is_object() {
        return Err(bad("it is not a JSON object"));
    }
    if value.get("kind").is_some_and(|k| k != "ExecCredential") {
        return Err(bad("its kind is not ExecCredential"));
    }
    let api_version = match value.get("apiVersion").and_then(|v| v.as_str()) {
        Some(v @ (V1 | V1BETA1)) => v.to_string(),
        Some(other) => {
            return Err(Error::usage(format!(
                "kubectl asked for an ExecCredential of version {:?}; vouch answers {V1} and {V1BETA1}: set \
                 `apiVersion: {V1}` in the kubeconfig's exec section (`vouch setup-kube` writes it)",
                other.chars().take(80).collect::<String>()
            )));
        }
        None => return Err(bad("it has no apiVersion")),
    };
    let spec = value.get("spec");
    let interactive = spec.and_then(|s| s.get("interactive")).and_then(|i| i.as_bool()).unwrap_or(false);
    let server = spec
        .and_then(|s| s.get("cluster"))
        .and_then(|c| c.get("server"))
        .and_then(|s| s.as_str())
        .map(str::to_string);
    Ok(ExecInfo { api_version, interactive, server })
}

/// The shared request: the named profile, else the one serving the cluster, else the default.
pub fn resource(profile: Option<String>, info: &ExecInfo) -> Result<Resource, Error> {
    let target = match (profile, &info.server) {
        (Some(name), _) => Target::Profile(Some(name)),
        (None, Some(server)) => Target::Address(Address::from_url(server).ok_or_else(|| {
            Error::usage(
                "the cluster's server in KUBERNETES_EXEC_INFO is not an http(s) URL; name the profile",
            )
        })?),
        (None, None) => Target::Profile(None),
    };
    Ok(Resource { target, min_ttl: MIN_TTL })
}

/// The `ExecCredential` for `grant`, as one line of JSON.
pub fn exec_credential(info: &ExecInfo, grant: &Grant) -> Zeroizing<String> {
    let token = super::json_string(grant.token());
    let expiry = grant
        .expires_at()
        .map(|at| format!(",\"expirationTimestamp\":\"{}\"", rfc3339(at)))
        .unwrap_or_default();
    let api_version = serde_json::Value::from(info.api_version.as_str());
    let mut out = Zeroizing::new(String::with_capacity(token.len() + expiry.len() + 128));
    out.push_str(&format!(
        "{{\"apiVersion\":{api_version},\"kind\":\"ExecCredential\",\"status\":{{\"token\":"
    ));
    out.push_str(&token);
    out.push_str(&expiry);
    out.push_str("}}");
    out
}

/// Unix seconds as an RFC 3339 UTC timestamp (`2026-01-02T03:04:05Z`).
pub fn rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The kubeconfig `kubectl` reads first: `$KUBECONFIG`'s first file, else `~/.kube/config`.
pub fn kubeconfig_path(env: &Env) -> Result<PathBuf, Error> {
    if let Some(first) = env.get("KUBECONFIG").and_then(|list| list.split(':').find(|p| !p.is_empty())) {
        return Ok(PathBuf::from(first));
    }
    let home = env.get("HOME").ok_or_else(|| Error::usage("HOME is not set; pass --kubeconfig FILE"))?;
    Ok(PathBuf::from(home).join(".kube").join("config"))
}

/// The kubeconfig user that runs vouch for `profile`.
pub fn user_name(profile: &str) -> String {
    format!("vouch-{profile}")
}

/// Parse a kubeconfig's text; an empty file is an empty config.
pub fn parse_kubeconfig(text: &str, path: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Mapping(Mapping::new()));
    }
    let doc: Value = serde_norway::from_str(text).map_err(|e| {
        Error::usage(format!("{path} is not a kubeconfig vouch can read ({e}); fix it first"))
    })?;
    if !doc.is_mapping() {
        return Err(Error::usage(format!("{path} is not a kubeconfig (not a mapping); fix it first")));
    }
    Ok(doc)
}

/// Write the kubeconfig's text back.
pub fn render_kubeconfig(doc: &Value) -> Result<String, Error> {
    serde_norway::to_string(doc).map_err(|e| Error::internal(format!("kubeconfig serialization failed: {e}")))
}

/// Add (or replace) the user `vouch-PROFILE` running `vouch` and make `context` use it.
pub fn add_exec_user(doc: &mut Value, context: &str, profile: &str, vouch: &str) -> Result<(), Error> {
    let user = user_name(profile);
    let ctx = find_context(doc, context)?;
    ctx.insert("user".into(), user.clone().into());
    let mut exec = Mapping::new();
    exec.insert("apiVersion".into(), V1.into());
    exec.insert("command".into(), vouch.into());
    exec.insert("args".into(), Value::Sequence(vec!["kube-credential".into(), profile.into()]));
    exec.insert("interactiveMode".into(), "Never".into());
    exec.insert("provideClusterInfo".into(), false.into());
    let mut body = Mapping::new();
    body.insert("exec".into(), Value::Mapping(exec));
    let mut entry = Mapping::new();
    entry.insert("name".into(), user.clone().into());
    entry.insert("user".into(), Value::Mapping(body));
    let users = list(doc, "users")?;
    match users.iter_mut().find(|u| u.get("name").and_then(Value::as_str) == Some(user.as_str())) {
        Some(existing) => *existing = Value::Mapping(entry),
        None => users.push(Value::Mapping(entry)),
    }
    Ok(())
}

/// Undo [`add_exec_user`]: `context` no longer names vouch's user, and the user goes once no
/// context names it. Returns whether anything changed.
pub fn remove_exec_user(doc: &mut Value, context: &str, profile: &str) -> Result<bool, Error> {
    let user = user_name(profile);
    let mut changed = false;
    if let Ok(ctx) = find_context(doc, context)
        && ctx.get("user").and_then(Value::as_str) == Some(user.as_str())
    {
        ctx.remove("user");
        changed = true;
    }
    let still_used = list(doc, "contexts")?
        .iter()
        .any(|c| c.get("context").and_then(|c| c.get("user")).and_then(Value::as_str) == Some(user.as_str()));
    if !still_used {
        let users = list(doc, "users")?;
        let before = users.len();
        users.retain(|u| u.get("name").and_then(Value::as_str) != Some(user.as_str()));
        changed |= users.len() != before;
    }
    Ok(changed)
}

/// The `context` mapping of the context named `name`.
fn find_context<'a>(doc: &'a mut Value, name: &str) -> Result<&'a mut Mapping, Error> {
    let contexts = list(doc, "contexts")?;
    let known: Vec<String> =
        contexts.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).map(str::to_string).collect();
    let Some(entry) = contexts.iter_mut().find(|c| c.get("name").and_then(Value::as_str) == Some(name))
    else {
        let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
        return Err(Error::usage(format!(
            "the kubeconfig has no context '{name}' (contexts: {known}); create it first with `kubectl config \
             set-context {name} --cluster=CLUSTER`"
        )));
    };
    let Value::Mapping(entry) = entry else {
        return Err(Error::usage(format!(
            "the kubeconfig's context '{name}' is not a mapping; fix it first"
        )));
    };
    let body = entry.entry("context".into()).or_insert_with(|| Value::Mapping(Mapping::new()));
    if body.is_null() {
        *body = Value::Mapping(Mapping::new());
    }
    match body {
        Value::Mapping(body) => Ok(body),
        _ => Err(Error::usage(format!("the kubeconfig's context '{name}' is not a mapping; fix it first"))),
    }
}

/// The top-level list `key` (made when missing).
fn list<'a>(doc: &'a mut Value, key: &str) -> Result<&'a mut Vec<Value>, Error> {
    let Value::Mapping(top) = doc else {
        return Err(Error::usage("the kubeconfig is not a mapping; fix it first"));
    };
    let entry = top.entry(key.into()).or_insert_with(|| Value::Sequence(Vec::new()));
    if entry.is_null() {
        *entry = Value::Sequence(Vec::new());
    }
    match entry {
        Value::Sequence(items) => Ok(items),
        _ => Err(Error::usage(format!("the kubeconfig's `{key}` is not a list; fix it first"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn exec_info_is_read_strictly() {
        let v1 = exec_info(Some(
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true,"cluster":{"server":"https://k.example:6443"}}}"#,
        ))
        .unwrap();
        assert_eq!(v1.api_version, V1);
        assert!(v1.interactive);
        assert_eq!(v1.server.as_deref(), Some("https://k.example:6443"));
        let beta =
            exec_info(Some(r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}"#)).unwrap();
        assert_eq!((beta.api_version.as_str(), beta.interactive, beta.server), (V1BETA1, false, None));
        assert_eq!(exec_info(None).unwrap().api_version, V1);
        for bad in [
            "not json",
            "[]",
            r#"{"spec":{}}"#,
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
            r#"{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}"#,
        ] {
            let err = exec_info(Some(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}: {err}");
        }
    }

    #[test]
    fn the_profile_comes_from_the_name_then_the_cluster_then_the_default() {
        let info = |server: Option<&str>| ExecInfo {
            api_version: V1.into(),
            interactive: false,
            server: server.map(str::to_string),
        };
        let named = resource(Some("w".into()), &info(Some("https://k.example"))).unwrap();
        assert_eq!(named.target, Target::Profile(Some("w".into())));
        let by_host = resource(None, &info(Some("https://k.example:6443"))).unwrap();
        assert!(matches!(by_host.target, Target::Address(a) if a.host == "k.example:6443"));
        assert_eq!(resource(None, &info(None)).unwrap().target, Target::Profile(None));
        assert!(resource(None, &info(Some("unix:///x"))).is_err());
    }

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\npreferences: {colors: true}\nclusters:\n- name: c\n  cluster:\n    server: https://k.example\n    certificate-authority-data: QUJD\ncontexts:\n- name: dev\n  context:\n    cluster: c\n    user: old\n    namespace: team\nusers:\n- name: old\n  user:\n    token: keep-me\ncurrent-context: dev\nx-custom: 1\n";

    #[test]
    fn an_exec_user_is_added_and_removed_keeping_everything_else() {
        let mut doc = parse_kubeconfig(KUBECONFIG, "kubeconfig").unwrap();
        add_exec_user(&mut doc, "dev", "work", "/usr/bin/vouch").unwrap();
        add_exec_user(&mut doc, "dev", "work", "/usr/bin/vouch").unwrap();
        let text = render_kubeconfig(&doc).unwrap();
        let back = parse_kubeconfig(&text, "kubeconfig").unwrap();
        assert_eq!(back["contexts"][0]["context"]["user"], "vouch-work");
        assert_eq!(back["contexts"][0]["context"]["namespace"], "team");
        let users = back["users"].as_sequence().unwrap();
        assert_eq!(users.len(), 2, "added once: {text}");
        let exec = &users[1]["user"]["exec"];
        assert_eq!(exec["apiVersion"], V1);
        assert_eq!(exec["command"], "/usr/bin/vouch");
        assert_eq!(exec["interactiveMode"], "Never");
        assert_eq!(exec["args"][1], "work");
        for kept in ["preferences", "clusters", "current-context", "x-custom", "kind"] {
            assert_eq!(back[kept], parse_kubeconfig(KUBECONFIG, "k").unwrap()[kept], "{kept}");
        }
        assert!(remove_exec_user(&mut doc, "dev", "work").unwrap());
        assert!(!remove_exec_user(&mut doc, "dev", "work").unwrap());
        assert_eq!(doc["users"].as_sequence().unwrap().len(), 1);
        assert!(doc["contexts"][0]["context"].get("user").is_none());
    }

    #[test]
    fn a_missing_context_or_a_broken_file_is_a_usage_error() {
        let mut doc = parse_kubeconfig(KUBECONFIG, "k").unwrap();
        let err = add_exec_user(&mut doc, "prod", "work", "vouch").unwrap_err();
        assert!(err.to_string().contains("contexts: dev"), "{err}");
        assert_eq!(parse_kubeconfig("- a\n- b\n", "k").unwrap_err().exit_code(), 2);
        assert_eq!(parse_kubeconfig("a: [", "k").unwrap_err().exit_code(), 2);
        let mut odd = parse_kubeconfig("contexts: 3\n", "k").unwrap();
        assert_eq!(add_exec_user(&mut odd, "dev", "w", "v").unwrap_err().exit_code(), 2);
        assert!(parse_kubeconfig("", "k").unwrap().is_mapping());
    }

    #[test]
    fn kubeconfig_location_follows_kubectl() {
        let env = Env::from_pairs([("KUBECONFIG", ":/a/one:/b/two"), ("HOME", "/h")]);
        assert_eq!(kubeconfig_path(&env).unwrap(), PathBuf::from("/a/one"));
        let env = Env::from_pairs([("HOME", "/h")]);
        assert_eq!(kubeconfig_path(&env).unwrap(), PathBuf::from("/h/.kube/config"));
    }
}
