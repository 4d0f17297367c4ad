//! Go-style durations, as Vault accepts and prints them.
//!
//! Vault fields of type "duration second" accept, in this order of preference:
//! a bare integer (JSON number or numeric string) meaning seconds, an integer
//! followed by `d` meaning days, or Go's `time.ParseDuration` syntax
//! (`"1h0m0s"`, `"1.5h"`, `"300ms"`). Vault prints durations with Go's
//! `time.Duration.String()` (`"1h0m0s"`, `"1m30s"`, `"0s"`), which the CLI
//! also sends back to us.
//!
//! We accept `d` as an ordinary unit anywhere in the Go grammar (`"1d12h"`,
//! `"1.5d"`), a strict superset of what Vault accepts. Every accepted value
//! must fit Go's `time.Duration` (at most `i64::MAX` nanoseconds, about 292
//! years) so that what we print is always something Go clients can parse back;
//! Vault silently wraps such values around, we reject them.

use std::time::Duration;

use serde_json::Value;

/// Why a duration could not be parsed. Messages never contain the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The input string was empty.
    #[error("invalid duration: empty string")]
    Empty,
    /// The input does not follow the duration grammar.
    #[error("invalid duration")]
    Invalid,
    /// A number had no unit after it (only `"0"` may omit the unit).
    #[error("invalid duration: missing unit")]
    MissingUnit,
    /// A unit other than `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`, `d`.
    #[error("invalid duration: unknown unit")]
    UnknownUnit,
    /// The duration was below zero.
    #[error("invalid duration: negative durations are not allowed")]
    Negative,
    /// The duration does not fit in 2^63-1 nanoseconds.
    #[error("invalid duration: out of range")]
    Overflow,
    /// A JSON value that is neither a number nor a string, or a number with a
    /// fractional part.
    #[error("invalid duration: expected whole seconds or a duration string such as \"1h30m\"")]
    WrongType,
}

/// Largest accepted duration in nanoseconds: Go's `time.Duration` maximum.
const MAX_NANOS: u64 = i64::MAX as u64;
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Parses a duration string.
///
/// Accepts Go's `time.ParseDuration` syntax (`"1h0m0s"`, `"90s"`, `"1.5h"`,
/// `"300ms"`, `"768h"`, `"0s"`, `"0"`, an optional leading `+`) plus Vault's
/// extras: a bare integer means seconds (`"3600"`) and the unit `d` is 24 hours
/// (`"1d"`). No whitespace is allowed anywhere. Negative values (other than a
/// negative zero) and values over `i64::MAX` nanoseconds are errors, as is the
/// empty string.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let (negative, unsigned) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if unsigned.is_empty() {
        return Err(DurationError::Invalid);
    }
    let nanos = if unsigned.bytes().all(|b| b.is_ascii_digit()) {
        // Vault: a bare integer is a number of seconds.
        parse_int_seconds(unsigned)?
    } else {
        parse_go_duration(unsigned)?
    };
    if negative && nanos != 0 {
        return Err(DurationError::Negative);
    }
    Ok(Duration::from_nanos(nanos))
}

/// Parses a JSON field value as a duration, like Vault's `ParseDurationSecond`.
///
/// A JSON number is whole seconds (`3600`; an integral float such as `3600.0` is
/// accepted, a fractional one is not, as in Vault). A string is parsed by
/// [`parse_duration`], except that the empty string means zero, as in Vault.
/// Any other JSON type (including `null`, which callers should treat as "not
/// set" before getting here) is [`DurationError::WrongType`].
pub fn parse_duration_value(v: &Value) -> Result<Duration, DurationError> {
    match v {
        Value::String(s) if s.is_empty() => Ok(Duration::ZERO),
        Value::String(s) => parse_duration(s),
        Value::Number(n) => {
            if let Some(secs) = n.as_u64() {
                seconds(secs)
            } else if n.as_i64().is_some() {
                // as_u64 failed, so this is a negative integer.
                Err(DurationError::Negative)
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => {
                        if f < 0.0 {
                            Err(DurationError::Negative)
                        } else if f > (MAX_NANOS / NANOS_PER_SEC) as f64 {
                            Err(DurationError::Overflow)
                        } else {
                            // Integral and in range, so the cast is exact.
                            seconds(f as u64)
                        }
                    }
                    _ => Err(DurationError::WrongType),
                }
            }
        }
        _ => Err(DurationError::WrongType),
    }
}

/// Formats a duration like Go's `time.Duration.String()`: `"1h0m0s"`,
/// `"1m30s"`, `"45s"`, `"1.5s"`, `"300ms"`, `"1.5µs"`, `"7ns"`, `"0s"`.
///
/// Durations over Go's maximum (about 292 years) are printed the same way,
/// with a larger hour count; [`parse_duration`] rejects those.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        // Go prints the micro sign U+00B5.
        return format!("{}µs", with_fraction(nanos, 3));
    }
    if nanos < u128::from(NANOS_PER_SEC) {
        return format!("{}ms", with_fraction(nanos, 6));
    }
    let total_secs = d.as_secs();
    let hours = total_secs / 3600;
    let minutes = (total_secs / 60) % 60;
    let secs = total_secs % 60;
    let secs_part = with_fraction(
        u128::from(secs) * u128::from(NANOS_PER_SEC) + u128::from(d.subsec_nanos()),
        9,
    );
    if hours > 0 {
        format!("{hours}h{minutes}m{secs_part}s")
    } else if minutes > 0 {
        format!("{minutes}m{secs_part}s")
    } else {
        format!("{secs_part}s")
    }
}

/// `value / 10^digits` in decimal, trailing zeros of the fraction removed.
fn with_fraction(value: u128, digits: u32) -> String {
    let scale = 10u128.pow(digits);
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

fn seconds(secs: u64) -> Result<Duration, DurationError> {
    if secs > MAX_NANOS / NANOS_PER_SEC {
        return Err(DurationError::Overflow);
    }
    Ok(Duration::from_secs(secs))
}

/// `digits` is a non-empty string of ASCII digits meaning seconds.
fn parse_int_seconds(digits: &str) -> Result<u64, DurationError> {
    let secs: u64 = digits.parse().map_err(|_| DurationError::Overflow)?;
    if secs == 0 {
        return Ok(0);
    }
    if secs > MAX_NANOS / NANOS_PER_SEC {
        return Err(DurationError::Overflow);
    }
    Ok(secs * NANOS_PER_SEC)
}

/// Nanoseconds per unit, for the units Go knows plus Vault's `d`.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // Go accepts both the micro sign (U+00B5) and Greek mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// Go's grammar after the sign: `([0-9]*(\.[0-9]*)?[unit])+`, or `"0"`.
/// Returns nanoseconds, at most `MAX_NANOS`.
fn parse_go_duration(s: &str) -> Result<u64, DurationError> {
    if s == "0" {
        return Ok(0);
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut total: u64 = 0;
    while pos < bytes.len() {
        // Integer part. Overflow here means the total would overflow too.
        let int_start = pos;
        let mut whole: u64 = 0;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            whole = whole
                .checked_mul(10)
                .and_then(|w| w.checked_add(u64::from(bytes[pos] - b'0')))
                .ok_or(DurationError::Overflow)?;
            pos += 1;
        }
        let has_int = pos > int_start;

        // Fraction part: keep as many digits as fit, ignore the rest (Go does
        // the same; they are below nanosecond precision for every unit).
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut has_frac = false;
        if pos < bytes.len() && bytes[pos] == b'.' {
            pos += 1;
            let mut saturated = false;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                has_frac = true;
                if !saturated {
                    match frac
                        .checked_mul(10)
                        .and_then(|f| f.checked_add(u64::from(bytes[pos] - b'0')))
                    {
                        Some(f) if f <= MAX_NANOS => {
                            frac = f;
                            scale *= 10.0;
                        }
                        _ => saturated = true,
                    }
                }
                pos += 1;
            }
        }
        if !has_int && !has_frac {
            return Err(DurationError::Invalid);
        }

        // Unit: everything up to the next digit or '.'.
        let unit_start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_digit() && bytes[pos] != b'.' {
            pos += 1;
        }
        if pos == unit_start {
            return Err(DurationError::MissingUnit);
        }
        // Only ASCII bytes end the unit, so the slice is on char boundaries.
        let unit = s
            .get(unit_start..pos)
            .and_then(unit_nanos)
            .ok_or(DurationError::UnknownUnit)?;

        let mut value = whole.checked_mul(unit).ok_or(DurationError::Overflow)?;
        if frac > 0 {
            // As in Go: f64 is exact enough here because frac * unit / scale is
            // below one unit, and units are at most 8.64e13 ns.
            let extra = (frac as f64 * (unit as f64 / scale)) as u64;
            value = value.checked_add(extra).ok_or(DurationError::Overflow)?;
        }
        total = total.checked_add(value).ok_or(DurationError::Overflow)?;
        if total > MAX_NANOS {
            return Err(DurationError::Overflow);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn vault_duration_strings() {
        let cases: &[(&str, Duration)] = &[
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("+0s", Duration::ZERO),
            ("3600", secs(3600)),
            ("90", secs(90)),
            ("1", secs(1)),
            ("007", secs(7)),
            ("+5", secs(5)),
            ("1h", secs(3600)),
            ("1h0m0s", secs(3600)),
            ("90s", secs(90)),
            ("1m30s", secs(90)),
            ("768h", secs(768 * 3600)),
            ("1d", secs(86_400)),
            ("30d", secs(30 * 86_400)),
            ("1d12h", secs(36 * 3600)),
            ("1.5h", secs(5400)),
            ("1.5d", secs(36 * 3600)),
            (".5s", Duration::from_millis(500)),
            ("1.s", secs(1)),
            ("300ms", Duration::from_millis(300)),
            ("1.5s", Duration::from_millis(1500)),
            ("2h45m", secs(2 * 3600 + 45 * 60)),
            ("1h1h", secs(7200)),
            ("10us", Duration::from_micros(10)),
            ("10µs", Duration::from_micros(10)),
            ("10\u{3bc}s", Duration::from_micros(10)),
            ("7ns", Duration::from_nanos(7)),
            ("1.0000000001s", secs(1)),
            ("9223372036", secs(9_223_372_036)),
            (
                "2562047h47m16.854775807s",
                Duration::from_nanos(i64::MAX as u64),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn bad_duration_strings() {
        use DurationError::*;
        let cases: &[(&str, DurationError)] = &[
            ("", Empty),
            ("-", Invalid),
            ("+", Invalid),
            (".", Invalid),
            (".s", Invalid),
            ("s", Invalid),
            ("1.5", MissingUnit),
            ("1h5", MissingUnit),
            ("1x", UnknownUnit),
            ("1 h", UnknownUnit),
            ("1h ", UnknownUnit),
            (" 1h", Invalid),
            ("1H", UnknownUnit),
            ("1sec", UnknownUnit),
            ("-1", Negative),
            ("-1s", Negative),
            ("-1d", Negative),
            ("-0.5s", Negative),
            ("9223372037", Overflow),
            ("99999999999999999999999", Overflow),
            ("2562048h", Overflow),
            ("2562047h47m16.854775808s", Overflow),
            ("106752d", Overflow),
            ("99999999999999999999h", Overflow),
            ("abc", Invalid),
            ("1h\0", UnknownUnit),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input), Err(*want), "input {input:?}");
        }
    }

    #[test]
    fn duration_values() {
        assert_eq!(parse_duration_value(&json!(3600)), Ok(secs(3600)));
        assert_eq!(parse_duration_value(&json!(0)), Ok(Duration::ZERO));
        assert_eq!(parse_duration_value(&json!(3600.0)), Ok(secs(3600)));
        assert_eq!(parse_duration_value(&json!("3600")), Ok(secs(3600)));
        assert_eq!(parse_duration_value(&json!("1h0m0s")), Ok(secs(3600)));
        assert_eq!(parse_duration_value(&json!("")), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration_value(&json!(-1)),
            Err(DurationError::Negative)
        );
        assert_eq!(
            parse_duration_value(&json!(-1.0)),
            Err(DurationError::Negative)
        );
        assert_eq!(
            parse_duration_value(&json!(1.5)),
            Err(DurationError::WrongType)
        );
        assert_eq!(
            parse_duration_value(&json!(u64::MAX)),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration_value(&json!(1e300)),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration_value(&json!(true)),
            Err(DurationError::WrongType)
        );
        assert_eq!(
            parse_duration_value(&json!(null)),
            Err(DurationError::WrongType)
        );
        assert_eq!(
            parse_duration_value(&json!(["1h"])),
            Err(DurationError::WrongType)
        );
        assert_eq!(
            parse_duration_value(&json!({})),
            Err(DurationError::WrongType)
        );
    }

    #[test]
    fn go_string_format() {
        let cases: &[(Duration, &str)] = &[
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(1), "1ns"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_micros(1), "1µs"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_micros(1_500), "1.5ms"),
            (Duration::from_nanos(999_999_999), "999.999999ms"),
            (secs(1), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (secs(45), "45s"),
            (secs(60), "1m0s"),
            (secs(90), "1m30s"),
            (secs(3600), "1h0m0s"),
            (secs(3661), "1h1m1s"),
            (secs(768 * 3600), "768h0m0s"),
            (Duration::new(3600, 1), "1h0m0.000000001s"),
            (
                Duration::from_nanos(i64::MAX as u64),
                "2562047h47m16.854775807s",
            ),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(*d), *want, "duration {d:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_input() {
        let err = parse_duration("secret-value").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(nanos in 0..=i64::MAX as u64) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn whole_seconds_round_trip(s in 0..=9_223_372_036u64) {
            let d = Duration::from_secs(s);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
            prop_assert_eq!(parse_duration(&s.to_string()), Ok(d));
            prop_assert_eq!(parse_duration_value(&json!(s)), Ok(d));
        }

        #[test]
        fn parse_never_panics(s in "[-+0-9.a-zµμ ]{0,24}") {
            let _ = parse_duration(&s);
        }

        #[test]
        fn parse_arbitrary_never_panics(s in any::<String>()) {
            let _ = parse_duration(&s);
        }
    }
}
