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

/// A parsed credential request from git.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Request {
    single: BTreeMap<String, String>,
    lists: BTreeMap<String, Vec<String>>,
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
}
