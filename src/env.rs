//! The environment, as a snapshot: commands and the layers below them read variables from
//! here, never from `std::env`, so tests can hand in any environment they like.
//!
//! It sits at the bottom of the crate: it depends on nothing else in vouch. Its `Debug` shows
//! variable names only, because values can be secrets (`VOUCH_CLIENT_SECRET`).

use std::collections::HashMap;

/// A snapshot of environment variables.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The variable's value; unset and empty are the same.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.insert(key.to_string(), value.to_string());
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_names_never_values() {
        let env = Env::from_pairs([("VOUCH_CLIENT_SECRET", "canary-env-secret"), ("HOME", "/h")]);
        let shown = format!("{env:?}");
        assert!(shown.contains("VOUCH_CLIENT_SECRET") && shown.contains("HOME"), "{shown}");
        assert!(!shown.contains("canary-env-secret") && !shown.contains("/h\""), "{shown}");
    }
}
