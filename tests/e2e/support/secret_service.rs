//! A private, real freedesktop Secret Service for end-to-end tests.
//!
//! This module owns everything needed to give one test its own
//! `gnome-keyring-daemon` behind its own D-Bus session bus, so that tests
//! never touch the real user's keyring and can run in parallel:
//!
//! * a temporary directory holding a private `HOME`, `XDG_DATA_HOME`,
//!   `XDG_CONFIG_HOME`, `XDG_CACHE_HOME`, `XDG_STATE_HOME` and a 0700
//!   `XDG_RUNTIME_DIR` (the keyring files and the daemon's control socket live
//!   there);
//! * a `dbus-daemon` started from a minimal session config written into that
//!   directory, listening on a socket inside it, whose only service directory
//!   is empty: nothing can be D-Bus-activated on it, so no second
//!   gnome-keyring (on the real HOME) and no GUI prompter is ever started;
//! * exactly one `gnome-keyring-daemon --foreground --unlock
//!   --components=secrets`, which creates and unlocks the `login` collection
//!   from a password file and is the `default` alias;
//! * helpers that drive the service with `dbus-send` and `secret-tool`, and
//!   lock/unlock it (unlocking goes through gnome-keyring's control socket,
//!   the same protocol `pam_gnome_keyring` uses, because a second
//!   `gnome-keyring-daemon --unlock` starts a new daemon rather than unlocking
//!   the running one).
//!
//! Every daemon runs under a small `sh` supervisor whose stdin is a pipe held
//! by the test process (the "lifeline"). Dropping the handle, or the test
//! process dying in any way (panic, abort, kill, a handle kept in a `static`),
//! closes the pipe and the supervisor terminates and reaps its daemon.
//! `Drop` closes the lifeline and waits (bounded) for the daemon to exit.
//!
//! Required programs (Debian packages): `dbus-daemon` (dbus), `dbus-send`
//! (dbus), `gnome-keyring-daemon` (gnome-keyring), `secret-tool`
//! (libsecret-tools). A missing one is a panic naming the package: these
//! tests are never silently skipped.
//!
//! Only `std` and `tempfile` are used.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Password of every private `login` collection.
const LOGIN_PASSWORD: &str = "vouch-e2e-login-password";
/// Bound on bringing up a bus or a keyring.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on any one helper command (`dbus-send`, `secret-tool`).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on a daemon exiting after its lifeline is closed, before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// `--reply-timeout` of every `dbus-send`, in milliseconds.
const DBUS_REPLY_TIMEOUT_MS: u32 = 3000;

const SECRETS_NAME: &str = "org.freedesktop.secrets";
const SECRETS_PATH: &str = "/org/freedesktop/secrets";
const LOGIN_PATH: &str = "/org/freedesktop/secrets/collection/login";

/// Variables a child must not inherit from the developer's session, because
/// they point at the real keyring or at a display a prompter could use.
/// Every process this module spawns has them removed; tests that spawn
/// `vouch` themselves should `env_remove` them too.
pub const ENV_REMOVE: &[&str] = &[
    "GNOME_KEYRING_CONTROL",
    "GNOME_KEYRING_PID",
    "DBUS_STARTER_ADDRESS",
    "DBUS_STARTER_BUS_TYPE",
    "DISPLAY",
    "WAYLAND_DISPLAY",
];

/// Program name → Debian package to install.
const PACKAGES: &[(&str, &str)] = &[
    ("dbus-daemon", "dbus"),
    ("dbus-send", "dbus"),
    ("gnome-keyring-daemon", "gnome-keyring"),
    ("secret-tool", "libsecret-tools"),
    ("sh", "dash"),
];

/// Supervisor for a daemon. `$1` is the pid file, `$2` the status file (the
/// daemon's exit status, written when it exits), `$3` the daemon's stdin, the
/// rest the daemon's command line. The supervisor's own stdin is the
/// lifeline: a watcher subshell sends SIGTERM to the daemon once it reads EOF
/// there, i.e. once the test process closes its end or dies. The supervisor
/// exits with the daemon's status as soon as the daemon exits.
const SUPERVISOR: &str = r#"pidfile=$1
statusfile=$2
input=$3
shift 3
exec 3<&0
"$@" <"$input" 3<&- &
child=$!
echo "$child" >"$pidfile"
(
    while read -r _lifeline <&3; do :; done
    kill -TERM "$child" 2>/dev/null
) &
watcher=$!
exec 3<&-
wait "$child"
status=$?
echo "$status" >"$statusfile"
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
exit "$status"
"#;

/// A private Secret Service: its own session bus and gnome-keyring-daemon.
pub struct SecretService {
    // Drop order is declaration order: the keyring, then the bus, then the
    // directory they live in.
    keyring: Daemon,
    bus: Daemon,
    address: String,
    env: Vec<(String, String)>,
    layout: Layout,
    dir: TempDir,
}

impl SecretService {
    /// Starts a private bus and gnome-keyring-daemon and waits (bounded)
    /// until `org.freedesktop.secrets` answers, the `login` collection exists,
    /// is unlocked and is the `default` alias.
    pub fn start() -> Self {
        for program in ["sh", "dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool"] {
            require_program(program);
        }
        let deadline = Instant::now() + START_TIMEOUT;
        let dir = private_tempdir("vouch-ss.");
        let layout = Layout::create(dir.path());
        let (bus, address) = start_bus(dir.path(), &layout);
        let env = layout.env_with_bus(&address);

        let password_file = dir.path().join("login-password");
        write_private_file(&password_file, LOGIN_PASSWORD.as_bytes());
        let keyring = Daemon::spawn(
            "gnome-keyring-daemon",
            &["--foreground", "--unlock", "--components=secrets"],
            &password_file,
            &env,
            dir.path(),
            deadline,
        );

        let service = SecretService { keyring, bus, address, env, layout, dir };
        // A panic from here on drops `service`, which stops both daemons.
        service.wait_until_ready(deadline);
        service
    }

    /// Environment a child process needs to use this service: `HOME`, the
    /// `XDG_*` directories and `DBUS_SESSION_BUS_ADDRESS`. (Also remove
    /// [`ENV_REMOVE`] from the child's environment.)
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// Address of the private session bus (`unix:path=...,guid=...`).
    pub fn bus_address(&self) -> &str {
        &self.address
    }

    /// The private HOME.
    pub fn home(&self) -> &Path {
        &self.layout.home
    }

    /// Pid of this service's one gnome-keyring-daemon.
    pub fn keyring_pid(&self) -> u32 {
        self.keyring.pid
    }

    /// Pid of this service's dbus-daemon.
    pub fn bus_pid(&self) -> u32 {
        self.bus.pid
    }

    /// Locks the `login` collection through D-Bus (`Service.Lock`) and checks
    /// that it reports itself locked. Panics if it fails.
    pub fn lock(&self) {
        let ran = self.dbus_send(&[
            &format!("--dest={SECRETS_NAME}"),
            SECRETS_PATH,
            "org.freedesktop.Secret.Service.Lock",
            &format!("array:objpath:{LOGIN_PATH}"),
        ]);
        if !ran.status.success() || !object_paths(&ran.stdout).iter().any(|p| p == LOGIN_PATH) {
            self.fail(&format!("locking the login collection failed: {}", ran.describe()));
        }
        if !self.login_locked() {
            self.fail("Service.Lock succeeded but the login collection still reports Locked=false");
        }
    }

    /// Unlocks the `login` collection again with its password, through
    /// gnome-keyring's control socket (`$XDG_RUNTIME_DIR/keyring/control`,
    /// operation UNLOCK), and waits (bounded) until the collection reports
    /// itself unlocked. Panics if it fails.
    pub fn unlock(&self) {
        let socket = self.layout.runtime.join("keyring").join("control");
        let result = control_unlock(&socket, LOGIN_PASSWORD.as_bytes());
        match result {
            Ok(0) => {}
            Ok(code) => self.fail(&format!(
                "gnome-keyring control socket {} answered UNLOCK with result {code} ({})",
                socket.display(),
                match code {
                    1 => "DENIED",
                    2 => "FAILED",
                    _ => "unknown",
                }
            )),
            Err(e) => self.fail(&format!(
                "UNLOCK through gnome-keyring control socket {} failed: {e}",
                socket.display()
            )),
        }
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while self.login_locked() {
            if Instant::now() >= deadline {
                self.fail("control socket UNLOCK answered OK but the login collection stays locked");
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// `secret-tool store --label=... service S username U`, value on stdin.
    pub fn store(&self, service: &str, username: &str, value: &[u8]) {
        let label = format!("--label=vouch e2e: {service} / {username}");
        let ran = self.secret_tool(&["store", &label, "--", "service", service, "username", username], value);
        if !ran.status.success() {
            self.fail(&format!("storing an item failed: {}", ran.describe()));
        }
    }

    /// `secret-tool lookup service S username U`: the secret, or `None` if no
    /// item matches or the matching item is in a locked collection.
    pub fn lookup(&self, service: &str, username: &str) -> Option<Vec<u8>> {
        let ran = self.secret_tool(&["lookup", "--", "service", service, "username", username], b"");
        if ran.status.success() {
            return Some(ran.stdout);
        }
        let stderr = String::from_utf8_lossy(&ran.stderr);
        if ran.status.code() == Some(1) && (stderr.trim().is_empty() || stderr.contains("locked")) {
            return None;
        }
        self.fail(&format!("looking an item up failed: {}", ran.describe()));
    }

    /// How many items (in locked or unlocked collections) have the attribute
    /// `service` = `service`, by a D-Bus `Service.SearchItems` call.
    pub fn count_items(&self, service: &str) -> usize {
        assert!(
            !service.contains(','),
            "count_items: dbus-send cannot pass a dict value containing ',': {service:?}"
        );
        let ran = self.dbus_send(&[
            &format!("--dest={SECRETS_NAME}"),
            SECRETS_PATH,
            "org.freedesktop.Secret.Service.SearchItems",
            &format!("dict:string:string:service,{service}"),
        ]);
        if !ran.status.success() {
            self.fail(&format!("SearchItems failed: {}", ran.describe()));
        }
        object_paths(&ran.stdout)
            .iter()
            .filter(|p| p.starts_with("/org/freedesktop/secrets/collection/"))
            .count()
    }

    /// Environment describing a session bus that does not exist (a socket
    /// path inside a fresh tempdir that nobody listens on), with a private
    /// HOME/XDG layout. Keep the `TempDir` alive while using the environment.
    pub fn no_bus_env() -> (TempDir, Vec<(String, String)>) {
        let dir = private_tempdir("vouch-nobus.");
        let layout = Layout::create(dir.path());
        let socket = dir.path().join("nobody-listens").join("bus");
        let address = format!("unix:path={}", path_str(&socket));
        let env = layout.env_with_bus(&address);
        (dir, env)
    }

    /// A private session bus on which no Secret Service runs and none can be
    /// D-Bus-activated (its only service directory is empty). The bus is
    /// stopped when the returned guard is dropped.
    pub fn bus_without_service() -> BareBus {
        require_program("sh");
        require_program("dbus-daemon");
        let dir = private_tempdir("vouch-barebus.");
        let layout = Layout::create(dir.path());
        let (bus, address) = start_bus(dir.path(), &layout);
        let env = layout.env_with_bus(&address);
        BareBus { bus, address, env, layout, _dir: dir }
    }

    /// Runs `dbus-send --session --print-reply` against this bus.
    fn dbus_send(&self, args: &[&str]) -> Ran {
        let mut cmd = Command::new("dbus-send");
        cmd.arg("--session")
            .arg("--print-reply")
            .arg(format!("--reply-timeout={DBUS_REPLY_TIMEOUT_MS}"))
            .args(args);
        configure_env(&mut cmd, &self.env);
        run(cmd, b"", COMMAND_TIMEOUT)
    }

    fn secret_tool(&self, args: &[&str], stdin: &[u8]) -> Ran {
        let mut cmd = Command::new("secret-tool");
        cmd.args(args);
        configure_env(&mut cmd, &self.env);
        run(cmd, stdin, COMMAND_TIMEOUT)
    }

    /// The `Locked` property of the login collection.
    pub fn login_locked(&self) -> bool {
        let ran = self.dbus_send(&[
            &format!("--dest={SECRETS_NAME}"),
            LOGIN_PATH,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.freedesktop.Secret.Collection",
            "string:Locked",
        ]);
        match (ran.status.success(), parse_boolean(&ran.stdout)) {
            (true, Some(locked)) => locked,
            _ => self
                .fail(&format!("reading the login collection's Locked property failed: {}", ran.describe())),
        }
    }

    /// The object path the `default` alias points to, or the failed call.
    fn read_default_alias(&self) -> Result<String, Ran> {
        let ran = self.dbus_send(&[
            &format!("--dest={SECRETS_NAME}"),
            SECRETS_PATH,
            "org.freedesktop.Secret.Service.ReadAlias",
            "string:default",
        ]);
        match object_paths(&ran.stdout).into_iter().next() {
            Some(path) if ran.status.success() => Ok(path),
            _ => Err(ran),
        }
    }

    fn wait_until_ready(&self, deadline: Instant) {
        let mut tried_set_alias = false;
        loop {
            if !self.keyring.alive() {
                self.fail("gnome-keyring-daemon exited during start-up");
            }
            if !self.bus.alive() {
                self.fail("dbus-daemon exited during start-up");
            }
            let last = match self.read_default_alias() {
                Ok(path) if path == LOGIN_PATH => break,
                Ok(path) => {
                    // The daemon answers, but `default` is not `login` (yet).
                    let ran = self.dbus_send(&[
                        &format!("--dest={SECRETS_NAME}"),
                        SECRETS_PATH,
                        "org.freedesktop.Secret.Service.SetAlias",
                        "string:default",
                        &format!("objpath:{LOGIN_PATH}"),
                    ]);
                    tried_set_alias = true;
                    format!(
                        "ReadAlias default answered {path:?}; SetAlias default → login: {}",
                        ran.describe()
                    )
                }
                Err(ran) => ran.describe(),
            };
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "the private Secret Service was not ready within {START_TIMEOUT:?} \
                     (login collection as `default` alias; tried SetAlias: {tried_set_alias}); \
                     last attempt: {last}"
                ));
            }
            sleep(Duration::from_millis(20));
        }
        if self.login_locked() {
            self.fail("gnome-keyring-daemon started with the login collection locked");
        }
    }

    /// Panics with `message` and both daemons' command lines, pids, exit
    /// statuses and stderr.
    fn fail(&self, message: &str) -> ! {
        panic!("{message}\n--- {}\n--- {}", self.keyring.report(), self.bus.report())
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // The keyring first: it would otherwise log the bus going away.
        self.keyring.stop();
        self.bus.stop();
    }
}

/// A private session bus with no Secret Service; stopped on drop.
pub struct BareBus {
    bus: Daemon,
    address: String,
    env: Vec<(String, String)>,
    layout: Layout,
    _dir: TempDir,
}

impl BareBus {
    /// HOME, `XDG_*` dirs and `DBUS_SESSION_BUS_ADDRESS` of this bus.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    pub fn bus_address(&self) -> &str {
        &self.address
    }

    pub fn home(&self) -> &Path {
        &self.layout.home
    }

    pub fn bus_pid(&self) -> u32 {
        self.bus.pid
    }
}

impl Drop for BareBus {
    fn drop(&mut self) {
        self.bus.stop();
    }
}

/// The private HOME and XDG directories inside a tempdir.
struct Layout {
    home: PathBuf,
    data: PathBuf,
    config: PathBuf,
    cache: PathBuf,
    state: PathBuf,
    runtime: PathBuf,
}

impl Layout {
    fn create(root: &Path) -> Layout {
        let layout = Layout {
            home: root.join("home"),
            data: root.join("xdg-data"),
            config: root.join("xdg-config"),
            cache: root.join("xdg-cache"),
            state: root.join("xdg-state"),
            runtime: root.join("xdg-runtime"),
        };
        for dir in [&layout.home, &layout.data, &layout.config, &layout.cache, &layout.state, &layout.runtime]
        {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {} failed: {e}", dir.display()));
        }
        fs::set_permissions(&layout.runtime, fs::Permissions::from_mode(0o700))
            .unwrap_or_else(|e| panic!("chmod 0700 {} failed: {e}", layout.runtime.display()));
        layout
    }

    fn env_without_bus(&self) -> Vec<(String, String)> {
        [
            ("HOME", &self.home),
            ("XDG_DATA_HOME", &self.data),
            ("XDG_CONFIG_HOME", &self.config),
            ("XDG_CACHE_HOME", &self.cache),
            ("XDG_STATE_HOME", &self.state),
            ("XDG_RUNTIME_DIR", &self.runtime),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), path_str(v).to_owned()))
        .collect()
    }

    fn env_with_bus(&self, address: &str) -> Vec<(String, String)> {
        let mut env = self.env_without_bus();
        env.push(("DBUS_SESSION_BUS_ADDRESS".to_owned(), address.to_owned()));
        env
    }
}

/// Writes a minimal session-bus config (no activation) into `root`, starts
/// dbus-daemon on it and returns it with its address.
fn start_bus(root: &Path, layout: &Layout) -> (Daemon, String) {
    let deadline = Instant::now() + START_TIMEOUT;
    let socket = root.join("bus");
    let services = root.join("dbus-services-none");
    fs::create_dir_all(&services).unwrap_or_else(|e| panic!("creating {} failed: {e}", services.display()));
    let config_path = root.join("session-bus.conf");
    let config = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <!-- Empty on purpose: nothing may be D-Bus-activated on this bus. -->
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket = xml_escape(path_str(&socket)),
        services = xml_escape(path_str(&services)),
    );
    write_private_file(&config_path, config.as_bytes());

    let config_arg = format!("--config-file={}", path_str(&config_path));
    let mut bus = Daemon::spawn(
        "dbus-daemon",
        &[&config_arg, "--nofork", "--nopidfile", "--print-address=1"],
        Path::new("/dev/null"),
        &layout.env_without_bus(),
        root,
        deadline,
    );
    // dbus-daemon prints its address once it listens.
    let address = loop {
        let out = fs::read_to_string(&bus.stdout_path).unwrap_or_default();
        if let Some((line, _)) = out.split_once('\n') {
            break line.trim().to_owned();
        }
        if !bus.alive() {
            bus.fail("dbus-daemon exited before printing its address");
        }
        if Instant::now() >= deadline {
            bus.fail(&format!("dbus-daemon printed no address within {START_TIMEOUT:?}"));
        }
        sleep(Duration::from_millis(5));
    };
    if !address.starts_with("unix:path=") {
        bus.fail(&format!("dbus-daemon printed an unexpected address {address:?}"));
    }
    (bus, address)
}

/// A daemon under an `sh` supervisor whose stdin is our lifeline.
struct Daemon {
    command: String,
    pid: u32,
    supervisor: Child,
    lifeline: Option<ChildStdin>,
    /// The supervisor's exit status once reaped.
    reaped: Option<ExitStatus>,
    status_path: PathBuf,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
}

impl Daemon {
    /// Starts `program args` with stdin from `input`, stdout and stderr to
    /// files in `dir`, and waits (until `deadline`) for its pid.
    fn spawn(
        program: &str,
        args: &[&str],
        input: &Path,
        env: &[(String, String)],
        dir: &Path,
        deadline: Instant,
    ) -> Daemon {
        let command = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        let pid_path = dir.join(format!("{program}.pid"));
        let status_path = dir.join(format!("{program}.status"));
        let stdout_path = dir.join(format!("{program}.stdout"));
        let stderr_path = dir.join(format!("{program}.stderr"));
        let create = |path: &Path| {
            fs::File::create(path).unwrap_or_else(|e| panic!("creating {} failed: {e}", path.display()))
        };
        let stdout = create(&stdout_path);
        let stderr = create(&stderr_path);

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(SUPERVISOR)
            .arg("sh")
            .arg(&pid_path)
            .arg(&status_path)
            .arg(input)
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr);
        configure_env(&mut cmd, env);
        let mut supervisor = spawn(&mut cmd, program, &command);
        let lifeline = supervisor.stdin.take();
        let mut daemon = Daemon {
            command,
            pid: 0,
            supervisor,
            lifeline,
            reaped: None,
            status_path,
            stdout_path,
            stderr_path,
        };
        daemon.pid = loop {
            let text = fs::read_to_string(&pid_path).unwrap_or_default();
            if text.ends_with('\n') {
                match text.trim().parse::<u32>() {
                    Ok(pid) => break pid,
                    Err(e) => daemon.fail(&format!("bad pid file content {text:?}: {e}")),
                }
            }
            if let Ok(Some(_)) = daemon.supervisor.try_wait() {
                daemon.fail("its supervisor shell exited before starting it");
            }
            if Instant::now() >= deadline {
                daemon.fail("its supervisor shell reported no pid in time");
            }
            sleep(Duration::from_millis(2));
        };
        daemon
    }

    /// Whether the daemon process still runs (not gone, not a zombie).
    fn alive(&self) -> bool {
        self.pid != 0 && self.reaped.is_none() && pid_alive(self.pid)
    }

    /// "running", or the daemon's exit status as its supervisor recorded it.
    fn exit_status(&self) -> String {
        if self.alive() {
            return "none yet (still running)".to_owned();
        }
        // The supervisor writes the status right after the daemon exits.
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let text = fs::read_to_string(&self.status_path).unwrap_or_default();
            if let Ok(code) = text.trim().parse::<u32>() {
                return match code {
                    129..=192 => format!("{code} (killed by signal {})", code - 128),
                    _ => code.to_string(),
                };
            }
            if Instant::now() >= deadline {
                return match self.reaped {
                    Some(status) => format!("unrecorded (supervisor: {status})"),
                    None => "unknown".to_owned(),
                };
            }
            sleep(Duration::from_millis(5));
        }
    }

    fn stderr(&self) -> String {
        fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| format!("<cannot read {}: {e}>", self.stderr_path.display()))
    }

    /// Command line, pid, exit status and stderr, for failure messages.
    fn report(&self) -> String {
        format!(
            "`{}` (pid {}), exit status: {}, stderr:\n{}",
            self.command,
            self.pid,
            self.exit_status(),
            self.stderr()
        )
    }

    /// Closes the lifeline and reaps the supervisor (which reaps the daemon),
    /// escalating to SIGKILL after [`STOP_TIMEOUT`]. Idempotent; never panics.
    fn stop(&mut self) {
        if self.reaped.is_some() {
            return;
        }
        drop(self.lifeline.take());
        if let Some(status) = wait_bounded(&mut self.supervisor, STOP_TIMEOUT) {
            self.reaped = Some(status);
            return;
        }
        eprintln!(
            "secret_service: `{}` (pid {}) ignored SIGTERM for {STOP_TIMEOUT:?}; sending SIGKILL",
            self.command, self.pid
        );
        if self.pid != 0 {
            let _ = Command::new("sh")
                .arg("-c")
                .arg("kill -KILL \"$1\" 2>/dev/null")
                .arg("sh")
                .arg(self.pid.to_string())
                .status();
        }
        if let Some(status) = wait_bounded(&mut self.supervisor, Duration::from_secs(2)) {
            self.reaped = Some(status);
            return;
        }
        let _ = self.supervisor.kill();
        self.reaped = self.supervisor.wait().ok();
    }

    /// Stops the daemon and panics with its command, exit status and stderr.
    fn fail(&mut self, message: &str) -> ! {
        self.stop();
        panic!("{message}: {}", self.report())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The outcome of a finished helper command.
struct Ran {
    command: String,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Ran {
    fn describe(&self) -> String {
        format!(
            "`{}` exited with {}; stdout: {:?}; stderr: {:?}",
            self.command,
            self.status,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr),
        )
    }
}

/// Runs `cmd` to completion with `stdin`, bounded by `timeout`. Output goes
/// through anonymous files, so no pipe can fill up or be held open by a
/// grandchild.
fn run(mut cmd: Command, stdin: &[u8], timeout: Duration) -> Ran {
    let command = describe_command(&cmd);
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut input = tempfile::tempfile().expect("creating a temporary file for stdin");
    input
        .write_all(stdin)
        .and_then(|()| input.seek(SeekFrom::Start(0)).map(drop))
        .expect("writing a temporary file for stdin");
    let mut out = tempfile::tempfile().expect("creating a temporary file for stdout");
    let mut err = tempfile::tempfile().expect("creating a temporary file for stderr");
    cmd.stdin(input)
        .stdout(out.try_clone().expect("cloning a file handle"))
        .stderr(err.try_clone().expect("cloning a file handle"));
    let mut child = spawn(&mut cmd, &program, &command);
    let status = match wait_bounded(&mut child, timeout) {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let status = child.wait();
            panic!(
                "`{command}` did not finish within {timeout:?} (killed: {status:?}); stderr: {:?}",
                String::from_utf8_lossy(&read_back(&mut err))
            );
        }
    };
    Ran { command, status, stdout: read_back(&mut out), stderr: read_back(&mut err) }
}

fn read_back(file: &mut fs::File) -> Vec<u8> {
    let mut buf = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut buf))
        .expect("reading back a command's output file");
    buf
}

/// Waits for `child` for at most `timeout`; `None` if it is still running.
fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => {
                sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(_) => return None,
        }
    }
}

fn spawn(cmd: &mut Command, program: &str, command: &str) -> Child {
    cmd.spawn().unwrap_or_else(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            panic!("cannot run `{command}`: {program} not found: {}", install_hint(program));
        }
        panic!("cannot run `{command}`: {e}")
    })
}

/// Sets the private environment on `cmd` and removes [`ENV_REMOVE`].
fn configure_env(cmd: &mut Command, env: &[(String, String)]) {
    for var in ENV_REMOVE {
        cmd.env_remove(var);
    }
    if !env.iter().any(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS") {
        cmd.env_remove("DBUS_SESSION_BUS_ADDRESS");
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
}

fn install_hint(program: &str) -> String {
    let package =
        PACKAGES.iter().find(|(p, _)| *p == program).map_or("the package that provides it", |(_, pkg)| pkg);
    format!("install {package} (apt-get install {package})")
}

/// Panics, naming the Debian package, unless `program` is on PATH.
fn require_program(program: &str) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        fs::metadata(dir.join(program))
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    });
    if !found {
        panic!(
            "`{program}` is not on PATH; the Secret Service end-to-end tests need it: {}",
            install_hint(program)
        );
    }
}

/// A 0700 tempdir whose paths are short enough for unix socket addresses
/// (108 bytes): under `$TMPDIR` if that is short, else under `/tmp`.
fn private_tempdir(prefix: &str) -> TempDir {
    const MAX_ROOT: usize = 60;
    let base = std::env::temp_dir();
    let base = if base.as_os_str().len() <= MAX_ROOT - 20 { base } else { PathBuf::from("/tmp") };
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .unwrap_or_else(|e| panic!("creating a tempdir in {} failed: {e}", base.display()));
    assert!(
        dir.path().as_os_str().len() <= MAX_ROOT,
        "tempdir path {} is too long for unix socket paths",
        dir.path().display()
    );
    dir
}

fn write_private_file(path: &Path, contents: &[u8]) {
    fs::write(path, contents)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o600)))
        .unwrap_or_else(|e| panic!("writing {} failed: {e}", path.display()));
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap_or_else(|| panic!("path {} is not UTF-8", path.display()))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn describe_command(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains([' ', '"', '\'']) {
            let _ = write!(text, " {arg:?}");
        } else {
            let _ = write!(text, " {arg}");
        }
    }
    text
}

/// Object paths in `dbus-send --print-reply` output.
fn object_paths(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| line.trim().strip_prefix("object path \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .map(str::to_owned)
        .collect()
}

/// The boolean in `dbus-send --print-reply` output of a property read.
fn parse_boolean(stdout: &[u8]) -> Option<bool> {
    let text = String::from_utf8_lossy(stdout);
    let word = text.split("boolean").nth(1)?.split_whitespace().next()?;
    match word {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Whether `pid` is a live process (exists and is not a zombie).
fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) state ..."; comm may contain spaces or ')'.
    let state = stat.rfind(')').and_then(|i| stat[i + 1..].trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X' | 'x'))
}

/// Sends gnome-keyring's control-socket UNLOCK operation (what
/// pam_gnome_keyring does): a credentials byte, then a big-endian packet
/// `[u32 total length][u32 op = 1][u32 len][password]`. The answer is
/// `[u32 length = 8][u32 result]`: 0 OK, 1 DENIED, 2 FAILED.
fn control_unlock(socket: &Path, password: &[u8]) -> std::io::Result<u32> {
    const OP_UNLOCK: u32 = 1;
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(COMMAND_TIMEOUT))?;
    stream.set_write_timeout(Some(COMMAND_TIMEOUT))?;
    let password_len = u32::try_from(password.len()).expect("password length fits u32");
    let mut packet = vec![0u8];
    packet.extend_from_slice(&(12 + password_len).to_be_bytes());
    packet.extend_from_slice(&OP_UNLOCK.to_be_bytes());
    packet.extend_from_slice(&password_len.to_be_bytes());
    packet.extend_from_slice(password);
    stream.write_all(&packet)?;
    let mut answer = [0u8; 8];
    stream.read_exact(&mut answer)?;
    let length = u32::from_be_bytes([answer[0], answer[1], answer[2], answer[3]]);
    if length != 8 {
        return Err(std::io::Error::other(format!("unexpected answer length {length}")));
    }
    Ok(u32::from_be_bytes([answer[4], answer[5], answer[6], answer[7]]))
}
