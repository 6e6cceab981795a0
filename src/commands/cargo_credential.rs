//! `vouch cargo-credential` (as cargo runs it: `vouch --cargo-plugin`): cargo's credential
//! provider.
//!
//! Writes the hello, then answers each request line ([`crate::helpers::cargo::serve`]) until
//! cargo closes stdin. stdout carries only protocol lines; notes and `-v` logs go to stderr.
//! cargo ignores an answer when the provider then exits non-zero, so every answered request,
//! failures included, ends with exit 0: the failure (and its class) is in the answer's
//! message. Only a line that is not a request at all ends the conversation with exit 2.

use super::Outcome;
use crate::cli::CargoCredentialArgs;
use crate::context::Context;
use crate::error::Error;
use crate::helpers::cargo;
use std::io::{BufRead, BufReader, Read, Write};
use zeroize::Zeroizing;

pub fn run(args: CargoCredentialArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    answer(ctx, cargo::HELLO)?;
    let stdin = std::mem::replace(&mut ctx.stdin, Box::new(std::io::empty()));
    let mut input = BufReader::new(stdin);
    loop {
        let line = match read_line(&mut input) {
            Ok(Some(line)) => line,
            Ok(None) => return Ok(Outcome::Done),
            Err(err) => {
                answer(ctx, &cargo::failure(&err))?;
                return Err(err);
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match cargo::parse(&line) {
            Ok(request) => request,
            Err(err) => {
                answer(ctx, &cargo::failure(&err))?;
                return Err(err);
            }
        };
        let text = cargo::serve(ctx, &request, args.name.as_deref());
        answer(ctx, &text)?;
    }
}

/// One line from cargo, without its newline; `None` at the end of input. Zeroized on drop: a
/// `login` request may carry a token.
fn read_line(input: &mut impl BufRead) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    let mut line = Zeroizing::new(Vec::with_capacity(512));
    let read = input
        .take(cargo::MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::internal(format!("cannot read cargo's request: {e}")))?;
    if read == 0 {
        return Ok(None);
    }
    if line.len() > cargo::MAX_LINE {
        return Err(Error::usage("cargo's request is longer than any credential request"));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(Some(line))
}

/// Write one protocol line.
fn answer(ctx: &mut Context, line: &str) -> Result<(), Error> {
    ctx.stdout
        .write_all(line.as_bytes())
        .and_then(|()| ctx.stdout.write_all(b"\n"))
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot answer cargo: {e}")))
}
