//! The one error type of vouch and the stable exit-code table.
//!
//! Every failure a command can meet is a variant of [`Error`], grouped by cause. Each variant
//! documents its exit code and what the user should do next; [`Error::exit_code`] is the only
//! place where exit codes are decided. Messages are one sentence plus a next step. They never
//! carry a secret, raw stored bytes, or the `Debug` output of a foreign error: foreign errors
//! are converted where they arise, keeping only a description that is known to be safe.

use std::fmt;

/// Exit codes, as documented in the README and the man pages. Stable: scripts depend on them.
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const SIGNED_OUT: u8 = 3;
    pub const REJECTED: u8 = 4;
    pub const UNAVAILABLE: u8 = 5;
    pub const STORE_LOCKED: u8 = 6;
    pub const NO_STORE: u8 = 7;
    pub const UNREADABLE: u8 = 8;
    pub const PROTOCOL: u8 = 9;
    pub const DENIED: u8 = 10;
    pub const SIGINT: u8 = 130;
    pub const SIGTERM: u8 = 143;

    /// The table as documented: code, meaning, what the user does. The README, the man pages
    /// and `--help` show it; a test checks the README against it.
    pub const TABLE: &[(u8, &str, &str)] = &[
        (OK, "success", ""),
        (INTERNAL, "unexpected internal error", "report it"),
        (
            USAGE,
            "usage or configuration error (bad flags, unknown profile, invalid config file, plain-http URL, a prompt that --no-input forbids, a fixed browser redirect port in use, a config or lock location another user controls, a credential minted for another provider)",
            "fix the command or config",
        ),
        (SIGNED_OUT, "signed out: no credential stored for the profile (a normal state)", "vouch login NAME"),
        (
            REJECTED,
            "the provider rejected the credential (invalid_grant, revoked or expired refresh token, 401 on verification, bad client secret)",
            "log in again",
        ),
        (
            UNAVAILABLE,
            "the provider or network is temporarily unavailable (connect failure, timeout, 5xx, 429), or another vouch held the profile lock too long",
            "retry later",
        ),
        (
            STORE_LOCKED,
            "the credential store is locked, needs you to unlock it, or did not answer in time",
            "unlock it, retry",
        ),
        (
            NO_STORE,
            "no usable secure credential store, or the credential is too large for it",
            "install or configure one",
        ),
        (
            UNREADABLE,
            "the stored credential is unreadable (corrupt, undecodable, unknown record version)",
            "vouch logout NAME, then log in",
        ),
        (
            PROTOCOL,
            "the provider's answer broke the protocol, or it is misconfigured (malformed JSON, missing fields, issuer mismatch, redirect, bad TLS)",
            "fix the provider config",
        ),
        (DENIED, "authorization was denied or expired before it was approved", "log in again"),
        (SIGINT, "interrupted by SIGINT", ""),
        (SIGTERM, "interrupted by SIGTERM", ""),
    ];
}

/// Everything that can go wrong, grouped by cause.
#[derive(Debug)]
pub enum Error {
    // ----- exit 2: usage or configuration ------------------------------------------------
    /// The command line or the situation needs something else from the user: the message says
    /// what, and names the flag or variable to use. Exit 2.
    Usage(String),
    /// The named profile does not exist. Exit 2; the message lists the profiles there are.
    UnknownProfile { name: String, known: Vec<String> },
    /// No profile was named and there is not exactly one to default to. Exit 2; set
    /// `VOUCH_PROFILE` or name one.
    NoDefaultProfile { known: Vec<String> },
    /// The config file cannot be read, parsed, written, or has unsafe permissions. Exit 2; fix
    /// or remove the file.
    Config { path: String, reason: String },
    /// A URL the user gave is not https and not loopback. Exit 2; use https.
    InsecureUrl { url: String },
    /// A file or directory vouch would use (config, locks, markers) could be read, replaced or
    /// blocked by another user: owned by someone else, a symbolic link, or writable by others.
    /// Exit 2; the remedy says what to remove or chmod. vouch never uses it as it is.
    UnsafeLocation { path: String, reason: String, remedy: String },
    /// The stored credential was minted for another provider or client than the profile now
    /// names (its config was edited). It is never sent to the new one. Exit 2; `vouch login
    /// NAME` signs in to the new provider and starts clean.
    ForeignCredential { profile: String, minted_for: String, configured: String },
    /// The browser flow's fixed redirect port is taken (by another program, or another login
    /// still waiting). Exit 2, not 5: the port is the profile's configuration, so retrying
    /// alone rarely helps; free the port, or register another redirect URI at the provider and
    /// pass it with `--redirect-uri`.
    PortInUse { address: String },
    /// A credential helper was asked for a URL that no profile's hosts match. Exit 2; git falls
    /// through to its next helper and cargo tries its next provider without showing it, and
    /// elsewhere the message says how to serve the host (`hosts` in the profile, or a profile
    /// named in the client's configuration).
    NotServed { url: String },

    /// `vouch api`: the API answered a status other than 2xx (its body is already on stdout).
    /// The exit code is the class of the status: 401 and 403 exit 4 (the token was refused:
    /// log in again, or ask for the scope); 408, 429 and 5xx exit 5 (retry later); any other
    /// 4xx exits 2 (fix the request); anything else (1xx, 3xx: redirects are never followed,
    /// the token would go with them) exits 9.
    ApiStatus { url: String, status: u16 },

    // ----- exit 3: signed out ------------------------------------------------------------
    /// No credential is stored for the profile: the normal signed-out state. Exit 3; run
    /// `vouch login NAME`.
    SignedOut { profile: String },
    /// There are no profiles at all yet. Exit 3; run `vouch login NAME --issuer ...`.
    NoProfiles,

    // ----- exit 4: credential rejected ---------------------------------------------------
    /// The provider rejected the credential (401 on verification, invalid_grant, a wrong
    /// client secret), or it has expired with no way to renew it. Exit 4; log in again.
    Rejected { profile: String, reason: String },

    // ----- exit 5: temporarily unavailable -----------------------------------------------
    /// The provider or the network did not answer usefully right now (connect failure,
    /// timeout, 5xx, 429). Nothing was changed. Exit 5; retry later.
    Unavailable { endpoint: String, reason: String },

    // ----- exit 6: store locked ----------------------------------------------------------
    /// The credential store is locked, needs the user to unlock it, or did not answer in
    /// time. Exit 6; unlock the keyring and retry.
    StoreLocked { store: &'static str, reason: String },

    // ----- exit 7: no secure store -------------------------------------------------------
    /// No usable secure credential store. There is no plaintext fallback. Exit 7; the message
    /// says what to install or set.
    NoSecureStore { reason: String, remedy: String },
    /// The credential is larger than the store can hold. It is never truncated. Exit 7;
    /// use a store without the limit or ask the provider for a smaller token.
    RecordTooLarge { store: &'static str, size: usize, limit: usize },

    // ----- exit 8: stored credential unreadable ------------------------------------------
    /// The stored record cannot be decoded (corrupt bytes, bad JSON, unknown version, several
    /// items where one is expected). Exit 8; `vouch logout NAME`, then log in.
    Unreadable { profile: String, reason: String },

    // ----- exit 9: protocol or provider misconfiguration ---------------------------------
    /// The provider answered in a way that breaks the protocol, or is misconfigured
    /// (malformed JSON, missing fields, issuer mismatch, plain-http endpoint). Exit 9; fix the
    /// provider configuration or the endpoint flags.
    Protocol { endpoint: String, reason: String },

    // ----- exit 10: authorization denied or expired --------------------------------------
    /// The person denied the authorization, or it expired before they approved it. Exit 10;
    /// log in again.
    Denied { reason: String },

    // ----- exit 130 / 143: interrupted ---------------------------------------------------
    /// Interrupted by SIGINT (130) or SIGTERM (143).
    Interrupted { signal: i32 },

    // ----- exit 1: internal --------------------------------------------------------------
    /// A bug or an unexpected local failure (I/O on our own files). Exit 1; report it.
    Internal(String),
}

impl Error {
    /// The exit code for this error: the one place where it is decided.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::UnknownProfile { .. }
            | Error::NoDefaultProfile { .. }
            | Error::Config { .. }
            | Error::InsecureUrl { .. }
            | Error::UnsafeLocation { .. }
            | Error::ForeignCredential { .. }
            | Error::PortInUse { .. }
            | Error::NotServed { .. } => exit::USAGE,
            Error::ApiStatus { status, .. } => match status {
                401 | 403 => exit::REJECTED,
                408 | 429 | 500..=599 => exit::UNAVAILABLE,
                400..=499 => exit::USAGE,
                _ => exit::PROTOCOL,
            },
            Error::SignedOut { .. } | Error::NoProfiles => exit::SIGNED_OUT,
            Error::Rejected { .. } => exit::REJECTED,
            Error::Unavailable { .. } => exit::UNAVAILABLE,
            Error::StoreLocked { .. } => exit::STORE_LOCKED,
            Error::NoSecureStore { .. } | Error::RecordTooLarge { .. } => exit::NO_STORE,
            Error::Unreadable { .. } => exit::UNREADABLE,
            Error::Protocol { .. } => exit::PROTOCOL,
            Error::Denied { .. } => exit::DENIED,
            Error::Interrupted { signal } if *signal == 15 => exit::SIGTERM,
            Error::Interrupted { .. } => exit::SIGINT,
            Error::Internal(_) => exit::INTERNAL,
        }
    }

    /// A short stable name for the error class, used by `-v` logs and `--json` output.
    pub fn class(&self) -> &'static str {
        match self.exit_code() {
            exit::USAGE => "usage",
            exit::SIGNED_OUT => "signed-out",
            exit::REJECTED => "rejected",
            exit::UNAVAILABLE => "unavailable",
            exit::STORE_LOCKED => "store-locked",
            exit::NO_STORE => "no-secure-store",
            exit::UNREADABLE => "unreadable",
            exit::PROTOCOL => "protocol",
            exit::DENIED => "denied",
            exit::SIGINT | exit::SIGTERM => "interrupted",
            _ => "internal",
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg) => write!(f, "{msg}"),
            Error::UnknownProfile { name, known } => write!(
                f,
                "there is no profile named '{name}' (profiles: {}); run `vouch login {name} --issuer URL --client-id ID` to create it",
                list(known)
            ),
            Error::NoDefaultProfile { known } => {
                write!(f, "more than one profile exists ({}); name one, or set VOUCH_PROFILE", list(known))
            }
            Error::Config { path, reason } => {
                write!(f, "the config file {path} is not usable: {reason}; fix or remove it")
            }
            Error::InsecureUrl { url } => write!(
                f,
                "{url} is not https; vouch sends credentials only over https, or plain http to a loopback address (127.0.0.1, [::1], localhost)"
            ),
            Error::UnsafeLocation { path, reason, remedy } => {
                let remedy = if remedy.is_empty() { String::new() } else { format!("; {remedy}") };
                write!(
                    f,
                    "vouch will not use {path}: {reason}. Another user could read, replace or block what vouch keeps there{remedy}"
                )
            }
            Error::ForeignCredential { profile, minted_for, configured } => write!(
                f,
                "the credential stored for '{profile}' was issued by {minted_for}, but the profile now names {configured}; vouch never sends a credential to another provider or client. Run `vouch login {profile}` to sign in to {configured}"
            ),
            Error::PortInUse { address } => write!(
                f,
                "cannot listen on {address} for the browser redirect: the port is in use (by another program, \
                 or another vouch login still waiting); free it, or register another redirect URI at the provider \
                 and pass it with --redirect-uri"
            ),
            Error::ApiStatus { url, status } => write!(
                f,
                "{url} answered HTTP {status}{}",
                match status {
                    401 | 403 =>
                        "; the token was refused: check the profile's scopes, or run `vouch login` again",
                    408 | 429 | 500..=599 => "; try again later",
                    400..=499 => "; check the request",
                    _ => "; vouch never follows redirects, which would take the token along",
                }
            ),
            Error::NotServed { url } => write!(
                f,
                "no vouch profile serves {url}; name a profile in the client's configuration (`vouch setup-kube`, \
                 `vouch setup-cargo`), or add the host to one with `vouch setup-git --host HOST --profile NAME`"
            ),
            Error::SignedOut { profile } => {
                write!(f, "profile '{profile}' is signed out; run `vouch login {profile}`")
            }
            Error::NoProfiles => {
                write!(f, "no profiles yet; run `vouch login NAME --issuer URL --client-id ID` to create one")
            }
            Error::Rejected { profile, reason } => write!(
                f,
                "the provider rejected the credential for '{profile}' ({reason}); run `vouch login {profile}`"
            ),
            Error::Unavailable { endpoint, reason } => write!(
                f,
                "the provider at {endpoint} is unavailable ({reason}); nothing was changed, retry later"
            ),
            Error::StoreLocked { store, reason } => {
                write!(f, "the {store} is locked or waiting for you ({reason}); unlock it and retry")
            }
            Error::NoSecureStore { reason, remedy } => write!(
                f,
                "no secure credential store is usable ({reason}); vouch never falls back to plaintext. {remedy}"
            ),
            Error::RecordTooLarge { store, size, limit } => write!(
                f,
                "the credential is {size} bytes but the {store} holds at most {limit}; nothing was stored. Ask the provider for fewer scopes or claims, or choose another store with --store"
            ),
            Error::Unreadable { profile, reason } => write!(
                f,
                "the stored credential for '{profile}' is unreadable ({reason}); run `vouch logout {profile}`, then `vouch login {profile}`"
            ),
            Error::Protocol { endpoint, reason } => write!(
                f,
                "the provider at {endpoint} answered outside the protocol ({reason}); check the provider configuration or the endpoint flags"
            ),
            Error::Denied { reason } => {
                write!(f, "authorization did not complete ({reason}); run `vouch login` again")
            }
            Error::Interrupted { signal } => {
                let name = if *signal == 15 { "SIGTERM" } else { "SIGINT" };
                write!(f, "interrupted by {name}")
            }
            Error::Internal(msg) => {
                write!(f, "internal error: {msg}; please report this at the vouch issue tracker")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_its_documented_code() {
        let cases: Vec<(Error, u8)> = vec![
            (Error::usage("x"), 2),
            (Error::UnknownProfile { name: "a".into(), known: vec![] }, 2),
            (Error::NoDefaultProfile { known: vec![] }, 2),
            (Error::Config { path: "p".into(), reason: "r".into() }, 2),
            (Error::InsecureUrl { url: "http://x".into() }, 2),
            (Error::UnsafeLocation { path: "p".into(), reason: "r".into(), remedy: "m".into() }, 2),
            (
                Error::ForeignCredential {
                    profile: "p".into(),
                    minted_for: "a".into(),
                    configured: "b".into(),
                },
                2,
            ),
            (Error::PortInUse { address: "127.0.0.1:8400".into() }, 2),
            (Error::NotServed { url: "https://h.example".into() }, 2),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 401 }, 4),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 403 }, 4),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 404 }, 2),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 422 }, 2),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 429 }, 5),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 503 }, 5),
            (Error::ApiStatus { url: "https://api.example/x".into(), status: 302 }, 9),
            (Error::SignedOut { profile: "p".into() }, 3),
            (Error::NoProfiles, 3),
            (Error::Rejected { profile: "p".into(), reason: "r".into() }, 4),
            (Error::Unavailable { endpoint: "e".into(), reason: "r".into() }, 5),
            (Error::StoreLocked { store: "s", reason: "r".into() }, 6),
            (Error::NoSecureStore { reason: "r".into(), remedy: "m".into() }, 7),
            (Error::RecordTooLarge { store: "s", size: 3, limit: 2 }, 7),
            (Error::Unreadable { profile: "p".into(), reason: "r".into() }, 8),
            (Error::Protocol { endpoint: "e".into(), reason: "r".into() }, 9),
            (Error::Denied { reason: "r".into() }, 10),
            (Error::Interrupted { signal: 2 }, 130),
            (Error::Interrupted { signal: 15 }, 143),
            (Error::internal("x"), 1),
        ];
        for (err, code) in cases {
            assert_eq!(err.exit_code(), code, "{err}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn every_code_an_error_can_have_is_in_the_documented_table() {
        let codes: Vec<u8> = exit::TABLE.iter().map(|(c, _, _)| *c).collect();
        for code in 0..=255u8 {
            let used = [
                Error::usage("x"),
                Error::NoProfiles,
                Error::Rejected { profile: "p".into(), reason: "r".into() },
                Error::Unavailable { endpoint: "e".into(), reason: "r".into() },
                Error::StoreLocked { store: "s", reason: "r".into() },
                Error::NoSecureStore { reason: "r".into(), remedy: "m".into() },
                Error::Unreadable { profile: "p".into(), reason: "r".into() },
                Error::Protocol { endpoint: "e".into(), reason: "r".into() },
                Error::Denied { reason: "r".into() },
                Error::Interrupted { signal: 2 },
                Error::Interrupted { signal: 15 },
                Error::internal("x"),
            ]
            .iter()
            .any(|e| e.exit_code() == code);
            assert!(!used || codes.contains(&code), "exit {code} is not documented");
        }
    }

    #[test]
    fn signed_out_message_names_the_next_step() {
        let msg = Error::SignedOut { profile: "work".into() }.to_string();
        assert!(msg.contains("vouch login work"), "{msg}");
    }
}
