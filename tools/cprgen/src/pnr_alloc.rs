//! Personal numbers that cannot belong to a real person (spec/CODES.md §14): a birth date other
//! than 1 January, a check that fails modulus 11, and a seventh digit that gives the right
//! century for the birth year. Numbers are handed out per (birth date, sex) in a fixed order,
//! so a run is unique and reproducible.

use chrono::{Datelike, NaiveDate};
use cprsift_format::Pnr;

/// The seventh digits that give `year` with the century rule.
fn century_digits(year: i32) -> &'static [u32] {
    let yy = year % 100;
    match (year / 100, yy) {
        (18, 58..) => &[5, 6, 7, 8],
        (19, 0..=36) => &[0, 1, 2, 3],
        (19, _) => &[0, 1, 2, 3, 4, 9],
        (20, 0..=36) => &[4, 5, 6, 7, 8, 9],
        (20, 37..=57) => &[5, 6, 7, 8],
        _ => &[],
    }
}

/// The PNR for `birth` with sequence number `seq` (0..=9999), if it is one we may use: not
/// 1 January, failing modulus 11, right century, last digit matching the sex.
pub fn candidate(birth: NaiveDate, female: bool, seq: u32) -> Option<Pnr> {
    if birth.month() == 1 && birth.day() == 1 {
        return None;
    }
    if !century_digits(birth.year()).contains(&(seq / 1000)) || seq.is_multiple_of(2) != female {
        return None;
    }
    let key = birth.day() * 100_000_000
        + birth.month() * 1_000_000
        + (birth.year() % 100) as u32 * 10_000
        + seq;
    let pnr = Pnr::from_key(key);
    (!pnr.passes_modulus_11() && pnr.birth_date() == Some(birth)).then_some(pnr)
}

/// Hands out numbers per (date, sex) in sequence order. Dates outside 1858-2057 are not
/// representable.
#[derive(Debug)]
pub struct PnrAllocator {
    /// Next sequence number to try per (day since 1858-01-01, sex).
    cursors: Vec<u16>,
}

const FIRST_DAY: (i32, u32, u32) = (1858, 1, 1);
const DAYS: usize = 200 * 366;

fn day_index(d: NaiveDate) -> Option<usize> {
    let base = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2)?;
    usize::try_from((d - base).num_days())
        .ok()
        .filter(|&i| i < DAYS)
}

impl Default for PnrAllocator {
    fn default() -> Self {
        PnrAllocator {
            cursors: vec![0; DAYS * 2],
        }
    }
}

impl PnrAllocator {
    /// The next free number for `birth` and sex, or `None` when the date is exhausted (about
    /// 2,700 numbers per date and sex) or not representable.
    pub fn next(&mut self, birth: NaiveDate, female: bool) -> Option<Pnr> {
        let slot = day_index(birth)? * 2 + usize::from(female);
        let cursor = &mut self.cursors[slot];
        while *cursor < 10_000 {
            let seq = u32::from(*cursor);
            *cursor += 1;
            if let Some(p) = candidate(birth, female, seq) {
                return Some(p);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_fake_and_decode_to_their_date() {
        let mut a = PnrAllocator::default();
        let mut seen = std::collections::HashSet::new();
        for (y, m, d) in [
            (1880, 3, 4),
            (1936, 12, 31),
            (1957, 6, 1),
            (2001, 2, 3),
            (2040, 5, 5),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            for female in [false, true] {
                for _ in 0..500 {
                    let p = a.next(date, female).unwrap();
                    assert!(!p.passes_modulus_11());
                    assert_eq!(p.birth_date(), Some(date));
                    assert_eq!(p.key() % 2 == 0, female);
                    assert!(seen.insert(p));
                }
            }
        }
        let jan1 = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        assert_eq!(a.next(jan1, true), None);
    }
}
