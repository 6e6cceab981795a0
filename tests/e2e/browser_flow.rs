//! The browser sign-in flow (issue 11): exact registered redirect URIs (`--redirect-uri`,
//! `--redirect-port`, `localhost`), headless sign-in by pasting the redirected address
//! (`--paste`), and the loopback listener under attack by another local user (tricklers, a
//! hard `--timeout`, forged error callbacks, nothing secret in the browser's argv or env).
//!
//! Most tests drive `vouch::execute` in-process against the fake provider over real HTTP, with
//! the test as the browser and the person; the last runs the binary with a `$BROWSER` script.

use crate::support::fake_provider::{self, AuthorizeMode, FakeProvider};
use crate::support::in_process::{Buffer, Harness};
use crate::support::secret_service::SecretService;
use crate::support::{Running, Vouch, launch_page_url};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;
use vouch::store::StoreKind;

fn provider(config: fake_provider::Config) -> Arc<FakeProvider> {
    Arc::new(FakeProvider::start_with(config))
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn browser_login(p: &FakeProvider, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--browser"].map(String::from).to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A port free on both 127.0.0.1 and [::1] right now.
fn free_port() -> u16 {
    loop {
        let v4 = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = v4.local_addr().unwrap().port();
        if TcpListener::bind(("::1", port)).is_ok() {
            return port;
        }
    }
}

fn query(url: &str, key: &str) -> Option<String> {
    Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().new_agent()
}

/// The person at the provider: GET the authorization URL; the provider's status and, when it
/// redirected, where to.
fn authorize(url: &str) -> (u16, Option<String>) {
    let Ok(answer) = agent().get(url).call() else { return (0, None) };
    let location = answer.headers().get("location").and_then(|l| l.to_str().ok()).map(str::to_string);
    (answer.status().as_u16(), location)
}

/// A browser hook, in a thread: `act` gets the authorization URL behind the launch page.
/// Records every argument vouch handed the browser.
fn browser(
    seen: &Arc<Mutex<Vec<String>>>,
    act: impl Fn(String) + Send + Clone + 'static,
) -> Box<dyn FnMut(&str) -> bool> {
    let seen = seen.clone();
    Box::new(move |page: &str| {
        seen.lock().unwrap().push(page.to_string());
        let url = launch_page_url(page);
        let act = act.clone();
        std::thread::spawn(move || act(url));
        true
    })
}

/// Approve at the provider, then deliver the redirect, with its host replaced by `via` when
/// given (to reach one loopback address of `localhost` on purpose).
fn approve_and_return(url: &str, via: Option<&str>) -> Option<u16> {
    let (_, location) = authorize(url);
    let mut location = Url::parse(&location?).ok()?;
    if let Some(host) = via {
        location.set_host(Some(host)).ok()?;
    }
    agent().get(location.as_str()).call().ok().map(|r| r.status().as_u16())
}

/// Connections that trickle one byte of a request every `gap`, reconnecting whenever vouch
/// drops them, until `stop` or the test says `done` (so no other test's listener, on a reused
/// port, gets them).
fn trickler(addr: SocketAddr, gap: Duration, stop: Instant, done: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let stop = || Instant::now() >= stop || done.load(Ordering::SeqCst);
        while !stop() {
            let Ok(mut stream) = TcpStream::connect(addr) else {
                std::thread::sleep(gap);
                continue;
            };
            for byte in b"GET /callback?state=".iter().cycle() {
                if stop() || stream.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(gap);
            }
        }
    });
}

fn redirect_addr(url: &str) -> SocketAddr {
    let redirect = Url::parse(&query(url, "redirect_uri").unwrap()).unwrap();
    SocketAddr::from(([127, 0, 0, 1], redirect.port().unwrap()))
}

fn config_text(h: &Harness) -> String {
    std::fs::read_to_string(h.dir.path().join("config.toml")).unwrap_or_default()
}

// ----- 1. exact redirect URIs ------------------------------------------------------------

#[test]
fn an_exact_registered_redirect_uri_is_sent_verbatim_saved_and_reused() {
    let port = free_port();
    let registered = format!("http://localhost:{port}/cb");
    let p = provider(fake_provider::Config {
        registered_redirect_uri: Some(registered.clone()),
        ..Default::default()
    });
    let h = Harness::new(StoreKind::Mock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    // `localhost` means both loopback addresses: the first login comes back over IPv4...
    let args = browser_login(&p, &["--redirect-uri", &registered, "--timeout", "30"]);
    let code = h.run_with(&strs(&args), "", |ctx| {
        ctx.open_browser = browser(&seen, |url| {
            approve_and_return(&url, Some("127.0.0.1"));
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert!(h.stored("p").is_some());
    assert_eq!(
        p.requests_to("/authorize")[0].query_value("redirect_uri").as_deref(),
        Some(registered.as_str())
    );
    assert_eq!(
        p.token_requests("authorization_code")[0].form_value("redirect_uri").as_deref(),
        Some(&*registered)
    );
    assert!(config_text(&h).contains(&format!("redirect_uri = \"{registered}\"")), "{}", config_text(&h));

    // ...and the next login, with no flags, reuses it (the provider refuses anything else),
    // coming back over IPv6 this time.
    let code = h.run_with(&["login", "p", "--timeout", "30"], "", |ctx| {
        ctx.open_browser = browser(&seen, |url| {
            approve_and_return(&url, Some("[::1]"));
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(h.stored("p").unwrap()["generation"], 2);
    let authorizations = p.requests_to("/authorize");
    assert_eq!(authorizations.len(), 2);
    assert_eq!(authorizations[1].query_value("redirect_uri").as_deref(), Some(registered.as_str()));
}

#[test]
fn the_strict_provider_refuses_any_other_port_host_or_path() {
    let port = free_port();
    let p = provider(fake_provider::Config {
        registered_redirect_uri: Some(format!("http://localhost:{port}/cb")),
        ..Default::default()
    });
    let other = free_port();
    for extra in [
        vec![], // ephemeral port on 127.0.0.1
        vec!["--redirect-uri".to_string(), format!("http://localhost:{other}/cb")], // port
        vec!["--redirect-uri".to_string(), format!("http://127.0.0.1:{port}/cb")], // host
        vec!["--redirect-uri".to_string(), format!("http://localhost:{port}/callback")], // path
    ] {
        let h = Harness::new(StoreKind::Mock);
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let mut args = browser_login(&p, &["--timeout", "1"]);
        args.extend(extra.iter().cloned());
        let recorded = statuses.clone();
        let code = h.run_with(&strs(&args), "", |ctx| {
            ctx.open_browser = browser(&Arc::new(Mutex::new(Vec::new())), move |url| {
                recorded.lock().unwrap().push(authorize(&url).0);
            })
        });
        assert_eq!(code, 10, "{extra:?}: {}", h.stderr.text());
        assert_eq!(*statuses.lock().unwrap(), vec![400], "{extra:?}: the provider accepted the redirect");
        assert!(h.stored("p").is_none(), "{extra:?}");
    }
    assert_eq!(p.token_requests("authorization_code").len(), 0);
}

#[test]
fn redirect_port_fixes_the_port_on_127_0_0_1() {
    let port = free_port();
    let registered = format!("http://127.0.0.1:{port}/callback");
    let p = provider(fake_provider::Config {
        registered_redirect_uri: Some(registered.clone()),
        ..Default::default()
    });
    let h = Harness::new(StoreKind::Mock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let args = browser_login(&p, &["--redirect-port", &port.to_string(), "--timeout", "30"]);
    let code = h.run_with(&strs(&args), "", |ctx| {
        ctx.open_browser = browser(&seen, |url| {
            approve_and_return(&url, None);
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert!(config_text(&h).contains(&format!("redirect_uri = \"{registered}\"")), "{}", config_text(&h));
}

#[test]
fn a_busy_redirect_port_is_exit_2_before_anything_happens() {
    // Taken on 127.0.0.1; and, for `localhost`, taken only on [::1], which vouch must also own.
    let v4 = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let v4_port = v4.local_addr().unwrap().port();
    let v6_port = free_port();
    let v6 = TcpListener::bind(("::1", v6_port)).unwrap();
    let p = provider(fake_provider::Config::default());
    for (extra, address) in [
        (vec!["--redirect-port".to_string(), v4_port.to_string()], format!("127.0.0.1:{v4_port}")),
        (
            vec!["--redirect-uri".to_string(), format!("http://localhost:{v6_port}/cb")],
            format!("[::1]:{v6_port}"),
        ),
    ] {
        let h = Harness::new(StoreKind::Mock);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut args = browser_login(&p, &["--timeout", "30"]);
        args.extend(extra);
        let code = h.run_with(&strs(&args), "", |ctx| ctx.open_browser = browser(&seen, |_| {}));
        let err = h.stderr.text();
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(&address) && err.contains("in use"), "{err}");
        assert!(seen.lock().unwrap().is_empty(), "a browser was opened");
        assert!(!err.contains("/authorize?"), "the URL was printed before the port was had: {err}");
        assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists());
    }
    assert_eq!(p.count("/token"), 0);
    drop((v4, v6));
}

#[test]
fn redirects_that_are_not_loopback_http_are_usage_errors() {
    let p = provider(fake_provider::Config::default());
    for bad in [
        "http://0.0.0.0:8400/callback",
        "http://192.168.1.10:8400/callback",
        "http://localhost.evil.example:8400/callback",
        "https://localhost:8400/callback",
        "http://localhost:8400/callback?x=1",
    ] {
        let h = Harness::new(StoreKind::Mock);
        let code = h.run(&strs(&browser_login(&p, &["--redirect-uri", bad])), "");
        assert_eq!(code, 2, "{bad}: {}", h.stderr.text());
        assert!(h.stderr.text().contains("127.0.0.1"), "{bad}: {}", h.stderr.text());
        assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists(), "{bad}");
    }
    assert_eq!(p.requests().len(), 0, "the provider was contacted");
}

// ----- 5. headless: the person pastes the redirected address -----------------------------

/// The person on the other end of an ssh session: reads the URL vouch printed on stderr,
/// approves at the provider, and pastes where the browser was sent (rewritten by `edit`).
fn person_pasting(stderr: Buffer, edit: impl Fn(String) -> String + Send + 'static) -> std::io::PipeReader {
    let (reader, mut writer) = std::io::pipe().unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let text = stderr.text();
            if let Some(url) =
                text.lines().map(str::trim).find(|l| l.starts_with("http") && l.contains("/authorize?"))
                && text.contains("paste it here")
            {
                break url.to_string();
            }
            assert!(Instant::now() < deadline, "vouch never printed the URL: {text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let (status, location) = authorize(&url);
        assert_eq!(status, 302, "the provider did not redirect");
        let _ = writeln!(writer, "{}", edit(location.unwrap()));
    });
    reader
}

fn paste_login(p: &FakeProvider) -> Vec<String> {
    ["login", "p", "--issuer", &p.issuer(), "--client-id", "cli", "--paste"].map(String::from).to_vec()
}

#[test]
fn paste_signs_in_from_the_pasted_redirect_address() {
    let p = provider(fake_provider::Config { token_prefix: "canary".into(), ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let opened = Arc::new(Mutex::new(Vec::new()));
    let code = h.run_with(&strs(&paste_login(&p)), "", |ctx| {
        ctx.terminal.stdin = true;
        ctx.stdin = Box::new(person_pasting(h.stderr.clone(), |location| location));
        ctx.open_browser = browser(&opened, |_| {});
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    let record = h.stored("p").expect("stored");
    assert!(p.is_access_token_active(record["access_token"].as_str().unwrap()));
    // The usual checks ran: PKCE with the verifier, the same (default, port-less) redirect.
    let authorize = &p.requests_to("/authorize")[0];
    assert_eq!(authorize.query_value("redirect_uri").as_deref(), Some("http://127.0.0.1/callback"));
    assert!(authorize.query_value("nonce").is_some());
    let exchange = &p.token_requests("authorization_code")[0];
    assert_eq!(exchange.form_value("redirect_uri").as_deref(), Some("http://127.0.0.1/callback"));
    assert!(exchange.form_value("code_verifier").is_some_and(|v| v.len() >= 43));
    assert!(opened.lock().unwrap().is_empty(), "--paste opened a browser");
    assert!(h.stdout.text().is_empty(), "the prompt belongs on stderr");
    assert!(!h.stderr.text().contains("canary-"), "{}", h.stderr.text());
    // The profile keeps the browser flow, not the paste: that is a choice per session.
    assert!(config_text(&h).contains("flow = \"browser\""), "{}", config_text(&h));
}

#[test]
fn a_pasted_address_with_another_state_is_refused_and_nothing_is_stored() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let code = h.run_with(&strs(&paste_login(&p)), "", |ctx| {
        ctx.terminal.stdin = true;
        ctx.stdin = Box::new(person_pasting(h.stderr.clone(), |location| {
            let mut url = Url::parse(&location).unwrap();
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "state" { "stale-state".into() } else { v.into_owned() };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
            url.to_string()
        }));
    });
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("state that does not match"), "{}", h.stderr.text());
    assert_eq!(p.token_requests("authorization_code").len(), 0, "the code was redeemed");
    assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists());
}

#[test]
fn a_pasted_error_redirect_ends_the_login_with_its_code() {
    let p = provider(fake_provider::Config { authorize_mode: AuthorizeMode::Deny, ..Default::default() });
    let h = Harness::new(StoreKind::Mock);
    let started = Instant::now();
    let code = h.run_with(&strs(&paste_login(&p)), "", |ctx| {
        ctx.terminal.stdin = true;
        ctx.stdin = Box::new(person_pasting(h.stderr.clone(), |location| location));
    });
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("access_denied"), "{}", h.stderr.text());
    assert!(started.elapsed() < Duration::from_secs(60), "the pasted error did not end the login");
    assert_eq!(p.count("/token"), 0);
    assert!(h.stored("p").is_none() && !h.dir.path().join("config.toml").exists());
}

#[test]
fn paste_without_a_terminal_or_with_no_input_is_exit_2() {
    let p = provider(fake_provider::Config::default());
    for (no_input, tty) in [(false, false), (true, true)] {
        let h = Harness::new(StoreKind::Mock);
        let mut args = paste_login(&p);
        if no_input {
            args.insert(0, "--no-input".into());
        }
        let code = h.run_with(&strs(&args), "http://127.0.0.1/callback?code=x&state=y\n", |ctx| {
            ctx.terminal.stdin = tty
        });
        assert_eq!(code, 2, "{}", h.stderr.text());
        assert!(h.stderr.text().contains("--paste"), "{}", h.stderr.text());
        assert!(!h.stderr.text().contains("/authorize?"), "{}", h.stderr.text());
        assert!(h.stored("p").is_none());
    }
    // The real binary, stdin closed and no terminal: at once, not a hang.
    let ss = SecretService::start();
    let vouch = Vouch::new("secret-service", ss.env());
    let run = vouch.run(&strs(&paste_login(&p)));
    run.expect(2);
    assert!(run.elapsed < Duration::from_secs(30));
    assert_eq!(ss.count_items("vouch"), 0);
    assert_eq!(p.count("/token"), 0);
}

// ----- 7. the loopback listener under attack ---------------------------------------------

#[test]
fn a_trickling_connection_does_not_hold_up_the_real_callback() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(Vec::new()));
    let recorded = statuses.clone();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let started = Instant::now();
    let code = h.run_with(&strs(&browser_login(&p, &[])), "", |ctx| {
        ctx.open_browser = browser(&seen, move |url| {
            let addr = redirect_addr(&url);
            // Another local user: a connection trickling a byte every 200 ms for a minute,
            // and more idle connections than vouch holds at once.
            trickler(
                addr,
                Duration::from_millis(200),
                Instant::now() + Duration::from_secs(60),
                stop.clone(),
            );
            let idle: Vec<TcpStream> = (0..40).filter_map(|_| TcpStream::connect(addr).ok()).collect();
            std::thread::sleep(Duration::from_millis(300));
            recorded.lock().unwrap().push(approve_and_return(&url, None));
            drop(idle);
        })
    });
    done.store(true, Ordering::SeqCst);
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert_eq!(*statuses.lock().unwrap(), vec![Some(200)], "the browser was not answered");
    assert!(h.stored("p").is_some());
    // Generous: without the fix this waits for the trickler's whole minute.
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
fn timeout_bounds_the_whole_login_even_with_a_trickler() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let started = Instant::now();
    let code = h.run_with(&strs(&browser_login(&p, &["--timeout", "5"])), "", |ctx| {
        ctx.open_browser = browser(&seen, move |url| {
            let end = Instant::now() + Duration::from_secs(90);
            trickler(redirect_addr(&url), Duration::from_secs(2), end, stop.clone());
        })
    });
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    assert_eq!(code, 10, "{}", h.stderr.text());
    assert!(h.stderr.text().contains("--timeout"), "{}", h.stderr.text());
    assert!(elapsed < Duration::from_secs(15), "--timeout 5 took {elapsed:?}");
    assert!(h.stored("p").is_none());
}

/// Send `GET target` to the listener as a raw request; the status line it answered.
fn raw_get(addr: SocketAddr, target: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_forged_error_callback_with_the_right_state_does_not_end_the_login() {
    let p = provider(fake_provider::Config::default());
    let h = Harness::new(StoreKind::Mock);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let forged = Arc::new(Mutex::new(Vec::new()));
    let record = forged.clone();
    let code = h.run_with(&strs(&browser_login(&p, &["--timeout", "60"])), "", |ctx| {
        ctx.open_browser = browser(&seen, move |url| {
            // Someone who learned the state sends a denial, and a "response" from another
            // issuer, before the person has even reached the provider.
            let state = query(&url, "state").unwrap();
            let addr = redirect_addr(&url);
            record
                .lock()
                .unwrap()
                .push(raw_get(addr, &format!("/callback?error=access_denied&state={state}")));
            record.lock().unwrap().push(raw_get(
                addr,
                &format!("/callback?code=forged&state={state}&iss=https%3A%2F%2Fevil.example"),
            ));
            std::thread::sleep(Duration::from_millis(500));
            approve_and_return(&url, None);
        })
    });
    assert_eq!(code, 0, "{}", h.stderr.text());
    assert!(forged.lock().unwrap().iter().all(|s| s.contains(" 200 ")), "{:?}", forged.lock().unwrap());
    assert!(h.stored("p").is_some());
    // The person was told about the report at once, and the forged code was never redeemed.
    assert!(h.stderr.text().contains("without a sign-in"), "{}", h.stderr.text());
    let exchanges = p.token_requests("authorization_code");
    assert_eq!(exchanges.len(), 1);
    assert_ne!(exchanges[0].form_value("code").as_deref(), Some("forged"));
}

#[test]
fn the_browser_child_gets_a_private_page_not_the_url_and_no_client_secret() {
    use std::os::unix::fs::PermissionsExt;
    let ss = SecretService::start();
    let p = FakeProvider::start();
    let mut vouch = Vouch::new("secret-service", ss.env());
    let log = tempfile::tempdir().unwrap();
    let script = log.path().join("browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nenv > {dir}/env.tmp\nmv {dir}/env.tmp {dir}/env\necho \"$@\" > {dir}/argv\n",
            dir = log.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    vouch.set_env("BROWSER", &script.display().to_string());
    vouch.set_env("VOUCH_CLIENT_SECRET", "canary-client-secret");
    let runtime = tempfile::tempdir().unwrap();
    vouch.set_env("XDG_RUNTIME_DIR", &runtime.path().display().to_string());

    let mut login =
        Running::spawn(&vouch, &["login", "web", "--issuer", &p.issuer(), "--client-id", "cli", "--browser"]);
    let printed = login.wait_for(|line| line.trim().starts_with("http").then(|| line.trim().to_string()));
    let deadline = Instant::now() + Duration::from_secs(30);
    let argv = loop {
        if let Some(argv) = crate::support::read_if_exists(&log.path().join("argv")) {
            break argv;
        }
        assert!(Instant::now() < deadline, "the browser was never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let page = std::path::PathBuf::from(argv.trim());
    assert!(page.starts_with(runtime.path()), "{argv}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&page), 0o600);
    assert_eq!(mode(page.parent().unwrap()), 0o700);
    assert_eq!(launch_page_url(argv.trim()), printed, "the page leads to the printed URL");
    assert_eq!(approve_and_return(&printed, None), Some(200));
    let (exit, _, stderr) = login.finish();
    assert_eq!(exit, 0, "{stderr}");
    assert!(ss.lookup("vouch", &vouch.entry_of("web")).is_some());

    let state = p.requests_to("/authorize")[0].query_value("state").unwrap();
    assert!(!argv.contains(&state) && !argv.contains("state="), "the state is in the browser's argv: {argv}");
    let env = std::fs::read_to_string(log.path().join("env")).unwrap();
    assert!(env.contains("BROWSER="), "the script's environment was not captured: {env}");
    assert!(!env.contains("VOUCH_CLIENT_SECRET") && !env.contains("canary-client-secret"), "{env}");
    assert!(!page.exists() && !page.parent().unwrap().exists(), "the launch page outlived the login");
}
