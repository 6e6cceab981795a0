//! The clap definition is internally consistent, and usage errors are exit 2.

use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    vouch::cli::Cli::command().debug_assert();
}

#[test]
fn a_token_is_never_accepted_from_argv() {
    let cmd = vouch::cli::Cli::command();
    let mut checked = 0;
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            let name = arg.get_id().as_str();
            let secret_like =
                ["token", "secret", "password", "code", "credentials"].iter().any(|w| name.ends_with(w));
            if secret_like {
                checked += 1;
                assert!(
                    !arg.get_action().takes_values(),
                    "`vouch {}` takes a secret in argv: --{name}",
                    sub.get_name()
                );
            }
        }
    }
    assert!(checked >= 2, "the check found no secret-like flags at all (--with-token, --client-credentials)");
}
