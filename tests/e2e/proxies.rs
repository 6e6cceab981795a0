//! Proxies (issue 11 item 6), end to end with the real binary and real environment variables:
//! plain-http loopback traffic never goes through a proxy, whatever `HTTPS_PROXY`,
//! `HTTP_PROXY` or `ALL_PROXY` say; remote https goes through `HTTPS_PROXY`. The NO_PROXY
//! matching is unit-tested in `src/http.rs`.

use crate::support::fake_provider::FakeProvider;
use crate::support::secret_service::SecretService;
use crate::support::{Running, Vouch, unique_profile};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A loopback "proxy" that records the first line of every connection made to it, then
/// refuses it with a 403 (so a client that uses it fails at once).
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recording proxy");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                log.lock().unwrap().push(format!("connection: {}", first.trim()));
                // Read the whole request head before answering: closing a socket with unread
                // bytes sends a reset, which the client may see before the answer.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                    line.clear();
                }
                let _ = (&stream).write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                let _ = stream.shutdown(std::net::Shutdown::Write);
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            }
        });
        Recorder { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Every variable a proxy-aware client might read, pointing here.
    fn everywhere(&self, vouch: &mut Vouch) {
        for name in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
            vouch.set_env(name, &self.url);
        }
    }
}

#[test]
fn loopback_traffic_never_goes_through_a_proxy() {
    let ss = SecretService::start();
    let provider = FakeProvider::start();
    let proxy = Recorder::start();
    let mut vouch = Vouch::new("secret-service", ss.env());
    proxy.everywhere(&mut vouch);

    let issuer = provider.issuer();
    let mut login = Running::spawn(&vouch, &["login", "p", "--issuer", &issuer, "--client-id", "cli"]);
    let code = login.wait_for(|line| line.split("enter the code: ").nth(1).map(|c| c.trim().to_string()));
    assert!(provider.approve_device(&code));
    let (exit, _, stderr) = login.finish();
    assert_eq!(exit, 0, "the login failed: {stderr}");

    vouch.run(&["refresh", "p"]).expect(0);
    vouch.run(&["status", "p", "--verify"]).expect(0);
    vouch.run(&["logout", "p"]).expect(0);

    assert_eq!(proxy.seen(), Vec::<String>::new(), "loopback traffic went through the proxy");
    assert_eq!(provider.token_requests("refresh_token").len(), 1, "the refresh never reached the provider");
    assert_eq!(provider.count("/revoke"), 2, "logout never reached the provider");
}

#[test]
fn remote_https_goes_through_https_proxy() {
    // The control for the test above: the recorder does see a client that uses it.
    let proxy = Recorder::start();
    let name = unique_profile("proxy");
    // Nothing is stored (the login fails before), so the kernel keyring is a safe store here.
    let mut vouch = Vouch::new("keyutils", vec![]);
    vouch.set_env("HTTPS_PROXY", &proxy.url);
    let run = vouch.run_with_stdin(
        &["login", &name, "--issuer", "https://idp.vouch-test.invalid", "--client-id", "cli", "--with-token"],
        Some("canary-token\n"),
    );
    run.expect(5).leaks_nothing("canary-token");
    let seen = proxy.seen();
    assert!(
        seen.iter().any(|l| l == "connection: CONNECT idp.vouch-test.invalid:443 HTTP/1.1"),
        "the proxy saw {seen:?}"
    );

    // A SOCKS proxy cannot be honoured: refused, never bypassed.
    vouch.set_env("HTTPS_PROXY", "socks5://127.0.0.1:1");
    let run = vouch.run_with_stdin(
        &["login", &name, "--issuer", "https://idp.vouch-test.invalid", "--client-id", "cli", "--with-token"],
        Some("canary-token\n"),
    );
    run.expect(2);
    assert!(run.stderr.contains("HTTPS_PROXY"), "{}", run.stderr);
}
