//! Calendar arithmetic for the timestamped datasets (radar frames, TaxiBJ slots), on
//! chrono's proleptic Gregorian calendar: a date that does not exist (31 February,
//! 29 February 2015) is rejected, not counted on into March.

use chrono::{Datelike, NaiveDate, TimeDelta};

/// The calendar date of `YYYYMMDD`, if it exists.
fn date(yyyymmdd: u64) -> Option<NaiveDate> {
    let year = i32::try_from(yyyymmdd / 10_000).ok()?;
    NaiveDate::from_ymd_opt(year, ((yyyymmdd / 100) % 100) as u32, (yyyymmdd % 100) as u32)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date")
}

/// Minutes since 1970-01-01 00:00 of the date `YYYYMMDD` at `hour:minute`, or `None` if it
/// is not a date and time that exists (hour 0-23, minute 0-59).
pub(crate) fn civil_minutes(yyyymmdd: u64, hour: i64, minute: i64) -> Option<i64> {
    let time = date(yyyymmdd)?.and_hms_opt(u32::try_from(hour).ok()?, u32::try_from(minute).ok()?, 0)?;
    Some((time - epoch().and_hms_opt(0, 0, 0)?).num_minutes())
}

/// The date `YYYYMMDD` of a day number as [`civil_minutes`] counts them (minutes / 1440).
pub(crate) fn civil_date(day: i64) -> u64 {
    let d = epoch() + TimeDelta::days(day);
    (d.year() as i64 * 10_000 + d.month() as i64 * 100 + d.day() as i64) as u64
}

/// Whether a day number as [`civil_minutes`] counts them falls on a Saturday or Sunday.
pub(crate) fn is_weekend(day: i64) -> bool {
    matches!((epoch() + TimeDelta::days(day)).weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_across_leap_days_and_years() {
        for date in [20130701, 20160228, 20160229, 20160301, 20151231, 20000229] {
            let day = civil_minutes(date, 0, 0).unwrap() / 1440;
            assert_eq!(civil_date(day), date);
        }
        let feb28 = civil_minutes(20160228, 23, 30).unwrap();
        assert_eq!(civil_minutes(20160229, 0, 0).unwrap() - feb28, 30);
        assert_eq!(civil_minutes(19700101, 0, 1), Some(1));
        // 6 and 7 July 2013 were a Saturday and a Sunday
        let weekend: Vec<bool> = (20130705..=20130708).map(|d| is_weekend(civil_minutes(d, 0, 0).unwrap() / 1440)).collect();
        assert_eq!(weekend, [false, true, true, false]);
    }

    #[test]
    fn dates_and_times_that_do_not_exist_are_rejected() {
        for date in [20160231, 20150229, 19000229, 20131301, 20130100, 20130431] {
            assert!(civil_minutes(date, 0, 0).is_none(), "{date} accepted");
        }
        assert!(civil_minutes(20130701, 24, 0).is_none() && civil_minutes(20130701, 0, 60).is_none());
        assert!(civil_minutes(20130701, -1, 0).is_none());
    }
}
