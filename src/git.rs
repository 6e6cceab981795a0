//! git integration: the credential-helper protocol and the host patterns profiles serve.
//!
//! The protocol (gitcredentials(7), git-credential(1)) is `key=value` lines ending at a blank
//! line or EOF. Keys ending in `[]` are lists: each line appends, an empty value resets the
//! list. Unknown attributes are kept and ignored. This module parses requests and formats
//! answers; it never decides what to answer (that is `commands::git_credential`).
//!
//! A host pattern is what `setup-git` records in a profile: `HOST[:PORT][/PATH]`, served over
//! https, or `http://HOST[:PORT][/PATH]` for a loopback host only. A pattern with a path matches
//! requests whose path starts with it (git sends the path only with `credential.useHttpPath`).

use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// The most a request may be; real ones are a few hundred bytes.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Attributes whose values are secrets: never shown by `Debug`, zeroized on drop.
const SECRET_ATTRIBUTES: &[&str] = &["password", "credential", "oauth_refresh_token"];

/// A parsed credential request from git. Its `Debug` shows every attribute but the secret
/// ones (`password`, `credential`, `oauth_refresh_token`), whose values it redacts.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Request {
    single: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in &self.single {
            if SECRET_ATTRIBUTES.contains(&key.as_str()) {
                map.entry(key, &format_args!("[redacted, {} bytes]", value.len()));
            } else {
                map.entry(key, value);
            }
        }
        for (key, values) in &self.lists {
            map.entry(&format_args!("{key}[]"), values);
        }
        map.finish()
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for value in self.single.values_mut() {
            value.zeroize();
        }
    }
}

impl Request {
    /// Parse git's side of the protocol. Lines without `=` and values with NUL are ignored,
    /// as is everything after the first blank line.
    pub fn parse(input: &[u8]) -> Request {
        let mut request = Request::default();
        let input = &input[..input.len().min(MAX_REQUEST)];
        for raw in input.split(|b| *b == b'\n') {
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            if line.is_empty() {
                break;
            }
            let Ok(line) = std::str::from_utf8(line) else { continue };
            let Some((key, value)) = line.split_once('=') else { continue };
            if key.is_empty() || value.contains('\0') {
                continue;
            }
            if let Some(list) = key.strip_suffix("[]") {
                let entry = request.lists.entry(list.to_string()).or_default();
                if value.is_empty() {
                    entry.clear();
                } else {
                    entry.push(value.to_string());
                }
            } else {
                request.single.insert(key.to_string(), value.to_string());
            }
        }
        request.expand_url();
        request
    }

    /// `url=` stands for its parts, unless they were given separately.
    fn expand_url(&mut self) {
        let Some(parsed) = self.single.get("url").and_then(|u| url::Url::parse(u).ok()) else { return };
        let mut host = parsed.host_str().unwrap_or_default().to_string();
        if let Some(port) = parsed.port() {
            host.push_str(&format!(":{port}"));
        }
        let path = parsed.path().trim_start_matches('/').to_string();
        for (key, value) in [("protocol", parsed.scheme().to_string()), ("host", host), ("path", path)] {
            if !value.is_empty() {
                self.single.entry(key.to_string()).or_insert(value);
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.single.get(key).map(String::as_str)
    }

    pub fn list(&self, key: &str) -> &[String] {
        self.lists.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether git advertised `capability[]=NAME`.
    pub fn has_capability(&self, name: &str) -> bool {
        self.list("capability").iter().any(|c| c == name)
    }
}

/// Format an answer. Values with a newline or NUL would break the protocol and are dropped.
pub fn format(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for (key, value) in pairs {
        if value.contains(['\n', '\0']) || key.contains(['=', '\n', '\0']) {
            continue;
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
        out.push('\n');
    }
    out
}

/// A host pattern a profile serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    pub scheme: String,
    /// Lower-case host with `:port` when given.
    pub host: String,
    /// Path prefix without leading or trailing `/`, when given.
    pub path: Option<String>,
}

impl HostPattern {
    /// Parse `HOST[:PORT][/PATH]` (https) or `http://HOST[:PORT][/PATH]` (loopback only).
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        // A scheme counts only before the first '/': `host/x://y` is a host with a path.
        let (scheme, rest) = match text.split_once("://").filter(|(scheme, _)| !scheme.contains('/')) {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_string(), text),
        };
        let (host, path) = match rest.split_once('/') {
            Some((host, path)) => (host, Some(path.trim_matches('/').to_string()).filter(|p| !p.is_empty())),
            None => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let (name, port) = match host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
            Some((name, port)) => (name, Some(port)),
            None => (host.as_str(), None),
        };
        let valid_port = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
        let valid_path =
            path.as_ref().is_none_or(|p| p.chars().all(|c| !c.is_whitespace() && !c.is_control()));
        if !valid_port || !valid_path || name.is_empty() {
            return Err(format!("'{text}' is not a host name (expected HOST[:PORT][/PATH])"));
        }
        let valid_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
        if !valid_host {
            return Err(format!("'{text}' is not a host name (expected HOST[:PORT][/PATH])"));
        }
        let loopback =
            url::Url::parse(&format!("http://{host}/")).is_ok_and(|u| crate::http::is_loopback(&u));
        match scheme.as_str() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!("'{text}': vouch gives tokens to plain http only on loopback hosts"));
            }
            other => return Err(format!("'{text}': unsupported scheme '{other}'")),
        }
        Ok(HostPattern { scheme, host, path })
    }

    /// The pattern as stored and shown: `host[/path]` for https, with the scheme otherwise.
    pub fn to_config_string(&self) -> String {
        let prefix = if self.scheme == "https" { String::new() } else { format!("{}://", self.scheme) };
        match &self.path {
            Some(path) => format!("{prefix}{}/{path}", self.host),
            None => format!("{prefix}{}", self.host),
        }
    }

    /// The URL git's `credential.<url>.*` configuration keys use.
    pub fn git_url(&self) -> String {
        match &self.path {
            Some(path) => format!("{}://{}/{path}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// Whether a request for `protocol`, `host` and `path` falls under this pattern.
    pub fn matches(&self, protocol: &str, host: &str, path: Option<&str>) -> bool {
        if !protocol.eq_ignore_ascii_case(&self.scheme) || !host.eq_ignore_ascii_case(&self.host) {
            return false;
        }
        match (&self.path, path) {
            (None, _) => true,
            (Some(prefix), Some(path)) => {
                let path = path.trim_matches('/');
                path == prefix || path.starts_with(&format!("{prefix}/"))
            }
            (Some(_), None) => false,
        }
    }
}

/// One `credential.helper` or `credential.<URL>.helper` entry of git's configuration, as
/// `git config --show-scope -z --get-regexp` lists them: in the order git reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperEntry {
    /// `system`, `global`, `local`, `worktree` or `command`.
    pub scope: String,
    /// The full key, as git shows it.
    pub key: String,
    /// The URL part of the key; `None` for plain `credential.helper`.
    pub url: Option<String>,
    /// The helper; empty resets the list.
    pub value: String,
}

impl HelperEntry {
    /// Parse the `-z` output of `git config --show-scope -z --get-regexp`: records of
    /// `scope NUL key LF value NUL`.
    pub fn parse_list(output: &[u8]) -> Vec<HelperEntry> {
        let text = String::from_utf8_lossy(output);
        let mut fields = text.split('\0');
        let mut entries = Vec::new();
        while let (Some(scope), Some(record)) = (fields.next(), fields.next()) {
            let (key, value) = record.split_once('\n').unwrap_or((record, ""));
            let Some(middle) = key.strip_prefix("credential.") else { continue };
            let url = match middle.strip_suffix(".helper") {
                Some(url) => Some(url.to_string()),
                None if middle == "helper" => None,
                None => continue,
            };
            entries.push(HelperEntry {
                scope: scope.to_string(),
                key: key.to_string(),
                url,
                value: value.to_string(),
            });
        }
        entries
    }
}

/// The helpers git runs for `target` (a [`HostPattern`]), in order, as git decides: every
/// matching entry counts, in the order read (git's credential config matches all URLs, not
/// only the most specific one); an empty value clears what came before.
pub fn effective_helpers<'a>(entries: &'a [HelperEntry], target: &HostPattern) -> Vec<&'a HelperEntry> {
    let mut helpers = Vec::new();
    for entry in entries {
        if entry.url.as_deref().is_some_and(|url| !config_url_matches(url, target)) {
            continue;
        }
        if entry.value.is_empty() {
            helpers.clear();
        } else {
            helpers.push(entry);
        }
    }
    helpers
}

/// Whether the URL of a `credential.<URL>.*` key applies to requests for `target`, close to
/// git's urlmatch: the scheme (when given) and the host must match, a `*` matching one label;
/// the port when given; the key's path must be a prefix of the target's. A key with a user
/// name is taken to match (vouch cannot know the user name of every remote).
fn config_url_matches(url: &str, target: &HostPattern) -> bool {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    if scheme.is_some_and(|s| !s.eq_ignore_ascii_case(&target.scheme)) {
        return false;
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let default_port = if target.scheme == "http" { "80" } else { "443" };
    let split = |hp: &str| -> (String, String) {
        match hp.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty()) {
            Some((h, p)) => (h.to_ascii_lowercase(), p.to_string()),
            None => (hp.to_ascii_lowercase(), default_port.to_string()),
        }
    };
    let (host, port) = split(host_port);
    let (want_host, want_port) = split(&target.host);
    let labels: Vec<&str> = host.split('.').collect();
    let want_labels: Vec<&str> = want_host.split('.').collect();
    let host_ok = labels.len() == want_labels.len()
        && labels.iter().zip(&want_labels).all(|(have, want)| *have == "*" || have == want);
    if !host_ok || port != want_port {
        return false;
    }
    let path = path.trim_matches('/');
    let want = target.path.as_deref().unwrap_or("");
    path.is_empty() || want == path || want.starts_with(&format!("{path}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singles_lists_and_resets() {
        let r = Request::parse(
            b"protocol=https\nhost=example.com\ncapability[]=authtype\ncapability[]=state\nwwwauth[]=Basic\nwwwauth[]=\nwwwauth[]=Bearer x=y\npassword=a=b\n\nignored=1\n",
        );
        assert_eq!(r.get("protocol"), Some("https"));
        assert_eq!(r.get("password"), Some("a=b"));
        assert!(r.has_capability("authtype") && r.has_capability("state"));
        assert_eq!(r.list("wwwauth"), ["Bearer x=y"]);
        assert_eq!(r.get("ignored"), None);
    }

    #[test]
    fn tolerates_garbage_and_expands_url() {
        let r =
            Request::parse(b"no equals sign\n=novalue\nbad=\0\r\nurl=https://h.example:8443/org/repo.git\n");
        assert_eq!(r.get("host"), Some("h.example:8443"));
        assert_eq!(r.get("protocol"), Some("https"));
        assert_eq!(r.get("path"), Some("org/repo.git"));
        assert_eq!(r.get("bad"), None);
    }

    #[test]
    fn answers_never_carry_a_line_break_inside_a_value() {
        assert_eq!(
            format(&[("username", "oauth2"), ("password", "a\nb"), ("x", "1")]).as_str(),
            "username=oauth2\nx=1\n"
        );
    }

    #[test]
    fn host_patterns() {
        let p = HostPattern::parse("GitHub.com/Org").unwrap();
        assert_eq!(p.git_url(), "https://github.com/Org");
        assert!(p.matches("https", "github.com", Some("Org/repo.git")));
        assert!(!p.matches("https", "github.com", Some("Other/repo.git")));
        assert!(!p.matches("https", "github.com", None));
        assert!(!p.matches("http", "github.com", Some("Org")));
        let any = HostPattern::parse("github.com").unwrap();
        assert!(any.matches("https", "GITHUB.COM", None));
        assert!(HostPattern::parse("http://127.0.0.1:8080").unwrap().matches("http", "127.0.0.1:8080", None));
        assert!(HostPattern::parse("http://example.com").is_err());
        assert!(HostPattern::parse("ftp://x").is_err());
        assert!(HostPattern::parse("a b").is_err());
        assert_eq!(
            HostPattern::parse("http://localhost:9/x").unwrap().to_config_string(),
            "http://localhost:9/x"
        );
    }

    fn entry(scope: &str, url: Option<&str>, value: &str) -> HelperEntry {
        let key = match url {
            Some(url) => format!("credential.{url}.helper"),
            None => "credential.helper".to_string(),
        };
        HelperEntry { scope: scope.into(), key, url: url.map(str::to_string), value: value.into() }
    }

    #[test]
    fn helper_entries_parse_from_git_config_output() {
        let out = b"global\0credential.helper\nstore\0global\0credential.https://h.example.helper\n\0local\0credential.https://h.example/Org.helper\ncache --timeout 9\0";
        assert_eq!(
            HelperEntry::parse_list(out),
            [
                entry("global", None, "store"),
                entry("global", Some("https://h.example"), ""),
                entry("local", Some("https://h.example/Org"), "cache --timeout 9"),
            ]
        );
        assert!(HelperEntry::parse_list(b"").is_empty());
    }

    #[test]
    fn the_effective_helper_list_follows_git() {
        let target = HostPattern::parse("git.example.com").unwrap();
        let vouch = "!'/bin/vouch' git-credential";
        let names = |entries: &[HelperEntry]| -> Vec<String> {
            effective_helpers(entries, &target).iter().map(|e| e.value.clone()).collect()
        };
        // A broader helper read before vouch's reset is cleared.
        let entries = [
            entry("global", None, "store"),
            entry("global", Some("https://git.example.com"), ""),
            entry("global", Some("https://git.example.com"), vouch),
        ];
        assert_eq!(names(&entries), [vouch]);
        // One read after it (later in the file, or in the repository's config) still runs.
        let mut later = entries.to_vec();
        later.push(entry("local", None, "cache"));
        later.push(entry("local", Some("https://*.example.com"), "manager"));
        assert_eq!(names(&later), [vouch, "cache", "manager"]);
        // Entries for other hosts, schemes, ports or deeper paths do not apply.
        let mut others = entries.to_vec();
        for url in [
            "https://other.example.com",
            "http://git.example.com",
            "https://git.example.com:8443",
            "https://git.example.com/org",
            "https://example.com",
        ] {
            others.push(entry("local", Some(url), "store"));
        }
        assert_eq!(names(&others), [vouch]);
        // Partial URLs, default ports, case and user names do.
        for url in ["git.example.com", "https://GIT.example.com:443/", "https://me@git.example.com"] {
            let mut one = entries.to_vec();
            one.push(entry("local", Some(url), "store"));
            assert_eq!(names(&one), [vouch, "store"], "{url}");
        }
        // A later reset clears vouch itself.
        let mut cleared = entries.to_vec();
        cleared.push(entry("local", None, ""));
        assert!(names(&cleared).is_empty());
        // A pattern with a path is matched by keys on that path or above it.
        let org = HostPattern::parse("git.example.com/org").unwrap();
        let keyed = [entry("global", Some("https://git.example.com/org/"), "store")];
        assert_eq!(effective_helpers(&keyed, &org).len(), 1);
        let keyed = [entry("global", Some("https://git.example.com/org/repo"), "store")];
        assert!(effective_helpers(&keyed, &org).is_empty());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let r = Request::parse(
            b"protocol=https\nhost=h.example\nusername=oauth2\npassword=canary-pw\nauthtype=Basic\ncredential=canary-cred\noauth_refresh_token=canary-rt\ncapability[]=authtype\n",
        );
        let shown = format!("{r:?} {r:#?}");
        for secret in ["canary-pw", "canary-cred", "canary-rt"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("h.example") && shown.contains("oauth2") && shown.contains("redacted"),
            "{shown}"
        );
        assert!(shown.contains("capability[]"), "{shown}");
    }
}
