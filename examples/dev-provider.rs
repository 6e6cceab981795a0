//! A demo OpenID Connect provider on loopback, for trying vouch with no account anywhere.
//!
//! It is the test suite's fake provider (`tests/e2e/support/fake_provider.rs`): discovery,
//! device authorization, authorization code with PKCE, refresh-token rotation, userinfo and
//! revocation. Every sign-in is approved as the user `demo`, about a second after it starts.
//!
//! ```sh
//! cargo run -q --example dev-provider -- --background   # start it and return
//! vouch login demo --issuer http://127.0.0.1:8976 --client-id demo
//! cargo run -q --example dev-provider -- --stop
//! ```
//!
//! Options: `--port N` (default 8976), `--background` (detach, return once listening),
//! `--stop` (stop a background one on that port). In the foreground it runs until Ctrl-C; in
//! the background it also stops after 30 minutes without a request.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "../tests/e2e/support/fake_provider.rs"]
mod fake_provider;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_PORT: u16 = 8976;
const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let port = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    if flag("--stop") {
        return stop(port);
    }
    if flag("--background") {
        return background(port);
    }
    serve(port, flag("--serve"))
}

fn pid_file(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("vouch-dev-provider-{port}.pid"))
}

/// Start a detached copy of this program and return once it answers.
fn background(port: u16) -> ExitCode {
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("dev-provider: cannot find my own executable");
        return ExitCode::FAILURE;
    };
    let spawned = Command::new(exe)
        .args(["--serve", "--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(e) => {
            eprintln!("dev-provider: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let _ = std::fs::write(pid_file(port), child.id().to_string());
            println!(
                "demo provider running at http://127.0.0.1:{port} (client id: demo; stop it with --stop)"
            );
            return ExitCode::SUCCESS;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("dev-provider: it did not start listening on port {port} (is the port taken?)");
    ExitCode::FAILURE
}

fn stop(port: u16) -> ExitCode {
    let Some(pid) = std::fs::read_to_string(pid_file(port)).ok().and_then(|p| p.trim().parse::<u32>().ok())
    else {
        eprintln!("dev-provider: none is running in the background on port {port}");
        return ExitCode::FAILURE;
    };
    let killed = Command::new("kill").arg(pid.to_string()).status().is_ok_and(|s| s.success());
    let _ = std::fs::remove_file(pid_file(port));
    if killed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn serve(port: u16, detached: bool) -> ExitCode {
    let config = fake_provider::Config {
        port,
        subject: "demo".to_string(),
        token_prefix: "demo".to_string(),
        ..Default::default()
    };
    let provider = fake_provider::FakeProvider::start_with(config);
    provider.register_client("demo", None);
    if !detached {
        println!("demo provider running at {} (client id: demo); Ctrl-C stops it", provider.issuer());
        println!("every sign-in is approved as user 'demo' after about a second");
    }
    let mut seen = 0;
    let mut last_activity = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        // The person at the other device: approve whatever is waiting.
        for code in provider.pending_user_codes() {
            provider.approve_device(&code);
        }
        let now_seen = provider.requests().len();
        if now_seen != seen {
            seen = now_seen;
            last_activity = Instant::now();
        }
        if detached && last_activity.elapsed() > IDLE_LIMIT {
            let _ = std::fs::remove_file(pid_file(port));
            return ExitCode::SUCCESS;
        }
    }
}
