//! `vouch status`: whether profiles are signed in. Offline unless `--verify`.
//!
//! Never prints a token, nor any part of one. Exit 0 when the named profile (or every
//! profile) is usable, 3 otherwise.

use super::{Outcome, human_duration};
use crate::cli::StatusArgs;
use crate::config::{Config, Profile};
use crate::context::Context;
use crate::discovery;
use crate::error::Error;
use crate::http;
use crate::identity;
use crate::record::{Record, Spent};
use crate::store::{EntryKey, SecretStore};
use crate::userinfo;
use serde::Serialize;
use std::io::Write;

/// One profile's state, as printed. Field names are the stable `--json` schema.
#[derive(Debug, Serialize)]
pub struct ProfileStatus {
    pub profile: String,
    /// `signed-in`, `expired`, `reauth-required` (the provider refused the refresh token) or
    /// `signed-out`.
    pub state: &'static str,
    pub account: Option<String>,
    pub issuer: String,
    /// Unix seconds; null when unknown or signed out.
    pub expires_at: Option<u64>,
    pub has_refresh_token: bool,
    /// vouch can renew the access token without the user: a usable refresh token, or a
    /// client-credentials profile's stored client secret.
    pub renewable: bool,
    pub scope: Option<String>,
    pub store: &'static str,
    /// How long the store keeps secrets: `until deleted` or `until reboot`.
    pub persistence: &'static str,
    /// With `--verify`: whether the provider accepted the token; null when not asked.
    pub verified: Option<bool>,
    /// A rotation was interrupted; `vouch rotate` finishes it.
    pub rotation_pending: bool,
    /// Why the refresh token will not be used again although the session is not known to be
    /// dead (`lost`, `unstorable`, `interrupted`); null when it can be. The access token is
    /// used until it expires.
    pub refresh_spent: Option<Spent>,
    /// The RFC 7638 thumbprint (`jkt`) of the DPoP key the tokens are bound to; null when they
    /// are not bound. Never the key.
    pub dpop_jkt: Option<String>,
}

impl ProfileStatus {
    /// Usable now, or renewable without the user.
    fn usable(&self) -> bool {
        self.state == "signed-in" || (self.state == "expired" && self.renewable)
    }
}

pub fn run(args: StatusArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let names = match &args.name {
        Some(name) => vec![config.resolve(Some(name), &ctx.env)?.0],
        None => config.names(),
    };
    if names.is_empty() {
        if let Ok(store) = ctx.store() {
            mention_orphans(ctx, &store, &config);
        }
        return Err(Error::NoProfiles);
    }
    let store = ctx.store()?;
    if args.name.is_none() {
        mention_orphans(ctx, &store, &config);
    }
    let mut statuses = Vec::new();
    for name in &names {
        let profile = &config.profiles[name];
        let key = identity::resolve(ctx, &dir, name, profile)?;
        let mut status = describe(ctx, &store, &key, profile)?;
        if args.verify && status.state == "signed-in" {
            status.verified = Some(verify(ctx, &store, &key, profile)?);
        }
        statuses.push(status);
    }
    print(ctx, &statuses, args.json && args.name.is_some(), args.json)?;
    let all_usable = statuses.iter().all(|s| s.usable() && s.verified != Some(false));
    Ok(if all_usable { Outcome::Done } else { Outcome::SignedOut })
}

/// A note on stderr about credentials in the store that no profile of `config` owns.
fn mention_orphans(ctx: &mut Context, store: &SecretStore, config: &Config) {
    match identity::orphans(store, config) {
        Ok(orphans) if !orphans.is_empty() => ctx.note(format_args!(
            "note: the {} holds {} vouch credential(s) that no profile of this configuration owns ({}); \
             `vouch logout --orphans` revokes and deletes them",
            store.kind().description(),
            orphans.len(),
            orphans.iter().map(|o| identity::profile_of(o)).collect::<Vec<_>>().join(", ")
        )),
        Ok(_) => {}
        Err(err) => ctx.log(format_args!("status: cannot list the store's entries ({})", err.class())),
    }
}

fn describe(
    ctx: &mut Context,
    store: &SecretStore,
    key: &EntryKey,
    profile: &Profile,
) -> Result<ProfileStatus, Error> {
    let name = key.profile.as_str();
    let record = store.load(key)?;
    let now = ctx.now();
    let state = match &record {
        None => "signed-out",
        Some(r) if r.reauth_required => "reauth-required",
        Some(r) if r.expires_in(now).is_some_and(|left| left <= 0) => "expired",
        Some(_) => "signed-in",
    };
    Ok(ProfileStatus {
        profile: name.to_string(),
        state,
        account: record.as_ref().and_then(|r| r.account.clone()),
        issuer: profile.issuer.clone(),
        expires_at: record.as_ref().and_then(|r| r.expires_at),
        has_refresh_token: record.as_ref().is_some_and(|r| r.can_refresh(now)),
        renewable: record.as_ref().is_some_and(|r| {
            r.can_refresh(now)
                || (!r.reauth_required
                    && r.client_secret.is_some()
                    && profile.flow == Some(crate::config::Flow::ClientCredentials))
        }),
        scope: record.as_ref().and_then(|r| r.scope.clone()),
        store: store.kind().id(),
        persistence: store.kind().persistence(),
        verified: None,
        rotation_pending: matches!(store.load(&key.previous()), Ok(Some(_)) | Err(_)),
        refresh_spent: record.as_ref().and_then(|r| r.refresh_spent),
        dpop_jkt: record.as_ref().and_then(|r| r.dpop_key.as_ref()).and_then(|k| k.thumbprint().ok()),
    })
}

/// Ask the provider whether the stored token is still accepted. `false` for a rejection;
/// network trouble is an error (exit 5), not a verdict.
fn verify(ctx: &mut Context, store: &SecretStore, key: &EntryKey, profile: &Profile) -> Result<bool, Error> {
    let name = key.profile.as_str();
    let Some(record): Option<Record> = store.load(key)? else { return Ok(false) };
    let url = match &profile.userinfo_url {
        Some(url) => http::user_url(url)?,
        None => discovery::discover(ctx, &profile.issuer)?.and_then(|m| m.userinfo_endpoint).ok_or_else(|| {
            Error::usage(format!("the provider of '{name}' has no userinfo endpoint to verify with; set one with `vouch login {name} --verify-url URL`"))
        })?,
    };
    ctx.http_client().register_endpoints(&profile.issuer, [&url]);
    match userinfo::confirm(ctx, &key.issuer, &url, &record.access_token, record.dpop_key.as_ref(), name) {
        Ok(_) => Ok(true),
        Err(Error::Rejected { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

fn print(ctx: &mut Context, statuses: &[ProfileStatus], single_json: bool, json: bool) -> Result<(), Error> {
    let now = ctx.now();
    let text = if single_json {
        serde_json::to_string_pretty(&statuses[0]).unwrap_or_default()
    } else if json {
        serde_json::to_string_pretty(statuses).unwrap_or_default()
    } else {
        statuses.iter().map(|s| human_line(s, now)).collect::<Vec<_>>().join("\n")
    };
    writeln!(ctx.stdout, "{text}").map_err(|e| Error::internal(format!("cannot write to stdout: {e}")))
}

fn human_line(s: &ProfileStatus, now: u64) -> String {
    let who = s.account.as_ref().map(|a| format!(" as {a}")).unwrap_or_default();
    let mut line = match s.state {
        "signed-out" => format!("{}: signed out", s.profile),
        "expired" => format!("{}: expired{who}", s.profile),
        "reauth-required" => {
            format!("{}: the provider refused the refresh token; run `vouch login {}`", s.profile, s.profile)
        }
        _ => format!("{}: signed in{who}", s.profile),
    };
    if let Some(at) = s.expires_at.filter(|_| s.state != "signed-out") {
        let left = crate::record::seconds_between(now, at);
        if left > 0 {
            line.push_str(&format!(", expires in {}", human_duration(left)));
        } else {
            line.push_str(&format!(" {} ago", human_duration(left)));
        }
    }
    if s.renewable {
        line.push_str(", renewable");
    }
    if let Some(jkt) = &s.dpop_jkt {
        line.push_str(&format!(", bound to this machine (DPoP key {jkt})"));
    }
    if let Some(spent) = s.refresh_spent {
        line.push_str(&format!(
            ", cannot be refreshed ({}; run `vouch login {}`)",
            match spent {
                Spent::Lost => "the provider's answer to a refresh was lost",
                Spent::Unstorable => "the store refused the last refresh's credential",
                Spent::Interrupted => "a refresh was killed in flight",
            },
            s.profile
        ));
    }
    if s.rotation_pending {
        line.push_str(&format!(", rotation unfinished (run `vouch rotate {}`)", s.profile));
    }
    match s.verified {
        Some(true) => line.push_str(", verified with the provider"),
        Some(false) => line.push_str(", REJECTED by the provider"),
        None => {}
    }
    line.push_str(&format!(" [{}, kept {}]", s.store, s.persistence));
    line
}
