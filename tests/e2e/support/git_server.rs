//! A loopback smart-HTTP git server for end-to-end tests of `vouch` as a git credential helper.
//!
//! This module owns [`GitServer`]: an HTTP/1.1 server on `127.0.0.1` (a random port), written
//! with `std::net` only (one thread per connection, `Connection: close` on every response), that
//! puts real `git clone`, `git fetch` and `git push` through an authentication gate:
//!
//! * every request must carry `Authorization: Basic ...` (any username; the password is checked)
//!   or `Authorization: Bearer ...`, and the test's `accept` callback decides whether the secret
//!   is valid. Anything else gets `401` with `WWW-Authenticate: Basic realm="vouch-test"` and an
//!   empty body, which is what makes git call its credential helper (`get`, then `store` on
//!   success or `erase` after a rejected credential);
//! * authorized requests are served by `git http-backend` run as a CGI program over the bare
//!   repositories in a private temporary root (see [`GitServer::create_repo`]). Request bodies
//!   (`Content-Length` or `Transfer-Encoding: chunked`, possibly gzip-encoded, which the backend
//!   decodes) are buffered and piped in; the CGI answer is streamed back chunked;
//! * every request is recorded, in order, as a [`Seen`].
//!
//! The `git` used for the backend and for building repositories is the first `git` on `PATH`
//! when the server starts ([`GitServer::git`]), i.e. the same one a test runs by name. The
//! backend runs with a cleared environment (only `PATH`, a `HOME` inside the root,
//! `GIT_CONFIG_NOSYSTEM=1`, `GIT_TERMINAL_PROMPT=0`, `LC_ALL=C` and the CGI variables), so the
//! caller's git configuration does not leak into the server side.
//!
//! Nothing the client sends is unwrapped: malformed requests get `400`, oversized bodies `413`,
//! oversized heads `431`.
//! Every wait is bounded (socket read polls that watch a shutdown flag, an idle limit per
//! request, a time limit per backend run), and dropping the server stops the listener, kills
//! running backends and waits a bounded time for the connection threads.
//!
//! Dependencies: std, `base64` and `tempfile` only, so the file can be reused by other crates
//! through `#[path = ...]`.

#![allow(dead_code)]

use base64::Engine as _;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Decides whether a Basic password or a Bearer token is valid.
pub type Accept = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The realm of the `WWW-Authenticate` challenge.
pub const REALM: &str = "vouch-test";

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// The request target as sent on the request line: the path plus `?query`, if any
    /// (e.g. `/repo.git/info/refs?service=git-upload-pack`).
    pub path: String,
    /// Whether `accept` approved the credential.
    pub authorized: bool,
    /// From `Authorization: Basic`.
    pub username: Option<String>,
    /// From `Authorization: Basic`.
    pub password: Option<String>,
    /// From `Authorization: Bearer`.
    pub bearer: Option<String>,
    /// The status code answered (401 for unauthorized requests, the backend's status
    /// otherwise); 0 while the request is in progress or when the client went away first.
    pub status: u16,
}

/// A smart-HTTP git server on a random loopback port. See the module documentation.
pub struct GitServer {
    port: u16,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
    /// Dropped after `Drop::drop` has stopped the threads and backends.
    root: TempDir,
}

impl GitServer {
    /// Starts listening on `127.0.0.1:0`.
    ///
    /// `accept(password_or_bearer_token)` decides whether a request's credential is valid: it
    /// gets the Basic password (any username is accepted) or the Bearer token.
    pub fn start(accept: Accept) -> GitServer {
        let root = tempfile::Builder::new().prefix("vouch-git-server-").tempdir().expect("git server root");
        std::fs::create_dir(root.path().join(".home")).expect("git server home");
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind git server");
        let port = listener.local_addr().expect("git server address").port();
        listener.set_nonblocking(true).expect("non-blocking git server listener");
        let path_env = std::env::var_os("PATH").unwrap_or_default();
        let shared = Arc::new(Shared {
            accept,
            seen: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            root: root.path().to_path_buf(),
            git: find_git(&path_env),
            path_env,
            connections: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("git-server-accept".to_string())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn git server listener");
        GitServer { port, shared, listener: Some(handle), root }
    }

    /// Creates the bare repository `name` (e.g. `"repo.git"`) under the server root: one commit
    /// on `main` that adds `README.md`, and `http.receivepack` enabled so that pushes work.
    pub fn create_repo(&self, name: &str) {
        let work = tempfile::Builder::new().prefix("vouch-git-work-").tempdir().expect("temp work tree");
        let dir = work.path();
        self.git_in(dir, &["init", "-q", "-b", "main", "."]);
        std::fs::write(dir.join("README.md"), format!("# {name}\n")).expect("write README.md");
        self.git_in(dir, &["add", "README.md"]);
        self.git_in(
            dir,
            &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial commit"],
        );
        let bare = self.root.path().join(name);
        let bare_arg = bare.to_str().expect("UTF-8 repository path");
        self.git_in(dir, &["clone", "-q", "--bare", ".", bare_arg]);
        self.git_in(&bare, &["config", "http.receivepack", "true"]);
    }

    /// `http://127.0.0.1:PORT/NAME`
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{}", self.host(), name.trim_start_matches('/'))
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock_seen().clone()
    }

    /// Number of commits on `main` in the bare repository `name` (`git rev-list --count main`).
    pub fn commit_count(&self, name: &str) -> usize {
        let out = self.git_in(&self.root.path().join(name), &["rev-list", "--count", "main"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| panic!("rev-list --count printed {text:?}"))
    }

    /// The `git` executable the server uses (the first `git` on `PATH` at start).
    pub fn git(&self) -> &Path {
        &self.shared.git
    }

    /// The directory that holds the bare repositories (`GIT_PROJECT_ROOT`).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Runs the server's `git` in `dir` with the backend's hermetic environment; panics on failure.
    fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        let out = Command::new(&self.shared.git)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(self.shared.base_env())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {} {args:?}: {e}", self.shared.git.display()));
        assert!(
            out.status.success(),
            "git {args:?} in {} failed: {}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // The listener polls a non-blocking accept, so this join is bounded by ACCEPT_POLL.
        if let Some(handle) = self.listener.take() {
            let _ = handle.join();
        }
        // Connection threads poll the flag while reading and their backends' watchdogs kill the
        // backend on shutdown; wait for them, but never past DROP_GRACE.
        let handles = std::mem::take(&mut *self.shared.lock_connections());
        let deadline = Instant::now() + DROP_GRACE;
        for handle in handles {
            while !handle.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared state
// ---------------------------------------------------------------------------

const ACCEPT_POLL: Duration = Duration::from_millis(5);
const READ_POLL: Duration = Duration::from_millis(50);
/// How long a client may stay silent in the middle of a request.
const IDLE_LIMIT: Duration = Duration::from_secs(20);
const WRITE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one `git http-backend` run may take.
const BACKEND_LIMIT: Duration = Duration::from_secs(120);
const DROP_GRACE: Duration = Duration::from_secs(5);
const CLOSE_GRACE: Duration = Duration::from_secs(1);
const MAX_HEAD: usize = 64 * 1024;
const MAX_LINE: usize = 8 * 1024;
const MAX_BODY: usize = 256 * 1024 * 1024;
const MAX_CGI_HEAD: usize = 64 * 1024;
const MAX_STDERR: usize = 64 * 1024;

struct Shared {
    accept: Accept,
    seen: Mutex<Vec<Seen>>,
    shutdown: AtomicBool,
    root: PathBuf,
    git: PathBuf,
    path_env: OsString,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn lock_seen(&self) -> MutexGuard<'_, Vec<Seen>> {
        self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_connections(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    fn record(&self, seen: Seen) -> usize {
        let mut all = self.lock_seen();
        all.push(seen);
        all.len() - 1
    }

    fn set_status(&self, index: usize, status: u16) {
        if let Some(seen) = self.lock_seen().get_mut(index) {
            seen.status = status;
        }
    }

    /// The environment every git the server runs starts from.
    fn base_env(&self) -> Vec<(OsString, OsString)> {
        vec![
            ("PATH".into(), self.path_env.clone()),
            ("HOME".into(), self.root.join(".home").into_os_string()),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("LC_ALL".into(), "C".into()),
        ]
    }
}

/// The first executable `git` on `path`, so that the backend is the git the tests run by name.
fn find_git(path: &OsString) -> PathBuf {
    std::env::split_paths(path)
        .map(|dir| dir.join("git"))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
        .unwrap_or_else(|| PathBuf::from("git"))
}

// ---------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.is_shutting_down() {
        match listener.accept() {
            Ok((stream, peer)) => {
                let conn_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("git-server-conn".to_string())
                    .spawn(move || serve_connection(stream, peer, conn_shared));
                if let Ok(handle) = spawned {
                    let mut connections = shared.lock_connections();
                    connections.retain(|h| !h.is_finished());
                    connections.push(handle);
                }
            }
            Err(_) => thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Why a request could not be read.
enum Failure {
    /// The peer went away, went idle, or the server is stopping: no answer.
    Closed,
    /// Answer with this status and reason.
    Bad(u16, &'static str),
}

struct Head {
    method: String,
    target: String,
    /// Percent-decoded path, without the query.
    path: String,
    query: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn expects_continue(&self) -> bool {
        self.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }
}

#[derive(Clone, Copy)]
enum Framing {
    None,
    Length(usize),
    Chunked,
}

#[derive(Default)]
struct Credential {
    username: Option<String>,
    password: Option<String>,
    bearer: Option<String>,
}

impl Credential {
    fn secret(&self) -> Option<&str> {
        self.password.as_deref().or(self.bearer.as_deref())
    }
}

fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(READ_POLL));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let mut conn = Conn { stream, buf: Vec::new(), shared: &shared, last_progress: Instant::now() };

    let raw = match conn.read_head() {
        Ok(raw) => raw,
        Err(Failure::Closed) => return,
        Err(Failure::Bad(status, reason)) => {
            let index = shared.record(malformed_seen(&conn.buf));
            shared.set_status(index, status);
            let _ = write_simple(&conn.stream, status, &[], reason.as_bytes());
            close_gracefully(&conn.stream, &shared);
            return;
        }
    };
    let head = match parse_head(&raw) {
        Ok(head) => head,
        Err(reason) => {
            let index = shared.record(malformed_seen(&raw));
            shared.set_status(index, 400);
            let _ = write_simple(&conn.stream, 400, &[], reason.as_bytes());
            close_gracefully(&conn.stream, &shared);
            return;
        }
    };

    let credential = parse_authorization(head.header("authorization"));
    let authorized = credential.secret().is_some_and(|secret| (shared.accept)(secret));
    let index = shared.record(Seen {
        method: head.method.clone(),
        path: head.target.clone(),
        authorized,
        username: credential.username.clone(),
        password: credential.password.clone(),
        bearer: credential.bearer.clone(),
        status: 0,
    });

    let framing = match framing(&head) {
        Ok(framing) => framing,
        Err(Failure::Closed) => return,
        Err(Failure::Bad(status, reason)) => {
            shared.set_status(index, status);
            let _ = write_simple(&conn.stream, status, &[], reason.as_bytes());
            close_gracefully(&conn.stream, &shared);
            return;
        }
    };

    if !authorized {
        // With `Expect: 100-continue` the client waits for this answer before sending the body;
        // otherwise read (and drop) the body so that closing does not reset the connection.
        // A body that cannot be read does not change the answer.
        if !head.expects_continue() {
            let _ = conn.read_body(framing);
        }
        let challenge = format!("Basic realm=\"{REALM}\"");
        shared.set_status(index, 401);
        let _ = write_simple(&conn.stream, 401, &[("WWW-Authenticate", &challenge)], b"");
        close_gracefully(&conn.stream, &shared);
        return;
    }

    if head.expects_continue() && !matches!(framing, Framing::None) {
        let mut writer = &conn.stream;
        if writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").and_then(|_| writer.flush()).is_err() {
            return;
        }
    }
    let body = match conn.read_body(framing) {
        Ok(body) => body,
        Err(Failure::Closed) => return,
        Err(Failure::Bad(status, reason)) => {
            shared.set_status(index, status);
            let _ = write_simple(&conn.stream, status, &[], reason.as_bytes());
            close_gracefully(&conn.stream, &shared);
            return;
        }
    };
    let body = match framing {
        Framing::None => None,
        Framing::Length(_) | Framing::Chunked => Some(body),
    };
    run_backend(&conn.stream, peer, &head, &credential, body, &shared, index);
    close_gracefully(&conn.stream, &shared);
}

/// A best-effort record of a request whose head could not be parsed.
fn malformed_seen(raw: &[u8]) -> Seen {
    let first_line = raw.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = String::from_utf8_lossy(first_line);
    let mut parts = first_line.split_whitespace();
    Seen {
        method: parts.next().unwrap_or_default().to_string(),
        path: parts.next().unwrap_or_default().to_string(),
        authorized: false,
        username: None,
        password: None,
        bearer: None,
        status: 0,
    }
}

/// Shuts down the sending side, then drains what the client still sends for a short while so
/// that closing does not turn into a reset that could destroy the response in flight.
fn close_gracefully(stream: &TcpStream, shared: &Shared) {
    let mut writer = stream;
    let _ = writer.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + CLOSE_GRACE;
    let mut sink = [0u8; 16 * 1024];
    let mut reader = stream;
    while Instant::now() < deadline && !shared.is_shutting_down() {
        match reader.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if is_retryable(&e) => {}
            Err(_) => break,
        }
    }
}

fn is_retryable(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

// ---------------------------------------------------------------------------
// Reading requests
// ---------------------------------------------------------------------------

struct Conn<'a> {
    stream: TcpStream,
    /// Received but not yet consumed.
    buf: Vec<u8>,
    shared: &'a Shared,
    last_progress: Instant,
}

impl Conn<'_> {
    /// Appends at least one byte to `buf`.
    fn fill(&mut self) -> Result<(), Failure> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if self.shared.is_shutting_down() || self.last_progress.elapsed() > IDLE_LIMIT {
                return Err(Failure::Closed);
            }
            match (&self.stream).read(&mut chunk) {
                Ok(0) => return Err(Failure::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    self.last_progress = Instant::now();
                    return Ok(());
                }
                Err(e) if is_retryable(&e) => continue,
                Err(_) => return Err(Failure::Closed),
            }
        }
    }

    /// The request line and headers, up to and including the blank line.
    fn read_head(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(end) = head_end(&self.buf) {
                return Ok(self.buf.drain(..end).collect());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Failure::Bad(431, "request head too large"));
            }
            self.fill()?;
        }
    }

    fn take(&mut self, count: usize) -> Result<Vec<u8>, Failure> {
        while self.buf.len() < count {
            self.fill()?;
        }
        Ok(self.buf.drain(..count).collect())
    }

    /// One line without its line ending.
    fn read_line(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(Failure::Bad(400, "chunk line too long"));
            }
            self.fill()?;
        }
    }

    fn read_body(&mut self, framing: Framing) -> Result<Vec<u8>, Failure> {
        match framing {
            Framing::None => Ok(Vec::new()),
            Framing::Length(length) => self.take(length),
            Framing::Chunked => {
                let mut body = Vec::new();
                loop {
                    let line = self.read_line()?;
                    let size = parse_chunk_size(&line).ok_or(Failure::Bad(400, "malformed chunk size"))?;
                    if size == 0 {
                        // Trailers, up to the blank line.
                        let mut trailer_bytes = 0;
                        loop {
                            let trailer = self.read_line()?;
                            if trailer.is_empty() {
                                return Ok(body);
                            }
                            trailer_bytes += trailer.len();
                            if trailer_bytes > MAX_HEAD {
                                return Err(Failure::Bad(400, "trailers too large"));
                            }
                        }
                    }
                    if body.len().saturating_add(size) > MAX_BODY {
                        return Err(Failure::Bad(413, "request body too large"));
                    }
                    let data = self.take(size)?;
                    body.extend_from_slice(&data);
                    if self.read_line()?.is_empty() {
                        continue;
                    }
                    return Err(Failure::Bad(400, "chunk data longer than its size"));
                }
            }
        }
    }
}

/// The length of the head including its terminating blank line (CRLF, tolerating bare LF).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == b'\n' {
            let line = &buf[line_start..i];
            if line.is_empty() || line == b"\r" {
                return Some(i + 1);
            }
            line_start = i + 1;
        }
    }
    None
}

fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(line).ok()?;
    let size = text.split(';').next().unwrap_or_default().trim();
    if size.is_empty() || size.len() > 15 || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(size, 16).ok()
}

fn parse_head(raw: &[u8]) -> Result<Head, &'static str> {
    let text = std::str::from_utf8(raw).map_err(|_| "request head is not UTF-8")?;
    let mut lines = text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line));
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None) => (method, target, version),
        _ => return Err("malformed request line"),
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("malformed method");
    }
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control()) {
        return Err("malformed request target");
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("unsupported HTTP version");
    }
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or("malformed header line")?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("malformed header name");
        }
        let value = value.trim_matches(|c| c == ' ' || c == '\t');
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err("control character in header value");
        }
        headers.push((name.to_string(), value.to_string()));
    }
    let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(raw_path).ok_or("malformed percent-encoding in path")?;
    Ok(Head {
        method: method.to_string(),
        target: target.to_string(),
        path,
        query: query.to_string(),
        headers,
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok()
}

fn framing(head: &Head) -> Result<Framing, Failure> {
    let lengths: Vec<&str> = head.headers_named("content-length").collect();
    let encodings: Vec<&str> = head.headers_named("transfer-encoding").collect();
    if !encodings.is_empty() {
        if !lengths.is_empty() {
            return Err(Failure::Bad(400, "both Content-Length and Transfer-Encoding"));
        }
        if encodings.len() == 1 && encodings[0].eq_ignore_ascii_case("chunked") {
            return Ok(Framing::Chunked);
        }
        return Err(Failure::Bad(501, "unsupported Transfer-Encoding"));
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::None);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(Failure::Bad(400, "conflicting Content-Length"));
    }
    if first.is_empty() || first.len() > 15 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Failure::Bad(400, "malformed Content-Length"));
    }
    let length: usize = first.parse().map_err(|_| Failure::Bad(400, "malformed Content-Length"))?;
    if length > MAX_BODY {
        return Err(Failure::Bad(413, "request body too large"));
    }
    Ok(Framing::Length(length))
}

fn parse_authorization(value: Option<&str>) -> Credential {
    let Some(value) = value else {
        return Credential::default();
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok();
        let text = decoded.and_then(|bytes| String::from_utf8(bytes).ok());
        if let Some((username, password)) = text.as_deref().and_then(|t| t.split_once(':')) {
            return Credential {
                username: Some(username.to_string()),
                password: Some(password.to_string()),
                bearer: None,
            };
        }
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        return Credential { username: None, password: None, bearer: Some(rest.to_string()) };
    }
    Credential::default()
}

// ---------------------------------------------------------------------------
// Writing responses
// ---------------------------------------------------------------------------

fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// A complete response with a `Content-Length` body and `Connection: close`.
fn write_simple(stream: &TcpStream, status: u16, headers: &[(&str, &str)], body: &[u8]) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut writer = stream;
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()
}

// ---------------------------------------------------------------------------
// git http-backend (CGI)
// ---------------------------------------------------------------------------

/// Runs `git http-backend` for one request and streams its answer. The status is recorded in
/// `seen[index]` before the client can see it, so that a test that inspects [`GitServer::seen`]
/// right after git exits finds it.
fn run_backend(
    stream: &TcpStream,
    peer: SocketAddr,
    head: &Head,
    credential: &Credential,
    body: Option<Vec<u8>>,
    shared: &Arc<Shared>,
    index: usize,
) {
    let mark = |status: u16| shared.set_status(index, status);
    let mut command = Command::new(&shared.git);
    command
        .arg("http-backend")
        .current_dir(&shared.root)
        .env_clear()
        .envs(shared.base_env())
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &head.method)
        .env("PATH_INFO", &head.path)
        .env("QUERY_STRING", &head.query)
        .env("REMOTE_ADDR", peer.ip().to_string())
        .env("REMOTE_USER", credential.username.as_deref().unwrap_or("bearer"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(body) = &body {
        command.env("CONTENT_LENGTH", body.len().to_string());
    }
    if let Some(value) = head.header("content-type") {
        command.env("CONTENT_TYPE", value);
    }
    if let Some(value) = head.header("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", value);
    }
    if let Some(value) = head.header("git-protocol") {
        command.env("GIT_PROTOCOL", value);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let message = format!("cannot run {} http-backend: {e}", shared.git.display());
            eprintln!("git server: {message}");
            mark(500);
            let _ = write_simple(stream, 500, &[], message.as_bytes());
            return;
        }
    };
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let pid = child.id();
    let child = Arc::new(Mutex::new(child));
    let done = Arc::new(AtomicBool::new(false));

    let watchdog = {
        let (child, done, shared) = (Arc::clone(&child), Arc::clone(&done), Arc::clone(shared));
        thread::Builder::new().name("git-server-watchdog".to_string()).spawn(move || {
            let started = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if shared.is_shutting_down() || started.elapsed() > BACKEND_LIMIT {
                    kill_backend(&child, pid);
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Feed the body from its own thread so that a backend that answers before it has read all
    // of its input cannot deadlock against us.
    let feeder = thread::Builder::new().name("git-server-stdin".to_string()).spawn(move || {
        if let (Some(mut stdin), Some(body)) = (stdin, body) {
            let _ = stdin.write_all(&body);
        }
    });
    let drain = thread::Builder::new().name("git-server-stderr".to_string()).spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut chunk = [0u8; 8 * 1024];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if kept.len() < MAX_STDERR {
                    kept.extend_from_slice(&chunk[..n.min(MAX_STDERR - kept.len())]);
                }
            }
        }
        kept
    });

    let status = match stdout {
        Some(stdout) => relay_cgi(stream, stdout, &mark),
        None => Err(CgiError::BadOutput("no stdout pipe")),
    };

    // Reap the backend, killing it if it outlives its output.
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        let polled = lock_child(&child).try_wait();
        match polled {
            Ok(Some(exit)) => break Some(exit),
            Ok(None) if Instant::now() < deadline && !shared.is_shutting_down() => {
                thread::sleep(Duration::from_millis(10));
            }
            _ => {
                kill_backend(&child, pid);
                break lock_child(&child).wait().ok();
            }
        }
    };
    done.store(true, Ordering::SeqCst);
    if let Ok(handle) = watchdog {
        let _ = handle.join();
    }
    if let Ok(handle) = feeder {
        join_bounded(handle);
    }
    let stderr = drain.ok().and_then(join_bounded).unwrap_or_default();

    let status = match status {
        Ok(status) => status,
        Err(CgiError::BadOutput(reason)) => {
            let message = format!("{reason}\n{}", String::from_utf8_lossy(&stderr));
            mark(502);
            let _ = write_simple(stream, 502, &[], message.as_bytes());
            502
        }
        Err(CgiError::Client(status)) => status,
    };
    let failed = exit.is_none_or(|exit| !exit.success());
    if status >= 500 || failed {
        eprintln!(
            "git server: http-backend {} {} -> {status} (exit {exit:?}): {}",
            head.method,
            head.target,
            String::from_utf8_lossy(&stderr).trim_end()
        );
    }
}

fn lock_child(child: &Mutex<Child>) -> MutexGuard<'_, Child> {
    child.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Kills the backend's whole process group (it runs `git upload-pack` / `receive-pack`
/// children), but only while the backend has not been reaped, so the id cannot be stale.
fn kill_backend(child: &Mutex<Child>, pid: u32) {
    let mut child = lock_child(child);
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
    }
}

/// Joins a helper thread unless it is still blocked after a short while (then it is left
/// detached: it only holds a pipe that the backend's exit will close).
fn join_bounded<T>(handle: JoinHandle<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !handle.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    if handle.is_finished() { handle.join().ok() } else { None }
}

enum CgiError {
    /// The backend's output was not a valid CGI answer; nothing has been sent yet.
    BadOutput(&'static str),
    /// The response was (partly) sent with this status, then the client or the pipe failed.
    Client(u16),
}

/// Reads the CGI header block, sends the HTTP head (after `mark`ing its status), then streams
/// the body chunked.
fn relay_cgi(stream: &TcpStream, stdout: impl Read, mark: &dyn Fn(u16)) -> Result<u16, CgiError> {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut status = 200;
    let mut reason = String::new();
    let mut headers = Vec::new();
    let mut head_bytes = 0;
    loop {
        let mut line = Vec::new();
        let n = (&mut reader)
            .take(MAX_CGI_HEAD.saturating_sub(head_bytes) as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|_| CgiError::BadOutput("reading the backend's output failed"))?;
        head_bytes += n;
        if head_bytes > MAX_CGI_HEAD {
            return Err(CgiError::BadOutput("the backend's CGI header block is too large"));
        }
        if n == 0 || !line.ends_with(b"\n") {
            return Err(CgiError::BadOutput("the backend's CGI header block is incomplete"));
        }
        let line = String::from_utf8(line).map_err(|_| CgiError::BadOutput("non-UTF-8 CGI header"))?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').ok_or(CgiError::BadOutput("malformed CGI header"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let (code, text) = value.split_once(' ').unwrap_or((value, ""));
            status = code.parse().map_err(|_| CgiError::BadOutput("malformed CGI Status"))?;
            reason = text.trim().to_string();
        } else if !["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|hop| name.eq_ignore_ascii_case(hop))
        {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    if reason.is_empty() {
        reason = reason_phrase(status).to_string();
    }
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    mark(status);
    let mut writer = stream;
    writer.write_all(head.as_bytes()).map_err(|_| CgiError::Client(status))?;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(CgiError::Client(status)),
        };
        writer
            .write_all(format!("{n:x}\r\n").as_bytes())
            .and_then(|_| writer.write_all(&chunk[..n]))
            .and_then(|_| writer.write_all(b"\r\n"))
            .map_err(|_| CgiError::Client(status))?;
    }
    writer.write_all(b"0\r\n\r\n").and_then(|_| writer.flush()).map_err(|_| CgiError::Client(status))?;
    Ok(status)
}
