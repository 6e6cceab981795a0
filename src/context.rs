//! The context: every side effect a command may have goes through it.
//!
//! Commands never read the process environment, the clock, stdin, the terminal or the
//! credential store directly. They ask the [`Context`], which `main` builds from the real
//! world ([`Context::system`]) and tests build from fakes. What a command may touch is
//! therefore visible in one struct, and tests can drive any command in-process.

pub use crate::env::Env;
use crate::error::Error;
use crate::http::Http;
use crate::signals::Interrupts;
use crate::store::platform::{self, StoreChoice};
use crate::store::sealed_copy::Lookup;
use crate::store::{self, SecretStore};
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which standard streams are terminals.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

/// Options that apply to every command, already turned into domain values.
#[derive(Clone, Debug)]
pub struct Settings {
    pub store: StoreChoice,
    /// `--config-dir`; `None` means the platform default.
    pub config_dir: Option<PathBuf>,
    pub verbose: bool,
    /// Never wait for a person except in an explicit sign-in (`--no-input`, `VOUCH_NO_INPUT`,
    /// or neither stdin nor stderr a terminal).
    pub no_input: bool,
    pub store_timeout: Duration,
    pub http_timeout: Duration,
    /// How long to wait for another process holding a profile's lock.
    pub lock_wait: Duration,
    /// Where locks and markers live. `None` (always, in the binary) means the user's own state
    /// directory ([`crate::paths::state_dir`]); in-process tests set a private one.
    pub state_dir: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            store: StoreChoice::Auto,
            config_dir: None,
            verbose: false,
            no_input: false,
            store_timeout: store::DEFAULT_TIMEOUT,
            http_timeout: crate::http::DEFAULT_TIMEOUT,
            lock_wait: crate::lock::DEFAULT_WAIT,
            state_dir: None,
        }
    }
}

impl crate::http::Transport for Context {
    fn http(&mut self) -> &Http {
        self.http_client()
    }

    fn env(&self) -> &Env {
        &self.env
    }

    fn log(&mut self, args: std::fmt::Arguments<'_>) {
        Context::log(self, args);
    }
}

/// Opens the credential store. The real one asks the platform; tests hand out a mock.
pub trait StoreOpener {
    fn open(&self, choice: StoreChoice, env: &Env, timeout: Duration) -> Result<SecretStore, Error>;

    /// Whether the store `choice` names is usable, found without prompting or unlocking
    /// (`vouch doctor`); notes worth showing when it is. By default: open it, then write and
    /// delete a probe item.
    fn check(&self, choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        self.open(choice, env, timeout)?.probe().map(|()| Vec::new())
    }

    /// The sealed copy of `entry`'s record, read without opening the store
    /// ([`store::sealed_copy`]). By default the store keeps none: only the platform's Secret
    /// Service does.
    fn read_sealed(
        &self,
        _choice: StoreChoice,
        _env: &Env,
        _timeout: Duration,
        _entry: &str,
    ) -> Result<Lookup, Error> {
        Ok(Lookup::NotKept)
    }
}

/// The platform's stores.
pub struct SystemStores;

impl StoreOpener for SystemStores {
    fn open(&self, choice: StoreChoice, env: &Env, timeout: Duration) -> Result<SecretStore, Error> {
        platform::open(choice, env, timeout)
    }

    fn check(&self, choice: StoreChoice, env: &Env, timeout: Duration) -> Result<Vec<String>, Error> {
        platform::check(choice, env, timeout)
    }

    fn read_sealed(
        &self,
        choice: StoreChoice,
        env: &Env,
        timeout: Duration,
        entry: &str,
    ) -> Result<Lookup, Error> {
        platform::read_sealed(choice, env, timeout, entry)
    }
}

/// A fixed store, for tests.
pub struct FixedStore(pub SecretStore);

impl StoreOpener for FixedStore {
    fn open(&self, _: StoreChoice, _: &Env, _: Duration) -> Result<SecretStore, Error> {
        Ok(self.0.clone())
    }
}

/// Reads a secret from the terminal without echo.
pub type SecretPrompt = Box<dyn FnMut(&str) -> io::Result<String>>;

/// Opens a URL in the user's browser; returns whether a browser was started.
pub type BrowserOpener = Box<dyn FnMut(&str) -> bool>;

/// Called at named step boundaries of multi-step writes (rotate, refresh). Always `Ok` in
/// real use; tests return an error to stop the command there, as if the process had died.
pub type Checkpoint = Box<dyn FnMut(&str) -> Result<(), Error>>;

/// Everything a command may touch.
pub struct Context {
    pub settings: Settings,
    pub env: Env,
    pub stdin: Box<dyn Read>,
    pub stdout: Box<dyn Write>,
    pub stderr: Box<dyn Write>,
    pub terminal: Terminal,
    /// Unix seconds now.
    pub clock: Box<dyn Fn() -> u64>,
    pub prompt_secret: SecretPrompt,
    pub open_browser: BrowserOpener,
    pub sleep: Box<dyn FnMut(Duration)>,
    pub checkpoint: Checkpoint,
    pub stores: Box<dyn StoreOpener>,
    /// SIGINT/SIGTERM handling, installed by the first command that needs it.
    pub interrupts: Option<Interrupts>,
    /// Whether `interrupts()` may install real handlers (false in tests).
    install_signal_handlers: bool,
    store: Option<SecretStore>,
    http: Option<Http>,
}

impl Context {
    /// The real world.
    pub fn system(mut settings: Settings) -> Self {
        let env = Env::from_process();
        let terminal = Terminal {
            stdin: io::stdin().is_terminal(),
            stdout: io::stdout().is_terminal(),
            stderr: io::stderr().is_terminal(),
        };
        settings.no_input |=
            env.get("VOUCH_NO_INPUT").is_some_and(|v| v != "0") || (!terminal.stdin && !terminal.stderr);
        let browser = env.get("BROWSER").map(str::to_string);
        let graphical = env.get("DISPLAY").is_some() || env.get("WAYLAND_DISPLAY").is_some();
        Context {
            settings,
            env,
            stdin: Box::new(io::stdin()),
            stdout: Box::new(io::stdout()),
            stderr: Box::new(io::stderr()),
            terminal,
            clock: Box::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
            prompt_secret: Box::new(|prompt| rpassword::prompt_password(prompt)),
            open_browser: Box::new(move |url| {
                crate::system_browser::open(url, browser.as_deref(), graphical)
            }),
            sleep: Box::new(std::thread::sleep),
            checkpoint: Box::new(|_| Ok(())),
            stores: Box::new(SystemStores),
            interrupts: None,
            install_signal_handlers: true,
            store: None,
            http: None,
        }
    }

    /// A context with the given parts and inert defaults elsewhere: empty stdin, discarded
    /// output, no terminal, a prompt that fails. Tests replace what they need.
    pub fn detached(settings: Settings, env: Env, stores: Box<dyn StoreOpener>) -> Self {
        Context {
            settings,
            env,
            stdin: Box::new(io::empty()),
            stdout: Box::new(io::sink()),
            stderr: Box::new(io::sink()),
            terminal: Terminal::default(),
            clock: Box::new(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
            prompt_secret: Box::new(|_| Err(io::Error::other("no terminal"))),
            open_browser: Box::new(|_| false),
            sleep: Box::new(std::thread::sleep),
            checkpoint: Box::new(|_| Ok(())),
            stores,
            interrupts: None,
            install_signal_handlers: false,
            store: None,
            http: None,
        }
    }

    /// Signal handling for a command that mints or writes credentials: installs the
    /// handlers on first use (real contexts only; tests get inert handling).
    pub fn interrupts(&mut self) -> Interrupts {
        let install = self.install_signal_handlers;
        self.interrupts
            .get_or_insert_with(|| if install { Interrupts::install() } else { Interrupts::inert() })
            .clone()
    }

    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// The credential store, opened on first use.
    pub fn store(&mut self) -> Result<SecretStore, Error> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let store = self.stores.open(self.settings.store, &self.env, self.settings.store_timeout)?;
        self.log(format_args!("store: {}", store.kind().id()));
        self.store = Some(store.clone());
        Ok(store)
    }

    /// The sealed copy of `entry`'s record ([`store::sealed_copy`]), when no store is open yet
    /// and the one this process would open keeps one. The caller checks whose it is and how
    /// long it lasts; for anything else it opens the store.
    pub fn sealed_copy(&mut self, entry: &str) -> Result<Lookup, Error> {
        if self.store.is_some() {
            return Ok(Lookup::NotKept);
        }
        self.stores.read_sealed(self.settings.store, &self.env, self.settings.store_timeout, entry)
    }

    /// The HTTP client, built on first use so commands that stay offline never pay for TLS set-up.
    pub fn http_client(&mut self) -> &Http {
        let timeout = self.settings.http_timeout;
        self.http.get_or_insert_with(|| Http::new(timeout))
    }

    /// The DPoP nonce `url`'s server asked for last: remembered in this process, else in the
    /// state directory from an earlier one ([`crate::dpop::NonceFile`]).
    pub fn dpop_nonce(&mut self, url: &url::Url) -> Option<String> {
        if let Some(nonce) = self.http_client().dpop_nonce(url) {
            return Some(nonce);
        }
        let nonce = crate::dpop::NonceFile::read(&self.cache_dir().ok()?, url)?;
        self.http_client().remember_dpop_nonce(url, &nonce);
        Some(nonce)
    }

    /// Remember the DPoP nonce `url`'s server sent, for this process and the next ones.
    pub fn remember_dpop_nonce(&mut self, url: &url::Url, nonce: &str) {
        if self.http_client().remember_dpop_nonce(url, nonce) {
            match self.cache_dir() {
                Ok(dir) => crate::dpop::NonceFile::write(&dir, url, nonce),
                Err(_) => self.log(format_args!("dpop: no state directory to remember the nonce in")),
            }
        }
    }

    /// The config directory: `--config-dir` / `VOUCH_CONFIG_DIR`, else the platform default.
    pub fn config_dir(&self) -> Result<PathBuf, Error> {
        if let Some(dir) = &self.settings.config_dir {
            return Ok(dir.clone());
        }
        crate::paths::default_config_dir(&self.env)
    }

    /// Where per-credential lock files and in-flight markers live (checked, created if
    /// missing): the same for every process of this user, whatever its environment.
    pub fn state_dir(&self) -> Result<PathBuf, Error> {
        match &self.settings.state_dir {
            Some(dir) => crate::paths::ensure_private_dir(dir).map(|()| dir.clone()),
            None => crate::paths::state_dir(&self.env),
        }
    }

    /// Where [`Context::state_dir`] is, without creating or checking it (`vouch doctor`).
    pub fn state_dir_location(&self) -> Result<PathBuf, Error> {
        match &self.settings.state_dir {
            Some(dir) => Ok(dir.clone()),
            None => crate::paths::default_state_dir(&self.env),
        }
    }

    /// Where provider metadata is cached ([`crate::paths::cache_dir`]): inside the state
    /// directory, so every process of this user shares it.
    pub fn cache_dir(&self) -> Result<PathBuf, Error> {
        crate::paths::cache_dir(&self.state_dir()?)
    }

    /// A `-v` log line on stderr. Callers pass operation names, URLs without query strings,
    /// status codes and error classes: never a secret.
    pub fn log(&mut self, args: std::fmt::Arguments<'_>) {
        if self.settings.verbose {
            let _ = writeln!(self.stderr, "vouch: {args}");
        }
    }

    /// A note for the user on stderr.
    pub fn note(&mut self, args: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.stderr, "{args}");
    }
}
