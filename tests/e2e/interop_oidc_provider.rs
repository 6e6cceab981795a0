//! Interoperability: vouch's login flows, unchanged, against an independent OpenID Certified
//! provider, panva's `oidc-provider` (npm), run on loopback by `tests/interop/provider.mjs`.
//!
//! The fake provider proves vouch does what vouch means; these tests prove a real provider
//! agrees. The test plays the person with plain HTTP: it reads what vouch prints on stderr,
//! then submits the provider's own HTML forms (device code entry and confirmation, login,
//! consent) with a small cookie jar, and follows redirects by hand. What the provider did is
//! checked with its standard endpoints (userinfo, introspection) and its event log.
//!
//! Needs Node.js (>= 20) and npm: the first test of a process runs `npm ci` in tests/interop
//! unless node_modules is current (under a lock file, so concurrent test processes do not
//! race), then each test starts its own provider on an ephemeral port. A missing `node` or
//! `npm` is a panic naming what to install: these tests are never skipped.
//!
//! Two tests found vouch defects (offline_access without `prompt=consent`; a re-login whose
//! revocation took down a shared grant); their comments say what was found and fixed.

use crate::support::Vouch;
use crate::support::secret_service::SecretService;
use base64::Engine as _;
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// `provider.mjs`'s public native client (device, authorization code, refresh token).
const CLI_CLIENT: &str = "vouch-cli";
/// `provider.mjs`'s confidential client (client credentials, client_secret_basic). Its secret
/// has characters that must be form-urlencoded before Basic encoding (RFC 6749 §2.3.1).
const CI_CLIENT: &str = "vouch-ci";
const CI_SECRET: &str = "interop-ci-secret:+/%&= ~";
/// The person signing in (devInteractions accepts any login and password).
const USER: &str = "alice";

/// Bound on `npm ci`.
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
/// Bound on the provider printing its issuer.
const START_TIMEOUT: Duration = Duration::from_secs(20);

// ----- the provider ----------------------------------------------------------------------

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("interop")
}

/// Run `PROGRAM --version`, panicking with an install hint when it is missing.
fn require_tool(program: &str) {
    match Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => {}
        other => panic!(
            "`{program} --version` failed ({other:?}): the interop tests need Node.js >= 20 and npm \
             on PATH (Debian: apt-get install nodejs npm)"
        ),
    }
}

/// A lock file shared by every test process of this checkout, in cargo's target tmp dir.
fn lock_file() -> File {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interop-npm.lock");
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

/// `npm ci` in tests/interop, at most once per test process and only when node_modules was
/// not installed from the current package-lock.json. Concurrent processes take turns on an
/// exclusive lock (providers being started hold it shared, so none loads half-installed
/// modules).
fn install() {
    static INSTALLED: OnceLock<Result<Duration, String>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        require_tool("node");
        require_tool("npm");
        let lock = lock_file();
        lock.lock().map_err(|e| format!("cannot lock for npm ci: {e}"))?;
        let started = Instant::now();
        // What the last successful `npm ci` installed from; equal to package-lock.json means
        // node_modules is current (and a process per test, as nextest runs them, need not
        // reinstall under the feet of providers other processes are running).
        let lockfile = std::fs::read(interop_dir().join("package-lock.json"))
            .map_err(|e| format!("tests/interop/package-lock.json: {e}"))?;
        let stamp = interop_dir().join("node_modules").join(".vouch-installed-from-lock");
        if std::fs::read(&stamp).is_ok_and(|installed| installed == lockfile) {
            return Ok(started.elapsed());
        }
        let mut child = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run npm ci: {e}"))?;
        let output = collect_output(&mut child);
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break status;
            }
            if started.elapsed() > NPM_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("npm ci took over {NPM_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let output = output.join().unwrap_or_default();
        if !status.success() {
            return Err(format!("npm ci in {} failed ({status}):\n{output}", interop_dir().display()));
        }
        std::fs::write(&stamp, &lockfile).map_err(|e| format!("{}: {e}", stamp.display()))?;
        drop(lock);
        let took = started.elapsed();
        eprintln!("interop: npm ci took {took:?}");
        Ok(took)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Drain a child's stdout and stderr into one string, returned when both close.
fn collect_output(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        let errs = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s + &errs.join().unwrap_or_default()
    })
}

/// A running `node provider.mjs`; killed on drop (and it exits by itself when this test
/// process dies, because its stdin closes).
struct OidcProvider {
    child: Child,
    _lifeline: ChildStdin,
    issuer: String,
    log: Arc<Mutex<Vec<String>>>,
    http: ureq::Agent,
}

impl OidcProvider {
    fn start() -> Self {
        install();
        let lock = lock_file();
        lock.lock_shared().expect("shared lock on the interop install");
        let started = Instant::now();
        let mut child = Command::new("node")
            .args(["provider.mjs", "0", "--exit-on-stdin-close"])
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node provider.mjs ({e}); install Node.js >= 20"));
        let lifeline = child.stdin.take().expect("stdin");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {} // keep the pipe open and drained
        });
        let issuer = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) if line.starts_with("http://127.0.0.1:") => line.trim().to_string(),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "provider.mjs printed no issuer within {START_TIMEOUT:?} ({other:?}); its stderr:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        drop(lock);
        eprintln!("interop: provider at {issuer} up in {:?}", started.elapsed());
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        OidcProvider { child, _lifeline: lifeline, issuer, log, http }
    }

    fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The provider's event lines so far (see provider.mjs).
    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// GET /me with `token`: the status and the JSON answer.
    fn userinfo(&self, token: &str) -> (u16, Value) {
        let mut response = self
            .http
            .get(format!("{}/me", self.issuer))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .expect("userinfo request");
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// RFC 7662 introspection of any token, as the confidential client.
    fn introspect(&self, token: &str) -> Value {
        let form = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            form(CI_CLIENT),
            form(CI_SECRET)
        ));
        let mut response = self
            .http
            .post(format!("{}/token/introspection", self.issuer))
            .header("Authorization", format!("Basic {basic}"))
            .send_form([("token", token)])
            .expect("introspection request");
        assert_eq!(response.status().as_u16(), 200, "introspection failed; provider log:\n{}", self.log());
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- the person's browser: forms, cookies and redirects by hand -------------------------

/// One HTTP answer as the browser saw it.
struct Page {
    url: String,
    status: u16,
    location: Option<String>,
    body: String,
}

struct Cookie {
    name: String,
    value: String,
    path: String,
}

/// Just enough of a browser for oidc-provider's forms: a cookie jar (host-only, path-scoped,
/// no expiry beyond deletion) and manual redirects.
struct Browser {
    agent: ureq::Agent,
    jar: Vec<Cookie>,
    /// "METHOD path -> status" for every request, for failure messages.
    trail: Vec<String>,
    /// Which of the provider's forms were submitted (`prompt` values, "user_code", "confirm").
    submitted: Vec<String>,
}

impl Browser {
    fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Browser { agent, jar: Vec::new(), trail: Vec::new(), submitted: Vec::new() }
    }

    fn cookie_header(&self, url: &url::Url) -> Option<String> {
        let path = url.path();
        let pairs: Vec<String> = self
            .jar
            .iter()
            .filter(|c| path == c.path || path.starts_with(&format!("{}/", c.path.trim_end_matches('/'))))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    fn remember(&mut self, url: &url::Url, response: &ureq::http::Response<ureq::Body>) {
        for header in response.headers().get_all("set-cookie") {
            let Ok(text) = header.to_str() else { continue };
            let mut parts = text.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let mut path = url.path().rsplit_once('/').map_or("/", |(dir, _)| dir).to_string();
            if path.is_empty() {
                path = "/".to_string();
            }
            let mut expired = value.is_empty();
            for attr in parts {
                let (key, val) = attr.split_once('=').unwrap_or((attr, ""));
                match key.to_ascii_lowercase().as_str() {
                    "path" => path = val.to_string(),
                    "max-age" => expired |= val.trim() == "0",
                    "expires" => expired |= val.contains("1970"),
                    _ => {}
                }
            }
            self.jar.retain(|c| !(c.name == name && c.path == path));
            if !expired {
                self.jar.push(Cookie { name: name.to_string(), value: value.to_string(), path });
            }
        }
    }

    fn request(&mut self, method: &str, url: &str, form: Option<&[(String, String)]>) -> Page {
        let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
        let cookie = self.cookie_header(&parsed);
        let result = match form {
            None => {
                let mut request = self.agent.get(url);
                if let Some(cookie) = &cookie {
                    request = request.header("Cookie", cookie);
                }
                request.call()
            }
            Some(fields) => {
                let mut request = self.agent.post(url);
                if let Some(cookie) = &cookie {
                    request = request.header("Cookie", cookie);
                }
                request.send_form(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}; so far: {:?}", self.trail));
        self.remember(&parsed, &response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(|l| parsed.join(l).map(String::from).unwrap_or_else(|_| l.to_string()));
        let body = response.body_mut().read_to_string().unwrap_or_default();
        self.trail.push(format!("{method} {} -> {status}", parsed.path()));
        Page { url: url.to_string(), status, location, body }
    }

    /// Act as the person from `url` on: follow the provider's redirects and submit each of its
    /// forms (entering `user_code` where asked, logging in as `login`, consenting), until a
    /// redirect leaves the provider (returned, not followed) or a page without a form.
    fn sign_in(&mut self, url: &str, issuer: &str, user_code: Option<&str>, login: &str) -> Page {
        let mut page = self.request("GET", url, None);
        for _ in 0..20 {
            if let Some(location) = page.location.clone() {
                assert!((300..400).contains(&page.status), "{}: {}", page.status, page.url);
                if !location.starts_with(&format!("{issuer}/")) {
                    return page;
                }
                page = self.request("GET", &location, None);
                continue;
            }
            assert_eq!(
                page.status, 200,
                "{} answered {}: {}\ntrail: {:?}",
                page.url, page.status, page.body, self.trail
            );
            let Some(form) = Form::first_in(&page.body) else { return page };
            let mut fields = Vec::new();
            for (name, value) in form.inputs {
                let value = match name.as_str() {
                    "user_code" if value.is_empty() => {
                        self.submitted.push("user_code".to_string());
                        user_code.expect("the provider asks for a user code").to_string()
                    }
                    "login" => login.to_string(),
                    "password" => "any-password".to_string(),
                    "prompt" | "confirm" => {
                        self.submitted.push(format!("{name}={value}"));
                        value
                    }
                    _ => value,
                };
                fields.push((name, value));
            }
            let action = url::Url::parse(&page.url).unwrap().join(&form.action).unwrap().to_string();
            page = self.request("POST", &action, Some(&fields));
        }
        panic!("no end to the provider's pages; trail: {:?}", self.trail);
    }
}

/// The first `<form>` of a page: its action and its inputs' names and values.
struct Form {
    action: String,
    inputs: Vec<(String, String)>,
}

impl Form {
    fn first_in(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = html[start..].find("</form>").map_or(html.len(), |i| start + i);
        let body = &html[start..end];
        let tag_end = body.find('>')?;
        let action = attribute(&body[..tag_end], "action")?;
        let mut inputs = Vec::new();
        let mut rest = &body[tag_end..];
        while let Some(i) = rest.find("<input") {
            let tag = &rest[i..];
            let close = tag.find('>').unwrap_or(tag.len());
            if let Some(name) = attribute(&tag[..close], "name") {
                inputs.push((name, attribute(&tag[..close], "value").unwrap_or_default()));
            }
            rest = &tag[close..];
        }
        Some(Form { action, inputs })
    }
}

/// `NAME="VALUE"` in a tag (whitespace before NAME), HTML-unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let mut search = 0;
    while let Some(i) = tag[search..].find(&needle) {
        let at = search + i;
        if tag[..at].ends_with(char::is_whitespace) {
            let value = &tag[at + needle.len()..];
            let value = &value[..value.find('"')?];
            return Some(
                value
                    .replace("&quot;", "\"")
                    .replace("&#39;", "'")
                    .replace("&#x27;", "'")
                    .replace("&#x2F;", "/")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            );
        }
        search = at + needle.len();
    }
    None
}

// ----- vouch -------------------------------------------------------------------------------

fn vouch_for(ss: &SecretService) -> Vouch {
    Vouch::new("secret-service", ss.env())
}

/// The stored record of `profile`, straight from the Secret Service.
fn stored(ss: &SecretService, vouch: &Vouch, profile: &str) -> Value {
    serde_json::from_slice(&ss.lookup("vouch", &vouch.entry_of(profile)).expect("a stored record")).unwrap()
}

/// The checks every person-facing login ends with: vouch's own view and the provider's.
/// With `require_refresh`, also that a refresh token was stored and the provider holds it.
fn assert_signed_in(
    vouch: &Vouch,
    ss: &SecretService,
    p: &OidcProvider,
    profile: &str,
    require_refresh: bool,
) -> Value {
    let token = vouch.run(&["token", profile]).expect(0).stdout.trim().to_string();
    let record = stored(ss, vouch, profile);
    assert_eq!(record["access_token"].as_str(), Some(token.as_str()), "vouch token prints the stored token");
    let (status, claims) = p.userinfo(&token);
    assert_eq!(status, 200, "the provider's userinfo rejected vouch's token: {claims}\n{}", p.log());
    assert_eq!(claims["sub"], USER);
    let status = vouch.run(&["status", profile, "--json"]);
    status.expect(0).leaks_nothing(&token);
    let json: Value = serde_json::from_str(&status.stdout).expect("status --json is JSON");
    assert_eq!(json["account"], USER, "{json}");
    if !require_refresh {
        return record;
    }
    assert_eq!(json["has_refresh_token"], true, "vouch asked for offline_access: {json}");
    // The refresh token vouch stored is one the provider issued, to this client and user.
    let refresh = record["refresh_token"].as_str().expect("a stored refresh token");
    let seen = p.introspect(refresh);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], CLI_CLIENT, "{seen}");
    assert_eq!(seen["sub"], USER, "{seen}");
    assert!(seen["scope"].as_str().unwrap_or("").split(' ').any(|s| s == "offline_access"), "{seen}");
    record
}

// ----- the tests ---------------------------------------------------------------------------

/// `vouch -v login PROFILE` (device flow, chosen by vouch from discovery), the person entering
/// the printed code in `browser` and submitting exactly the forms `forms` names. Returns
/// vouch's whole stderr.
fn device_login(
    vouch: &Vouch,
    p: &OidcProvider,
    browser: &mut Browser,
    profile: &str,
    forms: &[&str],
) -> String {
    device_login_expecting(vouch, p, browser, profile, forms, 0, &[])
}

/// [`device_login`] with `extra` arguments, expecting vouch to exit with `expected`.
fn device_login_expecting(
    vouch: &Vouch,
    p: &OidcProvider,
    browser: &mut Browser,
    profile: &str,
    forms: &[&str],
    expected: i32,
    extra: &[&str],
) -> String {
    let mut args =
        vec!["-v", "login", profile, "--issuer", p.issuer(), "--client-id", CLI_CLIENT, "--no-open"];
    args.extend_from_slice(extra);
    let mut login = crate::support::Running::spawn(vouch, &args);
    let prefix = format!("To sign in to '{profile}', open ");
    let uri = login.wait_for(|l| l.strip_prefix(&prefix).map(str::to_string));
    let code = login.wait_for(|l| l.strip_prefix("and enter the code: ").map(|c| c.trim().to_string()));
    let complete =
        login.wait_for(|l| l.strip_prefix("(or open ").and_then(|r| r.strip_suffix(')')).map(str::to_string));
    assert_eq!(uri, format!("{}/device", p.issuer()));
    assert!(complete.starts_with(&uri) && complete.contains("user_code="), "{complete}");

    // The person opens the printed URI, types the code, confirms, and logs in and consents as
    // far as the provider asks.
    browser.submitted.clear();
    let done = browser.sign_in(&uri, p.issuer(), Some(&code), USER);
    assert!(done.body.contains("Sign-in Success"), "{}\ntrail: {:?}", done.body, browser.trail);
    assert_eq!(browser.submitted, forms, "trail: {:?}", browser.trail);

    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, expected, "vouch login exit code:\n{stderr}\nprovider:\n{}", p.log());
    assert!(stdout.is_empty(), "stdout is for data only: {stdout}");
    if expected == 0 {
        assert!(stderr.contains(&format!("Signed in to '{profile}' as alice")), "{stderr}");
    }
    stderr
}

/// Every form of a first device login.
const DEVICE_FORMS: [&str; 4] = ["user_code", "confirm=yes", "prompt=login", "prompt=consent"];

#[test]
fn interop_device_flow_with_oidc_provider() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    let started = Instant::now();
    let stderr = device_login(&vouch, &p, &mut Browser::new(), "dev", &DEVICE_FORMS);
    eprintln!("interop: device login took {:?}", started.elapsed());
    let record = assert_signed_in(&vouch, &ss, &p, "dev", true);
    let log = p.log();
    let device_grant = "grant_type=urn:ietf:params:oauth:grant-type:device_code";
    assert!(log.contains(&format!("grant.success route=token client=vouch-cli {device_grant}")), "{log}");
    assert!(!stderr.contains(record["access_token"].as_str().unwrap()), "-v leaked the token");
}

/// After a device login: `refresh` (the provider rotates refresh tokens), `rotate`, `logout`
/// (which revokes), each checked at the provider.
#[test]
fn interop_refresh_rotate_and_logout_with_oidc_provider() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    device_login(&vouch, &p, &mut Browser::new(), "dev", &DEVICE_FORMS);
    let first = stored(&ss, &vouch, "dev");
    let token =
        |r: &Value, k: &str| r[k].as_str().unwrap_or_else(|| panic!("no {k} in the record")).to_string();

    let run = vouch.run(&["-v", "refresh", "dev"]);
    assert_eq!(run.code, 0, "vouch refresh failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    let refreshed = stored(&ss, &vouch, "dev");
    assert_ne!(token(&refreshed, "access_token"), token(&first, "access_token"));
    assert_ne!(token(&refreshed, "refresh_token"), token(&first, "refresh_token"), "the provider rotates");
    assert!(p.log().contains("grant_type=refresh_token"), "{}", p.log());
    assert_eq!(p.introspect(&token(&first, "refresh_token"))["active"], false, "consumed by rotation");
    assert_signed_in(&vouch, &ss, &p, "dev", true);

    let run = vouch.run(&["-v", "rotate", "dev"]);
    assert_eq!(run.code, 0, "vouch rotate failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    let rotated = stored(&ss, &vouch, "dev");
    assert_ne!(token(&rotated, "refresh_token"), token(&refreshed, "refresh_token"));
    assert_signed_in(&vouch, &ss, &p, "dev", true);
    let status: Value =
        serde_json::from_str(&vouch.run(&["status", "dev", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(status["rotation_pending"], false, "{status}");

    let run = vouch.run(&["-v", "logout", "dev"]);
    assert_eq!(run.code, 0, "vouch logout failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    assert!(ss.lookup("vouch", &vouch.entry_of("dev")).is_none(), "logout left the record");
    assert_eq!(
        p.introspect(&token(&rotated, "refresh_token"))["active"],
        false,
        "logout revokes at the provider"
    );
    let (status, _) = p.userinfo(&token(&rotated, "access_token"));
    assert_eq!(status, 401, "the grant's access token outlived logout");
    assert_eq!(vouch.run(&["token", "dev"]).code, 3);
}

/// `vouch -v login PROFILE --browser`, the person signing in from the printed URL: the URL,
/// the browser (still signed in at the provider) and vouch's whole stderr.
fn browser_login(vouch: &Vouch, p: &OidcProvider, profile: &str) -> (String, Browser, String) {
    let mut login = crate::support::Running::spawn(
        vouch,
        &[
            "-v",
            "login",
            profile,
            "--issuer",
            p.issuer(),
            "--client-id",
            CLI_CLIENT,
            "--browser",
            "--no-open",
        ],
    );
    let url = login.wait_for(|l| l.trim().starts_with("http").then(|| l.trim().to_string()));
    assert!(url.starts_with(&format!("{}/auth?", p.issuer())), "{url}");
    assert!(url.contains("code_challenge_method=S256") && url.contains("nonce="), "{url}");

    let mut browser = Browser::new();
    let back = browser.sign_in(&url, p.issuer(), None, USER);
    assert_eq!(browser.submitted, ["prompt=login", "prompt=consent"], "trail: {:?}", browser.trail);
    let callback = back.location.expect("a redirect back to vouch");
    assert!(callback.starts_with("http://127.0.0.1:") && callback.contains("/callback?code="), "{callback}");
    // RFC 9207: oidc-provider names itself in the redirect, and vouch checks it.
    assert!(callback.contains("&iss="), "{callback}");
    let landing = browser.request("GET", &callback, None);
    assert_eq!(landing.status, 200, "{}", landing.body);
    assert!(landing.body.contains("close this tab"), "{}", landing.body);

    let (code, stdout, stderr) = login.finish();
    assert_eq!(code, 0, "vouch login failed:\n{stderr}\nprovider:\n{}", p.log());
    assert!(stdout.is_empty(), "stdout is for data only: {stdout}");
    (url, browser, stderr)
}

#[test]
fn interop_browser_flow_with_oidc_provider() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    let (_, _, stderr) = browser_login(&vouch, &p, "web");
    assert!(stderr.contains("Signed in to 'web' as alice"), "{stderr}");
    // Whether a refresh token came too is the next test's question.
    let record = assert_signed_in(&vouch, &ss, &p, "web", false);
    assert!(p.log().contains("grant.success route=token client=vouch-cli"), "{}", p.log());
    assert!(!stderr.contains(record["access_token"].as_str().unwrap()), "-v leaked the token");
}

/// This test found that vouch asked for `offline_access` without `prompt=consent`, which OpenID
/// Connect Core §11 lets a provider answer without a refresh token (oidc-provider does). vouch
/// now sends `prompt=consent` whenever it asks for `offline_access`.
#[test]
fn interop_browser_flow_gets_the_refresh_token_it_asks_for() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    let (url, _, stderr) = browser_login(&vouch, &p, "web");
    assert!(url.contains("offline_access"), "{url}");
    let status: Value =
        serde_json::from_str(&vouch.run(&["status", "web", "--json"]).expect(0).stdout).unwrap();
    assert_eq!(
        status["has_refresh_token"], true,
        "no refresh token for offline_access\nauthorization URL: {url}\nstatus: {status}\nvouch -v:\n{stderr}"
    );
    assert_signed_in(&vouch, &ss, &p, "web", true);
}

/// A second `vouch login` while the browser still has its session at the provider: the person
/// enters the code and consents again (oidc-provider asks native clients for consent every
/// time) but does not log in again, and the provider issues the new tokens under the session's
/// existing grant.
///
/// This test found that revoking the replaced refresh token (what a re-login does, best effort)
/// revokes the shared grant, and with it the credential just stored: oidc-provider's default
/// `revokeGrantPolicy` does that, as RFC 7009 §2.1 allows (Google and Keycloak behave alike).
/// vouch cannot tell beforehand, so it checks the new token at userinfo after revoking: it
/// notices, says so with exit 4, marks the record `reauth-required` and the profile so that its
/// re-logins never revoke again. The next login then sticks.
#[test]
fn interop_device_relogin_in_the_same_browser_session() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    let mut browser = Browser::new();
    device_login(&vouch, &p, &mut browser, "dev", &DEVICE_FORMS);
    let old = stored(&ss, &vouch, "dev");
    let again = ["user_code", "confirm=yes", "prompt=consent"];
    let stderr = device_login_expecting(&vouch, &p, &mut browser, "dev", &again, 4, &[]);
    assert!(stderr.contains("revoked the new sign-in together with the replaced one"), "{stderr}");
    let status: Value = serde_json::from_str(&vouch.run(&["status", "dev", "--json"]).stdout).unwrap();
    assert_eq!(status["state"], "reauth-required", "{status}");
    assert!(std::fs::read_to_string(vouch.config_file()).unwrap().contains("revoke_replaced = false"));
    // The next re-login sticks: nothing is revoked any more, and the new credential works.
    device_login(&vouch, &p, &mut browser, "dev", &again);
    let new = stored(&ss, &vouch, "dev");
    assert_ne!(old["refresh_token"], new["refresh_token"]);
    let (status, answer) = p.userinfo(new["access_token"].as_str().unwrap());
    assert_eq!(
        status,
        200,
        "the provider rejects the credential vouch has just stored ({answer})\n{}",
        p.log()
    );
    assert_signed_in(&vouch, &ss, &p, "dev", true);
}

/// DPoP (RFC 9449) against oidc-provider's `dPoP` feature, nonces required: `login --dpop`
/// (device flow) binds the tokens to the key in the record, and the provider agrees on the key:
/// introspection's `cnf.jkt` of the access token, and of the public client's refresh token, is
/// the thumbprint `vouch status` shows. The access token alone, as a Bearer token, is refused;
/// `vouch refresh` proves the key and the new tokens stay bound to it.
///
/// Then the record is stolen onto "another machine": with another key, the access token is
/// refused at userinfo and the refresh token at the token endpoint (exit 4); without any key,
/// the refresh token is refused too. oidc-provider checks the key binding before it consumes or
/// rotates a refresh token (lib/actions/grants/refresh_token.js: "failed jkt verification"), so
/// the failed attempts revoke nothing: the owner's refresh token stays active and the owner,
/// with the key, still refreshes.
#[test]
fn interop_dpop_binds_tokens_to_the_key_in_the_record() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let vouch = vouch_for(&ss);
    device_login_expecting(&vouch, &p, &mut Browser::new(), "dev", &DEVICE_FORMS, 0, &["--dpop"]);
    let text =
        |r: &Value, k: &str| r[k].as_str().unwrap_or_else(|| panic!("no {k} in the record")).to_string();
    let owner = stored(&ss, &vouch, "dev");
    assert_eq!(owner["token_type"], "DPoP", "{}", p.log());
    let key = text(&owner, "dpop_key");

    // vouch's thumbprint is the provider's cnf.jkt, for the access and the refresh token.
    let status = vouch.run(&["status", "dev", "--json"]);
    status.expect(0).leaks_nothing(&key).leaks_nothing(&text(&owner, "access_token"));
    let json: Value = serde_json::from_str(&status.stdout).expect("status --json is JSON");
    let jkt = json["dpop_jkt"].as_str().unwrap_or_else(|| panic!("no dpop_jkt: {json}")).to_string();
    let assert_bound = |record: &Value| {
        let access = p.introspect(&text(record, "access_token"));
        assert_eq!(access["active"], true, "{access}");
        assert_eq!(access["token_type"], "DPoP", "{access}");
        assert_eq!(access["cnf"]["jkt"], jkt.as_str(), "{access}");
        let refresh = p.introspect(&text(record, "refresh_token"));
        assert_eq!(refresh["active"], true, "{refresh}");
        assert_eq!(
            refresh["cnf"]["jkt"],
            jkt.as_str(),
            "the public client's refresh token is bound: {refresh}"
        );
    };
    assert_bound(&owner);
    // Copied out as a plain Bearer token, the access token is refused; with vouch's proof
    // (answering the provider's nonce challenge) it is accepted.
    let (code, answer) = p.userinfo(&text(&owner, "access_token"));
    assert_eq!(code, 401, "a DPoP-bound token worked as a Bearer token: {answer}");
    let verify = |expected: i32, verified: bool| {
        let run = vouch.run(&["-v", "status", "dev", "--verify", "--json"]);
        assert_eq!(run.code, expected, "status --verify:\n{}\nprovider:\n{}", run.stderr, p.log());
        let json: Value = serde_json::from_str(&run.stdout).expect("status --json is JSON");
        assert_eq!(json["verified"], verified, "{json}\nprovider:\n{}", p.log());
    };
    verify(0, true);

    // A refresh proves the key; the rotated tokens are bound to the same key.
    let run = vouch.run(&["-v", "refresh", "dev"]);
    assert_eq!(run.code, 0, "vouch refresh failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    let owner_record = ss.lookup("vouch", &vouch.entry_of("dev")).expect("a stored record");
    let owner: Value = serde_json::from_slice(&owner_record).unwrap();
    assert_eq!(owner["dpop_key"], key.as_str(), "a refresh keeps the key");
    assert_bound(&owner);
    let log = p.log();
    assert!(log.contains("grant.success route=token client=vouch-cli grant_type=refresh_token"), "{log}");

    // The record, stolen onto another machine with another key: the proofs are valid, the key
    // is not the one the tokens are bound to.
    let mut other_key = owner.clone();
    other_key["dpop_key"] = vouch::secret::DpopKey::generate().unwrap().expose_secret().into();
    ss.store("vouch", &vouch.entry_of("dev"), other_key.to_string().as_bytes());
    verify(3, false);
    let run = vouch.run(&["-v", "refresh", "dev"]);
    assert_eq!(run.code, 4, "a refresh with another key:\n{}\nprovider:\n{}", run.stderr, p.log());
    // Without any key: a bare refresh token, no proof.
    let mut no_key = owner.clone();
    no_key.as_object_mut().unwrap().remove("dpop_key");
    no_key["version"] = 2.into();
    no_key["token_type"] = "Bearer".into();
    ss.store("vouch", &vouch.entry_of("dev"), no_key.to_string().as_bytes());
    let run = vouch.run(&["-v", "refresh", "dev"]);
    assert_eq!(run.code, 4, "a refresh without the key:\n{}\nprovider:\n{}", run.stderr, p.log());
    let log = p.log();
    let refused = log
        .lines()
        .filter(|l| l.starts_with("grant.error route=token client=vouch-cli grant_type=refresh_token"))
        .filter(|l| l.contains("failed jkt verification"))
        .count();
    assert_eq!(refused, 2, "the provider refused both for the key binding:\n{log}");
    assert!(!log.contains("grant.revoked"), "a thief's attempt revoked the owner's grant:\n{log}");
    // Both refusals of the access token (as Bearer, and with another key) were for the binding.
    let at_userinfo = log.lines().filter(|l| l.starts_with("userinfo.error")).collect::<Vec<_>>();
    assert_eq!(at_userinfo.len(), 2, "{log}");
    assert!(at_userinfo.iter().all(|l| l.contains("failed jkt verification")), "{log}");
    // vouch met the provider's nonce requirement: its first proof was answered use_dpop_nonce.
    let device_grant = "grant_type=urn:ietf:params:oauth:grant-type:device_code UseDpopNonce";
    assert!(log.contains(&format!("grant.error route=token client=vouch-cli {device_grant}")), "{log}");
    assert_bound(&owner);

    // The owner, with the key, still refreshes.
    ss.store("vouch", &vouch.entry_of("dev"), &owner_record);
    let run = vouch.run(&["-v", "refresh", "dev"]);
    assert_eq!(run.code, 0, "the owner's refresh failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    let renewed = stored(&ss, &vouch, "dev");
    assert_ne!(renewed["refresh_token"], owner["refresh_token"]);
    assert_bound(&renewed);
    verify(0, true);
}

#[test]
fn interop_client_credentials_with_oidc_provider() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let mut vouch = vouch_for(&ss);
    vouch.set_env("VOUCH_CLIENT_SECRET", CI_SECRET);
    let run = vouch.run(&[
        "-v",
        "login",
        "ci",
        "--issuer",
        p.issuer(),
        "--client-id",
        CI_CLIENT,
        "--client-credentials",
    ]);
    assert_eq!(run.code, 0, "vouch login failed:\n{}\nprovider:\n{}", run.stderr, p.log());
    run.leaks_nothing(CI_SECRET);
    let token = vouch.run(&["token", "ci"]).expect(0).stdout.trim().to_string();
    run.leaks_nothing(&token);
    // The provider issued it to the client itself, through client_secret_basic (the only
    // method the client is registered for).
    let seen = p.introspect(&token);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], CI_CLIENT, "{seen}");
    assert!(seen.get("sub").is_none(), "a client-credentials token has no user: {seen}");
    assert!(p.log().contains("grant.success route=token client=vouch-ci"), "{}", p.log());
    let status = vouch.run(&["status", "ci", "--json"]);
    status.expect(0).leaks_nothing(&token).leaks_nothing(CI_SECRET);
}

#[test]
fn interop_wrong_client_secret_is_rejected_and_nothing_is_stored() {
    let ss = SecretService::start();
    let p = OidcProvider::start();
    let mut vouch = vouch_for(&ss);
    vouch.set_env("VOUCH_CLIENT_SECRET", "not-the-secret");
    let run = vouch.run(&[
        "-v",
        "login",
        "ci",
        "--issuer",
        p.issuer(),
        "--client-id",
        CI_CLIENT,
        "--client-credentials",
    ]);
    assert_eq!(run.code, 4, "expected exit 4 (rejected)\nstderr: {}\nprovider:\n{}", run.stderr, p.log());
    run.leaks_nothing("not-the-secret");
    let log = p.log();
    assert!(
        log.lines()
            .any(|l| l.starts_with("grant.error route=token client=vouch-ci") && l.contains("InvalidClient")),
        "{log}"
    );
    assert!(ss.lookup("vouch", &vouch.entry_of("ci")).is_none(), "a rejected login stored a record");
    let token = vouch.run(&["token", "ci"]);
    assert!(matches!(token.code, 2 | 3), "vouch token after a rejected login: {token:?}");
    assert!(token.stdout.is_empty());
}
