//! The validated values of the SF6002 model: subscriber ids, PNRs, municipality codes, age
//! ranges, event codes and filter groups. Every constructor from text refuses what the contract
//! (docs/rules.md §2) refuses, with an [`InvalidValue`] that is safe to print.

use std::fmt;
use std::str::FromStr;

use cprsift_format::{EventCode, Pnr};

use crate::error::{Field, InvalidValue};

/// A subscriber's id: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`. Ids become directory names, so nothing
/// else is accepted (no `/`, no leading dot, no `..`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriberId(String);

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

impl SubscriberId {
    /// Checks and wraps an id.
    pub fn new(text: &str) -> Result<SubscriberId, InvalidValue> {
        let bytes = text.as_bytes();
        let refuse = |reason: &str| Err(InvalidValue::new(Field::Id, show_text(text), reason));
        match bytes.first() {
            None => return refuse("an id cannot be empty"),
            Some(b) if !b.is_ascii_alphanumeric() => {
                return refuse("an id must start with a letter or digit")
            }
            Some(_) => {}
        }
        if bytes.len() > MAX_ID_LEN {
            return refuse("an id has at most 64 characters");
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return refuse("an id may only hold letters A-Z a-z, digits, '.', '_' and '-'");
        }
        Ok(SubscriberId(text.to_owned()))
    }

    /// The id as text (also its directory name).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SubscriberId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SubscriberId::new(s)
    }
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubscriberId({})", self.0)
    }
}

/// Shows text that may be a PNR without revealing it: at most its first six characters (the
/// birth date part), then `-xxxx` when there was more.
pub(crate) fn mask_text(text: &str) -> String {
    let t = text.trim();
    let mut shown: String = t.chars().take(6).collect();
    if t.chars().count() > 6 {
        shown.push_str("-xxxx");
    }
    shown
}

/// The longest non-PNR value shown in a message, in characters.
const SHOWN_CHARS: usize = 40;

/// Shows a value meant for another field than PNR: masked like a PNR when it holds six digits
/// or more (a PNR typed into the wrong place), otherwise as typed, cut to 40 characters.
pub(crate) fn show_text(text: &str) -> String {
    if text.bytes().filter(u8::is_ascii_digit).count() >= 6 {
        return mask_text(text);
    }
    let mut shown: String = text.chars().take(SHOWN_CHARS).collect();
    if text.chars().count() > SHOWN_CHARS {
        shown.push_str("...");
    }
    shown
}

/// Reads a PNR as typed by an operator: 10 digits, optionally with a dash after the sixth
/// (`DDMMYY-SSSS`), surrounding blanks ignored. Refuses anything else and PNRs whose first six
/// digits are not a real date ([`Pnr::birth_date`]).
pub fn parse_pnr(text: &str) -> Result<Pnr, InvalidValue> {
    let refuse = |reason: &str| InvalidValue::new(Field::Pnr, mask_text(text), reason);
    let pnr = Pnr::parse(text)
        .ok_or_else(|| refuse("a PNR is 10 digits (DDMMYYSSSS, optionally written DDMMYY-SSSS)"))?;
    if pnr.birth_date().is_none() {
        return Err(refuse("its first six digits are not a real date"));
    }
    Ok(pnr)
}

/// Municipality codes are 1-999 (written `0001`-`0999`).
const MUNICIPALITY_MAX: i64 = 999;

/// Checks a municipality code given as a number: 1-999.
pub fn municipality_from_number(code: i64) -> Result<u16, InvalidValue> {
    match u16::try_from(code) {
        Ok(c) if (1..=MUNICIPALITY_MAX).contains(&code) => Ok(c),
        _ => Err(InvalidValue::new(
            Field::Municipality,
            code.to_string(),
            "a municipality code is 1-999 (0001-0999)",
        )),
    }
}

/// Checks a municipality code given as text: 1 to 4 digits, value 1-999 (`706` = `0706`).
pub fn municipality_from_text(text: &str) -> Result<u16, InvalidValue> {
    let t = text.trim();
    if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidValue::new(
            Field::Municipality,
            show_text(text),
            "a municipality code is 1 to 4 digits, 1-999 (0001-0999)",
        ));
    }
    let value = t.bytes().fold(0i64, |v, b| v * 10 + i64::from(b - b'0'));
    municipality_from_number(value).map_err(|mut e| {
        e.value = t.to_owned();
        e
    })
}

/// The 4-digit text form of a municipality code (`101` -> `0101`).
pub fn municipality_text(code: u16) -> String {
    format!("{code:04}")
}

/// Ages are whole years 0-999.
pub const MAX_AGE: u16 = 999;

/// An age range in completed years, both ends inclusive: `start <= end <= 999`. The fields are
/// public for reading; every constructor in this crate checks them, and a store refuses to save
/// a range that breaks the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgeRange {
    /// First age in the range (inclusive).
    pub start: u16,
    /// Last age in the range (inclusive).
    pub end: u16,
}

impl AgeRange {
    /// Checks and builds a range: both ends 0-999, start <= end.
    pub fn new(start: i64, end: i64) -> Result<AgeRange, InvalidValue> {
        let refuse =
            |reason: &str| InvalidValue::new(Field::Age, format!("[{start}, {end}]"), reason);
        let in_range = |v: i64| u16::try_from(v).ok().filter(|&a| a <= MAX_AGE);
        match (in_range(start), in_range(end)) {
            (Some(s), Some(e)) if s <= e => Ok(AgeRange { start: s, end: e }),
            (Some(_), Some(_)) => Err(refuse("the start of an age range is after its end")),
            _ => Err(refuse("ages are whole years 0-999")),
        }
    }

    /// Parses the two ends as typed (`--start 0 --end 17`).
    pub fn parse(start: &str, end: &str) -> Result<AgeRange, InvalidValue> {
        let number = |t: &str| {
            t.trim().parse::<i64>().map_err(|_| {
                InvalidValue::new(
                    Field::Age,
                    format!("[{start}, {end}]"),
                    "ages are whole years 0-999",
                )
            })
        };
        AgeRange::new(number(start)?, number(end)?)
    }

    /// True when the range obeys its rule (for data that bypassed the constructors).
    pub fn is_valid(self) -> bool {
        self.start <= self.end && self.end <= MAX_AGE
    }

    /// True when `age` (completed years) is within the range, both ends inclusive.
    pub fn contains(self, age: u16) -> bool {
        (self.start..=self.end).contains(&age)
    }
}

impl fmt::Display for AgeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.start, self.end)
    }
}

/// Reads a change code as typed (see [`EventCode::parse`]), refusing anything else with an
/// [`InvalidValue`] that says what a code looks like.
pub fn parse_event_code(text: &str) -> Result<EventCode, InvalidValue> {
    EventCode::parse(text).ok_or_else(|| {
        InvalidValue::new(
            Field::ChangeCode,
            show_text(text),
            "a change code is a capital letter and two digits, e.g. A01",
        )
    })
}

/// The filter groups RemoveAll clears, named as in the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterGroup {
    /// The PNR set.
    Pnr,
    /// The age ranges.
    AgeRange,
    /// The municipality codes.
    MunicipalityCode,
    /// The change (event) codes.
    EventChangeCode,
}

impl FilterGroup {
    /// Every group, in the service's order.
    pub const ALL: [FilterGroup; 4] = [
        FilterGroup::Pnr,
        FilterGroup::AgeRange,
        FilterGroup::MunicipalityCode,
        FilterGroup::EventChangeCode,
    ];

    /// The service's name of the group.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterGroup::Pnr => "PNR",
            FilterGroup::AgeRange => "AgeRange",
            FilterGroup::MunicipalityCode => "MunicipalityCode",
            FilterGroup::EventChangeCode => "EventChangeCode",
        }
    }

    /// Reads a group name; letter case is ignored (`PNR`, `pnr`, `AgeRange`, `agerange`, ...).
    pub fn parse(text: &str) -> Result<FilterGroup, InvalidValue> {
        let t = text.trim();
        FilterGroup::ALL
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                InvalidValue::new(
                    Field::Group,
                    show_text(text),
                    "the groups are PNR, AgeRange, MunicipalityCode and EventChangeCode",
                )
            })
    }
}

impl fmt::Display for FilterGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_ids() {
        for ok in [
            "a",
            "b6f1c2d0-1111-4a4a-9a9a-000000000001",
            "K0101.x_y-z",
            &"a".repeat(64),
        ] {
            assert_eq!(SubscriberId::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            ".hidden",
            "-x",
            "_x",
            "a/b",
            "..",
            "a b",
            "æ",
            &"a".repeat(65),
            "a\n",
        ] {
            assert!(SubscriberId::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pnrs_and_masking() {
        let p = parse_pnr("0101651234").unwrap();
        assert_eq!(&p.digits(), b"0101651234");
        assert_eq!(parse_pnr(" 010165-1234 ").unwrap(), p);
        let e = parse_pnr("3213651234").unwrap_err();
        assert_eq!(e.value, "321365-xxxx");
        assert!(e.reason.contains("not a real date"));
        let e = parse_pnr("01016512345").unwrap_err();
        assert_eq!(e.value, "010165-xxxx");
        assert!(!e.to_string().contains("12345"));
        assert!(parse_pnr("010165123").is_err());
        assert!(parse_pnr("01016512a4").is_err());
        // 29 February exists in 2000 but not in 1900 (seventh digit 0: 1900-1999).
        assert!(parse_pnr("2902004321").is_ok());
        assert!(parse_pnr("2902000321").is_err());
    }

    #[test]
    fn municipality_codes() {
        assert_eq!(municipality_from_number(101).unwrap(), 101);
        assert_eq!(municipality_from_text("0101").unwrap(), 101);
        assert_eq!(municipality_from_text("706").unwrap(), 706);
        assert_eq!(municipality_text(706), "0706");
        for bad in [0, 1000, -1, 65_637] {
            assert!(municipality_from_number(bad).is_err());
        }
        for bad in ["", "0", "0000", "1000", "01010", "1a", "-1"] {
            assert!(municipality_from_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn age_ranges() {
        assert_eq!(
            AgeRange::new(0, 17).unwrap(),
            AgeRange { start: 0, end: 17 }
        );
        assert_eq!(AgeRange::new(65, 999).unwrap().end, 999);
        assert!(AgeRange::new(7, 7).is_ok());
        let e = AgeRange::new(18, 17).unwrap_err();
        assert!(e.reason.contains("after its end"), "{e}");
        assert!(AgeRange::new(0, 1000).is_err());
        assert!(AgeRange::new(-1, 5).is_err());
        assert!(AgeRange::parse("x", "5").is_err());
        assert!(AgeRange::new(0, 17).unwrap().contains(17));
        assert!(!AgeRange::new(0, 17).unwrap().contains(18));
    }

    #[test]
    fn event_codes_and_groups() {
        assert_eq!(parse_event_code("A01").unwrap().as_str(), "A01");
        for bad in ["a01", "A1", "A011", "AA1", "101", ""] {
            assert!(parse_event_code(bad).is_err(), "{bad}");
        }
        assert_eq!(FilterGroup::parse("PNR").unwrap(), FilterGroup::Pnr);
        assert_eq!(
            FilterGroup::parse("eventchangecode").unwrap(),
            FilterGroup::EventChangeCode
        );
        let e = FilterGroup::parse("Municipality").unwrap_err();
        assert_eq!(e.value, "Municipality");
        assert_eq!(
            parse_event_code("0101651234").unwrap_err().value,
            "010165-xxxx"
        );
    }
}
