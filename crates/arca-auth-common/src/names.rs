//! The one normalisation of user and role names.
//!
//! A name is normalised once, where it enters (a path segment, a login, a renewal, a
//! lockout key), and only the normalised form is ever stored, compared or used as a key.
//! Lockout bypasses through case or whitespace variants (CVE-2025-6004) come from doing
//! this in one place and not another.

/// Longest accepted name, in bytes (Vault's AppRole HMAC input limit).
pub const MAX_NAME_LEN: usize = 4096;

/// Trims surrounding whitespace, refuses anything but ASCII letters, digits, `_`, `-`,
/// `.` and `@` (first and last character a letter, digit or `_`, as Vault's
/// `GenericNameRegex`), and lower-cases. `None` for a name that is empty, too long or
/// uses another character.
///
/// Non-ASCII is refused before lower-casing, so no Unicode case mapping (the Kelvin sign
/// K lower-cases to `k`) can make two different inputs meet.
pub fn normalize_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return None;
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = name.as_bytes();
    if !bytes
        .iter()
        .all(|&b| word(b) || matches!(b, b'-' | b'.' | b'@'))
    {
        return None;
    }
    let (first, last) = (bytes.first()?, bytes.last()?);
    if !word(*first) || !word(*last) {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(normalize_name("Alice").unwrap(), "alice");
        assert_eq!(normalize_name("  ALICE\t").unwrap(), "alice");
        assert_eq!(normalize_name("a.b-c@d_e").unwrap(), "a.b-c@d_e");
        assert_eq!(normalize_name("x").unwrap(), "x");
        for bad in [
            "",
            "  ",
            "a/b",
            "a b",
            ".a",
            "a.",
            "-a",
            "\u{212A}",
            "ali\u{0130}",
            "a\0",
        ] {
            assert!(normalize_name(bad).is_none(), "{bad:?}");
        }
        assert!(normalize_name(&"a".repeat(MAX_NAME_LEN + 1)).is_none());
    }

    proptest::proptest! {
        #[test]
        fn idempotent_and_safe(input in ".{0,30}") {
            if let Some(n) = normalize_name(&input) {
                proptest::prop_assert_eq!(normalize_name(&n), Some(n.clone()));
                proptest::prop_assert!(!n.contains('/'));
                proptest::prop_assert_eq!(n.to_ascii_lowercase(), n);
            }
        }
    }
}
