//! Driving commands in-process through `vouch::execute`, with keyring-core's mock store
//! (errors injected per call) and captured output.

use clap::Parser;
use keyring_core::api::CredentialStoreApi;
use keyring_core::mock;
use std::io::Write;
use std::sync::{Arc, Mutex};
use vouch::context::{Env, FixedStore, Settings};
use vouch::store::{DEFAULT_TIMEOUT, SERVICE, SecretStore, StoreKind};
use vouch::{Context, execute};

#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

pub struct Harness {
    pub backend: Arc<mock::Store>,
    pub kind: StoreKind,
    pub dir: tempfile::TempDir,
    pub stdout: Buffer,
    pub stderr: Buffer,
}

impl Harness {
    pub fn new(kind: StoreKind) -> Self {
        Harness {
            backend: mock::Store::new().unwrap(),
            kind,
            dir: tempfile::tempdir().unwrap(),
            stdout: Buffer::default(),
            stderr: Buffer::default(),
        }
    }

    /// Run `vouch ARGS` in-process with `stdin`; returns the exit code.
    pub fn run(&self, args: &[&str], stdin: &str) -> u8 {
        self.run_with(args, stdin, |_| {})
    }

    /// Like `run`, letting the test adjust the context first (clock, sleep, browser, env).
    pub fn run_with(&self, args: &[&str], stdin: &str, adjust: impl FnOnce(&mut Context)) -> u8 {
        let mut argv = vec!["vouch", "--config-dir"];
        let dir = self.dir.path().display().to_string();
        argv.push(&dir);
        argv.extend_from_slice(args);
        let cli = vouch::cli::Cli::try_parse_from(argv).expect("valid arguments");
        let store = SecretStore::new(self.kind, self.backend.clone(), DEFAULT_TIMEOUT);
        let settings = Settings {
            verbose: cli.global.verbose,
            state_dir: Some(self.dir.path().join("state")),
            ..vouch::settings(&cli.global)
        };
        let env = Env::from_pairs([("HOME", dir.as_str())]);
        let mut ctx = Context::detached(settings, env, Box::new(FixedStore(store)));
        ctx.stdin = Box::new(std::io::Cursor::new(stdin.as_bytes().to_vec()));
        ctx.stdout = Box::new(self.stdout.clone());
        ctx.stderr = Box::new(self.stderr.clone());
        adjust(&mut ctx);
        execute(cli.command, &mut ctx)
    }

    /// The store entry of `profile` as config.toml names it now (`p#previous`: the entry of
    /// an unfinished rotation of `p`).
    pub fn entry(&self, profile: &str) -> String {
        match profile.split_once('#') {
            Some((name, suffix)) => format!("{}#{suffix}", super::entry_in(self.dir.path(), name)),
            None => super::entry_in(self.dir.path(), profile),
        }
    }

    pub fn inject(&self, profile: &str, err: keyring_core::Error) {
        let entry = self.backend.build(SERVICE, &self.entry(profile), None).unwrap();
        let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
        cred.set_error(err);
    }

    pub fn stored(&self, profile: &str) -> Option<serde_json::Value> {
        let entry = self.backend.build(SERVICE, &self.entry(profile), None).unwrap();
        entry.get_secret().ok().map(|b| serde_json::from_slice(&b).unwrap())
    }
}

impl Harness {
    /// Write a profile into config.toml (0600) as a login would have.
    pub fn seed_profile(&self, name: &str, issuer: &str, client_id: &str, flow: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("config.toml");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!(
            "[profiles.{name}]\nissuer = \"{issuer}\"\nclient_id = \"{client_id}\"\nflow = \"{flow}\"\ncredential_id = \"{}\"\n\n",
            super::SEEDED_ID
        ));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Replace config.toml with `text` (mode 0600), as a login would have left it.
    pub fn write_config(&self, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Store a record for `profile` directly in the mock store, stamped with the profile's
    /// issuer and client (as vouch stamps what it stores) unless the record names its own.
    pub fn seed_record(&self, profile: &str, mut record: serde_json::Value) {
        let text = std::fs::read_to_string(self.dir.path().join("config.toml")).unwrap_or_default();
        let config: toml::Value = toml::from_str(&text).unwrap();
        let seeded = &config["profiles"][profile];
        for field in ["issuer", "client_id"] {
            if record.get(field).is_none() {
                record[field] = serde_json::Value::String(seeded[field].as_str().unwrap().to_string());
            }
        }
        if record["version"] == 1 {
            record["version"] = 2.into();
        }
        let entry = self.backend.build(SERVICE, &self.entry(profile), None).unwrap();
        entry.set_secret(record.to_string().as_bytes()).unwrap();
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
