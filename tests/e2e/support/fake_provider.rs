//! A fake OAuth 2.0 / OpenID Connect provider for end-to-end tests.
//!
//! This module owns [`FakeProvider`]: an in-memory authorization server that
//! listens on `127.0.0.1` (a random port) in a background thread and speaks
//! plain HTTP/1.1 using only `std::net` (one thread per connection,
//! `Connection: close` on every response). It follows the specifications the
//! real client has to cope with:
//!
//! * discovery: OpenID Connect Discovery 1.0 and RFC 8414;
//! * `/authorize`: the authorization code grant with mandatory PKCE S256
//!   (RFC 6749 §4.1, RFC 7636), plus an OIDC `nonce`;
//! * `/token`: `authorization_code`, `refresh_token` (rotation and reuse
//!   detection), `client_credentials` and the device grant (RFC 8628), with
//!   client authentication per RFC 6749 §2.3.1;
//! * `/device`: device authorization (RFC 8628 §3.1–3.2);
//! * `/userinfo`: bearer-protected (RFC 6750), `/revoke`: RFC 7009;
//! * `/jwks` (an empty key set) and `/activate` (a tiny page on which a
//!   person can approve a device code, for `examples/dev-provider.rs`).
//!
//! Every request is recorded before it is answered, and tests can inject
//! transport faults per path ([`Fault`]). Minted secrets all start with
//! [`Config::token_prefix`] so that tests can grep output for leaked canaries.
//!
//! The file is shared by the e2e test crate (`mod fake_provider;`) and by the
//! `dev-provider` example (`#[path = ...]`), so it depends on no test
//! framework: only std, `serde_json`, `base64`, `sha2` and `getrandom`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Read as _, Write as _};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/// Which discovery documents the provider serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// Both `/.well-known/openid-configuration` and the RFC 8414 document.
    Oidc,
    /// Only `/.well-known/oauth-authorization-server` (RFC 8414).
    OAuthOnly,
    /// Neither: both well-known paths answer 404.
    None,
}

/// How `/authorize` answers a valid request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizeMode {
    /// Redirect back with a code and the client's `state`.
    Approve,
    /// Redirect back with `error=access_denied`.
    Deny,
    /// Redirect back with a code but `state=wrong-state`.
    WrongState,
}

/// How `/revoke` treats a public client (one that authenticates with `client_id` alone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationAuth {
    /// Public clients may revoke their tokens (RFC 7009 §2.1 allows it).
    Optional,
    /// Client authentication is required: 401 with `{"error":"invalid_client"}`.
    RequiredJson,
    /// Client authentication is required: a bare 401, no body.
    RequiredBare,
}

/// Provider behaviour. Every field can be changed while running with
/// [`FakeProvider::set_config`].
#[derive(Clone, Debug)]
pub struct Config {
    pub discovery: Discovery,
    /// Served as `issuer` in the discovery documents instead of the real one.
    pub issuer_override: Option<String>,
    /// Sent verbatim as `expires_in`; access tokens expire after this many
    /// seconds of real time (zero or negative: expired at once).
    pub access_token_ttl: i64,
    pub rotate_refresh_tokens: bool,
    pub reuse_detection: bool,
    /// Sent as the device `interval`; `None` omits it (clients must then use
    /// 5 s, RFC 8628 §3.2, and so does the provider's `slow_down` check).
    pub device_interval: Option<u64>,
    pub device_expires_in: u64,
    /// Answer `/device` and `/token` errors with HTTP 200 like GitHub, and use
    /// `application/x-www-form-urlencoded` unless `Accept: application/json`.
    pub github_style: bool,
    pub issue_id_token: bool,
    /// Merged into id_token claims; a `null` value removes that claim.
    pub id_token_overrides: Map<String, Value>,
    pub token_prefix: String,
    /// Characters appended to every access token minted from now on (a provider whose access
    /// tokens are large JWTs).
    pub access_token_padding: usize,
    pub omit_access_token: bool,
    pub userinfo_enabled: bool,
    pub revocation_enabled: bool,
    /// Whether `/revoke` refuses public clients ("revocation requires client auth").
    pub revocation_auth: RevocationAuth,
    /// Every OAuth error's `error_description` (at `/token`, `/device` and `/revoke`) carries a
    /// right-to-left override (U+202E), a zero-width space, and echoes the secrets the client
    /// sent: a hostile or careless provider.
    pub hostile_error_description: bool,
    /// `token_endpoint_auth_methods_supported`, also enforced.
    pub auth_methods: Vec<String>,
    pub authorize_mode: AuthorizeMode,
    /// When set, sent as `refresh_token_expires_in` and enforced.
    pub refresh_token_expires_in: Option<i64>,
    /// The end user who "logs in" at `/authorize` and approves device codes.
    pub subject: String,
    /// The loopback port to listen on; 0 picks a free one (read only at start).
    pub port: u16,
    /// The client's one registered redirect URI, matched exactly (as Okta does): `/authorize`
    /// refuses any other with an error page, never redirecting. `None` accepts any URI.
    pub registered_redirect_uri: Option<String>,
    /// Sent as `Cache-Control` on the discovery documents; `None` sends none (vouch then keeps
    /// the metadata for its default day). The default is `no-store`: the binary tests share
    /// one state directory (the user's), hence one metadata cache, for every test and every
    /// run, and a port that another provider of another test used would otherwise find that
    /// provider's metadata. Tests of the cache choose what they need.
    pub discovery_cache_control: Option<String>,
    /// Token endpoint errors are a bare status with an empty body and no OAuth error code (a
    /// gateway or a provider that gives no reason): `invalid_grant` becomes a bare 400,
    /// `invalid_client` a bare 401. The grant is refused all the same.
    pub bare_token_errors: bool,
    /// DPoP (RFC 9449): the nonce the token endpoint demands in proofs; without it, a proof
    /// is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header. `None`: no nonce needed.
    pub dpop_nonce: Option<String>,
    /// The nonce the resource endpoints (`/userinfo`, `/api/...`) demand in proofs; without
    /// it, `401 WWW-Authenticate: DPoP error="use_dpop_nonce"` with a `DPoP-Nonce` header.
    pub resource_nonce: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            discovery: Discovery::Oidc,
            issuer_override: None,
            access_token_ttl: 3600,
            rotate_refresh_tokens: true,
            reuse_detection: true,
            device_interval: Some(1),
            device_expires_in: 600,
            github_style: false,
            issue_id_token: true,
            id_token_overrides: Map::new(),
            token_prefix: "fake".to_string(),
            access_token_padding: 0,
            omit_access_token: false,
            userinfo_enabled: true,
            revocation_enabled: true,
            revocation_auth: RevocationAuth::Optional,
            hostile_error_description: false,
            auth_methods: ["client_secret_basic", "client_secret_post", "none"].map(String::from).to_vec(),
            authorize_mode: AuthorizeMode::Approve,
            refresh_token_expires_in: None,
            subject: "alice".to_string(),
            port: 0,
            registered_redirect_uri: None,
            discovery_cache_control: Some("no-store".to_string()),
            bare_token_errors: false,
            dpop_nonce: None,
            resource_nonce: None,
        }
    }
}

/// One recorded HTTP request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// The raw query string, without the `?`.
    pub query: String,
    /// Header names are lowercased; order is preserved.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(key, _)| *key == name).map(|(_, value)| value.as_str())
    }

    /// The body decoded as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_urlencoded(&self.body)
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        first_value(self.form(), key)
    }

    pub fn query_value(&self, key: &str) -> Option<String> {
        first_value(parse_urlencoded(&self.query), key)
    }

    /// `Authorization: Basic` credentials, each form-url-decoded as
    /// RFC 6749 §2.3.1 requires.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let encoded = strip_scheme(self.header("authorization")?, "basic")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((percent_decode(id), percent_decode(secret)))
    }

    /// The token of an `Authorization: Bearer` header.
    pub fn bearer(&self) -> Option<&str> {
        let token = strip_scheme(self.header("authorization")?, "bearer")?.trim();
        (!token.is_empty()).then_some(token)
    }
}

/// A transport-level misbehaviour applied instead of the normal answer.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, body and extra headers. `Content-Type`
    /// defaults to `application/json`; `Content-Length` and `Connection` are
    /// always computed by the server.
    Status { status: u16, body: String, headers: Vec<(String, String)> },
    /// Read the request, then never answer until the provider is dropped.
    Stall,
    /// Send a 200 head promising 1000 bytes, send 10, then hang.
    StallMidBody,
    /// Close the socket without answering. The request's last byte is left
    /// unread, which makes the kernel send a TCP RST instead of a FIN.
    Reset,
    /// `302 Found` with this `Location`.
    Redirect(String),
    /// 200 `application/json`: this many spaces, then `{}`.
    HugeBody(usize),
    /// Handle the request normally at once (a refresh token is consumed), but hold the answer
    /// back for this long: the "answer in flight" window of a real network.
    DelayAnswer(Duration),
    /// Handle the request normally at once (a refresh token is consumed and rotated), wait
    /// this long, then reset the connection without answering: the answer is lost after the
    /// provider acted.
    LoseAnswer(Duration),
}

impl Fault {
    /// Shorthand for a [`Fault::Status`] without extra headers.
    pub fn status(status: u16, body: &str) -> Fault {
        Fault::Status { status, body: body.to_string(), headers: Vec::new() }
    }
}

// ---------------------------------------------------------------------------
// The provider handle
// ---------------------------------------------------------------------------

/// A running fake provider; dropping it stops the server.
pub struct FakeProvider {
    shared: Arc<Shared>,
    port: u16,
    listener: Option<JoinHandle<()>>,
}

impl FakeProvider {
    pub fn start() -> Self {
        Self::start_with(Config::default())
    }

    pub fn start_with(config: Config) -> Self {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).expect("fake provider: bind 127.0.0.1");
        let port = listener.local_addr().expect("fake provider: local address").port();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config)),
            shutdown: AtomicBool::new(false),
            issuer: format!("http://127.0.0.1:{port}"),
        });
        let accept_shared = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name(format!("fake-provider-{port}"))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("fake provider: spawn listener thread");
        FakeProvider { shared, port, listener: Some(handle) }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.shared.issuer)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A copy of the configuration in force.
    pub fn config(&self) -> Config {
        self.shared.lock().config.clone()
    }

    pub fn set_config(&self, f: impl FnOnce(&mut Config)) {
        f(&mut self.shared.lock().config);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.filter_requests(|request| request.path == path)
    }

    pub fn count(&self, path: &str) -> usize {
        self.requests_to(path).len()
    }

    /// `POST /token` requests with this `grant_type`.
    pub fn token_requests(&self, grant_type: &str) -> Vec<Request> {
        self.filter_requests(|request| {
            request.method == "POST"
                && request.path == "/token"
                && request.form_value("grant_type").as_deref() == Some(grant_type)
        })
    }

    fn filter_requests(&self, keep: impl Fn(&Request) -> bool) -> Vec<Request> {
        let state = self.shared.lock();
        state.requests.iter().filter(|r| keep(r)).cloned().collect()
    }

    /// Makes `token` a valid, never-expiring access token for `subject`.
    pub fn add_access_token(&self, token: &str, subject: &str) {
        let mut state = self.shared.lock();
        let family = state.new_family();
        let seq = state.next_seq();
        let entry = AccessToken {
            jkt: None,
            subject: subject.to_string(),
            client: None,
            scope: "openid profile email".to_string(),
            family,
            seq,
            expires_at_ms: i64::MAX,
            revoked: false,
        };
        state.access.insert(token.to_string(), entry);
    }

    /// Seeds a session as if `subject` had logged in; the tokens are bound to
    /// no client, so any client may refresh or revoke them.
    pub fn issue_grant(&self, subject: &str, scope: &str) -> (String, String) {
        let mut state = self.shared.lock();
        let owner = Owner { client: None, subject: subject.to_string() };
        let family = state.new_family();
        let access = state.mint_access(family, &owner, scope);
        let refresh = state.mint_refresh(family, &owner, scope);
        (access, refresh)
    }

    pub fn expire_access_token(&self, token: &str) {
        if let Some(entry) = self.shared.lock().access.get_mut(token) {
            entry.expires_at_ms = i64::MIN;
        }
    }

    pub fn is_access_token_active(&self, token: &str) -> bool {
        self.shared.lock().active_access(token).is_some()
    }

    pub fn is_refresh_token_active(&self, token: &str) -> bool {
        let state = self.shared.lock();
        state.refresh.get(token).is_some_and(RefreshToken::is_usable)
    }

    /// Every token revoked (via `/revoke`, refresh-token reuse or
    /// authorization-code reuse), in order; each token appears once.
    pub fn revoked(&self) -> Vec<String> {
        self.shared.lock().revoked.clone()
    }

    /// True once reuse of a rotated refresh token (or of an authorization
    /// code) has revoked a token family.
    pub fn family_revoked_by_reuse(&self) -> bool {
        self.shared.lock().reuse_detected
    }

    /// Registers a client; `None` makes it public. Overrides earlier
    /// registrations, including automatic ones.
    pub fn register_client(&self, client_id: &str, secret: Option<&str>) {
        let secret = secret.map(str::to_string);
        self.shared.lock().clients.insert(client_id.to_string(), secret);
    }

    /// Applies `fault` to the next `times` requests for `path` (`None`:
    /// forever; `"*"` matches every path). Faults for a path queue up in
    /// the order set, except that a new fault replaces a forever one.
    pub fn set_fault(&self, path: &str, fault: Fault, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        let mut state = self.shared.lock();
        state.faults.retain(|rule| rule.path != path || rule.remaining.is_some());
        state.faults.push(FaultRule { path: path.to_string(), fault, remaining: times });
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// User codes still waiting for approval (not expired).
    pub fn pending_user_codes(&self) -> Vec<String> {
        let state = self.shared.lock();
        let now = Instant::now();
        state
            .devices
            .iter()
            .filter(|d| d.status == DeviceStatus::Pending && !d.is_expired(now))
            .map(|d| d.user_code.clone())
            .collect()
    }

    /// Approves a pending device code as [`Config::subject`]; false when the
    /// code is unknown, expired or no longer pending.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.shared.lock().decide_device(user_code, DeviceStatus::Approved)
    }

    pub fn deny_device(&self, user_code: &str) -> bool {
        self.shared.lock().decide_device(user_code, DeviceStatus::Denied)
    }

    /// The `nonce` of the latest `/authorize` request (`None` if it had none).
    pub fn last_nonce(&self) -> Option<String> {
        self.shared.lock().last_nonce.clone()
    }

    /// Every DPoP proof the provider checked, in order.
    pub fn dpop_proofs(&self) -> Vec<DpopSeen> {
        self.shared.lock().dpop_seen.clone()
    }

    /// The `jkt` a token (access or refresh) is bound to, if any.
    pub fn token_jkt(&self, token: &str) -> Option<String> {
        let state = self.shared.lock();
        state
            .access
            .get(token)
            .and_then(|t| t.jkt.clone())
            .or_else(|| state.refresh.get(token).and_then(|t| t.jkt.clone()))
    }
}

/// A DPoP proof as the provider checked it.
#[derive(Clone, Debug)]
pub struct DpopSeen {
    pub path: String,
    pub htm: String,
    pub htu: String,
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    pub nonce: Option<String>,
    pub ath: Option<String>,
    /// `None` when accepted, else why not.
    pub refused: Option<String>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so that the listener sees the flag.
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
        if let Some(handle) = self.listener.take() {
            let _ = handle.join();
        }
    }
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------

struct Shared {
    state: Mutex<State>,
    shutdown: AtomicBool,
    issuer: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }
}

struct FaultRule {
    path: String,
    fault: Fault,
    remaining: Option<usize>,
}

/// Who a token was issued to: `client` is `None` for seeded sessions.
#[derive(Clone, Debug)]
struct Owner {
    client: Option<String>,
    subject: String,
}

struct AccessToken {
    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    jkt: Option<String>,
    subject: String,
    client: Option<String>,
    scope: String,
    family: u64,
    seq: u64,
    expires_at_ms: i64,
    revoked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefreshStatus {
    Active,
    /// Rotated away: presenting it again is reuse.
    Consumed,
    Revoked,
}

#[derive(Clone)]
struct RefreshToken {
    /// The thumbprint of the DPoP key the token is bound to.
    jkt: Option<String>,
    subject: String,
    client: Option<String>,
    scope: String,
    family: u64,
    seq: u64,
    expires_at_ms: Option<i64>,
    status: RefreshStatus,
}

impl RefreshToken {
    fn is_expired(&self) -> bool {
        self.expires_at_ms.is_some_and(|at| now_ms() >= at)
    }

    fn is_usable(&self) -> bool {
        self.status == RefreshStatus::Active && !self.is_expired()
    }
}

#[derive(Clone)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    scope: String,
    nonce: Option<String>,
    subject: String,
    expires_at: Instant,
    /// Set once redeemed: the family of the tokens it produced.
    redeemed_family: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Used,
}

struct DeviceGrant {
    device_code: String,
    user_code: String,
    client_id: String,
    scope: String,
    /// `None`: never expires (`device_expires_in` too large for `Instant`).
    expires_at: Option<Instant>,
    status: DeviceStatus,
    subject: String,
    interval: Duration,
    last_poll: Option<Instant>,
}

impl DeviceGrant {
    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// The tokens of one successful grant, ready to be rendered.
struct Issued {
    access: String,
    refresh: Option<String>,
    scope: String,
    id_token: Option<String>,
}

struct State {
    config: Config,
    requests: Vec<Request>,
    faults: Vec<FaultRule>,
    /// client_id -> secret (`None`: public client).
    clients: HashMap<String, Option<String>>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    codes: HashMap<String, AuthCode>,
    devices: Vec<DeviceGrant>,
    revoked: Vec<String>,
    reuse_detected: bool,
    last_nonce: Option<String>,
    /// Every DPoP proof checked, accepted or not.
    dpop_seen: Vec<DpopSeen>,
    /// The `jti`s of accepted proofs (replay detection).
    dpop_jtis: std::collections::HashSet<String>,
    next_family: u64,
    next_seq: u64,
}

impl State {
    fn new(config: Config) -> Self {
        State {
            config,
            requests: Vec::new(),
            faults: Vec::new(),
            clients: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            devices: Vec::new(),
            revoked: Vec::new(),
            reuse_detected: false,
            last_nonce: None,
            dpop_seen: Vec::new(),
            dpop_jtis: std::collections::HashSet::new(),
            next_family: 0,
            next_seq: 0,
        }
    }

    fn new_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn secret(&self, kind: &str) -> String {
        format!("{}-{kind}-{}", self.config.token_prefix, random_hex())
    }

    fn mint_access(&mut self, family: u64, owner: &Owner, scope: &str) -> String {
        let token = format!("{}{}", self.secret("at"), "x".repeat(self.config.access_token_padding));
        let ttl_ms = self.config.access_token_ttl.saturating_mul(1000);
        let entry = AccessToken {
            jkt: None,
            subject: owner.subject.clone(),
            client: owner.client.clone(),
            scope: scope.to_string(),
            family,
            seq: self.next_seq(),
            expires_at_ms: now_ms().saturating_add(ttl_ms),
            revoked: false,
        };
        self.access.insert(token.clone(), entry);
        token
    }

    fn mint_refresh(&mut self, family: u64, owner: &Owner, scope: &str) -> String {
        let token = self.secret("rt");
        let expires_at_ms = self
            .config
            .refresh_token_expires_in
            .map(|seconds| now_ms().saturating_add(seconds.saturating_mul(1000)));
        let entry = RefreshToken {
            jkt: None,
            subject: owner.subject.clone(),
            client: owner.client.clone(),
            scope: scope.to_string(),
            family,
            seq: self.next_seq(),
            expires_at_ms,
            status: RefreshStatus::Active,
        };
        self.refresh.insert(token.clone(), entry);
        token
    }

    fn active_access(&self, token: &str) -> Option<&AccessToken> {
        self.access.get(token).filter(|at| !at.revoked && now_ms() < at.expires_at_ms)
    }

    fn revoke_access(&mut self, token: &str) {
        if let Some(entry) = self.access.get_mut(token)
            && !entry.revoked
        {
            entry.revoked = true;
            self.revoked.push(token.to_string());
        }
    }

    fn revoke_refresh(&mut self, token: &str) {
        if let Some(entry) = self.refresh.get_mut(token)
            && entry.status != RefreshStatus::Revoked
        {
            entry.status = RefreshStatus::Revoked;
            self.revoked.push(token.to_string());
        }
    }

    /// Revokes every access and refresh token of `family`, oldest first.
    fn revoke_family(&mut self, family: u64) {
        let mut members: Vec<(u64, String, bool)> = Vec::new();
        for (token, entry) in &self.access {
            if entry.family == family {
                members.push((entry.seq, token.clone(), true));
            }
        }
        for (token, entry) in &self.refresh {
            if entry.family == family {
                members.push((entry.seq, token.clone(), false));
            }
        }
        members.sort();
        for (_, token, is_access) in members {
            if is_access {
                self.revoke_access(&token);
            } else {
                self.revoke_refresh(&token);
            }
        }
    }

    fn record_and_take_fault(&mut self, request: &Request) -> Option<Fault> {
        self.requests.push(request.clone());
        let index = self.faults.iter().position(|rule| rule.path == request.path || rule.path == "*")?;
        let rule = &mut self.faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(fault)
    }

    fn decide_device(&mut self, user_code: &str, decision: DeviceStatus) -> bool {
        let wanted = normalize_user_code(user_code);
        let subject = self.config.subject.clone();
        let now = Instant::now();
        let found = self.devices.iter_mut().find(|d| {
            normalize_user_code(&d.user_code) == wanted
                && d.status == DeviceStatus::Pending
                && !d.is_expired(now)
        });
        match found {
            Some(device) => {
                device.status = decision;
                device.subject = subject;
                true
            }
            None => false,
        }
    }

    fn new_user_code(&self) -> String {
        loop {
            let code = random_user_code();
            if !self.devices.iter().any(|d| d.user_code == code) {
                return code;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP server
// ---------------------------------------------------------------------------

const READ_POLL: Duration = Duration::from_millis(50);
const IDLE_LIMIT: Duration = Duration::from_secs(30);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 4 * 1024 * 1024;

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.is_shutting_down() {
            break;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let conn_shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("fake-provider-conn".to_string())
            .spawn(move || serve_connection(stream, &conn_shared));
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_POLL));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let incoming = match read_request(&stream, &shared.shutdown) {
        Ok(incoming) => incoming,
        Err(ReadError::Closed) => return,
        Err(ReadError::Malformed(reason)) => {
            discard_available(&stream);
            let _ = write_response(&stream, &Response::text(400, reason));
            close_gracefully(stream);
            return;
        }
    };
    let request = incoming.request;
    let fault = shared.lock().record_and_take_fault(&request);
    if let Some(Fault::Reset) = fault {
        // Dropping with unread input makes the kernel answer with RST.
        drop(stream);
        return;
    }
    if consume(&stream, incoming.unread).is_err() {
        return;
    }
    match fault {
        Some(Fault::DelayAnswer(delay)) => {
            let response = route(shared, &request);
            thread::sleep(delay);
            let _ = write_response(&stream, &response);
        }
        Some(Fault::LoseAnswer(delay)) => {
            let _acted = route(shared, &request);
            thread::sleep(delay);
            // SO_LINGER 0: the close sends RST, never the answer.
            let _ = socket2_free_reset(&stream);
            return;
        }
        Some(fault) => apply_fault(&stream, shared, fault),
        None => {
            let response = route(shared, &request);
            let _ = write_response(&stream, &response);
        }
    }
    close_gracefully(stream);
}

/// Abort `stream`: shut both directions down at once, so the client reads no answer (the
/// connection ends before any byte of one).
fn socket2_free_reset(stream: &TcpStream) -> std::io::Result<()> {
    stream.shutdown(std::net::Shutdown::Both)
}

fn apply_fault(stream: &TcpStream, shared: &Shared, fault: Fault) {
    match fault {
        Fault::Status { status, body, headers } => {
            let _ = write_response(stream, &fault_status_response(status, body, headers));
        }
        Fault::Redirect(location) => {
            let _ = write_response(stream, &Response::new(302).header("Location", &location));
        }
        Fault::Stall => wait_for_shutdown(shared),
        Fault::StallMidBody => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 1000\r\nConnection: close\r\n\r\n{\"partial\"";
            let mut writer = stream;
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.flush();
            wait_for_shutdown(shared);
        }
        Fault::HugeBody(size) => {
            let _ = write_huge_body(stream, size);
        }
        Fault::Reset | Fault::DelayAnswer(_) | Fault::LoseAnswer(_) => {}
    }
}

fn fault_status_response(status: u16, body: String, headers: Vec<(String, String)>) -> Response {
    let mut response = Response::new(status);
    response.body = body.into_bytes();
    let mut has_type = false;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-length" || lower == "connection" {
            continue;
        }
        has_type |= lower == "content-type";
        response = response.header(&name, &value);
    }
    if !has_type {
        response = response.header("Content-Type", "application/json");
    }
    response
}

fn wait_for_shutdown(shared: &Shared) {
    while !shared.is_shutting_down() {
        thread::sleep(Duration::from_millis(20));
    }
}

fn write_huge_body(stream: &TcpStream, size: usize) -> io::Result<()> {
    let mut writer = stream;
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        size.saturating_add(2)
    );
    writer.write_all(head.as_bytes())?;
    let chunk = vec![b' '; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        writer.write_all(&chunk[..n])?;
        left -= n;
    }
    writer.write_all(b"{}")?;
    writer.flush()
}

// --- reading ---------------------------------------------------------------

struct Incoming {
    request: Request,
    /// Bytes of this request still in the kernel buffer (always >= 1).
    unread: usize,
}

enum ReadError {
    /// The peer went away, the read timed out, or the server is stopping.
    Closed,
    Malformed(&'static str),
}

struct Head {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    content_length: usize,
}

#[derive(Clone, Copy)]
enum ReadMode {
    Peek,
    Consume,
}

/// Reads one request, leaving its final byte(s) unread in the kernel so that
/// a [`Fault::Reset`] can still provoke an RST after the request was parsed.
fn read_request(stream: &TcpStream, shutdown: &AtomicBool) -> Result<Incoming, ReadError> {
    let deadline = Instant::now() + IDLE_LIMIT;
    let mut io = Reader { stream, shutdown, deadline };
    let mut consumed: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = io.wait(&mut chunk, ReadMode::Peek)?;
        let mut view = consumed.clone();
        view.extend_from_slice(&chunk[..n]);
        if let Some(head_end) = find_head_end(&view) {
            let head = parse_head(&view[..head_end])?;
            if head.content_length > MAX_BODY {
                return Err(ReadError::Malformed("request body too large"));
            }
            let total = head_end + head.content_length;
            if view.len() >= total {
                let body = view[head_end..total].to_vec();
                let unread = total - consumed.len();
                return Ok(Incoming { request: head.into_request(&body), unread });
            }
            io.consume_exact(&mut chunk[..n])?;
            consumed.extend_from_slice(&chunk[..n]);
            return read_body(&mut io, consumed, head_end, head);
        }
        if view.len() > MAX_HEAD {
            return Err(ReadError::Malformed("request head too large"));
        }
        io.consume_exact(&mut chunk[..n])?;
        consumed.extend_from_slice(&chunk[..n]);
    }
}

/// Reads the body up to its last byte, then peeks at that byte.
fn read_body(
    io: &mut Reader<'_>,
    mut consumed: Vec<u8>,
    head_end: usize,
    head: Head,
) -> Result<Incoming, ReadError> {
    let total = head_end + head.content_length;
    let mut chunk = vec![0u8; 16 * 1024];
    while consumed.len() + 1 < total {
        let want = (total - 1 - consumed.len()).min(chunk.len());
        let n = io.wait(&mut chunk[..want], ReadMode::Consume)?;
        consumed.extend_from_slice(&chunk[..n]);
    }
    io.wait(&mut chunk[..1], ReadMode::Peek)?;
    consumed.push(chunk[0]);
    Ok(Incoming { request: head.into_request(&consumed[head_end..total]), unread: 1 })
}

struct Reader<'a> {
    stream: &'a TcpStream,
    shutdown: &'a AtomicBool,
    deadline: Instant,
}

impl Reader<'_> {
    /// Waits for at least one byte; EOF, errors, shutdown and the idle
    /// deadline all end the connection.
    fn wait(&mut self, buf: &mut [u8], mode: ReadMode) -> Result<usize, ReadError> {
        loop {
            if self.shutdown.load(Ordering::SeqCst) || Instant::now() > self.deadline {
                return Err(ReadError::Closed);
            }
            let mut stream = self.stream;
            let result = match mode {
                ReadMode::Peek => stream.peek(buf),
                ReadMode::Consume => stream.read(buf),
            };
            match result {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => return Ok(n),
                Err(e) if is_retryable(&e) => continue,
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Consumes bytes that a previous peek showed to be available.
    fn consume_exact(&mut self, buf: &mut [u8]) -> Result<(), ReadError> {
        let mut stream = self.stream;
        stream.read_exact(buf).map_err(|_| ReadError::Closed)
    }
}

fn is_retryable(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

fn consume(stream: &TcpStream, count: usize) -> io::Result<()> {
    let mut stream = stream;
    let mut sink = vec![0u8; count];
    stream.read_exact(&mut sink)
}

fn discard_available(stream: &TcpStream) {
    let mut stream = stream;
    let mut sink = [0u8; 4096];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}

/// Half-closes, then drains what the client still sends (briefly) so that
/// closing does not reset a connection whose response is still in flight.
fn close_gracefully(stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let until = Instant::now() + Duration::from_secs(1);
    let mut reader = &stream;
    let mut sink = [0u8; 4096];
    while Instant::now() < until {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// The index just past the blank line ending the head.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|window| window == b"\r\n\r\n").map(|index| index + 4)
}

fn parse_head(bytes: &[u8]) -> Result<Head, ReadError> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let parts: Vec<&str> = request_line.split(' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return Err(ReadError::Malformed("malformed request line"));
    };
    let method_ok = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(ReadError::Malformed("malformed request line"));
    }
    let headers = parse_headers(lines)?;
    let content_length = content_length(&headers)?;
    let (path, query) = split_target(target);
    Ok(Head { method: method.to_string(), path, query, headers, content_length })
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Vec<(String, String)>, ReadError> {
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed("malformed header line"));
        };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(ReadError::Malformed("malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(headers)
}

/// The body length; chunked bodies are not supported and count as empty.
fn content_length(headers: &[(String, String)]) -> Result<usize, ReadError> {
    if headers.iter().any(|(name, _)| name == "transfer-encoding") {
        return Ok(0);
    }
    let mut length: Option<usize> = None;
    for (_, value) in headers.iter().filter(|(name, _)| name == "content-length") {
        let parsed: usize = value.parse().map_err(|_| ReadError::Malformed("invalid Content-Length"))?;
        if length.is_some_and(|earlier| earlier != parsed) {
            return Err(ReadError::Malformed("conflicting Content-Length"));
        }
        length = Some(parsed);
    }
    Ok(length.unwrap_or(0))
}

/// Splits an origin-form (or absolute-form) target into path and query.
fn split_target(target: &str) -> (String, String) {
    let without_fragment = target.split('#').next().unwrap_or_default();
    let origin_form = match without_fragment.split_once("://") {
        Some((_, rest)) if !without_fragment.starts_with('/') => {
            rest.find('/').map_or("/", |index| &rest[index..])
        }
        _ => without_fragment,
    };
    match origin_form.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (origin_form.to_string(), String::new()),
    }
}

impl Head {
    fn into_request(self, body: &[u8]) -> Request {
        Request {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            body: String::from_utf8_lossy(body).into_owned(),
        }
    }
}

// --- writing ---------------------------------------------------------------

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn new(status: u16) -> Self {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        let clean = |s: &str| s.replace(['\r', '\n'], " ");
        self.headers.push((clean(name), clean(value)));
        self
    }

    fn with_body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = body;
        self.header("Content-Type", content_type)
    }

    fn json(status: u16, value: &Value) -> Self {
        Response::new(status).with_body("application/json", value.to_string().into_bytes())
    }

    fn text(status: u16, text: &str) -> Self {
        let body = format!("{text}\n").into_bytes();
        Response::new(status).with_body("text/plain; charset=utf-8", body)
    }

    fn not_found() -> Self {
        Response::text(404, "not found")
    }

    fn method_not_allowed(allowed: &str) -> Self {
        Response::text(405, "method not allowed").header("Allow", allowed)
    }
}

fn write_response(stream: &TcpStream, response: &Response) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
    for (name, value) in &response.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(head, "Content-Length: {}\r\nConnection: close\r\n\r\n", response.body.len());
    let mut writer = stream;
    writer.write_all(head.as_bytes())?;
    writer.write_all(&response.body)?;
    writer.flush()
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------

const OIDC_DISCOVERY: &str = "/.well-known/openid-configuration";
const OAUTH_DISCOVERY: &str = "/.well-known/oauth-authorization-server";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const ID_TOKEN_LIFETIME: i64 = 3600;

fn route(shared: &Shared, request: &Request) -> Response {
    let mut state = shared.lock();
    let issuer = shared.issuer.as_str();
    match request.path.as_str() {
        OIDC_DISCOVERY => discovery(&state, issuer, request, true),
        OAUTH_DISCOVERY => discovery(&state, issuer, request, false),
        "/jwks" => jwks(&state, request),
        "/authorize" => authorize(&mut state, request),
        "/token" => token_endpoint(&mut state, issuer, request),
        "/device" => device_authorization(&mut state, issuer, request),
        "/activate" => activate(&mut state, request),
        "/userinfo" => userinfo(&mut state, issuer, request),
        path if path.starts_with("/api/") => api(&mut state, issuer, request),
        "/revoke" => revoke_endpoint(&mut state, request),
        _ => Response::not_found(),
    }
}

fn require_method(request: &Request, allowed: &[&str]) -> Result<(), Response> {
    if allowed.contains(&request.method.as_str()) {
        Ok(())
    } else {
        Err(Response::method_not_allowed(&allowed.join(", ")))
    }
}

// --- discovery -------------------------------------------------------------

fn discovery(state: &State, issuer: &str, request: &Request, oidc_doc: bool) -> Response {
    let config = &state.config;
    let served = match config.discovery {
        Discovery::Oidc => true,
        Discovery::OAuthOnly => !oidc_doc,
        Discovery::None => false,
    };
    if !served {
        return Response::not_found();
    }
    if let Err(response) = require_method(request, &["GET"]) {
        return response;
    }
    let shown_issuer = config.issuer_override.as_deref().unwrap_or(issuer);
    let mut doc = Map::new();
    doc.insert("issuer".into(), json!(shown_issuer));
    doc.insert("authorization_endpoint".into(), json!(format!("{issuer}/authorize")));
    doc.insert("token_endpoint".into(), json!(format!("{issuer}/token")));
    doc.insert("device_authorization_endpoint".into(), json!(format!("{issuer}/device")));
    if oidc_doc {
        add_oidc_metadata(&mut doc, config, issuer);
    }
    if config.revocation_enabled {
        doc.insert("revocation_endpoint".into(), json!(format!("{issuer}/revoke")));
        doc.insert("revocation_endpoint_auth_methods_supported".into(), json!(config.auth_methods));
    }
    let grants = ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT];
    doc.insert("grant_types_supported".into(), json!(grants));
    doc.insert("response_types_supported".into(), json!(["code"]));
    doc.insert("response_modes_supported".into(), json!(["query"]));
    doc.insert("code_challenge_methods_supported".into(), json!(["S256"]));
    doc.insert("dpop_signing_alg_values_supported".into(), json!(["ES256"]));
    doc.insert("token_endpoint_auth_methods_supported".into(), json!(config.auth_methods));
    doc.insert("scopes_supported".into(), json!(SCOPES));
    let response = Response::json(200, &Value::Object(doc));
    match &config.discovery_cache_control {
        Some(value) => response.header("Cache-Control", value),
        None => response,
    }
}

fn add_oidc_metadata(doc: &mut Map<String, Value>, config: &Config, issuer: &str) {
    if config.userinfo_enabled {
        doc.insert("userinfo_endpoint".into(), json!(format!("{issuer}/userinfo")));
    }
    doc.insert("jwks_uri".into(), json!(format!("{issuer}/jwks")));
    doc.insert("subject_types_supported".into(), json!(["public"]));
    doc.insert("id_token_signing_alg_values_supported".into(), json!(["RS256"]));
    let claims = ["iss", "sub", "aud", "iat", "exp", "nonce", "preferred_username", "email"];
    doc.insert("claims_supported".into(), json!(claims));
}

fn jwks(state: &State, request: &Request) -> Response {
    if state.config.discovery != Discovery::Oidc {
        return Response::not_found();
    }
    match require_method(request, &["GET"]) {
        Ok(()) => Response::json(200, &json!({ "keys": [] })),
        Err(response) => response,
    }
}

// --- /authorize ------------------------------------------------------------

/// Authorization request parameters, with duplicates remembered (RFC 6749
/// §3.1: parameters must not be repeated).
struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    fn parse(encoded: &str) -> Self {
        Params { pairs: parse_urlencoded(encoded) }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn is_repeated(&self, key: &str) -> bool {
        self.pairs.iter().filter(|(k, _)| k == key).count() > 1
    }

    fn first_repeated(&self) -> Option<&str> {
        self.pairs.iter().map(|(k, _)| k.as_str()).find(|k| self.is_repeated(k))
    }
}

fn authorize(state: &mut State, request: &Request) -> Response {
    if let Err(response) = require_method(request, &["GET"]) {
        return response;
    }
    let params = Params::parse(&request.query);
    state.last_nonce = params.get("nonce").map(str::to_string);
    // Without a trustworthy client_id and redirect_uri we must not redirect
    // (RFC 6749 §4.1.2.1): show an error page instead.
    let client_id = match params.get("client_id") {
        Some(id) if !id.is_empty() && !params.is_repeated("client_id") => id.to_string(),
        _ => return Response::text(400, "invalid_request: missing or repeated client_id"),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if is_valid_redirect_uri(uri) && !params.is_repeated("redirect_uri") => uri.to_string(),
        _ => return Response::text(400, "invalid_request: missing or invalid redirect_uri"),
    };
    if state.config.registered_redirect_uri.as_ref().is_some_and(|registered| *registered != redirect_uri) {
        return Response::text(400, "invalid_request: redirect_uri does not match the registered one");
    }
    let state_param = params.get("state").map(str::to_string);
    let redirect_error = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(value) = state_param.as_deref() {
            pairs.push(("state", value));
        }
        redirect_to(&redirect_uri, &pairs)
    };
    if let Err((error, description)) = check_authorize_params(&params) {
        return redirect_error(error, &description);
    }
    match state.config.authorize_mode {
        AuthorizeMode::Deny => redirect_error("access_denied", "the user denied the request"),
        mode => {
            let code = issue_code(state, &params, client_id, &redirect_uri);
            let returned_state = match mode {
                AuthorizeMode::WrongState => Some("wrong-state"),
                _ => state_param.as_deref(),
            };
            let mut pairs = vec![("code", code.as_str())];
            if let Some(value) = returned_state {
                pairs.push(("state", value));
            }
            redirect_to(&redirect_uri, &pairs)
        }
    }
}

/// Validates everything that is reported by redirecting back.
fn check_authorize_params(params: &Params) -> Result<(), (&'static str, String)> {
    if let Some(name) = params.first_repeated() {
        return Err(("invalid_request", format!("parameter {name} is repeated")));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(("invalid_request", "response_type is required".into())),
        Some(_) => {
            return Err(("unsupported_response_type", "only response_type=code is supported".into()));
        }
    }
    match params.get("code_challenge_method") {
        Some("S256") => {}
        None => {
            return Err(("invalid_request", "code_challenge_method=S256 is required".into()));
        }
        Some(_) => {
            return Err(("invalid_request", "transform algorithm not supported".into()));
        }
    }
    match params.get("code_challenge") {
        Some(challenge) if is_pkce_string(challenge) => Ok(()),
        _ => Err(("invalid_request", "code_challenge is missing or malformed".into())),
    }
}

fn issue_code(state: &mut State, params: &Params, client_id: String, redirect_uri: &str) -> String {
    let code = state.secret("code");
    let entry = AuthCode {
        client_id,
        redirect_uri: redirect_uri.to_string(),
        challenge: params.get("code_challenge").unwrap_or_default().to_string(),
        scope: normalize_scope(params.get("scope").unwrap_or_default()),
        nonce: params.get("nonce").map(str::to_string),
        subject: state.config.subject.clone(),
        expires_at: Instant::now() + CODE_LIFETIME,
        redeemed_family: None,
    };
    state.codes.insert(code.clone(), entry);
    code
}

/// Absolute, with a scheme, and without a fragment (RFC 6749 §3.1.2).
fn is_valid_redirect_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    scheme_ok && !uri.contains('#')
}

/// `302 Found` to `base` with `pairs` appended to any query it already has.
fn redirect_to(base: &str, pairs: &[(&str, &str)]) -> Response {
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let location = format!("{base}{separator}{}", form_urlencode(pairs));
    Response::new(302).header("Location", &location)
}

// --- token endpoint errors and rendering -----------------------------------

/// An RFC 6749 §5.2 error.
#[derive(Debug)]
struct OAuthError {
    status: u16,
    error: &'static str,
    description: String,
    /// Add `WWW-Authenticate: Basic` (the client used HTTP Basic).
    basic_challenge: bool,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status: 400, error, description: description.into(), basic_challenge: false }
    }

    fn invalid_client(description: impl Into<String>, basic_challenge: bool) -> Self {
        OAuthError { status: 401, error: "invalid_client", description: description.into(), basic_challenge }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::new("invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        OAuthError::new("invalid_grant", description)
    }
}

/// How `/token` and `/device` render their answers.
#[derive(Clone, Copy)]
struct Style {
    github: bool,
    json: bool,
}

impl Style {
    fn for_request(config: &Config, request: &Request) -> Self {
        let accepts_json = request
            .header("accept")
            .is_some_and(|accept| accept.to_ascii_lowercase().contains("application/json"));
        Style { github: config.github_style, json: !config.github_style || accepts_json }
    }

    fn standard() -> Self {
        Style { github: false, json: true }
    }

    fn render(self, status: u16, fields: Map<String, Value>) -> Response {
        let response = if self.json {
            Response::json(status, &Value::Object(fields))
        } else {
            let pairs: Vec<(String, String)> = fields
                .into_iter()
                .map(|(key, value)| match value {
                    Value::String(text) => (key, text),
                    other => (key, other.to_string()),
                })
                .collect();
            let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let body = form_urlencode(&borrowed).into_bytes();
            Response::new(status).with_body("application/x-www-form-urlencoded", body)
        };
        response.header("Cache-Control", "no-store").header("Pragma", "no-cache")
    }

    fn error(self, error: OAuthError) -> Response {
        let status = if self.github { 200 } else { error.status };
        let mut fields = Map::new();
        fields.insert("error".into(), json!(error.error));
        fields.insert("error_description".into(), json!(error.description));
        let response = self.render(status, fields);
        if error.basic_challenge && !self.github {
            response.header("WWW-Authenticate", "Basic realm=\"fake-provider\"")
        } else {
            response
        }
    }
}

fn token_success(state: &State, style: Style, issued: Issued, dpop: bool) -> Response {
    let config = &state.config;
    let mut fields = Map::new();
    if !config.omit_access_token {
        fields.insert("access_token".into(), json!(issued.access));
    }
    fields.insert("token_type".into(), json!(if dpop { "DPoP" } else { "Bearer" }));
    fields.insert("expires_in".into(), json!(config.access_token_ttl));
    if let Some(refresh) = issued.refresh {
        fields.insert("refresh_token".into(), json!(refresh));
        if let Some(seconds) = config.refresh_token_expires_in {
            fields.insert("refresh_token_expires_in".into(), json!(seconds));
        }
    }
    if !issued.scope.is_empty() {
        fields.insert("scope".into(), json!(issued.scope));
    }
    if let Some(id_token) = issued.id_token {
        fields.insert("id_token".into(), json!(id_token));
    }
    style.render(200, fields)
}

// --- form bodies and client authentication ---------------------------------

/// A decoded form body whose parameters each occur at most once.
struct Form(Vec<(String, String)>);

impl Form {
    fn from_request(request: &Request) -> Result<Self, OAuthError> {
        let content_type = request.header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let params = Params::parse(&request.body);
        if let Some(name) = params.first_repeated() {
            return Err(OAuthError::invalid_request(format!("parameter {name} is repeated")));
        }
        Ok(Form(params.pairs))
    }

    /// The value, with empty values treated as absent (RFC 6749 §3.1).
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key).ok_or_else(|| OAuthError::invalid_request(format!("missing parameter {key}")))
    }
}

/// The client a request authenticated as (or identified itself as).
#[derive(Clone, Debug)]
struct Client {
    id: String,
    confidential: bool,
}

/// RFC 6749 §2.3.1: HTTP Basic, `client_secret_post`, or a public client's
/// bare `client_id`. `Ok(None)` when the request names no client at all.
/// Unknown clients are registered on first use with the credentials they
/// present (public when they present no secret).
fn authenticate_client(
    state: &mut State,
    request: &Request,
    form: &Form,
) -> Result<Option<Client>, OAuthError> {
    let uses_basic =
        request.header("authorization").is_some_and(|value| strip_scheme(value, "basic").is_some());
    let basic = if uses_basic {
        let credentials = request.basic_auth();
        Some(credentials.ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials", true))?)
    } else {
        None
    };
    let form_id = form.get("client_id");
    let (id, secret, method) = match (basic, form.get("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("more than one client authentication method"));
        }
        (Some((id, secret)), None) => {
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(OAuthError::invalid_request("client_id does not match the Authorization header"));
            }
            (id, Some(secret), "client_secret_basic")
        }
        (None, Some(secret)) => match form_id {
            Some(id) => (id.to_string(), Some(secret.to_string()), "client_secret_post"),
            None => {
                return Err(OAuthError::invalid_client("client_secret without client_id", false));
            }
        },
        (None, None) => match form_id {
            Some(id) => (id.to_string(), None, "none"),
            None => return Ok(None),
        },
    };
    let challenge = method == "client_secret_basic";
    if id.is_empty() {
        return Err(OAuthError::invalid_client("empty client_id", challenge));
    }
    if !state.config.auth_methods.iter().any(|m| m == method) {
        return Err(OAuthError::invalid_client(
            format!("client authentication method {method} is not enabled"),
            challenge,
        ));
    }
    let registered = state.clients.entry(id.clone()).or_insert_with(|| secret.clone());
    match (registered.as_deref(), secret.as_deref()) {
        (Some(expected), Some(given)) if expected == given => {}
        (None, None) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_client("wrong client secret", challenge));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_client("client authentication required", challenge));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_client("public client must not send a secret", challenge));
        }
    }
    let confidential = registered.is_some();
    Ok(Some(Client { id, confidential }))
}

fn require_client(client: Option<Client>) -> Result<Client, OAuthError> {
    client.ok_or_else(|| OAuthError::invalid_client("client identification required", false))
}

/// Checks that a token bound to `owner` may be used by `client`. Anonymous
/// use is allowed for unbound tokens and tokens of public clients.
fn check_owner(
    state: &State,
    owner: Option<&str>,
    client: Option<&Client>,
    mismatch: OAuthError,
) -> Result<(), OAuthError> {
    match (owner, client) {
        (None, _) => Ok(()),
        (Some(owner), Some(client)) if owner == client.id => Ok(()),
        (Some(_), Some(_)) => Err(mismatch),
        (Some(owner), None) => match state.clients.get(owner) {
            Some(Some(_)) => Err(OAuthError::invalid_client("client authentication required", false)),
            _ => Ok(()),
        },
    }
}

// --- POST /token -----------------------------------------------------------

fn token_endpoint(state: &mut State, issuer: &str, request: &Request) -> Response {
    if let Err(response) = require_method(request, &["POST"]) {
        return response;
    }
    let style = Style::for_request(&state.config, request);
    let nonce = state.config.dpop_nonce.clone();
    let jkt = match check_dpop(state, request, &format!("{issuer}/token"), None, nonce.as_deref()) {
        Ok(jkt) => jkt,
        Err(DpopRefusal::Nonce(nonce)) => {
            let error = OAuthError::new(
                "use_dpop_nonce",
                "the authorization server requires a nonce in the DPoP proof",
            );
            return style.error(error).header("DPoP-Nonce", &nonce);
        }
        Err(DpopRefusal::Invalid(why)) => return style.error(OAuthError::new("invalid_dpop_proof", why)),
    };
    match token_grant(state, issuer, request, jkt.as_deref()) {
        Ok(issued) => {
            // RFC 9449 §5: the tokens are bound to the proof's key (refresh tokens too).
            if let Some(jkt) = &jkt {
                if let Some(entry) = state.access.get_mut(&issued.access) {
                    entry.jkt = Some(jkt.clone());
                }
                if let Some(entry) = issued.refresh.as_ref().and_then(|r| state.refresh.get_mut(r)) {
                    entry.jkt = Some(jkt.clone());
                }
            }
            let response = token_success(state, style, issued, jkt.is_some());
            match &state.config.dpop_nonce {
                Some(nonce) if jkt.is_some() => response.header("DPoP-Nonce", nonce),
                _ => response,
            }
        }
        Err(error) if state.config.bare_token_errors => Response::new(error.status),
        Err(error) => style.error(hostile(state, request, error)),
    }
}

/// With [`Config::hostile_error_description`], an error description that tries to fool a
/// terminal (U+202E, U+200B) and echoes every secret the client sent.
fn hostile(state: &State, request: &Request, mut error: OAuthError) -> OAuthError {
    if !state.config.hostile_error_description {
        return error;
    }
    let mut echoed = String::new();
    for key in ["refresh_token", "client_secret", "code", "code_verifier", "device_code", "token"] {
        if let Some(value) = request.form_value(key) {
            let _ = write!(echoed, " {key}={value}");
        }
    }
    if let Some((_, secret)) = request.basic_auth() {
        let _ = write!(echoed, " basic={secret}");
    }
    error.description = format!("\u{202E}evil\u{200B} {}{echoed}", error.description);
    error
}

fn token_grant(
    state: &mut State,
    issuer: &str,
    request: &Request,
    jkt: Option<&str>,
) -> Result<Issued, OAuthError> {
    let form = Form::from_request(request)?;
    let client = authenticate_client(state, request, &form)?;
    match form.require("grant_type")? {
        "authorization_code" => grant_authorization_code(state, issuer, &form, client),
        "refresh_token" => grant_refresh_token(state, issuer, &form, client, jkt),
        "client_credentials" => grant_client_credentials(state, &form, client),
        DEVICE_GRANT => grant_device_code(state, issuer, &form, client),
        other => {
            Err(OAuthError::new("unsupported_grant_type", format!("grant type {other} is not supported")))
        }
    }
}

fn grant_authorization_code(
    state: &mut State,
    issuer: &str,
    form: &Form,
    client: Option<Client>,
) -> Result<Issued, OAuthError> {
    let client = require_client(client)?;
    let code = form.require("code")?;
    let entry = state
        .codes
        .get(code)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
    if let Some(family) = entry.redeemed_family {
        // RFC 6749 §4.1.2: revoke what the first redemption produced.
        state.revoke_family(family);
        state.reuse_detected = true;
        return Err(OAuthError::invalid_grant("authorization code already used"));
    }
    if Instant::now() >= entry.expires_at {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    if entry.client_id != client.id {
        return Err(OAuthError::invalid_grant("authorization code was issued to another client"));
    }
    if form.get("redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant("redirect_uri does not match"));
    }
    check_pkce(form.get("code_verifier"), &entry.challenge)?;
    let family = state.new_family();
    if let Some(stored) = state.codes.get_mut(code) {
        stored.redeemed_family = Some(family);
    }
    let owner = Owner { client: Some(client.id.clone()), subject: entry.subject.clone() };
    let access = state.mint_access(family, &owner, &entry.scope);
    let refresh = state.mint_refresh(family, &owner, &entry.scope);
    let id_token =
        maybe_id_token(state, issuer, &entry.scope, &entry.subject, &client.id, entry.nonce.as_deref());
    Ok(Issued { access, refresh: Some(refresh), scope: entry.scope, id_token })
}

/// RFC 7636 §4.6: BASE64URL-NOPAD(SHA256(verifier)) must equal the challenge.
fn check_pkce(verifier: Option<&str>, challenge: &str) -> Result<(), OAuthError> {
    let Some(verifier) = verifier else {
        return Err(OAuthError::invalid_grant("code_verifier is required"));
    };
    if !is_pkce_string(verifier) {
        return Err(OAuthError::invalid_grant("code_verifier is malformed"));
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if computed == challenge { Ok(()) } else { Err(OAuthError::invalid_grant("PKCE verification failed")) }
}

/// 43–128 characters from the RFC 3986 unreserved set (RFC 7636 §4.1).
fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn grant_refresh_token(
    state: &mut State,
    issuer: &str,
    form: &Form,
    client: Option<Client>,
    jkt: Option<&str>,
) -> Result<Issued, OAuthError> {
    let token = form.require("refresh_token")?;
    let entry = state
        .refresh
        .get(token)
        .cloned()
        .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
    // RFC 9449 §5: a bound refresh token is only good with a proof from its key.
    match (&entry.jkt, jkt) {
        (Some(bound), Some(presented)) if bound == presented => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant("refresh token is bound to another DPoP key"));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant("refresh token is bound to a DPoP key; no proof"));
        }
        (None, Some(_)) => return Err(OAuthError::invalid_grant("refresh token is not DPoP-bound")),
        (None, None) => {}
    }
    let mismatch = OAuthError::invalid_grant("refresh token was issued to another client");
    check_owner(state, entry.client.as_deref(), client.as_ref(), mismatch)?;
    match entry.status {
        RefreshStatus::Consumed => {
            if state.config.reuse_detection {
                state.revoke_family(entry.family);
                state.reuse_detected = true;
            }
            return Err(OAuthError::invalid_grant("refresh token already used"));
        }
        RefreshStatus::Revoked => {
            return Err(OAuthError::invalid_grant("refresh token revoked"));
        }
        RefreshStatus::Active if entry.is_expired() => {
            return Err(OAuthError::invalid_grant("refresh token expired"));
        }
        RefreshStatus::Active => {}
    }
    let scope = narrow_scope(&entry.scope, form.get("scope"))?;
    let owner = Owner { client: entry.client.clone(), subject: entry.subject.clone() };
    let access = state.mint_access(entry.family, &owner, &scope);
    let refresh = if state.config.rotate_refresh_tokens {
        // RFC 6749 §6: a new refresh token keeps the original scope.
        let fresh = state.mint_refresh(entry.family, &owner, &entry.scope);
        if let Some(old) = state.refresh.get_mut(token) {
            old.status = RefreshStatus::Consumed;
        }
        Some(fresh)
    } else {
        None
    };
    let audience = client.map(|c| c.id).or(entry.client).unwrap_or_else(|| "unknown-client".to_string());
    let id_token = maybe_id_token(state, issuer, &scope, &entry.subject, &audience, None);
    Ok(Issued { access, refresh, scope, id_token })
}

/// The requested scope must be a subset of the granted one (RFC 6749 §6).
fn narrow_scope(granted: &str, requested: Option<&str>) -> Result<String, OAuthError> {
    let Some(requested) = requested else {
        return Ok(granted.to_string());
    };
    let granted: Vec<&str> = granted.split_whitespace().collect();
    if requested.split_whitespace().all(|s| granted.contains(&s)) {
        Ok(normalize_scope(requested))
    } else {
        Err(OAuthError::new("invalid_scope", "requested scope exceeds the granted scope"))
    }
}

fn grant_client_credentials(
    state: &mut State,
    form: &Form,
    client: Option<Client>,
) -> Result<Issued, OAuthError> {
    let client = require_client(client)?;
    if !client.confidential {
        return Err(OAuthError::new("unauthorized_client", "public clients may not use client_credentials"));
    }
    let scope = normalize_scope(form.get("scope").unwrap_or_default());
    let owner = Owner { client: Some(client.id.clone()), subject: client.id };
    let family = state.new_family();
    let access = state.mint_access(family, &owner, &scope);
    Ok(Issued { access, refresh: None, scope, id_token: None })
}

fn grant_device_code(
    state: &mut State,
    issuer: &str,
    form: &Form,
    client: Option<Client>,
) -> Result<Issued, OAuthError> {
    let client = require_client(client)?;
    let device_code = form.require("device_code")?;
    let now = Instant::now();
    let index = state
        .devices
        .iter()
        .position(|d| d.device_code == device_code)
        .ok_or_else(|| OAuthError::invalid_grant("unknown device_code"))?;
    let device = &mut state.devices[index];
    if device.client_id != client.id {
        return Err(OAuthError::invalid_grant("device_code was issued to another client"));
    }
    if device.status == DeviceStatus::Used {
        return Err(OAuthError::invalid_grant("device_code already used"));
    }
    if device.is_expired(now) {
        return Err(OAuthError::new("expired_token", "the device_code has expired"));
    }
    check_poll_interval(device, now)?;
    match device.status {
        DeviceStatus::Pending => {
            Err(OAuthError::new("authorization_pending", "the user has not yet approved"))
        }
        DeviceStatus::Denied => Err(OAuthError::new("access_denied", "the user denied")),
        DeviceStatus::Used | DeviceStatus::Approved => {
            device.status = DeviceStatus::Used;
            let scope = device.scope.clone();
            let subject = device.subject.clone();
            Ok(issue_device_tokens(state, issuer, &client, scope, subject))
        }
    }
}

/// RFC 8628 §3.5: polling faster than `interval` earns `slow_down` and
/// raises the interval by 5 seconds. (A 25 ms grace absorbs clock jitter.)
fn check_poll_interval(device: &mut DeviceGrant, now: Instant) -> Result<(), OAuthError> {
    let too_soon = device
        .last_poll
        .is_some_and(|last| now.duration_since(last) + Duration::from_millis(25) < device.interval);
    device.last_poll = Some(now);
    if too_soon {
        device.interval += Duration::from_secs(5);
        return Err(OAuthError::new("slow_down", "polling too frequently"));
    }
    Ok(())
}

fn issue_device_tokens(
    state: &mut State,
    issuer: &str,
    client: &Client,
    scope: String,
    subject: String,
) -> Issued {
    let owner = Owner { client: Some(client.id.clone()), subject: subject.clone() };
    let family = state.new_family();
    let access = state.mint_access(family, &owner, &scope);
    let refresh = state.mint_refresh(family, &owner, &scope);
    let id_token = maybe_id_token(state, issuer, &scope, &subject, &client.id, None);
    Issued { access, refresh: Some(refresh), scope, id_token }
}

// --- id tokens ---------------------------------------------------------------

fn maybe_id_token(
    state: &State,
    issuer: &str,
    scope: &str,
    subject: &str,
    audience: &str,
    nonce: Option<&str>,
) -> Option<String> {
    let wanted = state.config.issue_id_token && scope.split_whitespace().any(|s| s == "openid");
    wanted.then(|| build_id_token(&state.config, issuer, subject, audience, nonce))
}

/// An unsigned-in-spirit JWT: `alg` says RS256 but the signature is fake.
fn build_id_token(
    config: &Config,
    issuer: &str,
    subject: &str,
    audience: &str,
    nonce: Option<&str>,
) -> String {
    let now = now_ms() / 1000;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(subject));
    claims.insert("aud".into(), json!(audience));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ID_TOKEN_LIFETIME));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("preferred_username".into(), json!(subject));
    claims.insert("email".into(), json!(format!("{subject}@example.test")));
    for (key, value) in &config.id_token_overrides {
        if value.is_null() {
            claims.remove(key);
        } else {
            claims.insert(key.clone(), value.clone());
        }
    }
    let header = json!({ "alg": "RS256", "typ": "JWT" });
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(claims).to_string()),
        URL_SAFE_NO_PAD.encode("fake-signature"),
    )
}

// --- POST /device and /activate ----------------------------------------------

fn device_authorization(state: &mut State, issuer: &str, request: &Request) -> Response {
    if let Err(response) = require_method(request, &["POST"]) {
        return response;
    }
    let style = Style::for_request(&state.config, request);
    let client = Form::from_request(request).and_then(|form| {
        let client = require_client(authenticate_client(state, request, &form)?)?;
        Ok((form, client))
    });
    let (form, client) = match client {
        Ok(found) => found,
        Err(error) => return style.error(hostile(state, request, error)),
    };
    let device_code = state.secret("dc");
    let user_code = state.new_user_code();
    let config = &state.config;
    let interval = Duration::from_secs(config.device_interval.unwrap_or(5));
    let expires_at = Instant::now().checked_add(Duration::from_secs(config.device_expires_in));
    let verification_uri = format!("{issuer}/activate");
    let complete = format!("{verification_uri}?{}", form_urlencode(&[("user_code", &user_code)]));
    let mut fields = Map::new();
    fields.insert("device_code".into(), json!(device_code));
    fields.insert("user_code".into(), json!(user_code));
    fields.insert("verification_uri".into(), json!(verification_uri));
    fields.insert("verification_uri_complete".into(), json!(complete));
    fields.insert("expires_in".into(), json!(config.device_expires_in));
    if let Some(seconds) = config.device_interval {
        fields.insert("interval".into(), json!(seconds));
    }
    state.devices.push(DeviceGrant {
        device_code,
        user_code,
        client_id: client.id,
        scope: normalize_scope(form.get("scope").unwrap_or_default()),
        expires_at,
        status: DeviceStatus::Pending,
        subject: String::new(),
        interval,
        last_poll: None,
    });
    style.render(200, fields)
}

/// A minimal verification page: GET shows a form, POST approves or denies.
fn activate(state: &mut State, request: &Request) -> Response {
    match request.method.as_str() {
        "GET" => {
            let code = request.query_value("user_code").unwrap_or_default();
            let code = html_escape(&code);
            let page = format!(
                "<!doctype html><title>Activate device</title>\
                 <form method=\"post\" action=\"/activate\">\
                 <input name=\"user_code\" value=\"{code}\">\
                 <button name=\"action\" value=\"approve\">Approve</button>\
                 <button name=\"action\" value=\"deny\">Deny</button></form>"
            );
            Response::new(200).with_body("text/html; charset=utf-8", page.into_bytes())
        }
        "POST" => {
            let code = request.form_value("user_code").unwrap_or_default();
            let deny = request.form_value("action").as_deref() == Some("deny");
            let decision = if deny { DeviceStatus::Denied } else { DeviceStatus::Approved };
            match state.decide_device(&code, decision) {
                true if deny => Response::text(200, "Device denied."),
                true => Response::text(200, "Device approved. You can close this page."),
                false => Response::text(400, "Unknown or expired code."),
            }
        }
        _ => Response::method_not_allowed("GET, POST"),
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

// --- /userinfo -------------------------------------------------------------

fn userinfo(state: &mut State, issuer: &str, request: &Request) -> Response {
    if !state.config.userinfo_enabled {
        return Response::not_found();
    }
    if let Err(response) = require_method(request, &["GET", "POST"]) {
        return response;
    }
    let token = match resource_token(state, issuer, request) {
        Ok(token) => token,
        Err(response) => return response,
    };
    match state.active_access(&token) {
        Some(entry) => Response::json(
            200,
            &json!({
                "sub": entry.subject,
                "preferred_username": entry.subject,
                "email": format!("{}@example.test", entry.subject),
            }),
        ),
        None => Response::json(
            401,
            &json!({ "error": "invalid_token", "error_description": "invalid or expired" }),
        )
        .header("WWW-Authenticate", "Bearer error=\"invalid_token\""),
    }
}

// --- resource servers: /userinfo and /api/... (RFC 6750, RFC 9449 §7) -------------

/// The access token a resource request presents, checked: an active token; a DPoP-bound one
/// only as `Authorization: DPoP` with a valid proof (`ath`, `htm`, `htu`, its key, and the
/// resource nonce when one is demanded). Otherwise the 401 to answer.
fn resource_token(state: &mut State, issuer: &str, request: &Request) -> Result<String, Response> {
    let header = request.header("authorization").unwrap_or_default();
    let (scheme, token) = match (strip_scheme(header, "bearer"), strip_scheme(header, "dpop")) {
        (Some(token), _) => ("Bearer", token.trim().to_string()),
        (_, Some(token)) => ("DPoP", token.trim().to_string()),
        _ => {
            // RFC 6750 §3.1: no error code when no credentials were sent.
            return Err(Response::text(401, "authentication required")
                .header("WWW-Authenticate", "Bearer realm=\"fake-provider\", DPoP algs=\"ES256\""));
        }
    };
    let invalid = |scheme: &str, why: &str| {
        Response::json(401, &json!({ "error": "invalid_token", "error_description": why }))
            .header("WWW-Authenticate", &format!("{scheme} error=\"invalid_token\""))
    };
    let Some(entry) = state.active_access(&token) else {
        return Err(invalid(scheme, "invalid or expired"));
    };
    let bound = entry.jkt.clone();
    match (&bound, scheme) {
        (None, "Bearer") => return Ok(token),
        (None, _) => return Err(invalid("DPoP", "the token is not DPoP-bound")),
        (Some(_), "Bearer") => {
            return Err(invalid("DPoP", "a DPoP-bound token was presented as a Bearer token"));
        }
        (Some(_), _) => {}
    }
    let htu = format!("{issuer}{}", request.path);
    let nonce = state.config.resource_nonce.clone();
    match check_dpop(state, request, &htu, Some(&token), nonce.as_deref()) {
        Ok(Some(jkt)) if Some(&jkt) == bound.as_ref() => Ok(token),
        Ok(Some(_)) => Err(invalid("DPoP", "the proof was made with another key")),
        Ok(None) => Err(invalid("DPoP", "a DPoP-bound token needs a proof")),
        Err(DpopRefusal::Nonce(nonce)) => Err(Response::json(401, &json!({ "error": "use_dpop_nonce" }))
            .header("WWW-Authenticate", "DPoP error=\"use_dpop_nonce\", error_description=\"nonce required\"")
            .header("DPoP-Nonce", &nonce)),
        Err(DpopRefusal::Invalid(why)) => {
            Err(Response::json(401, &json!({ "error": "invalid_dpop_proof", "error_description": why }))
                .header("WWW-Authenticate", "DPoP error=\"invalid_dpop_proof\""))
        }
    }
}

/// `/api/...`: a small API for `vouch api`. `/api/status/NNN` answers NNN; `/api/pages/N`
/// is page N of 3, linking the next one (`Link: <...>; rel="next"`); `/api/jump?to=URL` links
/// to URL as its next page; anything else echoes what it got (method, path, query, body) with
/// the token's subject.
fn api(state: &mut State, issuer: &str, request: &Request) -> Response {
    let token = match resource_token(state, issuer, request) {
        Ok(token) => token,
        Err(response) => return response,
    };
    let subject = state.access.get(&token).map(|t| t.subject.clone()).unwrap_or_default();
    if let Some(status) = request.path.strip_prefix("/api/status/").and_then(|s| s.parse::<u16>().ok()) {
        return Response::json(status, &json!({ "status": status })).header("X-Fake", "status");
    }
    if let Some(page) = request.path.strip_prefix("/api/pages/").and_then(|s| s.parse::<u32>().ok()) {
        let answer = Response::json(200, &json!({ "page": page }));
        return if page < 3 {
            answer.header(
                "Link",
                &format!("</api/pages/first>; rel=\"first\", </api/pages/{}>; rel=\"next\"", page + 1),
            )
        } else {
            answer
        };
    }
    if request.path == "/api/jump" {
        let to = request.query_value("to").unwrap_or_default();
        return Response::json(200, &json!({ "page": "jump" }))
            .header("Link", &format!("<{to}>; rel=\"next\""));
    }
    Response::json(
        200,
        &json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body,
            "content_type": request.header("content-type"),
            "subject": subject,
        }),
    )
    .header("X-Fake", "echo")
}

/// Why a DPoP proof was not accepted.
enum DpopRefusal {
    /// It lacks the nonce the server demands (this one).
    Nonce(String),
    Invalid(String),
}

/// Check the request's DPoP proof, if it has one (RFC 9449 §4.3): `typ`, `alg` ES256, a
/// public P-256 `jwk`, the signature, `htm`, `htu`, `iat` within a minute, a `jti` not seen
/// before, `ath` when a token goes with it, and `nonce` when one is demanded. Returns the
/// key's thumbprint; `Ok(None)` without a proof. Every proof is recorded.
fn check_dpop(
    state: &mut State,
    request: &Request,
    htu: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
) -> Result<Option<String>, DpopRefusal> {
    let proofs: Vec<&str> =
        request.headers.iter().filter(|(k, _)| k == "dpop").map(|(_, v)| v.as_str()).collect();
    let proof = match proofs.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        _ => return Err(DpopRefusal::Invalid("more than one DPoP header".into())),
    };
    let mut seen = DpopSeen {
        path: request.path.clone(),
        htm: String::new(),
        htu: String::new(),
        jkt: String::new(),
        nonce: None,
        ath: None,
        refused: None,
    };
    let result = verify_proof(state, proof, request, htu, access_token, nonce, &mut seen);
    seen.refused = match &result {
        Ok(_) => None,
        Err(DpopRefusal::Nonce(_)) => Some("use_dpop_nonce".into()),
        Err(DpopRefusal::Invalid(why)) => Some(why.clone()),
    };
    state.dpop_seen.push(seen);
    result.map(Some)
}

fn verify_proof(
    state: &mut State,
    proof: &str,
    request: &Request,
    htu: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
    seen: &mut DpopSeen,
) -> Result<String, DpopRefusal> {
    use p256::ecdsa::signature::Verifier as _;
    let invalid = |why: &str| DpopRefusal::Invalid(why.to_string());
    let parts: Vec<&str> = proof.split('.').collect();
    let [header_b64, claims_b64, signature_b64] = parts.as_slice() else {
        return Err(invalid("not a JWS"));
    };
    let decode =
        |part: &str| -> Option<Value> { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok() };
    let header = decode(header_b64).ok_or_else(|| invalid("header is not JSON"))?;
    let claims = decode(claims_b64).ok_or_else(|| invalid("claims are not JSON"))?;
    if header["typ"] != "dpop+jwt" || header["alg"] != "ES256" {
        return Err(invalid("typ must be dpop+jwt and alg ES256"));
    }
    let jwk = &header["jwk"];
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jwk.get("d").is_some() {
        return Err(invalid("jwk must be a public P-256 key"));
    }
    let (Some(x), Some(y)) = (jwk["x"].as_str(), jwk["y"].as_str()) else {
        return Err(invalid("jwk has no coordinates"));
    };
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    seen.jkt = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    seen.htm = claims["htm"].as_str().unwrap_or_default().to_string();
    seen.htu = claims["htu"].as_str().unwrap_or_default().to_string();
    seen.nonce = claims["nonce"].as_str().map(str::to_string);
    seen.ath = claims["ath"].as_str().map(str::to_string);
    let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(c).ok().filter(|b| b.len() == 32);
    let (Some(x), Some(y)) = (coordinate(x), coordinate(y)) else {
        return Err(invalid("jwk coordinates are not 32 bytes"));
    };
    let point = p256::EncodedPoint::from_affine_coordinates(
        p256::FieldBytes::from_slice(&x),
        p256::FieldBytes::from_slice(&y),
        false,
    );
    let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map_err(|_| invalid("jwk is not on the curve"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|bytes| p256::ecdsa::Signature::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("signature is malformed"))?;
    let input = format!("{header_b64}.{claims_b64}");
    key.verify(input.as_bytes(), &signature).map_err(|_| invalid("signature does not verify"))?;
    if seen.htm != request.method {
        return Err(invalid("htm does not match the method"));
    }
    if seen.htu != htu {
        return Err(invalid("htu does not match the URL"));
    }
    let now = now_ms() / 1000;
    match claims["iat"].as_i64() {
        Some(iat) if (iat - now).abs() <= 60 => {}
        _ => return Err(invalid("iat is missing or not within a minute of now")),
    }
    let jti = claims["jti"].as_str().filter(|j| !j.is_empty()).ok_or_else(|| invalid("no jti"))?;
    if state.dpop_jtis.contains(jti) {
        return Err(invalid("jti was seen before (replay)"));
    }
    match access_token {
        Some(token)
            if seen.ath.as_deref()
                != Some(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())).as_str()) =>
        {
            return Err(invalid("ath does not match the access token"));
        }
        None if seen.ath.is_some() => return Err(invalid("ath without an access token")),
        _ => {}
    }
    if let Some(nonce) = nonce
        && seen.nonce.as_deref() != Some(nonce)
    {
        return Err(DpopRefusal::Nonce(nonce.to_string()));
    }
    state.dpop_jtis.insert(jti.to_string());
    Ok(seen.jkt.clone())
}

// --- POST /revoke (RFC 7009) -------------------------------------------------

fn revoke_endpoint(state: &mut State, request: &Request) -> Response {
    if !state.config.revocation_enabled {
        return Response::not_found();
    }
    if let Err(response) = require_method(request, &["POST"]) {
        return response;
    }
    let style = Style::standard();
    match revoke(state, request) {
        Ok(()) => Response::new(200).header("Cache-Control", "no-store"),
        Err(error) if error.status == 401 && state.config.revocation_auth == RevocationAuth::RequiredBare => {
            Response::new(401).header("WWW-Authenticate", "Basic realm=\"fake-provider\"")
        }
        Err(error) => style.error(hostile(state, request, error)),
    }
}

fn revoke(state: &mut State, request: &Request) -> Result<(), OAuthError> {
    let form = Form::from_request(request)?;
    let client = authenticate_client(state, request, &form)?;
    let public = client.as_ref().is_none_or(|c| !c.confidential);
    if public && state.config.revocation_auth != RevocationAuth::Optional {
        return Err(OAuthError::invalid_client("client authentication is required to revoke tokens", false));
    }
    let token = form.require("token")?;
    let mismatch = || OAuthError::new("unauthorized_client", "token was issued to another client");
    if let Some(entry) = state.refresh.get(token) {
        let (owner, family) = (entry.client.clone(), entry.family);
        check_owner(state, owner.as_deref(), client.as_ref(), mismatch())?;
        // Revoking a refresh token ends the whole grant.
        state.revoke_refresh(token);
        state.revoke_family(family);
    } else if let Some(entry) = state.access.get(token) {
        let owner = entry.client.clone();
        check_owner(state, owner.as_deref(), client.as_ref(), mismatch())?;
        state.revoke_access(token);
    }
    // Unknown tokens: 200 all the same (RFC 7009 §2.2).
    Ok(())
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (name, rest) = value.trim_start().split_once(' ')?;
    name.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn first_value(pairs: Vec<(String, String)>, key: &str) -> Option<String> {
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn parse_urlencoded(encoded: &str) -> Vec<(String, String)> {
    encoded
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn normalize_scope(scope: &str) -> String {
    scope.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Uppercase, without separators, so `abcd-efgh` matches `ABCD-EFGH`.
fn normalize_user_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    static FALLBACK_COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; N];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness is all a fake needs if the OS RNG is unavailable.
        let count = FALLBACK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::new()
            .chain_update(count.to_le_bytes())
            .chain_update(now_ms().to_le_bytes())
            .chain_update(std::process::id().to_le_bytes())
            .finalize();
        for (byte, value) in bytes.iter_mut().zip(digest.iter().cycle()) {
            *byte = *value;
        }
    }
    bytes
}

/// 32 lowercase hex digits.
fn random_hex() -> String {
    random_bytes::<16>().iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `ABCD-EFGH` from the RFC 8628 §6.1 vowel-free alphabet.
fn random_user_code() -> String {
    let letters: Vec<char> = random_bytes::<8>()
        .iter()
        .map(|b| char::from(USER_CODE_ALPHABET[usize::from(*b) % USER_CODE_ALPHABET.len()]))
        .collect();
    let (first, second) = letters.split_at(4);
    format!("{}-{}", first.iter().collect::<String>(), second.iter().collect::<String>())
}

/// `application/x-www-form-urlencoded` serialization: RFC 3986 unreserved
/// characters stay, a space becomes `+`, everything else is `%XX`.
pub fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode_component(key), encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// Form-style decoding: `%XX` escapes and `+` as a space. Invalid escapes
/// are kept literally; invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' => {
                let escaped = bytes
                    .get(index + 1..index + 3)
                    .and_then(|pair| Some(hex_value(pair[0])? * 16 + hex_value(pair[1])?));
                match escaped {
                    Some(value) => {
                        out.push(value);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
}
