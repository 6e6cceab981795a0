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

/// `vouch::fast_args` reads the hot commands' command lines without building clap's tree. Every
/// line it accepts must be read exactly as clap reads it (same `Cli`), with the environment
/// variables clap reads; every other line goes to clap. Checked over every line of up to four
/// words from an alphabet of the hot commands, their options, values, and what must go to clap.
#[test]
fn the_fast_argument_reader_reads_every_line_it_accepts_as_clap_does() {
    use clap::Parser;
    use std::ffi::OsString;
    const WORDS: &[&str] = &[
        "token",
        "git-credential",
        "kube-credential",
        "cargo-credential",
        "docker-credential",
        "login",
        "help",
        "--store",
        "keyutils",
        "--store=secret-service",
        "--store=bogus",
        "--store=",
        "--config-dir",
        "/c",
        "--config-dir=/d",
        "-v",
        "--verbose",
        "--no-input",
        "--json",
        "--min-ttl",
        "30",
        "--min-ttl=5",
        "--min-ttl=+5",
        "--cargo-plugin",
        "get",
        "work",
        "a=b",
        "-",
        "--",
        "--help",
        "-h",
        "-V",
        "-vv",
        "",
    ];
    let clap_reading =
        |argv: &[OsString]| vouch::cli::Cli::try_parse_from(argv).map(|cli| format!("{cli:?}"));
    let (mut lines, mut accepted) = (0, 0);
    let mut line = vec![0usize; 0];
    // Every sequence of 0..=4 word indexes, in counting order.
    loop {
        let argv: Vec<OsString> =
            std::iter::once("vouch").chain(line.iter().map(|&i| WORDS[i])).map(OsString::from).collect();
        lines += 1;
        if let Some(fast) = vouch::fast_args::parse_with_process_env(&argv) {
            accepted += 1;
            assert_eq!(Ok(format!("{fast:?}")), clap_reading(&argv).map_err(|e| e.to_string()), "{argv:?}");
        }
        // The same line with both variables set (valid): as clap given them as options where
        // the line has none (an option on the line wins over its variable).
        let has = |flag: &str| line.iter().any(|&i| WORDS[i].starts_with(flag));
        let env = |name: &str| match name {
            "VOUCH_STORE" => Some(OsString::from("keyutils")),
            "VOUCH_CONFIG_DIR" => Some(OsString::from("/from-env")),
            _ => None,
        };
        if let Some(fast) = vouch::fast_args::parse(&argv, env) {
            let mut explicit = argv.clone();
            if !has("--store") {
                explicit.splice(1..1, ["--store", "keyutils"].map(OsString::from));
            }
            if !has("--config-dir") {
                explicit.splice(1..1, ["--config-dir", "/from-env"].map(OsString::from));
            }
            assert_eq!(
                Ok(format!("{fast:?}")),
                clap_reading(&explicit).map_err(|e| e.to_string()),
                "{argv:?}"
            );
        }
        // Next sequence.
        let mut k = line.len();
        loop {
            if k == 0 {
                if line.len() == 4 {
                    assert!(accepted > 1000, "only {accepted} of {lines} lines took the fast path");
                    return;
                }
                line = vec![0; line.len() + 1];
                break;
            }
            k -= 1;
            line[k] += 1;
            if line[k] < WORDS.len() {
                break;
            }
            line[k] = 0;
        }
    }
}

/// What the fast reader must leave to clap, each for a reason a user would meet.
#[test]
fn the_fast_argument_reader_leaves_everything_else_to_clap() {
    let parse = |words: &[&str], store: Option<&str>| {
        let argv: Vec<std::ffi::OsString> =
            std::iter::once("vouch").chain(words.iter().copied()).map(Into::into).collect();
        vouch::fast_args::parse(&argv, |name| {
            (name == "VOUCH_STORE").then(|| store.map(Into::into)).flatten()
        })
    };
    assert!(parse(&["token", "work"], None).is_some());
    assert!(parse(&["--store", "keyutils", "git-credential", "get"], None).is_some());
    for (words, why) in [
        (&["token", "--help"][..], "help"),
        (&["token", "-V"], "the version"),
        (&["tokn", "work"], "a misspelt command (clap suggests the right one)"),
        (&["token", "a", "b"], "a second name"),
        (&["--store", "keyutils", "--store", "keyutils", "token"], "a repeated option"),
        (&["--store", "Keyutils", "token"], "a store clap does not know"),
        (&["token", "--config-dir", "-x"], "a value that looks like an option"),
        (&["--json", "token"], "a command's option before the command"),
        (&["git-credential"], "a missing operation"),
        (&["token", "--min-ttl", "99999999999999999999"], "a number out of range"),
        (&["login", "work"], "a command that is not hot"),
        (&[], "no command"),
    ] {
        assert!(parse(words, None).is_none(), "{why}: {words:?}");
    }
    // clap reads the variables of global options even when the option is given, and refuses a
    // bad value either way (`VOUCH_STORE=bogus vouch --store keyutils status` is exit 2).
    for words in [&["token"][..], &["--store", "keyutils", "token"], &["token", "--store=keyutils"]] {
        assert!(
            parse(words, Some("bogus")).is_none(),
            "an unknown VOUCH_STORE is clap's to report: {words:?}"
        );
        assert!(parse(words, Some("")).is_none(), "an empty VOUCH_STORE is clap's to report: {words:?}");
    }
    let with_config_dir = |words: &[&str], dir: &str| {
        let argv: Vec<std::ffi::OsString> =
            std::iter::once("vouch").chain(words.iter().copied()).map(Into::into).collect();
        vouch::fast_args::parse(&argv, |name| (name == "VOUCH_CONFIG_DIR").then(|| dir.into()))
    };
    assert!(
        with_config_dir(&["--config-dir", "/x", "token"], "").is_none(),
        "an empty VOUCH_CONFIG_DIR is clap's"
    );
    assert!(
        with_config_dir(&["--config-dir", "/x", "token"], "/env").is_some(),
        "the option wins over the variable"
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let argv = ["vouch".into(), "token".into(), std::ffi::OsString::from_vec(vec![b'w', 0xff])];
        assert!(vouch::fast_args::parse(&argv, |_| None).is_none(), "a name that is not UTF-8 is clap's");
    }
}

/// clap refuses a bad `VOUCH_STORE` even when `--store` is given; so must the hot commands,
/// which the fast reader would otherwise have accepted.
#[test]
fn a_bad_store_variable_is_refused_even_with_the_option_given() {
    let out = assert_cmd::Command::cargo_bin("vouch")
        .unwrap()
        .args(["--store", "keyutils", "token", "x"])
        .env_clear()
        .env("VOUCH_STORE", "bogus")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid value 'bogus'"), "{stderr}");
}
