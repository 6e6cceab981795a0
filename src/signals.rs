//! SIGINT and SIGTERM: exit 130 / 143 at once, except inside a critical section.
//!
//! A critical section spans "a request that can mint or rotate a credential was sent" to "its
//! result is written to the store". A signal that arrives inside one is deferred: the section
//! finishes, the record is written, and only then does the command end with 130 or 143
//! (through [`Interrupts::check`] and the normal error path). Outside critical sections a
//! signal ends the process immediately with the conventional code: nothing is half-done there
//! (waiting for a person to approve, a browser redirect, a lock), so nothing is lost.
//!
//! SIGKILL cannot be caught; the README documents the window that remains.

use crate::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Shared state between the signal thread and the command.
#[derive(Default)]
struct State {
    /// The deferred signal, or 0.
    pending: AtomicI32,
    /// How many critical sections are open.
    critical: AtomicUsize,
    /// A child process (`exec`) that receives the signals instead, or 0.
    forward_to: AtomicU32,
}

/// The process's interrupt handling, installed once.
#[derive(Clone)]
pub struct Interrupts {
    state: Arc<State>,
}

/// While alive, signals are deferred.
pub struct CriticalSection {
    state: Arc<State>,
}

impl Drop for CriticalSection {
    fn drop(&mut self) {
        self.state.critical.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Interrupts {
    /// Install handlers for SIGINT and SIGTERM. If installing fails, the default behaviour
    /// (die at once) remains, which is safe but not graceful.
    pub fn install() -> Self {
        let interrupts = Interrupts { state: Arc::new(State::default()) };
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGINT, SIGTERM};
            if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
                let state = interrupts.state.clone();
                let _ = std::thread::Builder::new().name("vouch-signals".into()).spawn(move || {
                    for signal in signals.forever() {
                        let child = state.forward_to.load(Ordering::SeqCst);
                        if child != 0 {
                            forward(child, signal);
                            continue;
                        }
                        // Decide and record under one ordering so a section that is just
                        // closing still sees the pending signal in `check`.
                        state.pending.store(signal, Ordering::SeqCst);
                        if state.critical.load(Ordering::SeqCst) == 0 {
                            std::process::exit(exit_code(signal).into());
                        }
                    }
                });
            }
        }
        interrupts
    }

    /// Handling that never exits: signals are only recorded. For tests.
    pub fn inert() -> Self {
        Interrupts { state: Arc::new(State::default()) }
    }

    /// Defer signals until the returned guard is dropped.
    pub fn critical(&self) -> CriticalSection {
        self.state.critical.fetch_add(1, Ordering::SeqCst);
        CriticalSection { state: self.state.clone() }
    }

    /// Turn a deferred signal into the error that ends the command (exit 130 or 143).
    pub fn check(&self) -> Result<(), Error> {
        match self.state.pending.load(Ordering::SeqCst) {
            0 => Ok(()),
            signal => Err(Error::Interrupted { signal }),
        }
    }

    /// From now on, pass SIGINT and SIGTERM on to the child `pid` instead of ending vouch.
    pub fn forward_to(&self, pid: u32) {
        self.state.forward_to.store(pid, Ordering::SeqCst);
    }

    /// Record a signal as if it had arrived (tests).
    pub fn raise(&self, signal: i32) {
        self.state.pending.store(signal, Ordering::SeqCst);
    }
}

/// Send `signal` to process `pid`.
#[cfg(unix)]
fn forward(pid: u32, signal: i32) {
    use rustix::process::{Pid, Signal, kill_process};
    let signal = if signal == SIGTERM { Signal::TERM } else { Signal::INT };
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, signal);
    }
}

#[cfg(not(unix))]
fn forward(_: u32, _: i32) {}

fn exit_code(signal: i32) -> u8 {
    match signal {
        SIGTERM => 143,
        SIGINT => 130,
        other => 128u8.saturating_add(other.clamp(0, 127) as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deferred_signals_become_the_documented_error() {
        let interrupts = Interrupts::inert();
        assert!(interrupts.check().is_ok());
        let section = interrupts.critical();
        interrupts.raise(SIGTERM);
        drop(section);
        assert_eq!(interrupts.check().unwrap_err().exit_code(), 143);
        assert_eq!(exit_code(SIGINT), 130);
    }
}
