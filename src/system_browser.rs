//! Opening a URL (or a local page) in the user's browser: `$BROWSER` first (a `:`-separated
//! list of commands, `%s` standing for the URL), else the platform's opener. Opening is a
//! convenience: every flow also prints the URL, so it works over ssh and in CI.
//!
//! The browser is a child of vouch but must not inherit its secrets: the environment passes
//! on without `VOUCH_CLIENT_SECRET` ([`WITHHELD`]). Whatever is passed in argv is readable by
//! every local user (`ps`), so callers pass nothing secret: the browser flow passes the path
//! of a private page rather than a URL carrying its `state`.

use std::process::{Command, Stdio};

/// Try to open `url`. `browser` is `$BROWSER`; `graphical` says whether a display exists
/// (on Linux, `DISPLAY` or `WAYLAND_DISPLAY`). Returns whether a browser was started.
pub fn open(url: &str, browser: Option<&str>, graphical: bool) -> bool {
    if let Some(list) = browser {
        return list.split(':').filter(|c| !c.trim().is_empty()).any(|command| spawn_browser(command, url));
    }
    if cfg!(target_os = "macos") {
        spawn(Command::new("open").arg(url))
    } else if cfg!(target_os = "windows") {
        spawn(Command::new("rundll32").arg("url.dll,FileProtocolHandler").arg(url))
    } else {
        graphical && spawn(Command::new("xdg-open").arg(url))
    }
}

/// One `$BROWSER` entry: words split on whitespace, `%s` replaced by the URL, or the URL
/// appended when there is no `%s`.
fn spawn_browser(command: &str, url: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let Some((program, rest)) = words.split_first() else { return false };
    let mut args: Vec<String> = rest.iter().map(|w| w.replace("%s", url)).collect();
    if !command.contains("%s") {
        args.push(url.to_string());
    }
    spawn(Command::new(program).args(args))
}

/// Variables a browser never receives.
pub const WITHHELD: &[&str] = &["VOUCH_CLIENT_SECRET"];

fn spawn(command: &mut Command) -> bool {
    for var in WITHHELD {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().is_ok()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn browser_variable_is_honoured_with_and_without_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("seen");
        let script = dir.path().join("browser.sh");
        std::fs::write(&script, format!("#!/bin/sh\necho \"$1\" >> {}\n", out.display())).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = script.display().to_string();
        assert!(!open("https://x.example/a", Some("/nonexistent/browser"), false));
        assert!(open("https://x.example/a", Some(&format!("/nonexistent/b:{script}")), false));
        for _ in 0..100 {
            if std::fs::read_to_string(&out).is_ok_and(|s| s.contains("https://x.example/a")) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the browser command was not run with the URL");
    }
}
