//! The `vouch` binary: parse, build the real context, run, exit. Nothing else lives here.

use clap::Parser;
use std::process::ExitCode;
use vouch::cli::Cli;
use vouch::{Context, execute, settings};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut ctx = Context::system(settings(&cli.global));
    ExitCode::from(execute(cli.command, &mut ctx))
}
