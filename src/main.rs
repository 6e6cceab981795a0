//! The `vouch` binary: harden the process, parse, build the real context, run, exit. Nothing
//! else lives here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use vouch::{Context, error::exit, execute, hardening, settings};

fn main() -> ExitCode {
    let hardened = hardening::apply();
    hardening::quiet_panics();
    let args = vouch::cli_args(std::env::args_os());
    if let Some(line) = vouch::version_only(&args) {
        // As clap does: the line, exit 0, whether or not stdout took it.
        let _ = std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes());
        return ExitCode::SUCCESS;
    }
    let cli = vouch::parse_cli(args);
    let mut ctx = Context::system(settings(&cli.global));
    ctx.log(format_args!(
        "hardening: core dumps {}, {}",
        if hardened.core_dumps_off { "off" } else { "ON" },
        if hardened.not_dumpable { "not dumpable" } else { "dumpable" }
    ));
    // A panic is reported by the hook (without its payload) and ends with exit 1.
    let code = catch_unwind(AssertUnwindSafe(|| execute(cli.command, &mut ctx))).unwrap_or(exit::INTERNAL);
    ExitCode::from(code)
}
