//! Timestamps: nanoseconds since the Unix epoch in storage, Go's `RFC3339Nano` on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

/// `t` as nanoseconds since the Unix epoch (saturating; 0 before 1970).
pub fn unix_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Go's `time.RFC3339Nano` in UTC (`2026-11-27T23:15:39.535136517Z`, trailing zeros of the
/// fraction left out). `0` renders as Go's zero time, `0001-01-01T00:00:00Z`, which is
/// what Vault shows for "never".
pub fn format_rfc3339_nanos(nanos: i64) -> String {
    if nanos == 0 {
        return "0001-01-01T00:00:00Z".to_owned();
    }
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)) else {
        return "0001-01-01T00:00:00Z".to_owned();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_go() {
        assert_eq!(
            format_rfc3339_nanos(1_795_821_339_535_136_517),
            "2026-11-27T23:15:39.535136517Z"
        );
        assert_eq!(
            format_rfc3339_nanos(1_795_821_339_500_000_000),
            "2026-11-27T23:15:39.5Z"
        );
        assert_eq!(format_rfc3339_nanos(0), "0001-01-01T00:00:00Z");
    }
}
