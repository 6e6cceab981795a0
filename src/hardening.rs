//! Process hardening, done first thing in `main`, before any secret is in memory.
//!
//! On Linux the process is made non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`, as ssh-agent does:
//! no core file, and other processes of the same user cannot ptrace it or read its memory
//! through /proc), and the core-file limit is set to zero on every Unix. Panics print a
//! location and a request to report it, never their payload, which could quote a value.

/// What hardening achieved, for `-v`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hardened {
    pub core_dumps_off: bool,
    pub not_dumpable: bool,
}

/// Apply what this platform allows. Failures are not fatal: the store still protects secrets
/// at rest; this only narrows what a crash or a same-user debugger could see.
pub fn apply() -> Hardened {
    let mut hardened = Hardened::default();
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        hardened.core_dumps_off =
            setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) }).is_ok();
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, dumpable_behavior, set_dumpable_behavior};
        hardened.not_dumpable = set_dumpable_behavior(DumpableBehavior::NotDumpable).is_ok()
            && matches!(dumpable_behavior(), Ok(DumpableBehavior::NotDumpable));
    }
    hardened
}

/// Replace the panic message with one that cannot leak: where, not what.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let place = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "vouch: internal error (a panic{place}); please report this at the vouch issue tracker\n"
            )
            .as_bytes(),
        );
    }));
}
