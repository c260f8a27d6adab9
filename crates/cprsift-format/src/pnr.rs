//! The Danish personal number (PNR, CPR-nummer): `DDMMYYSSSS`.

use std::fmt;

use chrono::NaiveDate;

/// A personal number, stored as its 10 digits read as one number.
///
/// The key fits a `u32` because the first two digits are a day (at most 31): the largest key a
/// real PNR can have is 3112999999, below `u32::MAX`. Numeric order equals the text order of the
/// 10 digits, so sorting keys sorts PNRs. The `Debug` and `Display` forms are masked
/// (`DDMMYY-xxxx`): a full PNR is only ever produced on purpose, through [`Pnr::digits`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pnr(u32);

impl Pnr {
    /// Reads 10 ASCII digits. `None` for anything else, and for digit strings too large to be a
    /// personal number (a day part above 42, which no date has).
    pub fn from_digits(bytes: &[u8]) -> Option<Pnr> {
        if bytes.len() != 10 {
            return None;
        }
        let mut value: u64 = 0;
        for &b in bytes {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u64::from(b - b'0');
        }
        u32::try_from(value).ok().map(Pnr)
    }

    /// Reads a PNR typed by a person: 10 digits, optionally with a dash after the sixth.
    pub fn parse(text: &str) -> Option<Pnr> {
        let t = text.trim().as_bytes();
        match t.len() {
            10 => Pnr::from_digits(t),
            11 if t[6] == b'-' => {
                let mut d = [0u8; 10];
                d[..6].copy_from_slice(&t[..6]);
                d[6..].copy_from_slice(&t[7..]);
                Pnr::from_digits(&d)
            }
            _ => None,
        }
    }

    /// Rebuilds a PNR from its key (as stored in indexes and bitmaps).
    pub fn from_key(key: u32) -> Pnr {
        Pnr(key)
    }

    /// The compact key: the 10 digits as a number.
    pub fn key(self) -> u32 {
        self.0
    }

    /// The 10 digits, for writing records. This is the full PNR: never log it.
    pub fn digits(self) -> [u8; 10] {
        let mut out = [b'0'; 10];
        let mut v = self.0;
        for slot in out.iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        out
    }

    /// The masked form `DDMMYY-xxxx` for logs, errors and reports.
    pub fn masked(self) -> MaskedPnr {
        MaskedPnr(self)
    }

    fn part(self, divisor: u32) -> u32 {
        self.0 / divisor % 100
    }

    /// The birth date the PNR encodes: day, month and two-digit year from the first six digits,
    /// the century from the seventh digit (spec/CODES.md §14, the newer table). `None` when the
    /// six digits are not a real date.
    pub fn birth_date(self) -> Option<NaiveDate> {
        let day = self.part(100_000_000);
        let month = self.part(1_000_000);
        let yy = self.part(10_000) as i32;
        let seventh = self.0 / 1000 % 10;
        let century = match (seventh, yy) {
            (0..=3, _) => 1900,
            (4 | 9, 0..=36) => 2000,
            (4 | 9, _) => 1900,
            (_, 0..=57) => 2000,
            _ => 1800,
        };
        NaiveDate::from_ymd_opt(century + yy, month, day)
    }

    /// True when the ten digits pass the modulus-11 check. Real PNRs may fail it (CPR issues
    /// such numbers since 2007), so this never decides validity; the generator uses it to make
    /// numbers that cannot belong to a real person.
    pub fn passes_modulus_11(self) -> bool {
        const WEIGHTS: [u32; 10] = [4, 3, 2, 7, 6, 5, 4, 3, 2, 1];
        let sum: u32 = self
            .digits()
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        sum.is_multiple_of(11)
    }
}

impl fmt::Debug for Pnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pnr({})", self.masked())
    }
}

impl fmt::Display for Pnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.masked().fmt(f)
    }
}

/// A PNR shown as `DDMMYY-xxxx`: the birth date part only.
#[derive(Clone, Copy)]
pub struct MaskedPnr(Pnr);

impl fmt::Display for MaskedPnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.digits();
        let six = std::str::from_utf8(&d[..6]).unwrap_or("??????");
        write!(f, "{six}-xxxx")
    }
}

impl fmt::Debug for MaskedPnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pnr(s: &str) -> Pnr {
        Pnr::from_digits(s.as_bytes()).unwrap()
    }

    #[test]
    fn reads_and_masks() {
        let p = pnr("1503859991");
        assert_eq!(p.key(), 1_503_859_991);
        assert_eq!(&p.digits(), b"1503859991");
        assert_eq!(p.to_string(), "150385-xxxx");
        assert_eq!(format!("{p:?}"), "Pnr(150385-xxxx)");
        assert_eq!(Pnr::parse("150385-9991"), Some(p));
        assert_eq!(Pnr::from_digits(b"150385999"), None);
        assert_eq!(Pnr::from_digits(b"15038599a1"), None);
        assert_eq!(Pnr::from_digits(b"9999999999"), None);
        assert_eq!(pnr("0101000000").digits(), *b"0101000000");
    }

    #[test]
    fn century_rule() {
        let d = |s| pnr(s).birth_date().map(|d| d.to_string());
        assert_eq!(d("0101360000").as_deref(), Some("1936-01-01"));
        assert_eq!(d("0101364000").as_deref(), Some("2036-01-01"));
        assert_eq!(d("0101374000").as_deref(), Some("1937-01-01"));
        assert_eq!(d("0101579000").as_deref(), Some("1957-01-01"));
        assert_eq!(d("0101575000").as_deref(), Some("2057-01-01"));
        assert_eq!(d("0101585000").as_deref(), Some("1858-01-01"));
        assert_eq!(d("0101995000").as_deref(), Some("1899-01-01"));
        assert_eq!(d("0101009000").as_deref(), Some("2000-01-01"));
        assert_eq!(d("2902004000").as_deref(), Some("2000-02-29"));
        assert_eq!(d("2902014000"), None);
        assert_eq!(d("3213850000"), None);
    }

    #[test]
    fn modulus_11() {
        assert!(!pnr("1503859991").passes_modulus_11());
        // 070761-4285 is the textbook example that passes.
        assert!(pnr("0707614285").passes_modulus_11());
    }

    proptest! {
        #[test]
        fn key_order_is_text_order(a in 0u32..3_200_000_000, b in 0u32..3_200_000_000) {
            let (pa, pb) = (Pnr::from_key(a), Pnr::from_key(b));
            prop_assert_eq!(pa.cmp(&pb), pa.digits().cmp(&pb.digits()));
            prop_assert_eq!(Pnr::from_digits(&pa.digits()), Some(pa));
        }
    }
}
