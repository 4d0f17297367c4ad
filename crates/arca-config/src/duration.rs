//! Durations as Vault reads them from config files: Go `time.ParseDuration` strings, bare
//! integer seconds, or integer days with a `d` suffix (go-secure-stdlib `ParseDurationSecond`).
//!
//! Kept local so this crate does not depend on arca-types; the two must agree on Go syntax.

use std::time::Duration;

/// Why a duration string was rejected; the messages never repeat the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DurationError {
    Invalid,
    MissingUnit,
    UnknownUnit,
    Overflow,
    Negative,
}

impl DurationError {
    pub(crate) fn message(self) -> &'static str {
        match self {
            DurationError::Invalid => "invalid duration",
            DurationError::MissingUnit => "missing unit in duration (use ns, us, ms, s, m or h)",
            DurationError::UnknownUnit => "unknown unit in duration (use ns, us, ms, s, m or h)",
            DurationError::Overflow => "duration is too large",
            DurationError::Negative => "duration must not be negative",
        }
    }
}

/// Go's limit: a `time.Duration` is an i64 count of nanoseconds.
const MAX_NANOS: u128 = i64::MAX as u128;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        // Go accepts both the micro sign (U+00B5) and the Greek mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration string (`"1h30m"`, `"300ms"`, `"1.5h"`, `"0"`). A negative result is an
/// error because nothing in a server config may be negative.
pub(crate) fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let (negative, mut s) = match input.as_bytes().first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(DurationError::Invalid);
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        // Integer part.
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = s.split_at(int_len);
        s = rest;
        let mut whole: u128 = 0;
        for b in int_digits.bytes() {
            whole = whole * 10 + u128::from(b - b'0');
            if whole > MAX_NANOS {
                return Err(DurationError::Overflow);
            }
        }
        // Fraction part, accumulated as Go does: digits past i64 precision are skipped, and the
        // fraction is scaled in f64 so results match Go to the nanosecond.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let mut full = false;
            for b in rest[..frac_len].bytes() {
                if full || frac > (i64::MAX as u64) / 10 {
                    full = true;
                    continue;
                }
                frac = frac * 10 + u64::from(b - b'0');
                scale *= 10.0;
            }
            s = &rest[frac_len..];
            if int_len == 0 && frac_len == 0 {
                return Err(DurationError::Invalid);
            }
        } else if int_len == 0 {
            return Err(DurationError::Invalid);
        }
        // Unit.
        let unit_len = s
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        if unit_len == 0 {
            return Err(DurationError::MissingUnit);
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit = unit_nanos(unit).ok_or(DurationError::UnknownUnit)?;
        // Truncating float-to-int cast, as Go's uint64(float64) conversion.
        let frac_nanos = (frac as f64 * (unit as f64 / scale)) as u128;
        let part = whole
            .checked_mul(unit)
            .and_then(|v| v.checked_add(frac_nanos))
            .ok_or(DurationError::Overflow)?;
        total = total.checked_add(part).ok_or(DurationError::Overflow)?;
        if total > MAX_NANOS {
            return Err(DurationError::Overflow);
        }
    }
    if negative && total > 0 {
        return Err(DurationError::Negative);
    }
    let nanos = u64::try_from(total).map_err(|_| DurationError::Overflow)?;
    Ok(Duration::from_nanos(nanos))
}

/// Vault's config reading of a duration string: `""` is zero, an integer is seconds, an integer
/// with a `d` suffix is days, anything else is a Go duration.
pub(crate) fn parse_config_duration(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return seconds(secs, 1);
    }
    if let Some(days) = s.strip_suffix('d')
        && let Ok(days) = days.parse::<i64>()
    {
        return seconds(days, 86_400);
    }
    parse_go_duration(s)
}

/// `count * unit_secs` seconds, within Go's i64-nanosecond range.
pub(crate) fn seconds(count: i64, unit_secs: u64) -> Result<Duration, DurationError> {
    let count = u64::try_from(count).map_err(|_| DurationError::Negative)?;
    let secs = count
        .checked_mul(unit_secs)
        .ok_or(DurationError::Overflow)?;
    if u128::from(secs) * 1_000_000_000 > MAX_NANOS {
        return Err(DurationError::Overflow);
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn go_duration_table() {
        let ok: &[(&str, u64)] = &[
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("0s", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("+5s", 5_000_000_000),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.004s", 1_004_000_000),
            ("1.0040s", 1_004_000_000),
            ("100.00100s", 100_001_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12\u{b5}s", 12_000),
            ("12\u{3bc}s", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14_000_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("39h9m14.425s", 140_954_425_000_000),
            ("768h", 2_764_800_000_000_000),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 1_200_000_000_000),
            ("9223372036854775807ns", 9_223_372_036_854_775_807),
            ("9223372036s854ms775us807ns", 9_223_372_036_854_775_807),
            ("0.100000000000000000000h", 360_000_000_000),
        ];
        for (input, nanos) in ok {
            let got = parse_go_duration(input);
            assert_eq!(got, Ok(Duration::from_nanos(*nanos)), "{input}");
        }
        let bad: &[(&str, DurationError)] = &[
            ("", DurationError::Invalid),
            ("3", DurationError::MissingUnit),
            ("-", DurationError::Invalid),
            ("s", DurationError::Invalid),
            (".", DurationError::Invalid),
            ("-.", DurationError::Invalid),
            (".s", DurationError::Invalid),
            ("+.s", DurationError::Invalid),
            ("1d", DurationError::UnknownUnit),
            ("1h 30m", DurationError::UnknownUnit),
            ("1M", DurationError::UnknownUnit),
            ("-5s", DurationError::Negative),
            ("9223372036854775808ns", DurationError::Overflow),
            ("9223372036854775.808us", DurationError::Overflow),
            ("3000000h", DurationError::Overflow),
        ];
        for (input, err) in bad {
            assert_eq!(parse_go_duration(input), Err(*err), "{input}");
        }
    }

    #[test]
    fn config_duration_table() {
        let ok: &[(&str, u64)] = &[
            ("", 0),
            ("30", 30),
            (" 30 ", 30),
            ("0", 0),
            ("768h", 2_764_800),
            ("7d", 604_800),
            ("90s", 90),
            ("1h30m", 5_400),
        ];
        for (input, secs) in ok {
            assert_eq!(
                parse_config_duration(input),
                Ok(Duration::from_secs(*secs)),
                "{input}"
            );
        }
        assert_eq!(parse_config_duration("-30"), Err(DurationError::Negative));
        assert_eq!(parse_config_duration("-1d"), Err(DurationError::Negative));
        assert_eq!(parse_config_duration("1w"), Err(DurationError::UnknownUnit));
        assert_eq!(
            parse_config_duration("99999999999999d"),
            Err(DurationError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn formatted_parts_round_trip(h in 0u64..10_000, m in 0u64..60, s in 0u64..60, ms in 0u64..1000) {
            let text = format!("{h}h{m}m{s}s{ms}ms");
            let want = Duration::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms);
            prop_assert_eq!(parse_go_duration(&text), Ok(want));
        }

        #[test]
        fn never_panics(input in "\\PC{0,24}") {
            let _ = parse_go_duration(&input);
            let _ = parse_config_duration(&input);
        }

        #[test]
        fn integers_are_seconds(n in 0i64..1_000_000_000) {
            prop_assert_eq!(parse_config_duration(&n.to_string()), Ok(Duration::from_secs(n as u64)));
        }
    }
}
