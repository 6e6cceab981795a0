//! The provider metadata cache, in-process against the fake provider: a refresh with cached
//! metadata is one request; `Cache-Control` decides how long an entry lasts (judged by the
//! context's clock, so nothing sleeps); a cache file that is corrupt, another issuer's, another
//! user's or writable by others is ignored and replaced; a cached token endpoint that is no
//! longer there drops the entry, and when nothing was sent the refresh goes to where the
//! provider says its token endpoint is now, once.

use crate::support::fake_provider::{self, FakeProvider};
use crate::support::in_process::{Harness, now};
use serde_json::{Value, json};
use std::path::PathBuf;
use vouch::store::StoreKind;

const DISCOVERY: &str = "/.well-known/openid-configuration";

fn provider(cache_control: Option<&str>) -> FakeProvider {
    FakeProvider::start_with(fake_provider::Config {
        discovery_cache_control: cache_control.map(str::to_string),
        ..Default::default()
    })
}

/// A signed-in profile `p` whose access token has expired; returns its refresh token.
fn session(p: &FakeProvider, h: &Harness) -> String {
    let (access, refresh) = p.issue_grant("alice", "openid offline_access");
    h.seed_profile("p", &p.issuer(), "cli", "device");
    h.seed_record(
        "p",
        json!({"version":2,"generation":1,"access_token":access,"token_type":"Bearer",
               "expires_at": now() - 10,"refresh_token":refresh,"account":"alice"}),
    );
    refresh
}

fn cache_file(h: &Harness, issuer: &str) -> PathBuf {
    h.dir.path().join("state").join("metadata").join(vouch::metadata_cache::file_name(issuer))
}

fn cached(h: &Harness, issuer: &str) -> Option<Value> {
    std::fs::read(cache_file(h, issuer)).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

fn refreshes(p: &FakeProvider) -> usize {
    p.token_requests("refresh_token").len()
}

/// `vouch -v refresh p` with the clock at `at`; returns the exit code (stderr is cleared
/// first, so it holds this run's log).
fn refresh_at(h: &Harness, at: u64) -> u8 {
    h.stderr.clear();
    h.run_with(&["-v", "refresh", "p"], "", move |ctx| ctx.clock = Box::new(move || at))
}

/// A closed loopback port: nothing listens there, so a connection is refused.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_refresh_with_cached_metadata_is_one_request_and_says_so() {
    let p = provider(None);
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h);
    let t0 = now();
    assert_eq!(refresh_at(&h, t0), 0, "{}", h.stderr.text());
    assert_eq!((p.count(DISCOVERY), refreshes(&p)), (1, 1));
    assert!(h.stderr.text().contains("metadata: discovered for"), "{}", h.stderr.text());
    let entry = cached(&h, &p.issuer()).expect("the metadata was kept");
    assert_eq!(entry["issuer"], p.issuer());
    assert_eq!(entry["token_endpoint"], p.url("/token"));
    assert_eq!(entry["expires_at"].as_u64(), Some(t0 + vouch::metadata_cache::DEFAULT_LIFETIME));
    for secret in ["access_token", "refresh_token", "client_secret"] {
        assert!(entry.get(secret).is_none(), "the cache holds a {secret}");
    }

    let before = p.requests().len();
    assert_eq!(refresh_at(&h, t0 + 60), 0, "{}", h.stderr.text());
    let seen: Vec<String> =
        p.requests()[before..].iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(seen, vec!["POST /token".to_string()], "a refresh with cached metadata is one request");
    assert!(h.stderr.text().contains("metadata: from the cache for"), "{}", h.stderr.text());
    assert!(!h.stderr.text().contains("metadata: discovered"), "{}", h.stderr.text());

    // A sign-in always asks the provider (and keeps its answer).
    let (access, _) = p.issue_grant("alice", "openid");
    assert_eq!(h.run(&["login", "p", "--with-token"], &format!("{access}\n")), 0, "{}", h.stderr.text());
    assert_eq!(p.count(DISCOVERY), 2, "a login used cached metadata");
}

#[test]
fn no_store_no_cache_and_max_age_0_are_discovered_every_time() {
    for directive in
        ["no-store", "no-cache", "max-age=0", "private, max-age=0", "max-age=60", "max-age=bogus"]
    {
        let p = provider(Some(directive));
        let h = Harness::new(StoreKind::Mock);
        session(&p, &h);
        let t0 = now();
        assert_eq!(refresh_at(&h, t0), 0, "{directive}: {}", h.stderr.text());
        // The control: a positive max-age is kept.
        if directive == "max-age=60" {
            assert!(cached(&h, &p.issuer()).is_some(), "{directive}: not kept");
            continue;
        }
        assert!(cached(&h, &p.issuer()).is_none(), "{directive}: kept anyway");
        assert!(h.stderr.text().contains("may not be kept"), "{directive}: {}", h.stderr.text());
        assert_eq!(refresh_at(&h, t0 + 1), 0, "{directive}: {}", h.stderr.text());
        assert_eq!(p.count(DISCOVERY), 2, "{directive}: the second refresh did not rediscover");
        assert_eq!(refreshes(&p), 2, "{directive}");
    }
}

#[test]
fn entries_expire_by_the_context_clock_within_the_cap() {
    let day = 24 * 3600;
    // (Cache-Control, still fresh this long after, stale this long after)
    let cases: &[(Option<&str>, u64, u64)] = &[
        (Some("max-age=600"), 599, 600),
        (Some("public, max-age=3600"), 3599, 3600),
        (None, day - 1, day),
        (Some("max-age=31536000"), 7 * day - 1, 7 * day),
    ];
    for (directive, fresh, stale) in cases {
        let p = provider(*directive);
        let h = Harness::new(StoreKind::Mock);
        session(&p, &h);
        let t0 = now();
        assert_eq!(refresh_at(&h, t0), 0, "{directive:?}: {}", h.stderr.text());
        assert_eq!(refresh_at(&h, t0 + fresh), 0, "{directive:?}: {}", h.stderr.text());
        assert_eq!(p.count(DISCOVERY), 1, "{directive:?}: rediscovered while fresh");
        assert_eq!(refresh_at(&h, t0 + stale), 0, "{directive:?}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("expired 0 s ago"), "{directive:?}: {}", h.stderr.text());
        assert_eq!(p.count(DISCOVERY), 2, "{directive:?}: an expired entry was used");
        assert_eq!(refreshes(&p), 3, "{directive:?}");
        let entry = cached(&h, &p.issuer()).unwrap();
        assert_eq!(entry["fetched_at"].as_u64(), Some(t0 + stale), "{directive:?}: not replaced");
    }
}

/// A well-formed entry for `issuer` whose token endpoint is `token`.
fn entry_for(issuer: &str, token: &str, fetched_at: u64, expires_at: u64) -> Value {
    json!({"version":2,"issuer":issuer,"fetched_at":fetched_at,"expires_at":expires_at,"openid":true,
           "authorization_endpoint":null,"token_endpoint":token,"device_authorization_endpoint":null,
           "userinfo_endpoint":null,"revocation_endpoint":null,
           "token_endpoint_auth_methods_supported":["none"],"scopes_supported":null,
           "authorization_response_iss_parameter_supported":false})
}

fn plant(h: &Harness, issuer: &str, bytes: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = cache_file(h, issuer);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::set_permissions(path.parent().unwrap(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// What to plant as a cache file, from the issuer and the token endpoint it would name.
type Planted<'a> = Box<dyn Fn(&str, &str) -> Vec<u8> + 'a>;

/// A case name and what it does to a planted cache file.
type Spoil = (&'static str, fn(&std::path::Path));

#[test]
fn a_corrupt_or_mismatched_cache_file_is_ignored_and_replaced() {
    let t0 = now();
    // Every entry that names a token endpoint names `elsewhere`'s: had it been trusted, the
    // refresh token would have gone there.
    let cases: Vec<(&str, Planted<'_>)> = vec![
        ("not JSON", Box::new(|_, _| b"\x00\xffnot json at all".to_vec())),
        ("truncated", Box::new(|i, t| entry_for(i, t, t0, t0 + 600).to_string().as_bytes()[..40].to_vec())),
        (
            "another issuer's",
            Box::new(|_, t| entry_for("http://127.0.0.1:1", t, t0, t0 + 600).to_string().into()),
        ),
        (
            "another version",
            Box::new(|i, t| {
                let mut e = entry_for(i, t, t0, t0 + 600);
                e["version"] = 3.into();
                e.to_string().into()
            }),
        ),
        ("longer than the cap", Box::new(|i, t| entry_for(i, t, t0, t0 + 30 * 24 * 3600).to_string().into())),
        ("fetched in the future", Box::new(|i, t| entry_for(i, t, t0 + 3600, t0 + 7200).to_string().into())),
        (
            "an endpoint neither https nor loopback",
            Box::new(|i, _| entry_for(i, "http://evil.example/token", t0, t0 + 600).to_string().into()),
        ),
    ];
    for (case, make) in cases {
        let p = provider(None);
        let elsewhere = FakeProvider::start();
        let h = Harness::new(StoreKind::Mock);
        session(&p, &h);
        plant(&h, &p.issuer(), &make(&p.issuer(), &elsewhere.url("/token")));
        assert_eq!(refresh_at(&h, t0), 0, "{case}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("metadata cache: ignoring"), "{case}: {}", h.stderr.text());
        assert_eq!((p.count(DISCOVERY), refreshes(&p)), (1, 1), "{case}");
        assert!(elsewhere.requests().is_empty(), "{case}: the planted endpoint was used");
        let entry = cached(&h, &p.issuer()).unwrap_or_else(|| panic!("{case}: not replaced"));
        assert_eq!(entry["token_endpoint"], p.url("/token"), "{case}");
    }
}

#[test]
fn a_cache_file_another_user_owns_or_others_can_write_is_ignored_but_a_private_one_is_used() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(
        rustix::process::getuid().as_raw(),
        0,
        "this test gives a file to another user and needs root, as CI has"
    );
    let t0 = now();
    let cases: &[Spoil] = &[
        ("private (the control)", |_| {}),
        ("owned by another user", |path| std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap()),
        ("world-writable", |path| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).unwrap()
        }),
        ("group-writable by another group", |path| {
            std::os::unix::fs::chown(path, None, Some(65534)).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).unwrap()
        }),
        ("a symbolic link", |path| {
            let target = path.with_extension("target");
            std::fs::rename(path, &target).unwrap();
            std::os::unix::fs::symlink(&target, path).unwrap();
        }),
    ];
    for (case, spoil) in cases {
        let p = provider(None);
        let elsewhere = FakeProvider::start();
        let h = Harness::new(StoreKind::Mock);
        session(&p, &h);
        let path = plant(
            &h,
            &p.issuer(),
            entry_for(&p.issuer(), &elsewhere.url("/token"), t0, t0 + 600).to_string().as_bytes(),
        );
        spoil(&path);
        let code = refresh_at(&h, t0);
        if case.starts_with("private") {
            // Trusted: the refresh went where the entry said (and that provider refused it).
            assert_eq!(elsewhere.token_requests("refresh_token").len(), 1, "{case}: {}", h.stderr.text());
            assert_eq!(p.count(DISCOVERY), 0, "{case}");
            assert_eq!(code, 4, "{case}: {}", h.stderr.text());
            continue;
        }
        assert_eq!(code, 0, "{case}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("metadata cache: ignoring"), "{case}: {}", h.stderr.text());
        assert!(elsewhere.requests().is_empty(), "{case}: the planted endpoint was used");
        assert_eq!((p.count(DISCOVERY), refreshes(&p)), (1, 1), "{case}");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file(), "{case}: not replaced by a regular file");
        assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600), "{case}: not replaced");
        assert_eq!(cached(&h, &p.issuer()).unwrap()["token_endpoint"], p.url("/token"), "{case}");
    }
}

#[test]
fn a_cached_token_endpoint_that_refuses_connections_is_rediscovered_and_the_refresh_sent_once() {
    let p = provider(None);
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h);
    let t0 = now();
    assert_eq!(refresh_at(&h, t0), 0, "{}", h.stderr.text());
    // The provider moved its token endpoint; the cache still names the old one, where nothing
    // listens any more.
    let mut entry = cached(&h, &p.issuer()).unwrap();
    entry["token_endpoint"] = format!("http://127.0.0.1:{}/token", closed_port()).into();
    plant(&h, &p.issuer(), entry.to_string().as_bytes());
    let sent_before = refreshes(&p);
    let stored = h.stored("p").unwrap();

    assert_eq!(refresh_at(&h, t0 + 60), 0, "{}", h.stderr.text());
    let log = h.stderr.text();
    assert!(log.contains("metadata: from the cache"), "{log}");
    assert!(log.contains("is not there"), "{log}");
    assert!(log.contains("token endpoint moved"), "{log}");
    assert_eq!(p.count(DISCOVERY), 2, "rediscovered once");
    let sent: Vec<String> = p.token_requests("refresh_token")[sent_before..]
        .iter()
        .filter_map(|r| r.form_value("refresh_token"))
        .collect();
    assert_eq!(
        sent,
        vec![stored["refresh_token"].as_str().unwrap().to_string()],
        "sent once, to the new one"
    );
    assert!(!p.family_revoked_by_reuse());
    assert_eq!(h.stored("p").unwrap()["generation"], stored["generation"].as_u64().unwrap() + 1);
    assert_eq!(
        cached(&h, &p.issuer()).unwrap()["token_endpoint"],
        p.url("/token"),
        "the cache was corrected"
    );
}

#[test]
fn a_cached_token_endpoint_that_answers_404_drops_the_entry_without_resending() {
    let p = provider(None);
    let h = Harness::new(StoreKind::Mock);
    session(&p, &h);
    let t0 = now();
    assert_eq!(refresh_at(&h, t0), 0, "{}", h.stderr.text());
    let mut entry = cached(&h, &p.issuer()).unwrap();
    entry["token_endpoint"] = p.url("/old/token").into();
    plant(&h, &p.issuer(), entry.to_string().as_bytes());
    let stored = h.stored("p").unwrap();

    // The request reached a server: this command does not send the refresh token again.
    assert_eq!(refresh_at(&h, t0 + 60), 9, "{}", h.stderr.text());
    assert_eq!(p.count("/old/token"), 1);
    assert_eq!((p.count(DISCOVERY), refreshes(&p)), (1, 1), "retried after a 404");
    assert!(cache_file(&h, &p.issuer()).symlink_metadata().is_err(), "the entry was kept");
    assert_eq!(h.stored("p").unwrap(), stored, "a 404 changed the record");
    // The next command rediscovers, and the refresh token still works.
    assert_eq!(refresh_at(&h, t0 + 120), 0, "{}", h.stderr.text());
    assert_eq!((p.count(DISCOVERY), refreshes(&p)), (2, 2));
    assert!(!p.family_revoked_by_reuse());
}
