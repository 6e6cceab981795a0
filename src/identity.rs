//! Which stored credential belongs to which profile.
//!
//! A credential belongs to the provider and client that minted it, and to one profile of one
//! configuration. vouch makes that hold by construction:
//! - **The entry key.** Each profile in `config.toml` has a random `credential_id`, made when
//!   the profile is first signed in, and made anew when a login changes its issuer or client.
//!   The store entry is `PROFILE~ID`. Two configurations (two projects, two CI jobs in one
//!   container) that each have a profile named `default` therefore never share an entry, and
//!   a fresh configuration (the old one deleted, vouch reinstalled, another `--config-dir`)
//!   never silently resurrects an old session. A profile block copied by hand from one
//!   config to another keeps its id, and then deliberately means the same credential.
//! - **The record's owner.** Every record is stamped with its issuer and client when it is
//!   saved; the storage core refuses to hand out one whose owner is not the profile's
//!   ([`crate::error::Error::ForeignCredential`]), and the HTTP layer refuses to send a
//!   credential to an endpoint of another issuer ([`crate::http`]).
//! - **Orphans.** Entries that no profile of this configuration owns are listed by
//!   [`orphans`]; `vouch status` mentions them and `vouch logout --orphans` revokes and
//!   deletes them.
//! - **Migration.** A profile written by an older vouch has no `credential_id`, and its
//!   version-1 record lives in the entry `PROFILE`. On first use the profile gets an id and
//!   the record moves to the new entry, stamped with the profile's issuer and client, unless
//!   its access token is a JWT whose `iss` names another issuer (then it stays an orphan).

use crate::config::{Config, Profile};
use crate::context::Context;
use crate::error::Error;
use crate::lock::ProfileLock;
use crate::store::{EntryKey, SecretStore};
use std::path::Path;

/// The profile a command means (named, else `VOUCH_PROFILE`, else the only one), with its
/// entry key: the start of every command that uses one profile's credential.
pub fn profile(ctx: &mut Context, name: Option<&str>) -> Result<(String, Profile, EntryKey), Error> {
    let dir = ctx.config_dir()?;
    let config = Config::load(&dir)?;
    let (name, profile) = config.resolve(name, &ctx.env)?;
    let key = resolve(ctx, &dir, &name, &profile)?;
    Ok((name, profile, key))
}

/// The entry key of a profile that has a credential id.
pub fn key(name: &str, profile: &Profile) -> Option<EntryKey> {
    let id = profile.credential_id.as_deref()?;
    Some(EntryKey {
        profile: name.to_string(),
        entry: format!("{name}~{id}"),
        issuer: profile.issuer.clone(),
        client_id: profile.client_id.clone(),
    })
}

/// A new random credential id: 64 bits, as 16 hex digits.
pub fn new_credential_id() -> Result<String, Error> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|_| Error::internal("the operating system gave no randomness"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The entry key of profile `name` in the config in `dir`, migrating a profile written by an
/// older vouch first (see the module docs).
pub fn resolve(ctx: &mut Context, dir: &Path, name: &str, profile: &Profile) -> Result<EntryKey, Error> {
    if let Some(key) = key(name, profile) {
        return Ok(key);
    }
    let fresh = new_credential_id()?;
    let mut chosen = fresh.clone();
    Config::update(dir, |config| {
        if let Some(p) = config.profiles.get_mut(name) {
            match &p.credential_id {
                Some(id) => chosen = id.clone(),
                None => p.credential_id = Some(fresh.clone()),
            }
        }
    })?;
    let profile = Profile { credential_id: Some(chosen), ..profile.clone() };
    let key = key(name, &profile).ok_or_else(|| Error::internal("a credential id was just set"))?;
    migrate_legacy(ctx, &key)?;
    Ok(key)
}

/// Move a version-1 record from the entry `PROFILE` (and a rotation's `PROFILE#previous`) to
/// `key`, under the profile's lock.
fn migrate_legacy(ctx: &mut Context, key: &EntryKey) -> Result<(), Error> {
    let store = ctx.store()?;
    let _lock = ProfileLock::acquire(&ctx.state_dir()?, &store.lock_name(key), ctx.settings.lock_wait)?;
    let moves = [(key.profile.clone(), key.clone()), (format!("{}#previous", key.profile), key.previous())];
    for (legacy, to) in moves {
        let record = match store.load_entry(&legacy, &key.profile) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            // An unreadable legacy entry stays where it is; logout --orphans removes it.
            Err(Error::Unreadable { .. }) => continue,
            Err(err) => return Err(err),
        };
        if let Some(minted_by) = jwt_issuer(record.access_token.expose_secret())
            && minted_by != key.issuer
        {
            ctx.note(format_args!(
                "warning: the stored credential of '{}' from an older vouch was issued by another provider; \
                 it is left alone (see `vouch status`)",
                key.profile
            ));
            continue;
        }
        if store.load_entry(&to.entry, &key.profile)?.is_none() {
            store.save(&to, &record)?;
        }
        store.delete_entry(&legacy, &key.profile)?;
        ctx.log(format_args!("identity: moved the version-1 record of '{}' to its own entry", key.profile));
    }
    Ok(())
}

/// The `iss` claim of a token that is a JWT, without verifying it: only used to keep a
/// credential away from a provider that certainly did not mint it.
fn jwt_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_string)
}

/// Store entries that no profile of `config` owns: left by a deleted or other configuration,
/// or by an older vouch.
pub fn orphans(store: &SecretStore, config: &Config) -> Result<Vec<String>, Error> {
    let owned: Vec<String> = config
        .profiles
        .iter()
        .filter_map(|(name, profile)| key(name, profile))
        .flat_map(|key| [key.previous().entry, key.entry])
        .collect();
    let legacy: Vec<String> = config
        .profiles
        .iter()
        .filter(|(_, p)| p.credential_id.is_none())
        .flat_map(|(name, _)| [name.clone(), format!("{name}#previous")])
        .collect();
    Ok(store
        .entries()?
        .into_iter()
        .filter(|entry| !owned.contains(entry) && !legacy.contains(entry))
        .collect())
}

/// The profile name an entry was made for (`work~ab12…` → `work`).
pub fn profile_of(entry: &str) -> &str {
    entry.split(['~', '#']).next().unwrap_or(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_credential_id_and_carry_the_owner() {
        let profile = |id: &str| Profile {
            issuer: "https://a.example".into(),
            client_id: "cli".into(),
            credential_id: Some(id.into()),
            ..Profile::default()
        };
        let one = key("default", &profile("0011")).unwrap();
        let two = key("default", &profile("2233")).unwrap();
        assert_ne!(one.entry, two.entry);
        assert_eq!(one.entry, "default~0011");
        assert_eq!(one.issuer, "https://a.example");
        assert_eq!(one.previous().entry, "default~0011#previous");
        assert!(key("x", &Profile::default()).is_none(), "no id: an older profile, to be migrated");
        assert_eq!(profile_of(&one.previous().entry), "default");
        let a = new_credential_id().unwrap();
        assert_eq!(a.len(), 16);
        assert_ne!(a, new_credential_id().unwrap());
    }

    #[test]
    fn the_issuer_of_a_jwt_is_read_and_anything_else_is_none() {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!("{}.{}.sig", enc("{}"), enc(r#"{"iss":"https://b.example"}"#));
        assert_eq!(jwt_issuer(&jwt).as_deref(), Some("https://b.example"));
        assert_eq!(jwt_issuer("opaque-token"), None);
        assert_eq!(jwt_issuer("a.!!!.c"), None);
    }
}
