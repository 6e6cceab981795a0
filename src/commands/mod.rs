//! One module per subcommand, each with `run(args, ctx) -> Result<Outcome, Error>`.
//!
//! Commands turn clap arguments into domain values, call the shared flows (store, config,
//! provider), and write their output through the context. They never pick exit codes for
//! errors: that is [`crate::error::Error::exit_code`]'s job.

pub mod api;
pub mod cargo_credential;
pub mod completions;
pub mod docker_credential;
pub mod doctor;
pub mod exec;
pub mod git_credential;
pub mod kube_credential;
pub mod login;
pub mod logout;
pub mod refresh;
pub mod rotate;
pub mod setup_cargo;
pub mod setup_docker;
pub mod setup_git;
pub mod setup_kube;
pub mod status;
pub mod token;

use crate::error::exit;

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// Exit 3: the command worked, and what it found is a signed-out profile.
    SignedOut,
    /// `exec`: the child's own exit code, passed through; `doctor`: the code of its first
    /// failed check.
    Exit(u8),
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => exit::OK,
            Outcome::SignedOut => exit::SIGNED_OUT,
            Outcome::Exit(code) => code,
        }
    }
}

/// A duration in the largest sensible unit: "45s", "12m", "3h", "2d".
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}
