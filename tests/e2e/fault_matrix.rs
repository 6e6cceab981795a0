//! Fault matrices: how vouch behaves when the provider or the credential store misbehaves.
//!
//! **Server faults** run in-process (keyring-core's mock store, a 2 s HTTP timeout) against
//! the fake provider. Every fault is tried on five targets: a client-credentials login with
//! the fault on `/token` and on discovery, a `vouch refresh`, a `vouch token` on an expired
//! record with the fault on `/token`, and a `vouch token` whose refresh meets the fault at
//! discovery. Each run asserts the documented exit code, a time bound, that nothing was
//! stored (login) or that the stored record and config are byte-for-byte unchanged
//! (refresh), that the refresh token was sent at most once, that no other host (a redirect
//! target) was contacted, and that no canary secret reached stdout or stderr. Runs go in
//! parallel threads; every failure is reported with its case name.
//!
//! **Store faults** run the real binary against a private Secret Service (gnome-keyring on a
//! private D-Bus bus) or the kernel keyring: locked, no bus, no service, corrupt records,
//! ambiguous duplicates, a value too large for keyutils, and a store that stops answering.
//! Each error must be one line on stderr naming the next step, without Debug output.

use crate::support::fake_provider::{self, FakeProvider, Fault};
use crate::support::in_process::{Harness, now};
use crate::support::secret_service::{ENV_REMOVE, SecretService};
use crate::support::{Run, Vouch, unique_profile};
use keyring_core::api::CredentialStoreApi;
use serde_json::json;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vouch::store::{SERVICE, StoreKind};

/// Every secret in this file contains this, so one search finds any leak.
const CANARY: &str = "canary";
const CLIENT_SECRET: &str = "canary-client-secret-4e1f";
const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
/// The in-process HTTP timeout for the server matrix.
const HTTP_TIMEOUT: Duration = Duration::from_secs(2);
/// Debug-formatted fragments that must never reach a user.
const DEBUG_JUNK: &[&str] =
    &["Error {", "PlatformFailure(", "NoStorageAccess(", "BadEncoding(", "Ambiguous(", "Some(", "Os {"];

// ------------------------------------------------------------------------------------------
// Running table cases in parallel
// ------------------------------------------------------------------------------------------

/// Run every case in its own thread; fail once, listing every case that panicked.
fn run_parallel<C: Sync>(cases: &[C], name: impl Fn(&C) -> String, check: impl Fn(&C) + Sync) {
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases.iter().map(|case| (name(case), scope.spawn(|| check(case)))).collect();
        handles
            .into_iter()
            .filter_map(|(name, handle)| {
                handle.join().err().map(|panic| format!("[{name}] {}", text(&panic)))
            })
            .collect()
    });
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n\n"));
}

fn text(panic: &Box<dyn std::any::Any + Send>) -> String {
    match (panic.downcast_ref::<String>(), panic.downcast_ref::<&str>()) {
        (Some(s), _) => s.clone(),
        (_, Some(s)) => s.to_string(),
        _ => "(a panic without a message)".to_string(),
    }
}

/// stderr of a failed command: the one `vouch: ...` message, no Debug output.
fn assert_clean_error(case: &str, stderr: &str) {
    assert!(stderr.contains("vouch: "), "{case}: no `vouch: ` error message on stderr: {stderr:?}");
    for junk in DEBUG_JUNK {
        assert!(!stderr.contains(junk), "{case}: Debug output `{junk}` on stderr: {stderr:?}");
    }
}

// ------------------------------------------------------------------------------------------
// Server fault matrix (in-process)
// ------------------------------------------------------------------------------------------

/// Where the fault is met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `vouch login ci --client-credentials`, fault on `/token`.
    LoginToken,
    /// The same login, fault on the discovery document.
    LoginDiscovery,
    /// `vouch refresh p` on a seeded session, fault on `/token`.
    Refresh,
    /// `vouch token p` on an expired record, fault on `/token`.
    TokenRefresh,
    /// `vouch token p` on an expired record, fault on the discovery document.
    TokenDiscovery,
}

const ALL_TARGETS: &[Target] = &[
    Target::LoginToken,
    Target::LoginDiscovery,
    Target::Refresh,
    Target::TokenRefresh,
    Target::TokenDiscovery,
];
/// For provider misbehaviour that is not tied to a faulted path.
const GRANT_TARGETS: &[Target] = &[Target::LoginToken, Target::Refresh, Target::TokenRefresh];

impl Target {
    fn faulted_path(self) -> &'static str {
        match self {
            Target::LoginDiscovery | Target::TokenDiscovery => OIDC_DISCOVERY,
            _ => "/token",
        }
    }

    fn is_login(self) -> bool {
        matches!(self, Target::LoginToken | Target::LoginDiscovery)
    }
}

/// At which request a misconfigured provider is caught.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Discovery,
    Token,
}

enum Inject {
    /// A transport or answer fault on the target's path (forever, so a retry would show). The
    /// argument is the URL of the same path on another provider, for redirects.
    Fault(fn(&str) -> Fault),
    /// Provider behaviour, and the request at which vouch must stop.
    Config(fn(&mut fake_provider::Config), Stage),
}

struct ServerCase {
    name: &'static str,
    inject: Inject,
    code: u8,
    targets: &'static [Target],
    within: Duration,
    /// The request may have reached the provider and it may have acted on it (the answer was
    /// lost, or it answered success in a way vouch cannot use): a refresh then marks the
    /// refresh token spent, never to be sent again, and exits with this code.
    lost: Option<u8>,
}

impl ServerCase {
    fn lost(self, code: u8) -> ServerCase {
        ServerCase { lost: Some(code), ..self }
    }
}

fn status_with(status: u16, body: &str, headers: &[(&str, &str)]) -> Fault {
    Fault::Status {
        status,
        body: body.to_string(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

const HTML_PAGE: &str = "<html><body><h1>Oops</h1><p>request canary-html-9d2c failed</p></body></html>";

fn server_cases() -> Vec<ServerCase> {
    fn fault(name: &'static str, make: fn(&str) -> Fault, code: u8, within: Duration) -> ServerCase {
        ServerCase { name, inject: Inject::Fault(make), code, targets: ALL_TARGETS, within, lost: None }
    }
    fn config(name: &'static str, set: fn(&mut fake_provider::Config), stage: Stage, code: u8) -> ServerCase {
        ServerCase {
            name,
            inject: Inject::Config(set, stage),
            code,
            targets: GRANT_TARGETS,
            within: Duration::from_secs(10),
            lost: None,
        }
    }
    let s = Duration::from_secs;
    vec![
        fault(
            "HTTP 500 with Retry-After",
            |_| status_with(500, r#"{"detail":"canary-500-body"}"#, &[("Retry-After", "7")]),
            5,
            s(10),
        ),
        fault(
            "HTTP 503 with Retry-After",
            |_| status_with(503, r#"{"detail":"canary-503-body"}"#, &[("Retry-After", "120")]),
            5,
            s(10),
        ),
        fault(
            "HTTP 429",
            |_| status_with(429, "canary-429-body", &[("Content-Type", "text/plain")]),
            5,
            s(10),
        ),
        fault("malformed JSON with HTTP 200", |_| Fault::status(200, r#"{"access_token":"#), 9, s(10))
            .lost(9),
        fault(
            "HTML error page with HTTP 200",
            |_| status_with(200, HTML_PAGE, &[("Content-Type", "text/html")]),
            9,
            s(10),
        )
        .lost(9),
        fault(
            "HTML error page with HTTP 502",
            |_| status_with(502, HTML_PAGE, &[("Content-Type", "text/html")]),
            5,
            s(10),
        ),
        // Reading 50 MB would take far longer than this; the 1 MiB cap must stop early.
        fault("50 MB body", |_| Fault::HugeBody(50 * 1024 * 1024), 9, s(5)).lost(9),
        // The HTTP timeout is 2 s: allow for it, with margin, and no more.
        fault("stall mid-body", |_| Fault::StallMidBody, 5, s(6)).lost(4),
        fault("stall before answering", |_| Fault::Stall, 5, s(6)).lost(4),
        fault("connection reset", |_| Fault::Reset, 5, s(10)).lost(4),
        fault("redirect", |to| Fault::Redirect(to.to_string()), 9, s(10)),
        config(
            "wrong issuer in discovery",
            |c| c.issuer_override = Some("https://evil.example".to_string()),
            Stage::Discovery,
            9,
        ),
        config("token response without access_token", |c| c.omit_access_token = true, Stage::Token, 9)
            .lost(9),
        config("negative expires_in (-5)", |c| c.access_token_ttl = -5, Stage::Token, 9).lost(9),
        config("huge expires_in (99999999999)", |c| c.access_token_ttl = 99_999_999_999, Stage::Token, 9)
            .lost(9),
    ]
}

/// The raw bytes stored for `profile` in the harness's mock store.
fn raw(h: &Harness, profile: &str) -> Option<Vec<u8>> {
    let entry = h.backend.build(SERVICE, &h.entry(profile), None).unwrap();
    match entry.get_secret() {
        Ok(bytes) => Some(bytes),
        Err(keyring_core::Error::NoEntry) => None,
        Err(other) => panic!("reading the mock store for '{profile}' failed: {other}"),
    }
}

fn config_bytes(h: &Harness) -> Option<Vec<u8>> {
    std::fs::read(h.dir.path().join("config.toml")).ok()
}

fn run_server_case(case: &ServerCase, target: Target) {
    let label = format!("{} / {target:?}", case.name);
    let p =
        FakeProvider::start_with(fake_provider::Config { token_prefix: CANARY.into(), ..Default::default() });
    // A second host: the redirect target, and a witness that nothing else is contacted.
    let elsewhere = FakeProvider::start();
    p.register_client("svc", Some(CLIENT_SECRET));
    let h = Harness::new(StoreKind::Mock);

    let (args, stdin): (Vec<String>, &str) = if target.is_login() {
        let args = ["login", "ci", "--issuer", &p.issuer(), "--client-id", "svc", "--client-credentials"];
        (args.map(String::from).to_vec(), CLIENT_SECRET)
    } else {
        let (access, refresh) = p.issue_grant("alice", "openid offline_access");
        h.seed_profile("p", &p.issuer(), "cli", "device");
        h.seed_record(
            "p",
            json!({"version":1,"generation":4,"access_token":access,"token_type":"Bearer",
                   "expires_at": now() - 10,"refresh_token":refresh,"scope":"openid offline_access",
                   "account":"alice"}),
        );
        let command = if target == Target::Refresh { "refresh" } else { "token" };
        (vec![command.to_string(), "p".to_string()], "")
    };
    let seeded = raw(&h, "p");
    let seeded_refresh: Option<String> = seeded.as_ref().map(|bytes| {
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        value["refresh_token"].as_str().unwrap().to_string()
    });
    let config_before = config_bytes(&h);

    let stage = match &case.inject {
        Inject::Fault(make) => {
            let path = target.faulted_path();
            p.set_fault(path, make(&elsewhere.url(path)), None);
            if path == OIDC_DISCOVERY { Stage::Discovery } else { Stage::Token }
        }
        Inject::Config(set, stage) => {
            p.set_config(set);
            *stage
        }
    };

    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let code = h.run_with(&argv, stdin, |ctx| ctx.settings.http_timeout = HTTP_TIMEOUT);
    let elapsed = started.elapsed();
    let (stdout, stderr) = (h.stdout.text(), h.stderr.text());
    let lost = case.lost.filter(|_| !target.is_login() && stage == Stage::Token);

    assert_eq!(code, lost.unwrap_or(case.code), "{label}: exit code\nstderr: {stderr}");
    assert!(elapsed < case.within, "{label}: took {elapsed:?}, bound {:?}", case.within);
    assert!(stdout.is_empty(), "{label}: a failed command printed on stdout: {stdout:?}");
    assert!(!stdout.contains(CANARY) && !stderr.contains(CANARY), "{label}: a secret leaked: {stderr:?}");
    assert_clean_error(&label, &stderr);
    assert!(
        elsewhere.requests().is_empty(),
        "{label}: another host was contacted: {:?}",
        elsewhere.requests().iter().map(|r| r.path.clone()).collect::<Vec<_>>()
    );
    let token_requests_expected = usize::from(stage == Stage::Token);

    if target.is_login() {
        assert_eq!(raw(&h, "ci"), None, "{label}: a failed login stored a credential");
        assert_eq!(config_bytes(&h), None, "{label}: a failed login wrote config.toml");
        assert_eq!(
            p.count("/token"),
            token_requests_expected,
            "{label}: /token requests (one grant, never retried)"
        );
    } else {
        if lost.is_some() {
            // The provider may have consumed the refresh token: the record says it is spent.
            let stored: serde_json::Value = serde_json::from_slice(&raw(&h, "p").unwrap()).unwrap();
            assert_eq!(
                stored["refresh_spent"], "lost",
                "{label}: the record does not say the token is spent"
            );
            assert_eq!(
                stored["refresh_token"].as_str(),
                seeded_refresh.as_deref(),
                "{label}: the token changed"
            );
            assert!(stderr.contains("vouch login p"), "{label}: no next step: {stderr}");
            // ... and no later command sends it again.
            h.stderr.clear();
            let again = h.run_with(&["token", "p"], "", |ctx| ctx.settings.http_timeout = HTTP_TIMEOUT);
            assert_eq!(again, 4, "{label}: the next command: {}", h.stderr.text());
            assert!(h.stderr.text().contains("vouch login p"), "{label}: {}", h.stderr.text());
        } else {
            // Byte-for-byte; `assert!` rather than `assert_eq!` so a failure does not print tokens.
            assert!(raw(&h, "p") == seeded, "{label}: the stored record changed");
        }
        assert!(config_bytes(&h) == config_before, "{label}: config.toml changed");
        let sent = p.token_requests("refresh_token");
        assert_eq!(sent.len(), token_requests_expected, "{label}: refresh requests (never sent twice)");
        for request in &sent {
            assert_eq!(request.form_value("refresh_token"), seeded_refresh, "{label}: sent another token");
        }
    }
}

#[test]
fn server_faults_are_classified_bounded_and_change_nothing() {
    let cases = server_cases();
    let runs: Vec<(&ServerCase, Target)> =
        cases.iter().flat_map(|case| case.targets.iter().map(move |t| (case, *t))).collect();
    run_parallel(
        &runs,
        |(case, target)| format!("{} / {target:?}", case.name),
        |(case, target)| run_server_case(case, *target),
    );
}

// ------------------------------------------------------------------------------------------
// A self-signed TLS certificate
// ------------------------------------------------------------------------------------------

/// `openssl s_server` on a free loopback port, killed on drop.
struct TlsServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> Self {
        let version = Command::new("openssl").arg("version").output();
        if !version.is_ok_and(|o| o.status.success()) {
            panic!("the `openssl` program is missing: apt-get install openssl");
        }
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let made = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .args(["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
            .output()
            .expect("run openssl req");
        assert!(made.status.success(), "openssl req failed: {}", String::from_utf8_lossy(&made.stderr));

        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(dir.path().join("s_server.log")).unwrap();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-www", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn openssl s_server");
        let mut server = TlsServer { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                let log =
                    std::fs::read_to_string(server._dir.path().join("s_server.log")).unwrap_or_default();
                panic!("openssl s_server exited ({status}) before accepting: {log}");
            }
            assert!(Instant::now() < deadline, "openssl s_server did not accept on port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Found a defect, now fixed: ureq 3 reports a failed rustls handshake (an unknown issuer here)
// as `Error::Io` of kind InvalidData, which vouch first classified as "the connection broke"
// (exit 5). A certificate that is not acceptable is a provider problem: exit 9.
#[test]
fn a_self_signed_certificate_is_exit_9_and_stores_nothing() {
    let server = TlsServer::start();
    let issuer = format!("https://127.0.0.1:{}", server.port);
    let h = Harness::new(StoreKind::Mock);
    let started = Instant::now();
    let code = h.run_with(
        &["login", "x", "--issuer", &issuer, "--client-id", "c", "--client-credentials"],
        CLIENT_SECRET,
        |ctx| ctx.settings.http_timeout = HTTP_TIMEOUT,
    );
    let elapsed = started.elapsed();
    let (stdout, stderr) = (h.stdout.text(), h.stderr.text());
    let case = "self-signed TLS certificate";
    assert_eq!(code, 9, "{case}: exit code\nstderr: {stderr}");
    assert!(elapsed < Duration::from_secs(10), "{case}: took {elapsed:?}");
    assert!(stderr.contains("TLS"), "{case}: the message does not name TLS: {stderr}");
    assert!(stdout.is_empty(), "{case}: stdout: {stdout:?}");
    assert!(!stderr.contains(CANARY), "{case}: a secret leaked: {stderr}");
    assert_clean_error(case, &stderr);
    assert_eq!(raw(&h, "x"), None, "{case}: a credential was stored");
    assert_eq!(config_bytes(&h), None, "{case}: config.toml was written");
}

// ------------------------------------------------------------------------------------------
// Store fault matrix (the real binary, real stores)
// ------------------------------------------------------------------------------------------

const GOOD: &str = "canary-store-matrix-access-7d01";

/// Run the binary with a hard deadline: a hang fails the test instead of stalling it.
fn run_bounded(vouch: &Vouch, case: &str, args: &[&str], stdin: Option<&[u8]>, limit: Duration) -> Run {
    let mut cmd = vouch.command(args);
    for var in ENV_REMOVE {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn vouch");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        let _ = pipe.write_all(bytes);
    }
    drop(pipe);
    let drain = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = from.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for vouch") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let Some(status) = status else {
        panic!(
            "{case}: `vouch {}` did not finish within {limit:?} and was killed\nstderr: {stderr}",
            args.join(" ")
        );
    };
    Run { code: status.code().unwrap_or(-1), stdout, stderr, elapsed }
}

/// A binary-level case: its name, the arguments, and what goes on stdin.
type CommandCase<'a> = (&'a str, &'a [&'a str], Option<&'a [u8]>);

/// A generous bound for a command that must not hang.
const NO_HANG: Duration = Duration::from_secs(10);

/// A failed command: its exit code, time, one clean line naming a next step, no secret.
fn assert_store_error(case: &str, run: &Run, code: i32, steps: &[&str], within: Duration) {
    assert_eq!(run.code, code, "{case}: exit code\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.elapsed < within, "{case}: took {:?}, bound {within:?}", run.elapsed);
    assert!(run.stdout.is_empty(), "{case}: a failed command printed on stdout: {:?}", run.stdout);
    assert!(
        !run.stdout.contains(CANARY) && !run.stderr.contains(CANARY),
        "{case}: a secret or stored bytes leaked: {:?}",
        run.stderr
    );
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{case}: stderr must be one message: {:?}", run.stderr);
    assert!(lines[0].starts_with("vouch: "), "{case}: {:?}", run.stderr);
    assert!(
        steps.iter().any(|step| lines[0].contains(step)),
        "{case}: the message names none of the next steps {steps:?}: {}",
        lines[0]
    );
    assert_clean_error(case, &run.stderr);
}

fn assert_ok(case: &str, run: &Run) {
    assert_eq!(run.code, 0, "{case}: exit code\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(run.elapsed < NO_HANG, "{case}: took {:?}", run.elapsed);
    assert!(!run.stdout.contains(CANARY) && !run.stderr.contains(CANARY), "{case}: a secret leaked");
}

fn secret_service_with_session() -> (SecretService, FakeProvider, Vouch) {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let vouch = Vouch::new("secret-service", ss.env());
    let login = vouch.login_with_token("p", &provider.issuer(), GOOD);
    assert_eq!(login.code, 0, "seeding a session failed: {}", login.stderr);
    assert_eq!(ss.count_items("vouch"), 1);
    (ss, provider, vouch)
}

#[test]
fn a_locked_keyring_is_exit_6_and_changes_nothing() {
    let (ss, provider, vouch) = secret_service_with_session();
    let item = ss.lookup("vouch", &vouch.entry_of("p")).expect("the seeded item");
    let config = std::fs::read(vouch.config_file()).unwrap();
    ss.lock();

    let issuer = provider.issuer();
    let login_new = ["login", "q", "--issuer", &issuer, "--client-id", "cli", "--with-token"];
    let cases: &[CommandCase] = &[
        ("locked: token", &["token", "p"], None),
        ("locked: status p", &["status", "p"], None),
        ("locked: status", &["status"], None),
        ("locked: login of a new profile", &login_new, Some(GOOD.as_bytes())),
        ("locked: login again", &["login", "p", "--with-token"], Some(GOOD.as_bytes())),
        ("locked: logout", &["logout", "p"], None),
    ];
    for (case, args, stdin) in cases {
        let run = run_bounded(&vouch, case, args, *stdin, NO_HANG);
        assert_store_error(case, &run, 6, &["unlock"], Duration::from_secs(5));
    }

    ss.unlock();
    assert_eq!(ss.lookup("vouch", &vouch.entry_of("p")), Some(item), "locked: the stored item changed");
    assert_eq!(ss.lookup("vouch", &vouch.entry_of("q")), None, "locked: a login stored something");
    assert_eq!(ss.count_items("vouch"), 1, "locked: items were added or removed");
    assert_eq!(std::fs::read(vouch.config_file()).unwrap(), config, "locked: config.toml changed");
}

// Found a defect, now fixed: on a locked keyring, looking up a profile with no item succeeds
// (searching works while locked), so a login ran the whole sign-in and failed only at the final
// write. vouch now checks that the store can be written before signing a new profile in.
#[test]
fn a_login_on_a_locked_keyring_contacts_no_provider() {
    let (ss, provider, vouch) = secret_service_with_session();
    let config = std::fs::read(vouch.config_file()).unwrap();
    let userinfo = provider.count("/userinfo");
    ss.lock();
    let issuer = provider.issuer();
    let case = "locked: login of a new profile";
    let run = run_bounded(
        &vouch,
        case,
        &["login", "q", "--issuer", &issuer, "--client-id", "cli", "--with-token"],
        Some(GOOD.as_bytes()),
        NO_HANG,
    );
    assert_store_error(case, &run, 6, &["unlock"], Duration::from_secs(5));
    assert_eq!(provider.count("/userinfo"), userinfo, "{case}: the token was sent to the provider");
    ss.unlock();
    assert_eq!(ss.lookup("vouch", &vouch.entry_of("q")), None, "{case}: a login stored something");
    assert_eq!(std::fs::read(vouch.config_file()).unwrap(), config, "{case}: config.toml changed");
}

/// A config dir holding profile `p`, as a login would have written it.
fn seed_config(vouch: &Vouch, issuer: &str) -> Vec<u8> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(vouch.config_dir()).unwrap();
    let text = format!(
        "[profiles.p]\nissuer = \"{issuer}\"\nclient_id = \"cli\"\nflow = \"device\"\ncredential_id = \"{}\"\n",
        crate::support::SEEDED_ID
    );
    std::fs::write(vouch.config_file(), &text).unwrap();
    std::fs::set_permissions(vouch.config_file(), std::fs::Permissions::from_mode(0o600)).unwrap();
    text.into_bytes()
}

fn assert_no_store_at_all(setting: &str, vouch: &Vouch, provider: &FakeProvider) {
    let config = seed_config(vouch, &provider.issuer());
    let issuer = provider.issuer();
    let login_new = ["login", "q", "--issuer", &issuer, "--client-id", "cli", "--with-token"];
    let cases: [CommandCase; 5] = [
        ("login of a new profile", &login_new, Some(GOOD.as_bytes())),
        ("token", &["token", "p"], None),
        ("status", &["status", "p"], None),
        ("exec", &["exec", "p", "--", "true"], None),
        ("logout", &["logout", "p"], None),
    ];
    for (what, args, stdin) in cases {
        let case = format!("{setting}: {what}");
        let run = run_bounded(vouch, &case, args, stdin, NO_HANG);
        assert_store_error(&case, &run, 7, &["install", "--store"], NO_HANG);
        assert!(run.stderr.contains("never falls back to plaintext"), "{case}: {}", run.stderr);
    }
    assert_eq!(provider.count("/userinfo"), 0, "{setting}: the token was sent without a store to keep it");
    assert_eq!(std::fs::read(vouch.config_file()).unwrap(), config, "{setting}: config.toml changed");
    crate::support::assert_no_file_contains(&vouch.config_dir(), &[GOOD]);
}

#[test]
fn no_usable_secret_service_is_exit_7() {
    let provider = FakeProvider::start();
    provider.add_access_token(GOOD, "alice");
    let (_dir, env) = SecretService::no_bus_env();
    assert_no_store_at_all("no bus", &Vouch::new("secret-service", env), &provider);
    let bus = SecretService::bus_without_service();
    assert_no_store_at_all(
        "no Secret Service on the bus",
        &Vouch::new("secret-service", bus.env()),
        &provider,
    );
}

#[test]
fn unreadable_records_are_exit_8_and_logout_clears_them() {
    let (ss, _provider, vouch) = secret_service_with_session();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let exec_marker = format!("touch '{}'", marker.display());
    let cases: &[(&str, &[u8])] = &[
        ("garbage", b"canary-corrupt {not json"),
        ("non-UTF-8 bytes", b"\xff\xfe canary-non-utf8 \xc3\x28 \x80"),
        (
            "unknown record version",
            br#"{"version":99,"generation":1,"access_token":"canary-v99","token_type":"Bearer"}"#,
        ),
    ];
    for (what, bytes) in cases {
        ss.store("vouch", &vouch.entry_of("p"), bytes);
        assert_eq!(ss.count_items("vouch"), 1, "{what}: the corrupt item did not replace the record");
        let commands: [(&str, &[&str]); 3] = [
            ("token", &["token", "p"]),
            ("status", &["status", "p"]),
            ("exec", &["exec", "p", "--", "sh", "-c", &exec_marker]),
        ];
        for (command, args) in commands {
            let case = format!("{what}: {command}");
            let run = run_bounded(&vouch, &case, args, None, NO_HANG);
            assert_store_error(&case, &run, 8, &["vouch logout p"], NO_HANG);
            assert!(run.stderr.contains("vouch login p"), "{case}: {}", run.stderr);
        }
        assert!(!marker.exists(), "{what}: exec ran its command without a token");
        let case = format!("{what}: logout");
        assert_ok(&case, &run_bounded(&vouch, &case, &["logout", "p"], None, NO_HANG));
        assert_eq!(ss.count_items("vouch"), 0, "{case}: the corrupt item is still there");
        let case = format!("{what}: token after logout");
        let run = run_bounded(&vouch, &case, &["token", "p"], None, NO_HANG);
        assert_store_error(&case, &run, 3, &["vouch login p"], NO_HANG);
    }
}

#[test]
fn duplicate_items_are_exit_8_without_leaking_and_logout_removes_only_vouchs() {
    let (ss, provider, vouch) = secret_service_with_session();
    // secret-tool replaces an item with identical attributes, so the second one has one more.
    let mut cmd = Command::new("secret-tool");
    cmd.args(["store", "--label", "x", "service", "vouch", "username", &vouch.entry_of("p"), "extra", "1"]);
    for var in ENV_REMOVE {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .envs(ss.env())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secret-tool is missing: apt-get install libsecret-tools");
    child.stdin.take().unwrap().write_all(b"canary-duplicate-item-content").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "secret-tool store: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ss.count_items("vouch"), 2, "duplicates: the second item was not added");

    for (case, args) in
        [("duplicates: token", &["token", "p"][..]), ("duplicates: status", &["status", "p"][..])]
    {
        let run = run_bounded(&vouch, case, args, None, NO_HANG);
        assert_store_error(case, &run, 8, &["vouch logout p"], NO_HANG);
    }
    // Logout used to delete both items without revoking anything: it could read neither, so it
    // deleted every match, another program's item included. Now it reads each: vouch's (its
    // secret is a vouch record) is revoked at the provider and deleted; the other program's is
    // left as it was, and the command says so.
    let case = "duplicates: logout";
    let run = run_bounded(&vouch, case, &["logout", "p"], None, NO_HANG);
    assert_ok(case, &run);
    assert!(run.stderr.contains("Signed out of 'p'"), "{case}: {}", run.stderr);
    assert!(
        run.stderr.contains("1 other item(s)") && run.stderr.contains("left in place"),
        "{case}: {}",
        run.stderr
    );
    let revoked = provider.requests_to("/revoke");
    assert_eq!(revoked.len(), 1, "{case}: vouch's credential was not revoked");
    assert_eq!(revoked[0].form_value("token").as_deref(), Some(GOOD), "{case}: revoked something else");
    assert!(!provider.is_access_token_active(GOOD), "{case}");
    assert_eq!(ss.count_items("vouch"), 1, "{case}: the other program's item was deleted");
    assert_eq!(
        ss.lookup("vouch", &vouch.entry_of("p")).as_deref(),
        Some(&b"canary-duplicate-item-content"[..]),
        "{case}: the item left is not the other program's, or it was changed"
    );
    // What is left is not a vouch record: it is never handed out as a token.
    let case = "duplicates: token after logout";
    let run = run_bounded(&vouch, case, &["token", "p"], None, NO_HANG);
    assert_store_error(case, &run, 8, &["vouch logout p"], NO_HANG);
}

/// The id of a key in `@u` that vouch holds for `profile`, if there is one.
fn key_id(profile: &str) -> Option<String> {
    crate::support::user_keys(profile).into_iter().next()
}

/// Removes the test's key even when the test fails.
struct KeyCleanup(String);

impl Drop for KeyCleanup {
    fn drop(&mut self) {
        crate::support::remove_user_keys(&self.0);
    }
}

#[test]
fn a_credential_too_large_for_keyutils_is_exit_7_and_never_truncated() {
    let name = unique_profile("fm-big");
    let _cleanup = KeyCleanup(name.clone());
    // Every minted secret starts with the prefix: a 40 000-character access token.
    let prefix = format!("{CANARY}{}", "x".repeat(40_000));
    let provider =
        FakeProvider::start_with(fake_provider::Config { token_prefix: prefix, ..Default::default() });
    provider.register_client("svc", Some(CLIENT_SECRET));
    let vouch = Vouch::new("keyutils", vec![]);
    let case = "keyutils: a 40 000-byte access token";
    let issuer = provider.issuer();
    let run = run_bounded(
        &vouch,
        case,
        &["login", &name, "--issuer", &issuer, "--client-id", "svc", "--client-credentials"],
        Some(CLIENT_SECRET.as_bytes()),
        NO_HANG,
    );
    assert_store_error(case, &run, 7, &["--store"], NO_HANG);
    assert!(run.stderr.contains("nothing was stored"), "{case}: {}", run.stderr);
    assert!(run.stderr.contains("32767"), "{case}: the limit is not named: {}", run.stderr);
    assert_eq!(provider.token_requests("client_credentials").len(), 1, "{case}: the grant was retried");
    assert_eq!(key_id(&name), None, "{case}: a key was stored");
    assert!(!vouch.config_file().exists(), "{case}: config.toml was written");
}

/// Sends SIGCONT to a stopped process when dropped, even on panic.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}

// Found a defect, now fixed: a stopped gnome-keyring makes dbus-secret-service's calls end with
// `org.freedesktop.DBus.Error.NoReply` after its own 2 s timeout, reported as a platform
// failure, which vouch first classified as "no secure store" (exit 7, install advice). A store
// that does not answer is "locked or waiting": exit 6.
#[test]
fn a_store_that_stops_answering_is_exit_6_within_the_store_timeout() {
    let (ss, _provider, vouch) = secret_service_with_session();
    let item = ss.lookup("vouch", &vouch.entry_of("p")).expect("the seeded item");
    let pid = ss.keyring_pid();
    let stopped = Command::new("kill").args(["-STOP", &pid.to_string()]).status().expect("run kill");
    assert!(stopped.success(), "kill -STOP {pid} failed");
    let resume = Resume(pid);

    let case = "hung store: token";
    // The store timeout is 5 s; a run bounded at 20 s shows a hang as a failure, not a stall.
    let run = run_bounded(&vouch, case, &["token", "p"], None, Duration::from_secs(20));
    assert_store_error(case, &run, 6, &["unlock"], Duration::from_secs(8));
    assert!(run.stderr.contains("did not answer"), "{case}: {}", run.stderr);

    drop(resume);
    assert_eq!(ss.lookup("vouch", &vouch.entry_of("p")), Some(item), "{case}: the stored item changed");
}
