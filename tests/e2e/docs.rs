//! Generated docs stay current and render: completions and man pages match the CLI, groff
//! renders every page without warnings, bash loads the completion, the README's exit-code
//! table matches the code's.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_completions_and_man_pages_match_the_cli() {
    let mut drifted = Vec::new();
    for (path, bytes) in vouch::docs::files() {
        match std::fs::read(root().join(&path)) {
            Ok(committed) if committed == bytes => {}
            _ => drifted.push(path.display().to_string()),
        }
    }
    assert!(drifted.is_empty(), "out of date: {drifted:?}; run `cargo xtask docs` and commit the result");
    // and nothing stale is left behind
    for dir in ["completions", "man"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            let rel = Path::new(dir).join(entry.file_name());
            assert!(
                vouch::docs::files().iter().any(|(p, _)| *p == rel),
                "{} is no longer generated",
                rel.display()
            );
        }
    }
}

#[test]
fn the_completions_command_prints_the_committed_scripts() {
    for (shell, file) in
        [("bash", "vouch.bash"), ("zsh", "_vouch"), ("fish", "vouch.fish"), ("elvish", "vouch.elv")]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_vouch")).args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, std::fs::read(root().join("completions").join(file)).unwrap(), "{shell}");
    }
}

#[test]
fn every_man_page_renders_without_groff_warnings() {
    for entry in std::fs::read_dir(root().join("man")).unwrap().flatten() {
        let out = Command::new("groff")
            .args(["-ww", "-man", "-Tutf8"])
            .arg(entry.path())
            .output()
            .expect("groff is missing: install groff-base");
        assert!(out.status.success(), "{}", entry.path().display());
        assert!(
            out.stderr.is_empty(),
            "{}: {}",
            entry.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn man_vouch_login_shows_the_flows_and_the_exit_codes() {
    let out = Command::new("man")
        .arg("-l")
        .arg(root().join("man/vouch-login.1"))
        .env("MANWIDTH", "100")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .expect("man is missing: install man-db");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--device",
        "--browser",
        "--client-credentials",
        "--with-token",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(text.contains(needle), "man vouch-login lacks {needle}");
    }
    let status = text.split("EXIT STATUS").nth(1).expect("an EXIT STATUS section");
    for (code, _, _) in vouch::error::exit::TABLE {
        let listed = status.lines().any(|l| l.split_whitespace().next() == Some(&code.to_string()));
        assert!(listed, "man vouch-login lacks exit status {code}");
    }
}

#[test]
fn bash_loads_the_completion() {
    let script = format!("source {}; complete -p vouch", root().join("completions/vouch.bash").display());
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("vouch"));
}

#[test]
fn the_readme_exit_code_table_matches_the_code() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (code, _, _) in vouch::error::exit::TABLE {
        let row = if *code >= 130 { "| 130 / 143 |".to_string() } else { format!("| {code} |") };
        assert!(readme.contains(&row), "the README's exit-code table has no row {row}");
    }
}

#[test]
fn top_level_help_fits_a_screen_and_every_command_has_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_vouch")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.lines().count() <= 45, "vouch --help is {} lines", help.lines().count());
    use clap::CommandFactory;
    // Subcommands are deferred (built when they run): build them all to see their arguments.
    let mut cmd = vouch::cli::Cli::command();
    cmd.build();
    let mut args = 0;
    for sub in cmd.get_subcommands() {
        assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
        for arg in sub.get_arguments() {
            args += 1;
            assert!(arg.get_help().is_some(), "vouch {} --{} has no help", sub.get_name(), arg.get_id());
        }
    }
    assert!(args > 50, "only {args} arguments seen: were the subcommands built?");
}
