//! The environment, as a snapshot: commands and the layers below them read variables from
//! here, never from `std::env`, so tests can hand in any environment they like.
//!
//! It sits at the bottom of the crate: it depends on nothing else in vouch. Its `Debug` shows
//! variable names only, because values can be secrets (`VOUCH_CLIENT_SECRET`).

/// A snapshot of environment variables, each name once. A list rather than a hash map: a
/// process reads a handful of variables once, and hashing all of them cost more than every
/// lookup together (≈ 40 k instructions of a `vouch token`).
#[derive(Clone, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    /// The process's environment (variables whose name or value is not UTF-8 are left out). A
    /// name the environment holds twice keeps its first value, as `getenv` reads it, so vouch and
    /// the programs it runs see the same one.
    pub fn from_process() -> Self {
        let mut vars: Vec<(String, String)> = Vec::new();
        for (k, v) in std::env::vars_os() {
            let (Ok(k), Ok(v)) = (k.into_string(), v.into_string()) else { continue };
            if !vars.iter().any(|(seen, _)| *seen == k) {
                vars.push((k, v));
            }
        }
        Env { vars }
    }

    /// An environment of these pairs; a later pair replaces an earlier one of the same name.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut env = Env::default();
        for (k, v) in pairs {
            env.set(&k.into(), &v.into());
        }
        env
    }

    /// The variable's value; unset and empty are the same.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn set(&mut self, key: &str, value: &str) {
        match self.vars.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None => self.vars.push((key.to_string(), value.to_string())),
        }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.vars.iter().map(|(k, _)| k.as_str()).collect();
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

    #[test]
    fn a_name_holds_one_value_the_last_one_set() {
        let mut env = Env::from_pairs([("A", "1"), ("B", "2"), ("A", "3")]);
        assert_eq!((env.get("A"), env.get("B"), env.iter().count()), (Some("3"), Some("2"), 2));
        env.set("B", "");
        assert_eq!((env.get("B"), env.get("C"), env.iter().count()), (None, None, 2));
    }
}
