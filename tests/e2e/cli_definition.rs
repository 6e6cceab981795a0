//! The clap definition is internally consistent, and usage errors are exit 2.

use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    vouch::cli::Cli::command().debug_assert();
}

#[test]
fn a_token_is_never_accepted_from_argv() {
    let cmd = vouch::cli::Cli::command();
    let login = cmd.find_subcommand("login").expect("login");
    for arg in login.get_arguments() {
        let name = arg.get_id().as_str();
        assert!(!name.contains("token") || name == "with_token", "login takes a secret in argv: {name}");
        assert!(!name.contains("secret"), "login takes a secret in argv: {name}");
    }
}
