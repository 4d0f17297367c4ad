//! Timestamps as KV stores and shows them: nanoseconds since the Unix epoch in storage,
//! RFC 3339 with Go's `RFC3339Nano` rendering on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as nanoseconds since the Unix epoch, saturating (before 1970 or after 2262).
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos())
            .map(|n| -n)
            .unwrap_or(i64::MIN),
    }
}

/// Go's `time.RFC3339Nano` in UTC: `2026-11-27T23:15:39.535136517Z`, with trailing zeros of
/// the fraction (and a zero fraction) left out, as Vault prints them.
pub(crate) fn format_rfc3339_nanos(nanos: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)) else {
        return String::new();
    };
    let frac = match t.nanosecond() {
        0 => String::new(),
        ns => {
            let digits = format!("{ns:09}");
            format!(".{}", digits.trim_end_matches('0'))
        }
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{frac}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Go's `time.Duration.String()` for whole seconds, negative values included (`"-1s"`).
pub(crate) fn format_go_seconds(secs: i64) -> String {
    let abs =
        arca_types::duration::format_duration(std::time::Duration::from_secs(secs.unsigned_abs()));
    if secs < 0 { format!("-{abs}") } else { abs }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_like_go() {
        assert_eq!(format_rfc3339_nanos(0), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339_nanos(1_795_821_339_535_136_517),
            "2026-11-27T23:15:39.535136517Z"
        );
        assert_eq!(
            format_rfc3339_nanos(1_795_821_339_500_000_000),
            "2026-11-27T23:15:39.5Z"
        );
        assert_eq!(
            format_rfc3339_nanos(1_795_821_339_000_000_010),
            "2026-11-27T23:15:39.00000001Z"
        );
    }

    #[test]
    fn go_seconds() {
        assert_eq!(format_go_seconds(0), "0s");
        assert_eq!(format_go_seconds(10_800), "3h0m0s");
        assert_eq!(format_go_seconds(-1), "-1s");
        assert_eq!(format_go_seconds(90), "1m30s");
    }

    #[test]
    fn nanos_of_system_time() {
        let t = UNIX_EPOCH + std::time::Duration::from_nanos(1_795_821_339_535_136_517);
        assert_eq!(unix_nanos(t), 1_795_821_339_535_136_517);
    }
}
