//! The three date forms of the extract (spec/CODES.md §13) and age in completed years.

use std::fmt;

use chrono::{Datelike, NaiveDate};

fn digits<const N: usize>(bytes: &[u8]) -> Option<u32> {
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0')),
    )
}

fn is_empty_date(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b' ') || bytes.iter().all(|&b| b == b'0' || b == b'-')
}

/// Why a date field could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadDate;

/// Reads a D8 date `YYYYMMDD`: `Ok(None)` when all blanks or all zeros.
pub fn parse_d8(bytes: &[u8]) -> Result<Option<NaiveDate>, BadDate> {
    if is_empty_date(bytes) {
        return Ok(None);
    }
    let (y, m, d) = (
        digits::<4>(bytes.get(..4).ok_or(BadDate)?),
        digits::<2>(bytes.get(4..6).ok_or(BadDate)?),
        digits::<2>(bytes.get(6..8).ok_or(BadDate)?),
    );
    match (y, m, d, bytes.len()) {
        (Some(y), Some(m), Some(d), 8) => NaiveDate::from_ymd_opt(y as i32, m, d)
            .map(Some)
            .ok_or(BadDate),
        _ => Err(BadDate),
    }
}

/// Reads a D10 date `YYYY-MM-DD`: `Ok(None)` when all blanks or zeros (`0000-00-00`).
pub fn parse_d10(bytes: &[u8]) -> Result<Option<NaiveDate>, BadDate> {
    if is_empty_date(bytes) {
        return Ok(None);
    }
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(BadDate);
    }
    match (
        digits::<4>(&bytes[..4]),
        digits::<2>(&bytes[5..7]),
        digits::<2>(&bytes[8..]),
    ) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d)
            .map(Some)
            .ok_or(BadDate),
        _ => Err(BadDate),
    }
}

/// A TS12 timestamp `YYYYMMDDHHMM` as CPR writes it: digits that need not form a real date
/// (unknown parts are zero, minute 99 marks an uncertain time).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ts12(u64);

impl Ts12 {
    /// Reads a TS12 field: `Ok(None)` when all blanks or all zeros, an error unless 12 digits.
    pub fn parse(bytes: &[u8]) -> Result<Option<Ts12>, BadDate> {
        if bytes.iter().all(|&b| b == b' ') {
            return Ok(None);
        }
        if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(BadDate);
        }
        let v = bytes
            .iter()
            .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
        Ok((v != 0).then_some(Ts12(v)))
    }

    /// Builds a timestamp from a date and a time of day.
    pub fn from_date(date: NaiveDate, hour: u32, minute: u32) -> Ts12 {
        let ymd =
            date.year() as u64 * 10_000 + u64::from(date.month()) * 100 + u64::from(date.day());
        Ts12(ymd * 10_000 + u64::from(hour) * 100 + u64::from(minute))
    }

    /// The year.
    pub fn year(self) -> u32 {
        (self.0 / 100_000_000) as u32
    }
    /// The month, 0 when unknown.
    pub fn month(self) -> u32 {
        (self.0 / 1_000_000 % 100) as u32
    }
    /// The day, 0 when unknown.
    pub fn day(self) -> u32 {
        (self.0 / 10_000 % 100) as u32
    }
    /// The date, when month and day are known and real.
    pub fn date(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year() as i32, self.month(), self.day())
    }
    /// The 12 digits.
    pub fn digits(self) -> [u8; 12] {
        let mut out = [b'0'; 12];
        let mut v = self.0;
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out
    }
}

impl fmt::Debug for Ts12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ts12({})", String::from_utf8_lossy(&self.digits()))
    }
}

impl fmt::Display for Ts12 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits();
        let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&d[r]).into_owned();
        write!(
            f,
            "{}-{}-{} {}:{}",
            s(0..4),
            s(4..6),
            s(6..8),
            s(8..10),
            s(10..12)
        )
    }
}

/// Age in completed years on `on` for a person born on `birth`; `None` before birth.
///
/// A 29 February birthday is reached on 1 March in non-leap years, because (month, day)
/// (2, 29) sorts after (2, 28) and before (3, 1).
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    if on < birth {
        return None;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn d8_and_d10() {
        assert_eq!(parse_d8(b"20011119"), Ok(Some(date(2001, 11, 19))));
        assert_eq!(parse_d8(b"00000000"), Ok(None));
        assert_eq!(parse_d8(b"        "), Ok(None));
        assert_eq!(parse_d8(b"20011131"), Err(BadDate));
        assert_eq!(parse_d8(b"2001111 "), Err(BadDate));
        assert_eq!(parse_d10(b"1985-03-15"), Ok(Some(date(1985, 3, 15))));
        assert_eq!(parse_d10(b"          "), Ok(None));
        assert_eq!(parse_d10(b"0000-00-00"), Ok(None));
        assert_eq!(parse_d10(b"1985-02-29"), Err(BadDate));
        assert_eq!(parse_d10(b"1985/03/15"), Err(BadDate));
        assert_eq!(parse_d10(b"+985-03-15"), Err(BadDate));
    }

    #[test]
    fn ts12_keeps_uncertain_parts() {
        let t = Ts12::parse(b"196100000000").unwrap().unwrap();
        assert_eq!((t.year(), t.month(), t.day()), (1961, 0, 0));
        assert_eq!(t.date(), None);
        assert!(Ts12::parse(b"200111192099").unwrap().is_some());
        assert_eq!(Ts12::parse(b"000000000000"), Ok(None));
        assert_eq!(Ts12::parse(b"            "), Ok(None));
        assert_eq!(Ts12::parse(b"2001111920 0"), Err(BadDate));
        assert_eq!(
            Ts12::from_date(date(2022, 5, 12), 0, 0).digits(),
            *b"202205120000"
        );
    }

    #[test]
    fn ages_including_29_february() {
        let leapling = date(2000, 2, 29);
        assert_eq!(age_on(leapling, date(2001, 2, 28)), Some(0));
        assert_eq!(age_on(leapling, date(2001, 3, 1)), Some(1));
        assert_eq!(age_on(leapling, date(2004, 2, 29)), Some(4));
        assert_eq!(age_on(date(1990, 5, 12), date(2022, 5, 11)), Some(31));
        assert_eq!(age_on(date(1990, 5, 12), date(2022, 5, 12)), Some(32));
        assert_eq!(age_on(date(2022, 5, 13), date(2022, 5, 12)), None);
    }
}
