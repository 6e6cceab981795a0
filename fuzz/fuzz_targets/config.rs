//! `config.toml` (`vouch::config::Config::parse`).
//!
//! Properties (a panic is a finding): an accepted file has only valid profile names, and
//! survives the way `Config::save` writes it: `toml::to_string_pretty` succeeds and its
//! output parses back to the same profiles (otherwise a `vouch login` that rewrites the file
//! would leave one vouch cannot read). Resolving a profile never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch::config::{self, Config};
use vouch::context::Env;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = Config::parse(text) else { return };
    for (name, profile) in &config.profiles {
        assert!(config::validate_name(name).is_ok(), "accepted profile name {name:?}");
        for host in &profile.hosts {
            let _ = vouch::git::HostPattern::parse(host);
        }
    }
    let saved = toml::to_string_pretty(&config).expect("a parsed config serializes as Config::save does");
    let back = Config::parse(&saved)
        .unwrap_or_else(|e| panic!("a saved config does not load again: {e}\n--- saved:\n{saved}"));
    assert_eq!(back.profiles, config.profiles, "a saved config loads with different profiles");

    let _ = config.resolve(None, &Env::default());
    if let Some(name) = config.profiles.keys().next() {
        assert!(config.resolve(Some(name), &Env::default()).is_ok());
    }
    let _ = config.resolve(Some("missing"), &Env::default()).map_err(|e| e.to_string());
});
