//! The `vouch` binary: harden the process, parse, build the real context, run, exit. Nothing
//! else lives here.
//!
//! On Linux with glibc the entry point is a plain C `main` rather than std's. std's start-up
//! spent ≈ 107 k instructions, a seventh of a `vouch --store keyutils token`, finding the main
//! thread's stack guard by parsing /proc/self/maps, only to name a stack overflow in its
//! message (docs/benchmarks.md). What std's start-up did that vouch relies on is done in
//! [`start`] instead, and tested end to end: fds 0–2 exist (a closed one is opened on
//! /dev/null, so no file vouch opens can become its stdout), a closed pipe is an error and not a
//! fatal SIGPIPE, and the process ends through `std::process::exit` (std's cleanup: stdout
//! flushed; its exit guard). The arguments are std's: glibc hands them to std before `main`
//! (`std::env::args`, "On glibc Linux systems ... `.init_array`"). Given up: std's message on
//! a stack overflow (now a plain SIGSEGV) and the main thread's name "main".
// Not under `cargo test`: the bin's test harness brings its own `main`.
#![cfg_attr(all(target_os = "linux", target_env = "gnu", not(test)), no_main)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use vouch::{Context, error::exit, execute, hardening, settings};

/// Everything `main` does, as an exit code.
fn run() -> u8 {
    let hardened = hardening::apply();
    hardening::quiet_panics();
    let args = vouch::cli_args(std::env::args_os());
    if let Some(line) = vouch::version_only(&args) {
        // As clap does: the line, exit 0, whether or not stdout took it.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
        return 0;
    }
    // The hot commands' plain shapes skip clap's tree; everything else is clap's.
    let cli = vouch::fast_args::parse_with_process_env(&args).unwrap_or_else(|| vouch::parse_cli(args));
    let mut ctx = Context::system(settings(&cli.global));
    ctx.log(format_args!(
        "hardening: core dumps {}, {}",
        if hardened.core_dumps_off { "off" } else { "ON" },
        if hardened.not_dumpable { "not dumpable" } else { "dumpable" }
    ));
    // A panic is reported by the hook (without its payload) and ends with exit 1.
    catch_unwind(AssertUnwindSafe(|| execute(cli.command, &mut ctx))).unwrap_or(exit::INTERNAL)
}

#[cfg(any(not(all(target_os = "linux", target_env = "gnu")), test))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(run())
}

// SAFETY: this is the C entry point glibc's start files call once, on the main thread, with
// `no_main` set above so that std generates no other `main`. It takes no pointer it reads.
#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    start::standard_fds_open();
    start::sigpipe_not_fatal();
    // A panic outside `execute` (there should be none) must not unwind into C.
    let code = catch_unwind(run).unwrap_or(exit::INTERNAL);
    // Everything `run` held is dropped (and wiped) by now. Leave as std's `main` does: its
    // cleanup flushes stdout, and its exit guard keeps a signal thread's `exit(130)` from
    // racing this one.
    std::process::exit(i32::from(code))
}

/// What std's start-up does before `main` that vouch relies on.
#[cfg(all(target_os = "linux", target_env = "gnu", not(test)))]
mod start {
    /// Make fds 0, 1 and 2 exist, as std does: a closed one is opened on /dev/null (lowest free
    /// fd first, so each lands where it belongs). Otherwise the first file vouch opens would
    /// become its stdout or stderr, and a token printed "to stdout" would land in that file.
    pub fn standard_fds_open() {
        use rustix::io::{Errno, fcntl_getfd};
        use std::os::fd::IntoRawFd;
        for fd in [rustix::stdio::stdin(), rustix::stdio::stdout(), rustix::stdio::stderr()] {
            if fcntl_getfd(fd) == Err(Errno::BADF) {
                match rustix::fs::open("/dev/null", rustix::fs::OFlags::RDWR, rustix::fs::Mode::empty()) {
                    // Kept open for the life of the process, as the fd it stands for.
                    Ok(null) => drop(null.into_raw_fd()),
                    // As std does when /dev/null cannot be opened: stop rather than run without.
                    Err(_) => std::process::abort(),
                }
            }
        }
    }

    /// A write to a closed pipe fails with EPIPE, which vouch reports, instead of killing it:
    /// SIGPIPE ignored, as std does (std's `Command` restores it for the programs vouch runs).
    pub fn sigpipe_not_fatal() {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code; this runs
        // first thing on the only thread, as std's own start-up does.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    }
}
