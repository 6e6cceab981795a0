//! Profiles: names plus non-secret settings, kept in `config.toml` in the config directory.
//!
//! This module owns the file: its format, atomic replacement under a lock, and resolving which
//! profile a command means. Where it lives and whether it can be trusted (owned by this user,
//! writable by nobody else, in a directory nobody else can replace) is [`crate::paths`]'s. It never holds a secret: tokens and client secrets live only in
//! the credential store.
//!
//! ```toml
//! [profiles.work]
//! issuer = "https://login.example.com"
//! client_id = "cli"
//! scopes = ["openid", "offline_access"]
//! userinfo_url = "https://login.example.com/me"   # optional endpoint overrides
//! redirect_uri = "http://localhost:8400/callback" # optional fixed browser redirect
//! ```

use crate::env::Env;
use crate::error::Error;
use crate::paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

pub const FILE_NAME: &str = "config.toml";

/// The config file's contents.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile's non-secret settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// A built-in provider preset (`github`), used instead of discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The login flow this profile signs in with; later logins and rotation reuse it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
    /// How a confidential client authenticates at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// Endpoint overrides, for providers without discovery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<String>,
    /// Where tokens are verified (the userinfo endpoint, or `--verify-url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    /// The browser flow's loopback redirect URI, for providers that match the registered one
    /// exactly (`http://localhost:8400/callback`); without a port, any free port is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Git hosts this profile answers for as a credential helper (`setup-git` adds them):
    /// `HOST[:PORT][/PATH]`, or `http://HOST[:PORT]` for loopback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The username given to git with the token [default: oauth2].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_username: Option<String>,
    /// How git should send the token: `basic` (username and password, the default) or
    /// `bearer` (an `Authorization: Bearer` header, when git supports it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_auth: Option<GitAuth>,
    /// The username given to docker with the token (`setup-docker --username`) [default:
    /// oauth2]; `<token>` makes docker send the token as an identity token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_username: Option<String>,
    /// Names this profile's credential in the store (see [`crate::identity`]); made at the
    /// first login, made anew when a login changes the issuer or client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Bind this profile's tokens to a key kept in the credential store (DPoP, RFC 9449):
    /// set by `vouch login NAME --dpop`, reused by later logins. Opt-in, even when the
    /// provider advertises DPoP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<bool>,
    /// Where `vouch api` resolves relative URLs, and a host it may send this profile's token
    /// to (with `hosts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// `false` once a re-login found that revoking the replaced refresh token also revoked the
    /// new credential (a provider that revokes whole grants); re-logins then leave it be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_replaced: Option<bool>,
}

/// How git sends the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GitAuth {
    Basic,
    Bearer,
}

/// The ways to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// RFC 8628 device authorization.
    Device,
    /// Authorization code with PKCE through the system browser and a loopback redirect.
    Browser,
    /// A confidential client's own credentials (CI, service accounts).
    ClientCredentials,
    /// A pasted access token, verified at the provider.
    Token,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Device => "device",
            Flow::Browser => "browser",
            Flow::ClientCredentials => "client-credentials",
            Flow::Token => "with-token",
        }
    }
}

/// Client authentication at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

/// Check a profile name: it becomes a store user name and part of file names.
pub fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['-', '.'])
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "'{name}' is not a valid profile name: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '-' or '.'"
        )))
    }
}

impl Config {
    /// Read the config in `dir`; a missing file is an empty config.
    pub fn load(dir: &Path) -> Result<Config, Error> {
        let path = dir.join(FILE_NAME);
        paths::check_dir_if_present(dir)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(config_error(&path, format!("it cannot be read ({e})"))),
        };
        paths::check_private_file(&path)?;
        Config::parse(&text).map_err(|reason| config_error(&path, reason))
    }

    /// Parse the file's text, checking profile names.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.message().to_string())?;
        for name in config.profiles.keys() {
            validate_name(name).map_err(|_| format!("'{name}' is not a valid profile name"))?;
        }
        Ok(config)
    }

    /// Read, change and write the file under a lock (`.config.lock` in `dir`), so that two vouch
    /// processes writing different profiles at once both keep their change.
    pub fn update(dir: &Path, change: impl FnOnce(&mut Config)) -> Result<(), Error> {
        let _lock = crate::lock::ProfileLock::acquire(dir, ".config", crate::lock::DEFAULT_WAIT)?;
        let mut config = Config::load(dir)?;
        change(&mut config);
        config.save(dir)
    }

    /// Replace the config file atomically: write a 0600 temporary file beside it, then rename.
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        let path = dir.join(FILE_NAME);
        paths::ensure_private_dir(dir)?;
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::internal(format!("config serialization failed: {e}")))?;
        let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let written = write_private(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(config_error(&path, format!("it cannot be written ({e})")));
        }
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }

    /// The profile a command means: the one named, else `VOUCH_PROFILE`, else the only one.
    pub fn resolve(&self, name: Option<&str>, env: &Env) -> Result<(String, Profile), Error> {
        let name = match name.or_else(|| env.get("VOUCH_PROFILE")) {
            Some(name) => name.to_string(),
            None => match self.profiles.len() {
                0 => return Err(Error::NoProfiles),
                1 => self.names().remove(0),
                _ => return Err(Error::NoDefaultProfile { known: self.names() }),
            },
        };
        match self.profiles.get(&name) {
            Some(profile) => Ok((name, profile.clone())),
            None => Err(Error::UnknownProfile { name, known: self.names() }),
        }
    }
}

fn config_error(path: &Path, reason: String) -> Error {
    Error::Config { path: path.display().to_string(), reason }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(issuer: &str) -> Profile {
        Profile { issuer: issuer.into(), client_id: "cli".into(), ..Profile::default() }
    }

    #[test]
    fn save_and_load_round_trip_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_dir = dir.path().join("vouch");
        let mut config = Config::default();
        config.profiles.insert("work".into(), profile("https://a.example"));
        config.save(&cfg_dir).unwrap();
        let back = Config::load(&cfg_dir).unwrap();
        assert_eq!(back.profiles["work"], profile("https://a.example"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&cfg_dir.join(FILE_NAME)), 0o600);
            assert_eq!(mode(&cfg_dir), 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        Config::default().save(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = Config::load(dir.path()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn resolution_follows_name_then_env_then_single_profile() {
        let mut config = Config::default();
        assert!(matches!(config.resolve(None, &Env::default()), Err(Error::NoProfiles)));
        config.profiles.insert("a".into(), profile("https://a"));
        assert_eq!(config.resolve(None, &Env::default()).unwrap().0, "a");
        config.profiles.insert("b".into(), profile("https://b"));
        assert!(matches!(config.resolve(None, &Env::default()), Err(Error::NoDefaultProfile { .. })));
        let env = Env::from_pairs([("VOUCH_PROFILE", "b")]);
        assert_eq!(config.resolve(None, &env).unwrap().0, "b");
        assert_eq!(config.resolve(Some("a"), &env).unwrap().0, "a");
        let err = config.resolve(Some("c"), &env).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("a, b"), "{err}");
    }

    #[test]
    fn bad_files_and_names_are_usage_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "[profiles.x]\nissuer = 3\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path().join(FILE_NAME), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
        assert_eq!(Config::load(dir.path()).unwrap_err().exit_code(), 2);
        for bad in ["", "-x", ".x", "a/b", "a b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert!(validate_name("work-2.prod_x").is_ok());
    }
}
