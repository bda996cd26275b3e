//! Calendar arithmetic for the timestamped datasets (radar frames, TaxiBJ slots).

/// Minutes since 0000-03-01 of the date `YYYYMMDD` at `hour:minute`, or `None` if it is not
/// a valid date and time (month 1-12, day 1-31, hour 0-23, minute 0-59).
pub(crate) fn civil_minutes(yyyymmdd: u64, hour: i64, minute: i64) -> Option<i64> {
    let (y, m, d) = (
        (yyyymmdd / 10_000) as i64,
        ((yyyymmdd / 100) % 100) as i64,
        (yyyymmdd % 100) as i64,
    );
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
    {
        return None;
    }
    // days from civil (Howard Hinnant's algorithm)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe) * 1440 + hour * 60 + minute)
}

/// The date `YYYYMMDD` of a day number as [`civil_minutes`] counts them (minutes / 1440).
pub(crate) fn civil_date(day: i64) -> u64 {
    let era = day.div_euclid(146_097);
    let doe = day - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y * 10_000 + m * 100 + d) as u64
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
        assert!(civil_minutes(20131301, 0, 0).is_none());
    }
}
