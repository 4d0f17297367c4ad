//! Canonicalisation of request paths, done once before the ACL check and the
//! router so that both see the same bytes (security model §0 item 2,
//! CVE-2026-3605).
//!
//! The path is percent-decoded exactly once and then validated; nothing
//! downstream decodes it again. So `%2e%2e` is caught (it decodes to `..`),
//! while the double-encoded `%252e%252e` decodes to the literal segment name
//! `%2e%2e`, which is accepted: after a single decode it is an ordinary name,
//! not a traversal, and neither the ACL nor the router will ever turn it into
//! `..`. Likewise `%2F` decodes to `/` and so acts as a separator, exactly as
//! Go's `URL.Path` (which Vault routes on) treats it.

/// Why a request path was rejected. Messages never contain the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// Nothing after `/v1/`.
    #[error("invalid request path: empty path")]
    Empty,
    /// A `%` not followed by two hex digits.
    #[error("invalid request path: invalid percent-encoding")]
    InvalidEscape,
    /// The decoded path is not valid UTF-8.
    #[error("invalid request path: invalid UTF-8")]
    InvalidUtf8,
    /// NUL or another control character (C0, DEL or C1).
    #[error("invalid request path: control character")]
    ControlCharacter,
    /// A backslash, which some layers treat as a separator.
    #[error("invalid request path: backslash")]
    Backslash,
    /// A `.` or `..` segment.
    #[error("invalid request path: '.' or '..' segment")]
    DotSegment,
    /// A leading `/`, `//`, or more than one trailing `/`.
    #[error("invalid request path: empty segment")]
    EmptySegment,
}

/// Canonicalises a request path.
///
/// `raw` is the request path after `/v1/`, still percent-encoded as in the
/// URI. Percent-escapes are decoded once (`+` stays a literal plus), then the
/// result must be valid UTF-8 without control characters or backslashes, and
/// made of non-empty segments none of which is `.` or `..`. A single trailing
/// `/` is allowed (list paths). Returns the decoded path, which is what both
/// the ACL check and the router must use.
pub fn canonicalize(raw: &str) -> Result<String, PathError> {
    if raw.is_empty() {
        return Err(PathError::Empty);
    }
    let decoded = percent_decode(raw.as_bytes(), false).ok_or(PathError::InvalidEscape)?;
    let path = String::from_utf8(decoded).map_err(|_| PathError::InvalidUtf8)?;
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    for c in path.chars() {
        if c.is_control() {
            return Err(PathError::ControlCharacter);
        }
        if c == '\\' {
            return Err(PathError::Backslash);
        }
    }
    let body = path.strip_suffix('/').unwrap_or(&path);
    for segment in body.split('/') {
        match segment {
            "" => return Err(PathError::EmptySegment),
            "." | ".." => return Err(PathError::DotSegment),
            _ => {}
        }
    }
    Ok(path)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`, for form
/// and query encoding). Returns `None` on a `%` not followed by two hex
/// digits, as Go's URL parser does.
pub(crate) fn percent_decode(input: &[u8], plus_as_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hi = hex_value(*input.get(i + 1)?)?;
                let lo = hex_value(*input.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepted_paths() {
        let cases: &[(&str, &str)] = &[
            ("secret/foo", "secret/foo"),
            ("secret/metadata/", "secret/metadata/"),
            ("sys/mounts", "sys/mounts"),
            ("a", "a"),
            ("secret/my%20key", "secret/my key"),
            ("secret/a+b", "secret/a+b"),
            ("secret/caf%C3%A9", "secret/café"),
            ("secret/café", "secret/café"),
            ("secret/a%2Fb", "secret/a/b"),
            ("secret/...", "secret/..."),
            ("secret/.hidden", "secret/.hidden"),
            ("secret/..foo", "secret/..foo"),
            ("secret/foo..", "secret/foo.."),
            ("secret/%252e%252e", "secret/%2e%2e"),
            ("secret/%252e%252e/x", "secret/%2e%2e/x"),
            ("secret/a%3Fb", "secret/a?b"),
            ("secret/%25", "secret/%"),
        ];
        for (raw, want) in cases {
            assert_eq!(canonicalize(raw).as_deref(), Ok(*want), "raw {raw:?}");
        }
    }

    #[test]
    fn rejected_paths() {
        use PathError::*;
        let cases: &[(&str, PathError)] = &[
            ("", Empty),
            ("/", EmptySegment),
            ("/secret/foo", EmptySegment),
            ("secret//foo", EmptySegment),
            ("secret/foo//", EmptySegment),
            ("secret/%2F/foo", EmptySegment),
            ("..", DotSegment),
            (".", DotSegment),
            ("./", DotSegment),
            ("../", DotSegment),
            ("secret/..", DotSegment),
            ("secret/../sys/raw", DotSegment),
            ("secret/./foo", DotSegment),
            ("secret/%2e%2e/sys", DotSegment),
            ("secret/%2E%2e/sys", DotSegment),
            ("secret/.%2e/sys", DotSegment),
            ("secret/%2e./sys", DotSegment),
            ("secret/%2e", DotSegment),
            ("secret%2F..%2Fsys", DotSegment),
            ("secret/a\0b", ControlCharacter),
            ("secret/a%00b", ControlCharacter),
            ("secret/a%0Ab", ControlCharacter),
            ("secret/a%0Db", ControlCharacter),
            ("secret/a%7Fb", ControlCharacter),
            ("secret/a%C2%85b", ControlCharacter),
            ("secret/a\tb", ControlCharacter),
            ("secret\\..\\sys", Backslash),
            ("secret/a%5Cb", Backslash),
            ("secret/%ff", InvalidUtf8),
            ("secret/%C3", InvalidUtf8),
            ("secret/%ED%A0%80", InvalidUtf8),
            ("secret/%", InvalidEscape),
            ("secret/%2", InvalidEscape),
            ("secret/%zz", InvalidEscape),
            ("secret/%%2e%2e", InvalidEscape),
        ];
        for (raw, want) in cases {
            assert_eq!(canonicalize(raw), Err(*want), "raw {raw:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_the_path() {
        for raw in ["secret/%2e%2e/topsecret", "topsecret//x", "topsecret/%zz"] {
            let msg = canonicalize(raw).unwrap_err().to_string();
            assert!(msg.starts_with("invalid request path: "), "{msg}");
            assert!(!msg.contains("topsecret"), "{msg}");
        }
    }

    #[test]
    fn decode_plus_rule() {
        assert_eq!(percent_decode(b"a+b%2B", true).unwrap(), b"a b+");
        assert_eq!(percent_decode(b"a+b%2B", false).unwrap(), b"a+b+");
        assert_eq!(percent_decode(b"%4a%4A", false).unwrap(), b"JJ");
        assert!(percent_decode(b"%4", false).is_none());
        assert!(percent_decode(b"%g0", false).is_none());
    }

    /// Pieces that make traversal, encoding and separator edge cases likely.
    const FRAGMENTS: &[&str] = &[
        "a", "b", ".", "/", "%2e", "%2E", "%2f", "%2F", "%25", "%5c", "%00", "%0a", "%", "\\", "+",
        "é", "%C3", "%A9", "2", "e", "%252e", "\0", "~",
    ];

    /// Percent-encodes every `%` so that a canonical path survives another pass.
    fn reencode(path: &str) -> String {
        path.replace('%', "%25")
    }

    proptest! {
        #[test]
        fn never_panics_and_never_yields_dot_segments(
            parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..16)
        ) {
            let raw = parts.concat();
            if let Ok(path) = canonicalize(&raw) {
                let body = path.strip_suffix('/').unwrap_or(&path);
                for segment in body.split('/') {
                    prop_assert!(segment != "." && segment != ".." && !segment.is_empty());
                }
                prop_assert!(!path.starts_with('/'));
                prop_assert!(!path.contains('\\') && !path.contains('\0'));
                // Canonical output is a fixed point once re-encoded.
                prop_assert_eq!(canonicalize(&reencode(&path)), Ok(path.clone()));
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(raw in any::<String>()) {
            if let Ok(path) = canonicalize(&raw) {
                let body = path.strip_suffix('/').unwrap_or(&path);
                prop_assert!(body.split('/').all(|s| s != "." && s != ".." && !s.is_empty()));
            }
        }
    }
}
