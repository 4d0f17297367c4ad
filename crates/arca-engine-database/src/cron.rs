//! Standard 5-field cron schedules (`minute hour day-of-month month day-of-week`, UTC), as
//! Vault's `rotation_schedule` takes them: `*`, numbers, ranges `a-b`, lists `a,b`, steps
//! `*/n` and `a-b/n`; day-of-week 0–7 (0 and 7 are Sunday); when both day fields are
//! restricted a day matches either (Vixie cron's rule).

use time::{Date, OffsetDateTime, Time};

/// A parse failure; the message names the field, never the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid rotation_schedule: bad {0} field (expected 5 fields: minute hour day month weekday)"
)]
pub struct CronError(&'static str);

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    minutes: u64,
    hours: u32,
    dom: u32,
    months: u16,
    dow: u8,
    dom_star: bool,
    dow_star: bool,
}

fn field(src: &str, min: u32, max: u32, name: &'static str) -> Result<(u64, bool), CronError> {
    let err = || CronError(name);
    let mut bits = 0u64;
    for item in src.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| err())?),
            None => (item, 1),
        };
        if step == 0 {
            return Err(err());
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (
                a.parse::<u32>().map_err(|_| err())?,
                b.parse::<u32>().map_err(|_| err())?,
            )
        } else {
            let v = range.parse::<u32>().map_err(|_| err())?;
            // `5/15` means from 5 to the end in steps of 15.
            (v, if item.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(err());
        }
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, src == "*"))
}

impl Schedule {
    /// Parses a 5-field expression.
    pub fn parse(src: &str) -> Result<Self, CronError> {
        let f: Vec<&str> = src.split_whitespace().collect();
        if f.len() != 5 {
            return Err(CronError("count of"));
        }
        let (minutes, _) = field(f[0], 0, 59, "minute")?;
        let (hours, _) = field(f[1], 0, 23, "hour")?;
        let (dom, dom_star) = field(f[2], 1, 31, "day-of-month")?;
        let (months, _) = field(f[3], 1, 12, "month")?;
        let (mut dow, dow_star) = field(f[4], 0, 7, "day-of-week")?;
        if dow & (1 << 7) != 0 {
            dow |= 1;
        }
        Ok(Schedule {
            minutes,
            hours: u32::try_from(hours).map_err(|_| CronError("hour"))?,
            dom: u32::try_from(dom).map_err(|_| CronError("day-of-month"))?,
            months: u16::try_from(months).map_err(|_| CronError("month"))?,
            dow: u8::try_from(dow & 0x7f).map_err(|_| CronError("day-of-week"))?,
            dom_star,
            dow_star,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << u8::from(d.month())) == 0 {
            return false;
        }
        let dom = self.dom & (1 << d.day()) != 0;
        let dow = self.dow & (1 << d.weekday().number_days_from_sunday()) != 0;
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (true, false) => dow,
            (false, true) => dom,
            (false, false) => dom || dow,
        }
    }

    /// The first matching minute strictly after `t` (UTC), searched up to five years
    /// ahead; `None` for schedules that never fire (such as 30 February).
    pub fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = t.to_offset(time::UtcOffset::UTC);
        // The next whole minute after t.
        let start = t.replace_second(0).ok()?.replace_nanosecond(0).ok()? + time::Duration::MINUTE;
        let mut day = start.date();
        let first_day = day;
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in 0..24u8 {
                    if self.hours & (1 << h) == 0 {
                        continue;
                    }
                    for m in 0..60u8 {
                        if self.minutes & (1 << m) == 0 {
                            continue;
                        }
                        let cand = day.with_time(Time::from_hms(h, m, 0).ok()?).assume_utc();
                        if day != first_day || cand >= start {
                            return Some(cand);
                        }
                    }
                }
            }
            day = day.next_day()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ym(y: i32, m: u8, d: u8, h: u8, mi: u8) -> OffsetDateTime {
        Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
            .unwrap()
            .with_time(Time::from_hms(h, mi, 0).unwrap())
            .assume_utc()
    }

    #[test]
    fn common_schedules() {
        let s = Schedule::parse("0 0 * * SAT").is_err();
        assert!(s, "names are not supported");
        let daily = Schedule::parse("0 3 * * *").unwrap();
        assert_eq!(
            daily.next_after(ym(2026, 1, 1, 2, 59)),
            Some(ym(2026, 1, 1, 3, 0))
        );
        // Strictly after: at 03:00 exactly, the next is tomorrow.
        assert_eq!(
            daily.next_after(ym(2026, 1, 1, 3, 0)),
            Some(ym(2026, 1, 2, 3, 0))
        );
        let every15 = Schedule::parse("*/15 * * * *").unwrap();
        assert_eq!(
            every15.next_after(ym(2026, 1, 1, 10, 7)),
            Some(ym(2026, 1, 1, 10, 15))
        );
        // Sundays at 01:30 (0 and 7 both mean Sunday). 2026-01-04 is a Sunday.
        for e in ["30 1 * * 0", "30 1 * * 7"] {
            let s = Schedule::parse(e).unwrap();
            assert_eq!(
                s.next_after(ym(2026, 1, 1, 0, 0)),
                Some(ym(2026, 1, 4, 1, 30))
            );
        }
        let feb30 = Schedule::parse("0 0 30 2 *").unwrap();
        assert_eq!(feb30.next_after(ym(2026, 1, 1, 0, 0)), None);
        let list = Schedule::parse("5,10-12 0 1 1-3/2 *").unwrap();
        assert_eq!(
            list.next_after(ym(2026, 1, 1, 0, 10)),
            Some(ym(2026, 1, 1, 0, 11))
        );
        assert_eq!(
            list.next_after(ym(2026, 1, 1, 0, 12)),
            Some(ym(2026, 3, 1, 0, 5))
        );
    }

    #[test]
    fn rejects() {
        for e in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "5-1 * * * *",
        ] {
            assert!(Schedule::parse(e).is_err(), "{e}");
        }
    }
}
