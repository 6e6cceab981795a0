//! A loopback HTTP(S) resource server for the credential-helper tests: kubectl's API server
//! and cargo's sparse registry, reduced to what those clients ask for.
//!
//! Every request's `Authorization` is checked by the test's `accept` callback (the fake
//! provider's idea of an active access token), and recorded as a [`Seen`]. A request without
//! a credential the callback accepts gets `401` (with `WWW-Authenticate` when the test wants
//! one), so the client never learns the resource. The routes are the test's: a function from
//! the path to a status, a content type and a body.
//!
//! With [`Tls`], the server speaks HTTPS with a throwaway certificate for `127.0.0.1` made by
//! the `openssl` command (kubectl sends a bearer token to TLS servers only). One thread per
//! connection, `Connection: close`, bounded reads; dropping the server stops its listener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Decides whether the `Authorization` header's value is acceptable.
pub type Accept = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The answer for an authorized path: status, content type, body.
pub type Routes = Arc<dyn Fn(&str) -> (u16, &'static str, Vec<u8>) + Send + Sync>;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub authorized: bool,
}

/// A self-signed certificate for 127.0.0.1, made by `openssl`.
pub struct Tls {
    dir: tempfile::TempDir,
}

impl Tls {
    pub fn generate() -> Tls {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
            ])
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .output()
            .expect("openssl is missing: install openssl");
        assert!(out.status.success(), "openssl failed: {}", String::from_utf8_lossy(&out.stderr));
        Tls { dir }
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(self.cert_path()).unwrap()
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs =
            CertificateDer::pem_file_iter(self.cert_path()).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
        let key = PrivateKeyDer::from_pem_file(self.dir.path().join("key.pem")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        Arc::new(config)
    }
}

struct Shared {
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

pub struct ResourceServer {
    port: u16,
    tls: bool,
    shared: Arc<Shared>,
}

impl ResourceServer {
    /// Serve `routes` to requests whose `Authorization` `accept` approves; `challenge` is the
    /// `WWW-Authenticate` value of a 401, if any.
    pub fn start(tls: Option<&Tls>, accept: Accept, routes: Routes, challenge: Option<&'static str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared { seen: Mutex::new(Vec::new()), stop: AtomicBool::new(false) });
        let config = tls.map(Tls::server_config);
        let state = shared.clone();
        std::thread::spawn(move || {
            while !state.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (state, accept, routes, config) =
                            (state.clone(), accept.clone(), routes.clone(), config.clone());
                        std::thread::spawn(move || {
                            let _ = stream.set_nonblocking(false);
                            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                            let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                            match config {
                                Some(config) => {
                                    let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                                    let mut tls = rustls::StreamOwned::new(conn, stream);
                                    serve(&mut tls, &state, &accept, &routes, challenge);
                                }
                                None => {
                                    let mut stream = stream;
                                    serve(&mut stream, &state, &accept, &routes, challenge);
                                }
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ResourceServer { port, tls: tls.is_some(), shared }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for ResourceServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Read one request head (bodies are not expected: these clients only GET), answer, close.
fn serve(
    stream: &mut (impl Read + Write),
    shared: &Shared,
    accept: &Accept,
    routes: &Routes,
    challenge: Option<&str>,
) {
    let mut reader = BufReader::new(&mut *stream);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        match reader.by_ref().take(16 * 1024).read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        head.push(line.trim_end().to_string());
        if head.len() > 100 {
            return;
        }
    }
    drop(reader);
    let Some(path) = head.first().and_then(|l| l.split(' ').nth(1)).map(str::to_string) else { return };
    let authorization = head.iter().skip(1).find_map(|h| {
        let (name, value) = h.split_once(':')?;
        name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
    });
    let authorized = authorization.as_deref().is_some_and(|a| accept(a));
    shared.seen.lock().unwrap().push(Seen { path: path.clone(), authorization, authorized });
    let (status, kind, body) = if authorized {
        routes(&path)
    } else {
        (
            401,
            "application/json",
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}"#.to_vec(),
        )
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n",
        if status == 200 { "OK" } else { "Other" },
        body.len()
    );
    if status == 401
        && let Some(challenge) = challenge
    {
        response.push_str(&format!("WWW-Authenticate: {challenge}\r\n"));
    }
    response.push_str("\r\n");
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

/// The bearer token in an `Authorization` value, if that is what it is.
pub fn bearer(authorization: &str) -> Option<&str> {
    authorization.strip_prefix("Bearer ")
}

/// A file's text, for assertions on configuration the tests hand to clients.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
