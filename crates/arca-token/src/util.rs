//! Pure helpers: policy sets, globs, CIDR blocks, TTL arithmetic, time rendering and name
//! checks. Nothing here touches storage or the clock.

use std::net::IpAddr;

use arca_auth_common::cidr;

use crate::TokenError;

/// Policies no token may carry (they are attached internally, to wrapping tokens).
pub(crate) const NON_ASSIGNABLE_POLICIES: &[&str] = &["response-wrapping"];

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Vault's policy-name normalisation (surrounding whitespace removed, lower case), the
/// ACL crate's rule, so the ACL and the token store never disagree on a name. Names the ACL
/// refuses are refused earlier by [`check_policy_names`]; here they fall back to the plain
/// normalisation so an empty name can be dropped.
pub(crate) fn normalize_policy_name(name: &str) -> String {
    arca_acl::normalize_policy_name(name).unwrap_or_else(|_| name.trim().to_lowercase())
}

/// Refuses policy names the ACL crate refuses (`.`, `..`, a `/` or a control character).
/// Empty names are not refused: they are dropped, as Vault does.
pub(crate) fn check_policy_names(names: &[String]) -> Result<(), TokenError> {
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        arca_acl::normalize_policy_name(name)
            .map_err(|_| TokenError::Invalid("invalid policy name".to_owned()))?;
    }
    Ok(())
}

/// Vault's `SanitizePolicies`: names normalised, empty names dropped, `root` swallows every
/// other policy, `default` added when asked (never next to `root`), sorted and deduplicated.
pub fn sanitize_policies(policies: &[String], add_default: bool) -> Vec<String> {
    let mut out: Vec<String> = policies
        .iter()
        .map(|p| normalize_policy_name(p))
        .filter(|p| !p.is_empty())
        .collect();
    if out.iter().any(|p| p == "root") {
        return vec!["root".to_owned()];
    }
    if add_default && !out.iter().any(|p| p == "default") {
        out.push("default".to_owned());
    }
    out.sort();
    out.dedup();
    out
}

/// Vault's `RemoveDuplicates(items, lowercase=true)`: trimmed, lower-cased, empty items
/// dropped, sorted, deduplicated.
pub(crate) fn dedup_lower(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = items
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Glob match where `*` stands for any run of characters (go-glob semantics).
pub(crate) fn glob_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether any glob in `patterns` matches `value`.
pub(crate) fn contains_glob(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, value))
}

/// Validates CIDR blocks and returns them in canonical form (the rules every auth method
/// shares, in `arca_auth_common::cidr`).
pub(crate) fn normalize_cidrs(list: &[String], field: &str) -> Result<Vec<String>, TokenError> {
    cidr::canonical(list)
        .ok_or_else(|| TokenError::Invalid(format!("invalid CIDR block in \"{field}\"")))
}

/// Whether a client at `remote` may use a token bound to `cidrs` (an empty list binds
/// nothing; an unknown client address never matches a non-empty list).
pub(crate) fn cidrs_allow(cidrs: &[String], remote: Option<IpAddr>) -> bool {
    cidr::remote_allowed(cidrs, remote)
}

/// The inputs of Vault's `CalculateTTL`, in whole seconds (0 = unset).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TtlInputs {
    /// Requested increment (renewals).
    pub increment: u64,
    /// The TTL the backend or the token asks for.
    pub backend_ttl: u64,
    /// Periodic tokens: the TTL every renewal resets to.
    pub period: u64,
    /// A backend- or role-level maximum.
    pub backend_max: u64,
    /// The token's hard cap from its issue time.
    pub explicit_max: u64,
    /// Issue time (unix seconds); `None` means now.
    pub start: Option<i64>,
}

/// Vault's `CalculateTTL`: the TTL to grant now, with Vault's capping warnings.
///
/// The effective maximum is the mount maximum narrowed by the backend maximum and the
/// explicit maximum. A periodic token gets its period (capped by that maximum) and is only
/// bounded over time by its explicit maximum; any other token gets the increment, else its
/// own TTL, else the mount default, capped so that `start + max` is not passed.
pub(crate) fn calculate_ttl(
    now_secs: i64,
    mount_default: u64,
    mount_max: u64,
    i: TtlInputs,
) -> Result<(u64, Vec<String>), TokenError> {
    let start = i.start.unwrap_or(now_secs);
    let mut max = mount_max;
    if i.backend_max > 0 && i.backend_max < max {
        max = i.backend_max;
    }
    if i.explicit_max > 0 && i.explicit_max < max {
        max = i.explicit_max;
    }
    if max == 0 {
        return Err(TokenError::Invalid(
            "max TTL must be greater than zero".to_owned(),
        ));
    }
    let mut warnings = Vec::new();
    let (mut ttl, max_valid) = if i.period > 0 {
        let mut period = i.period;
        if period > max {
            warnings.push(format!(
                "period of \"{}\" exceeded the effective max_ttl of \"{}\"; period value is capped accordingly",
                human_duration(period),
                human_duration(max)
            ));
            period = max;
        }
        let limit = (i.explicit_max > 0).then(|| start.saturating_add(secs_i64(i.explicit_max)));
        (period, limit)
    } else {
        let ttl = if i.increment > 0 {
            i.increment
        } else if i.backend_ttl > 0 {
            i.backend_ttl
        } else {
            mount_default
        };
        (ttl, Some(start.saturating_add(secs_i64(max))))
    };
    if let Some(limit) = max_valid {
        let remaining = limit.saturating_sub(now_secs);
        if remaining <= 0 {
            return Err(TokenError::Invalid(
                "past the max TTL, cannot renew".to_owned(),
            ));
        }
        let remaining = u64::try_from(remaining).unwrap_or(0);
        if ttl > remaining {
            warnings.push(format!(
                "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped accordingly",
                human_duration(ttl),
                human_duration(remaining)
            ));
            ttl = remaining;
        }
    }
    Ok((ttl, warnings))
}

fn secs_i64(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Seconds as `i64` nanoseconds, saturating.
pub(crate) fn secs_to_nanos(secs: u64) -> i64 {
    secs_i64(secs).saturating_mul(NANOS_PER_SEC)
}

/// A duration as Vault prints it in warnings: Go's form without zero minutes or seconds
/// (`2h`, `1h30m`, `45s`).
pub(crate) fn human_duration(secs: u64) -> String {
    let mut s = arca_types::duration::format_duration(std::time::Duration::from_secs(secs));
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(idx) = s.find("h0m") {
        s.replace_range(idx + 1..idx + 3, "");
    }
    s
}

/// RFC 3339 (UTC, nanoseconds as needed) of a unix time in nanoseconds, as Go renders a
/// `time.Time` in JSON.
pub(crate) fn rfc3339(nanos: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// Whole seconds of a nanosecond timestamp.
pub(crate) fn nanos_to_secs(nanos: i64) -> i64 {
    nanos.div_euclid(NANOS_PER_SEC)
}

/// Vault's `GenericNameRegex`: word characters, with `-` and `.` allowed inside.
pub(crate) fn is_generic_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = name.chars().collect();
    match chars.as_slice() {
        [] => false,
        [one] => word(*one),
        [first, middle @ .., last] => {
            word(*first) && word(*last) && middle.iter().all(|c| word(*c) || *c == '-' || *c == '.')
        }
    }
}

/// A role's `path_suffix`: must contain a run matching `\w[\w-.]+\w` (as Vault checks),
/// may use `/` to separate segments, and may not climb with `..`.
pub(crate) fn is_valid_path_suffix(suffix: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.';
    if suffix.contains("..") || !suffix.chars().all(|c| inner(c) || c == '/') {
        return false;
    }
    suffix.split('/').any(|seg| {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        // A run of at least three characters that starts and ends with a word character.
        let chars: Vec<char> = seg.chars().collect();
        let first = chars.iter().position(|c| word(*c));
        let last = chars.iter().rposition(|c| word(*c));
        matches!((first, last), (Some(f), Some(l)) if l >= f + 2)
    })
}

/// Vault's display-name rule for `auth/token/create`: `token-<name>` with every character
/// outside `[A-Za-z0-9-]` replaced by `-`, one trailing `-` removed.
pub(crate) fn token_display_name(name: &str) -> String {
    let full: String = format!("token-{name}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    full.strip_suffix('-').map(str::to_owned).unwrap_or(full)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use arca_auth_common::cidr::Cidr;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn policies_are_sanitised_like_vault() {
        assert_eq!(
            sanitize_policies(&s(&[" App", "app", ""]), true),
            s(&["app", "default"])
        );
        assert_eq!(
            sanitize_policies(&s(&["a", "ROOT", "b"]), true),
            s(&["root"])
        );
        assert_eq!(sanitize_policies(&[], false), Vec::<String>::new());
        assert_eq!(sanitize_policies(&[], true), s(&["default"]));
    }

    #[test]
    fn globs() {
        assert!(glob_match("dev-*", "dev-app"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b", "ab-c"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.2.3.4".parse().unwrap()));
        assert!(c.contains("::ffff:10.2.3.4".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert_eq!(
            Cidr::parse("127.0.0.1/32").unwrap().to_string(),
            "127.0.0.1"
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(!cidrs_allow(&s(&["10.0.0.0/8"]), None));
        assert!(cidrs_allow(&[], None));
    }

    #[test]
    fn ttl_rules() {
        let day = 86_400;
        // Default TTL, capped by the mount max.
        let (ttl, w) = calculate_ttl(1000, 32 * day, 768 * 3600, TtlInputs::default()).unwrap();
        assert_eq!((ttl, w.len()), (768 * 3600, 0));
        let (ttl, w) = calculate_ttl(1000, 32 * day, 3600, TtlInputs::default()).unwrap();
        assert_eq!((ttl, w.len()), (3600, 1));
        // Explicit max caps the TTL with Vault's warning text.
        let i = TtlInputs {
            backend_ttl: 7200,
            explicit_max: 5400,
            ..TtlInputs::default()
        };
        let (ttl, w) = calculate_ttl(1000, day, 768 * 3600, i).unwrap();
        assert_eq!(ttl, 5400);
        assert_eq!(
            w,
            vec![
                "TTL of \"2h\" exceeded the effective max_ttl of \"1h30m\"; TTL value is capped accordingly"
            ]
        );
        // Periodic: the period, bounded only by explicit max from the start.
        let i = TtlInputs {
            period: 600,
            start: Some(0),
            ..TtlInputs::default()
        };
        assert_eq!(calculate_ttl(10_000_000, day, 3600, i).unwrap().0, 600);
        let i = TtlInputs {
            period: 600,
            explicit_max: 700,
            start: Some(0),
            ..TtlInputs::default()
        };
        assert_eq!(calculate_ttl(300, day, 3600, i).unwrap().0, 400);
        assert!(calculate_ttl(700, day, 3600, i).is_err());
    }

    #[test]
    fn names() {
        assert!(is_generic_name("a"));
        assert!(is_generic_name("my-role.v1"));
        assert!(!is_generic_name("-x"));
        assert!(!is_generic_name("a/b"));
        assert!(is_valid_path_suffix("v1.0"));
        assert!(is_valid_path_suffix("abc/def"));
        assert!(!is_valid_path_suffix("v1"));
        assert!(!is_valid_path_suffix("a/../b"));
        assert_eq!(token_display_name("my app!"), "token-my-app");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(5400), "1h30m");
        assert_eq!(human_duration(3601), "1h1s");
    }
}
