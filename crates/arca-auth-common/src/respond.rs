//! Small pieces every auth method's backend answers with in the same way: list and
//! warnings-only responses, trimmed list fields, Vault's `go-glob` matching.

use arca_logical::{FieldData, LogicalResult, Response};

/// A list response (`data.keys`), or `None` for an empty list (answered with 404).
pub fn list_response(keys: Vec<String>) -> Option<Response> {
    if keys.is_empty() {
        return None;
    }
    let mut data = serde_json::Map::new();
    data.insert("keys".to_owned(), serde_json::Value::from(keys));
    Some(Response::with_data(data))
}

/// A response carrying only warnings, or `None` (204) when there are none.
pub fn warnings_only(warnings: Vec<String>) -> Option<Response> {
    (!warnings.is_empty()).then(|| Response {
        warnings,
        ..Response::default()
    })
}

/// A comma-separated or array field with each entry trimmed and empty entries dropped;
/// `None` when the field was not sent.
pub fn trimmed_list(f: &FieldData<'_>, name: &str) -> LogicalResult<Option<Vec<String>>> {
    Ok(f.comma_list(name)?.map(|v| {
        v.into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }))
}

/// Vault's `go-glob`: `*` matches any run of characters (including none and `/`); there
/// is no other wildcard and no escaping.
pub fn glob_match(pattern: &str, subject: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some((last, init)) = parts.split_last() else {
        return subject == pattern;
    };
    if init.is_empty() {
        return subject == pattern;
    }
    let mut rest = subject;
    for (i, part) in init.iter().enumerate() {
        match rest.find(part) {
            Some(idx) if i > 0 || idx == 0 => rest = &rest[idx + part.len()..],
            _ => return false,
        }
    }
    pattern.ends_with('*') || rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::{glob_match, warnings_only};

    #[test]
    fn glob_like_go_glob() {
        for (p, s, want) in [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("abc", "abc", true),
            ("abc", "abcd", false),
            ("web01", "web011", false),
            ("*.example.com", "web.example.com", true),
            ("*.example.com", "example.com", false),
            ("org/*", "org/repo", true),
            ("org/*", "other/org/repo", false),
            ("*/main", "refs/heads/main", true),
            ("*/main", "refs/heads/mainx", false),
            ("refs/*/main", "refs/heads/main", true),
            ("a*b*c", "a-b-c", true),
            ("a*b*c", "a-c-b", false),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            (
                "spiffe://prod/ns/*/sa/web",
                "spiffe://prod/ns/a/sa/web",
                true,
            ),
            (
                "spiffe://prod/ns/*/sa/web",
                "spiffe://prod/ns/a/sa/db",
                false,
            ),
            (
                "repo:o/*:ref:refs/heads/main",
                "repo:o/r:ref:refs/heads/main",
                true,
            ),
            (
                "repo:o/*:ref:refs/heads/main",
                "repo:o/r:ref:refs/heads/dev",
                false,
            ),
        ] {
            assert_eq!(glob_match(p, s), want, "{p:?} {s:?}");
        }
    }

    #[test]
    fn no_warnings_is_no_body() {
        assert!(warnings_only(Vec::new()).is_none());
        assert!(warnings_only(vec!["w".into()]).is_some());
    }
}
