//! Generated documentation: shell completions and man pages, from the same clap definition
//! the binary parses with, plus the sections clap does not know (EXIT STATUS, ENVIRONMENT,
//! FILES, EXAMPLES, SEE ALSO).
//!
//! `cargo xtask docs` writes [`files`] into `completions/` and `man/`; `vouch completions
//! SHELL` prints the same bytes; a test fails when the committed files drift from what the
//! current CLI generates. The exit-code table comes from [`crate::error::exit::TABLE`], the one
//! place the codes are defined.

use crate::cli::Cli;
use crate::error::exit;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::PathBuf;

/// The shells `completions/` holds scripts for, with their file names.
pub const SHELLS: [(Shell, &str); 5] = [
    (Shell::Bash, "vouch.bash"),
    (Shell::Zsh, "_vouch"),
    (Shell::Fish, "vouch.fish"),
    (Shell::PowerShell, "_vouch.ps1"),
    (Shell::Elvish, "vouch.elv"),
];

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "vouch", &mut out);
    out
}

/// Every generated file, by path relative to the repository root.
pub fn files() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = SHELLS
        .iter()
        .map(|(shell, name)| (PathBuf::from("completions").join(name), completion(*shell)))
        .collect();
    files.extend(man_pages().into_iter().map(|(name, page)| (PathBuf::from("man").join(name), page)));
    files
}

/// `vouch.1` and one page per subcommand (`vouch-login.1`, ...).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = vec![("vouch.1".to_string(), page(&cmd, None))];
    for sub in cmd.get_subcommands() {
        let name = sub.get_name().to_string();
        let file = format!("vouch-{name}.1");
        pages.push((file, page(sub, Some(&name))));
    }
    pages
}

/// One man page: clap's sections, then vouch's own.
fn page(cmd: &clap::Command, sub: Option<&str>) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("vouch manual")
        .source(format!("vouch {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = man.render(&mut out);
    let mut extra = String::new();
    if let Some(examples) = examples(sub) {
        extra.push_str(".SH EXAMPLES\n");
        for (what, command) in examples {
            extra.push_str(&format!(".TP\n{}\n.EX\n{}\n.EE\n", roff(what), roff(command)));
        }
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for (code, meaning, next) in exit::TABLE {
        let next = if next.is_empty() { String::new() } else { format!(" What to do: {next}.") };
        extra.push_str(&format!(".TP\n.B {code}\n{}\n", roff(&format!("{}.{next}", capitalize(meaning)))));
    }
    extra.push_str(".SH ENVIRONMENT\n");
    for (var, meaning) in ENVIRONMENT {
        extra.push_str(&format!(".TP\n.B {}\n{}\n", roff(var), roff(meaning)));
    }
    extra.push_str(".SH FILES\n");
    for (path, meaning) in FILES {
        extra.push_str(&format!(".TP\n.I {}\n{}\n", roff(path), roff(meaning)));
    }
    extra.push_str(".SH \"SEE ALSO\"\n");
    let mut see_also: Vec<String> = vec!["vouch(1)".into()];
    see_also.extend(
        [
            "login",
            "status",
            "token",
            "refresh",
            "rotate",
            "logout",
            "exec",
            "git-credential",
            "setup-git",
            "doctor",
        ]
        .iter()
        .filter(|s| Some(**s) != sub)
        .map(|s| format!("vouch-{s}(1)")),
    );
    see_also.retain(|s| !(sub.is_none() && s == "vouch(1)"));
    see_also
        .extend(["git-credential(1)", "gitcredentials(7)", "secret-tool(1)", "keyctl(1)"].map(String::from));
    extra.push_str(&roff(&see_also.join(", ")));
    extra.push('\n');
    out.extend_from_slice(extra.as_bytes());
    out
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Escape text for roff: backslashes, hyphens, and control characters at line starts.
fn roff(text: &str) -> String {
    text.lines()
        .map(|line| {
            let escaped = line.replace('\\', "\\e").replace('-', "\\-");
            if escaped.starts_with(['.', '\'']) { format!("\\&{escaped}") } else { escaped }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const ENVIRONMENT: &[(&str, &str)] = &[
    ("VOUCH_PROFILE", "The profile used when a command names none."),
    ("VOUCH_STORE", "The credential store, as --store: auto, secret-service, keyutils, keychain or windows."),
    ("VOUCH_CONFIG_DIR", "The directory holding config.toml, as --config-dir."),
    (
        "VOUCH_CLIENT_SECRET",
        "The client secret for login --client-credentials, or for --confidential user flows. Never passed to exec children.",
    ),
    ("VOUCH_NO_INPUT", "Set to 1 for --no-input: never wait for a person except in an explicit sign-in."),
    ("BROWSER", "Browser commands to open URLs with, separated by colons; %s stands for the URL."),
    ("NO_COLOR", "Honoured trivially: vouch prints no colours."),
    (
        "HTTPS_PROXY, ALL_PROXY, NO_PROXY",
        "The proxy for https requests to a provider (lowercase names first, as curl), and the hosts that bypass it. Loopback is never proxied.",
    ),
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "The D-Bus session bus; with --store auto, the Secret Service is used when a bus answers.",
    ),
    ("XDG_CONFIG_HOME, XDG_RUNTIME_DIR, XDG_CACHE_HOME, HOME", "Where the config and lock files live."),
];

const FILES: &[(&str, &str)] = &[
    (
        "$XDG_CONFIG_HOME/vouch/config.toml",
        "Profiles: issuer, client id, scopes, endpoint overrides, git hosts. No secrets. Mode 0600 in a 0700 directory; \
         a file other users can write is refused. macOS: ~/Library/Application Support/vouch; Windows: %APPDATA%\\vouch.",
    ),
    (
        "$XDG_RUNTIME_DIR/vouch/NAME.lock",
        "Per-profile lock files for single-flight refresh (else ~/.cache/vouch). They hold no secret.",
    ),
    (
        "Secret Service item service=vouch username=NAME",
        "Linux desktop: the credential, a versioned JSON record, kept until deleted.",
    ),
    ("keyutils user key keyring:NAME@vouch in @u", "Linux headless: the credential, kept until reboot."),
    ("Keychain generic password, service vouch, account NAME", "macOS: the credential."),
    ("Credential Manager generic credential NAME.vouch", "Windows: the credential (at most 2560 bytes)."),
];

/// Examples per page.
fn examples(sub: Option<&str>) -> Option<&'static [(&'static str, &'static str)]> {
    Some(match sub {
        None => &[
            (
                "Sign in with the device flow, then use the token",
                "vouch login work --issuer https://login.example.com --client-id my-cli\ncurl -H \"Authorization: Bearer $(vouch token work)\" https://api.example.com/",
            ),
            ("Let git use vouch for a host", "vouch setup-git --host github.com --profile gh"),
        ],
        Some("login") => &[
            (
                "Device authorization (the default when the provider offers it)",
                "vouch login work --issuer https://login.example.com --client-id my-cli",
            ),
            (
                "Browser with PKCE",
                "vouch login work --issuer https://login.example.com --client-id my-cli --browser",
            ),
            (
                "Client credentials in CI",
                "VOUCH_CLIENT_SECRET=... vouch login ci --issuer https://login.example.com --client-id svc --client-credentials",
            ),
            ("A token you already have", "printf %s \"$TOKEN\" | vouch login work --with-token"),
            (
                "GitHub with your own OAuth App",
                "vouch login gh --provider github --client-id Iv1.0123456789abcdef",
            ),
        ],
        Some("status") => &[("Check every profile, for a script", "vouch status --json")],
        Some("token") => &[("A token good for at least an hour", "vouch token work --min-ttl 3600")],
        Some("refresh") => &[("Renew now", "vouch refresh work")],
        Some("rotate") => &[
            ("Rotate a user's grant", "vouch rotate work"),
            (
                "Rotate a CI client's secret",
                "printf %s \"$NEW_SECRET\" | vouch rotate ci --client-secret-stdin",
            ),
        ],
        Some("logout") => &[("Revoke and forget every profile", "vouch logout --all")],
        Some("exec") => &[(
            "Run a command with the token in its environment",
            "vouch exec work -- sh -c 'curl -H \"Authorization: Bearer $VOUCH_TOKEN\" https://api.example.com/'",
        )],
        Some("git-credential") => &[(
            "Configure by hand",
            "git config --global credential.https://git.example.com.helper '!vouch git-credential'",
        )],
        Some("setup-git") => &[(
            "Serve a host, or one organisation on it",
            "vouch setup-git --host github.com --profile gh\nvouch setup-git --host github.com/my-org --profile work",
        )],
        Some("doctor") => &[
            ("Why does vouch not work here?", "vouch doctor"),
            ("Also ask every provider, for a support thread or a script", "vouch doctor --online --json"),
        ],
        Some("completions") => &[(
            "Install bash completion",
            "vouch completions bash > ~/.local/share/bash-completion/completions/vouch",
        )],
        Some(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roff_escapes_what_groff_would_misread() {
        assert_eq!(roff(".hidden\n'quote\na-b \\x"), "\\&.hidden\n\\&'quote\na\\-b \\ex");
    }

    #[test]
    fn every_subcommand_has_a_page_with_exit_status() {
        let pages = man_pages();
        for sub in Cli::command().get_subcommands() {
            let name = format!("vouch-{}.1", sub.get_name());
            let (_, page) = pages.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no {name}"));
            let text = String::from_utf8_lossy(page);
            assert!(text.contains(".SH \"EXIT STATUS\"") && text.contains(".SH ENVIRONMENT"), "{name}");
        }
    }
}
