//! The statement templates of the database plugins: `{{name}}`, `{{username}}`,
//! `{{password}}`, `{{expiration}}` replaced verbatim, as Vault's plugins do. Username
//! templates are `arca-username-template`'s.

/// Replaces `{{key}}` with each value, verbatim (the plugins' statement templating).
pub fn substitute(stmt: &str, values: &[(&str, &str)]) -> String {
    let mut s = stmt.to_owned();
    for (k, v) in values {
        s = s.replace(&format!("{{{{{k}}}}}"), v);
    }
    s
}

/// Splits a statement list entry on `;` into trimmed non-empty queries. A JSON array of
/// strings is accepted too, as Vault's `ParseArbitraryStringSlice` does.
pub fn split_statements(stmt: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(stmt) {
        return list
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
    }
    stmt.split(';')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn statements() {
        assert_eq!(
            substitute(
                "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'",
                &[("name", "u"), ("password", "p")]
            ),
            "CREATE ROLE \"u\" PASSWORD 'p'"
        );
        assert_eq!(split_statements("a; b ;;c"), vec!["a", "b", "c"]);
        assert_eq!(split_statements("[\"x;y\"]"), vec!["x;y"]);
    }
}
