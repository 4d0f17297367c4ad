//! Path tables: a backend declares its paths as anchored regular expressions once, and
//! routes each request to the first that matches, with its named captures.

use std::collections::BTreeMap;

use regex::Regex;

/// A routed path: which entry matched and its named captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch<'t, H> {
    /// The entry's handler tag.
    pub handler: &'t H,
    /// Named captures (`(?P<name>...)`).
    pub captures: BTreeMap<String, String>,
}

/// An ordered list of `(pattern, handler)`; patterns are anchored at both ends.
pub struct PathTable<H> {
    entries: Vec<(Regex, Vec<String>, H)>,
}

impl<H> Default for PathTable<H> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<H> PathTable<H> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a pattern (without `^`/`$`; they are added).
    pub fn add(mut self, pattern: &str, handler: H) -> Result<Self, regex::Error> {
        let re = Regex::new(&format!("^(?:{pattern})$"))?;
        let names = re.capture_names().flatten().map(str::to_owned).collect();
        self.entries.push((re, names, handler));
        Ok(self)
    }

    /// The first entry matching `path`.
    pub fn route(&self, path: &str) -> Option<PathMatch<'_, H>> {
        self.entries.iter().find_map(|(re, names, handler)| {
            let caps = re.captures(path)?;
            let captures = names
                .iter()
                .filter_map(|n| caps.name(n).map(|m| (n.clone(), m.as_str().to_owned())))
                .collect();
            Some(PathMatch { handler, captures })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn routes_in_order_with_captures() {
        let t = PathTable::new()
            .add("config", 0)
            .unwrap()
            .add("data/(?P<path>.+)", 1)
            .unwrap()
            .add("metadata/?(?P<path>.*)", 2)
            .unwrap();
        assert_eq!(*t.route("config").unwrap().handler, 0);
        assert!(t.route("configx").is_none());
        let m = t.route("data/a/b").unwrap();
        assert_eq!((*m.handler, m.captures["path"].as_str()), (1, "a/b"));
        let m = t.route("metadata/").unwrap();
        assert_eq!((*m.handler, m.captures["path"].as_str()), (2, ""));
    }
}
