//! Reading a secret from the user: a hidden prompt when stdin is a terminal, else all of
//! stdin. Never argv, where `ps` would show it. Input is size-bounded and must be one
//! printable token; a closed or empty stdin is "nothing given", never a hang.

use crate::context::Context;
use crate::error::Error;
use std::io::Read;
use zeroize::Zeroizing;

/// The most a pasted secret may be; real tokens and secrets are a few KiB at most.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Read one secret. `what` names it in the prompt ("the access token for 'work'").
/// Returns `None` when stdin is not a terminal and holds nothing.
pub fn read(ctx: &mut Context, what: &str) -> Result<Option<Zeroizing<String>>, Error> {
    let text = if ctx.terminal.stdin {
        if ctx.settings.no_input {
            return Err(Error::usage(format!(
                "{what} is needed, but --no-input (or VOUCH_NO_INPUT) forbids prompting: pipe it on stdin"
            )));
        }
        Zeroizing::new((ctx.prompt_secret)(&format!("Paste {what} (input is hidden): ")).map_err(|e| {
            Error::usage(format!("cannot read {what} from the terminal ({e}); pipe it on stdin instead"))
        })?)
    } else {
        let mut bytes = Zeroizing::new(Vec::new());
        ctx.stdin
            .by_ref()
            .take(MAX_SECRET_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read {what} from stdin ({e})")))?;
        if bytes.len() as u64 > MAX_SECRET_BYTES {
            return Err(Error::usage(format!("stdin holds more than 64 KiB; that is not {what}")));
        }
        Zeroizing::new(
            String::from_utf8(std::mem::take(&mut *bytes))
                .map_err(|_| Error::usage(format!("{what} on stdin is not UTF-8 text")))?,
        )
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::usage(format!(
            "the input is not {what}: it contains spaces, control or non-ASCII characters"
        )));
    }
    Ok(Some(Zeroizing::new(trimmed.to_string())))
}
