//! Go-compatible parsing of durations and absolute times, as Vault's `parseutil` does them, so
//! that `min_wrapping_ttl = "1h30m"` or `expiration = "2030-01-02T15:04:05Z"` mean the same here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `ParseDurationSecond` for a string: empty is zero, a bare integer is seconds, `<n>d` is days,
/// anything else is a Go duration (`1h30m`, `1.5s`, `300ms`). Negative durations are rejected
/// (Go accepts them and then ignores them; refusing is clearer).
pub(crate) fn parse_duration_str(s: &str) -> Option<Duration> {
    if s.is_empty() {
        return Some(Duration::ZERO);
    }
    if let Some(secs) = parse_go_int(s) {
        return u64::try_from(secs).ok().map(Duration::from_secs);
    }
    if let Some(days) = s.strip_suffix('d') {
        let days = u64::try_from(parse_go_int(days)?).ok()?;
        return days.checked_mul(86_400).map(Duration::from_secs);
    }
    parse_go_duration(s)
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Go's `time.ParseDuration`, limited to non-negative results.
fn parse_go_duration(s: &str) -> Option<Duration> {
    let mut rest = s;
    let negative = if let Some(r) = rest.strip_prefix('-') {
        rest = r;
        true
    } else {
        rest = rest.strip_prefix('+').unwrap_or(rest);
        false
    };
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                a.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let unit_ns: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let int_value: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut value = int_value.checked_mul(unit_ns)?;
        // Fraction digits beyond nanosecond precision cannot change the result.
        let frac_digits = &frac_part[..frac_part.len().min(20)];
        if !frac_digits.is_empty() {
            let numerator: u128 = frac_digits.parse().ok()?;
            let denominator = 10u128.checked_pow(u32::try_from(frac_digits.len()).ok()?)?;
            value = value.checked_add(numerator.checked_mul(unit_ns)? / denominator)?;
        }
        total = total.checked_add(value)?;
        if total > i64::MAX as u128 {
            return None;
        }
        rest = after;
    }
    if negative && total != 0 {
        return None;
    }
    let nanos = u64::try_from(total).ok()?;
    Some(Duration::from_nanos(nanos))
}

/// `ParseAbsoluteTime` for a string: RFC 3339 (with or without fractional seconds) or Unix
/// seconds as a decimal integer.
pub(crate) fn parse_absolute_time(s: &str) -> Option<SystemTime> {
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    parse_go_int(s).and_then(unix_seconds)
}

pub(crate) fn unix_seconds(secs: i64) -> Option<SystemTime> {
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))
    }
}

fn fixed_digits(s: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = fixed_digits(s, 0..4)?;
    let month = fixed_digits(s, 5..7)?;
    let day = fixed_digits(s, 8..10)?;
    let hour = fixed_digits(s, 11..13)?;
    let minute = fixed_digits(s, 14..16)?;
    let second = fixed_digits(s, 17..19)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: u32 = 0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        let digits = &r[..n];
        let scale = 10u32.pow(u32::try_from(9 - n).ok()?);
        nanos = digits.parse::<u32>().ok()? * scale;
        rest = &r[n..];
    }
    let offset_secs = if rest == "Z" {
        0
    } else {
        let rb = rest.as_bytes();
        if rb.len() != 6 || rb[3] != b':' {
            return None;
        }
        let sign = match rb[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let oh = fixed_digits(rest, 1..3)?;
        let om = fixed_digits(rest, 4..6)?;
        if oh > 23 || om > 59 {
            return None;
        }
        sign * (oh * 3600 + om * 60)
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    unix_seconds(secs)?.checked_add(Duration::from_nanos(u64::from(nanos)))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn durations_follow_go() {
        let d = |s| parse_duration_str(s);
        assert_eq!(d(""), Some(Duration::ZERO));
        assert_eq!(d("90"), Some(Duration::from_secs(90)));
        assert_eq!(d("90s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(d("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(d(".5s"), Some(Duration::from_millis(500)));
        assert_eq!(d("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(d("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("1\u{b5}s"), Some(Duration::from_micros(1)));
        assert_eq!(d("-5s"), None);
        assert_eq!(d("-5"), None);
        assert_eq!(d("5x"), None);
        assert_eq!(d("h"), None);
        assert_eq!(d("1h 30m"), None);
        assert_eq!(d("99999999999h"), None);
    }

    #[test]
    fn absolute_times() {
        let t = parse_absolute_time("2030-01-02T15:04:05Z").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_893_596_645
        );
        let t = parse_absolute_time("2030-01-02T16:04:05.5+01:00").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_millis(1_893_596_645_500)
        );
        let t = parse_absolute_time("1700000000").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_700_000_000
        );
        assert!(parse_absolute_time("2030-02-30T00:00:00Z").is_none());
        assert!(parse_absolute_time("2030-01-02 15:04:05Z").is_none());
        assert!(parse_absolute_time("tomorrow").is_none());
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
