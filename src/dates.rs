//! The two date forms of the API, parsed strictly: `YYYY-MM-DD` and `YYYY-MM-DD HH:mm:ss`.
//! Anything else (other separators, missing zero padding, out-of-range fields) is rejected.
use pgrx::prelude::*;

pub const DAY_FORMS: &str = "YYYY-MM-DD or YYYY-MM-DD HH:mm:ss";

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct DateTimeParts {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_date_part(text: &[u8]) -> Option<(i32, u8, u8)> {
    if text.len() != 10 || text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let year = digits(&text[0..4])? as i32;
    let month = digits(&text[5..7])? as u8;
    let day = digits(&text[8..10])? as u8;
    let valid =
        year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then_some((year, month, day))
}

fn parse_time_part(text: &[u8]) -> Option<(u8, u8, u8)> {
    if text.len() != 8 || text[2] != b':' || text[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        digits(&text[0..2])?,
        digits(&text[3..5])?,
        digits(&text[6..8])?,
    );
    (hour < 24 && minute < 60 && second < 60).then_some((hour as u8, minute as u8, second as u8))
}

/// `YYYY-MM-DD HH:mm:ss` only.
pub fn parse_date_time(text: &str) -> Option<DateTimeParts> {
    let bytes = text.as_bytes();
    if bytes.len() != 19 || bytes[10] != b' ' {
        return None;
    }
    let (year, month, day) = parse_date_part(&bytes[..10])?;
    let (hour, minute, second) = parse_time_part(&bytes[11..])?;
    Some(DateTimeParts {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// `YYYY-MM-DD` or `YYYY-MM-DD HH:mm:ss`, normalised to the day (the time, when given, must be valid).
pub fn parse_day(text: &str) -> Option<Date> {
    let (year, month, day) = match text.len() {
        10 => parse_date_part(text.as_bytes())?,
        _ => {
            let parts = parse_date_time(text)?;
            (parts.year, parts.month, parts.day)
        }
    };
    Some(Date::new_unchecked(year as isize, month, day))
}

/// An ISO 8601 day or day and time (`YYYY-MM-DD`, `YYYY-MM-DDTHH:mm:ss`, or with a space for the `T`), as
/// `YYYY-MM-DD HH:mm:ss` (a day alone is its midnight).
pub fn iso_date_time(text: &str) -> Option<String> {
    let canonical = match text.len() {
        10 => format!("{text} 00:00:00"),
        19 if text.as_bytes()[10] == b'T' => text.replacen('T', " ", 1),
        _ => text.to_owned(),
    };
    parse_date_time(&canonical).map(|_| canonical)
}

/// `YYYY-MM-DD`, whatever the session's DateStyle (messages are part of the API).
pub fn iso_day(day: Date) -> String {
    format!("{:04}-{:02}-{:02}", day.year(), day.month(), day.day())
}

/// A usage record's `usage_date` as a timestamp, or NULL when it is not exactly `YYYY-MM-DD HH:mm:ss`.
/// Used by the set-based ingest SQL to validate every record without raising an error.
// Runs no SQL, so nothing in it can resolve through a search_path; left unpinned because a SET clause
// would cost a configuration save and restore for every record of an ingest.
#[pg_extern(immutable, strict, parallel_safe)]
fn parse_usage_timestamp(value: &str) -> Option<Timestamp> {
    let p = parse_date_time(value)?;
    Some(Timestamp::new_unchecked(
        p.year as isize,
        p.month,
        p.day,
        p.hour,
        p.minute,
        f64::from(p.second),
    ))
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    #[pg_test]
    fn accepts_both_forms_normalised_to_the_day() {
        let want = Date::new(2026, 4, 1).unwrap();
        assert_eq!(parse_day("2026-04-01"), Some(want));
        assert_eq!(parse_day("2026-04-01 00:00:00"), Some(want));
        assert_eq!(parse_day("2026-04-01 23:59:59"), Some(want));
    }

    #[pg_test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "2026-4-01",
            "2026/04/01",
            "2026-04-01T00:00:00",
            "2026-02-30",
            "2026-13-01",
            "0000-01-01",
            "2026-04-01 24:00:00",
            "2026-04-01 00:60:00",
            "2026-04-01 00:00",
            " 2026-04-01",
            "2026-04-01 00:00:00.5",
            "２０２６-04-01",
            "+2026-04-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad:?} must be rejected");
        }
    }

    #[pg_test]
    fn knows_leap_years() {
        assert!(parse_day("2024-02-29").is_some());
        assert!(parse_day("2000-02-29").is_some());
        assert!(parse_day("1900-02-29").is_none());
        assert!(parse_day("2026-02-29").is_none());
    }

    #[pg_test]
    fn usage_timestamp_requires_the_time() {
        assert_eq!(parse_usage_timestamp("2026-04-01"), None);
        let ts = parse_usage_timestamp("2026-03-31 23:59:59").expect("valid");
        let text = Spi::get_one_with_args::<String>("SELECT $1::text", &[ts.into()]).unwrap();
        assert_eq!(text.as_deref(), Some("2026-03-31 23:59:59"));
    }
}
