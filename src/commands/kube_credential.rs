//! `vouch kube-credential [PROFILE]`: kubectl's exec credential plugin.
//!
//! Reads `KUBERNETES_EXEC_INFO` from the context's environment, asks for one token
//! ([`crate::helpers::token_for`]) and writes one `ExecCredential` line to stdout, nothing
//! else. Failures are one line on stderr (kubectl shows the plugin's stderr) and the error's
//! exit code; stdout stays empty, so kubectl never parses half an answer.

use super::Outcome;
use crate::cli::KubeCredentialArgs;
use crate::context::Context;
use crate::error::Error;
use crate::helpers::{self, kube};
use std::io::Write;

pub fn run(args: KubeCredentialArgs, ctx: &mut Context) -> Result<Outcome, Error> {
    let info = kube::exec_info(ctx.env.get("KUBERNETES_EXEC_INFO"))?;
    let resource = kube::resource(args.name, &info)?;
    let grant = helpers::token_for(ctx, &resource)?;
    let text = kube::exec_credential(&info, &grant);
    ctx.stdout
        .write_all(text.as_bytes())
        .and_then(|()| ctx.stdout.write_all(b"\n"))
        .and_then(|()| ctx.stdout.flush())
        .map_err(|e| Error::internal(format!("cannot answer kubectl: {e}")))?;
    ctx.log(format_args!("kube-credential: answered for '{}' ({})", grant.profile, info.api_version));
    Ok(Outcome::Done)
}
