//! The clap definition is internally consistent, and usage errors are exit 2.

use clap::CommandFactory;

#[test]
fn clap_definition_is_consistent() {
    vouch::cli::Cli::command().debug_assert();
}

#[test]
fn a_token_is_never_accepted_from_argv() {
    // Subcommands are deferred (built when they run): build them all to see their arguments.
    let mut cmd = vouch::cli::Cli::command();
    cmd.build();
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

/// `main` answers a bare `--version` / `-V` before building the clap tree: its line must be
/// clap's, and the binary must print the same thing on both paths.
#[test]
fn the_fast_version_line_is_claps() {
    let clap_line = vouch::cli::Cli::command().render_version();
    assert_eq!(vouch::VERSION_LINE, clap_line);
    let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
    assert_eq!(vouch::version_only(&args(&["vouch", "--version"])), Some(clap_line.as_str()));
    assert_eq!(vouch::version_only(&args(&["/usr/bin/vouch", "-V"])), Some(clap_line.as_str()));
    for other in
        [&["vouch"][..], &["vouch", "-v", "--version"], &["vouch", "token", "-V"], &["vouch", "--help"]]
    {
        assert_eq!(vouch::version_only(&args(other)), None, "{other:?} is clap's to parse");
    }
    let run = |a: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("vouch").unwrap().args(a).env_clear().output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{a:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    // `-v --version` takes clap's path; the bare forms take main's.
    assert_eq!(run(&["-v", "--version"]), clap_line);
    assert_eq!(run(&["--version"]), clap_line);
    assert_eq!(run(&["-V"]), clap_line);
}
