//! Project chores: `cargo xtask docs` regenerates `completions/` and `man/` from the CLI
//! definition. The suite fails when the committed files drift from what this writes.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "docs" => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            for (path, bytes) in vouch::docs::files() {
                let target = root.join(&path);
                if let Some(dir) = target.parent()
                    && let Err(e) = std::fs::create_dir_all(dir)
                {
                    eprintln!("xtask: cannot create {}: {e}", dir.display());
                    return ExitCode::FAILURE;
                }
                if let Err(e) = std::fs::write(&target, bytes) {
                    eprintln!("xtask: cannot write {}: {e}", target.display());
                    return ExitCode::FAILURE;
                }
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: cargo xtask docs");
            ExitCode::from(2)
        }
    }
}
