//! One subscriber's filter set (SF6002) and the service's operations on it.

use std::collections::BTreeSet;
use std::fmt;

use cprsift_format::{EventCode, Pnr};
use roaring::RoaringBitmap;

use crate::values::{AgeRange, FilterGroup};

/// The replica's answer to "does CPR hold this PNR?", used by AddPNRSubscription to answer
/// NON_EXISTING_PNR. Defined here so that this crate depends on no replica; the CLI implements
/// it over the replica.
pub trait PnrDirectory {
    /// True when the register holds a person with this PNR (any status).
    fn contains(&self, pnr: Pnr) -> bool;
}

/// A set of PNR keys ([`Pnr::key`]) is a directory: handy for tests and for callers that
/// already hold the replica's PNRs as a bitmap.
impl PnrDirectory for RoaringBitmap {
    fn contains(&self, pnr: Pnr) -> bool {
        RoaringBitmap::contains(self, pnr.key())
    }
}

/// A subscriber's filters. A person matches when any filter matches (docs/rules.md §2).
///
/// Invariants, kept by every operation of this crate and checked before a store is written
/// ([`Filters::is_valid`]): `municipalities` hold 1-999, `ages` are valid ranges sorted and
/// without duplicates, `pnrs` hold [`Pnr::key`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// Subscribed PNRs, as [`Pnr::key`]s.
    pub pnrs: RoaringBitmap,
    /// Subscribed municipality codes, 1-999.
    pub municipalities: BTreeSet<u16>,
    /// Subscribed age ranges, sorted (by start, then end) and without duplicates. Overlapping
    /// ranges are kept apart: each is its own subscription, removed on its own.
    pub ages: Vec<AgeRange>,
    /// Subscribed event codes.
    pub change_codes: BTreeSet<EventCode>,
    /// Every person in every extract, whatever the other filters say.
    pub no_filter: bool,
}

/// One of the service's single-value operations (plus [`Operation::SetNoFilter`], ours), with
/// its value already validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// AddPNRSubscription.
    AddPnr(Pnr),
    /// RemovePNRSubscription.
    RemovePnr(Pnr),
    /// AddAgeRangeSubscription.
    AddAgeRange(AgeRange),
    /// RemoveAgeRangeSubscription.
    RemoveAgeRange(AgeRange),
    /// AddMunicipalityCodeSubscription (code 1-999).
    AddMunicipalityCode(u16),
    /// RemoveMunicipalityCodeSubscription (code 1-999).
    RemoveMunicipalityCode(u16),
    /// AddChangeCodeSubscription.
    AddChangeCode(EventCode),
    /// RemoveChangeCodeSubscription.
    RemoveChangeCode(EventCode),
    /// RemoveAll(group).
    RemoveAll(FilterGroup),
    /// Turns no-filter on (answers like an add) or off (like a remove). Not a service
    /// operation: the service sets no-filter in the agreement; ours.
    SetNoFilter(bool),
}

/// The service's result words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The value was added.
    Added,
    /// The value was removed.
    Removed,
    /// An add of a value already present; nothing changed.
    AlreadyExisted,
    /// A remove of an absent value; nothing changed.
    NonExisting,
    /// An add of a PNR the replica does not hold; nothing changed.
    NonExistingPnr,
}

impl Outcome {
    /// The service's word (`ADDED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Added => "ADDED",
            Outcome::Removed => "REMOVED",
            Outcome::AlreadyExisted => "ALREADY_EXISTED",
            Outcome::NonExisting => "NON_EXISTING",
            Outcome::NonExistingPnr => "NON_EXISTING_PNR",
        }
    }

    /// True when the registry changed.
    pub fn changed(self) -> bool {
        matches!(self, Outcome::Added | Outcome::Removed)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn added_if(inserted: bool) -> Outcome {
    if inserted {
        Outcome::Added
    } else {
        Outcome::AlreadyExisted
    }
}

fn removed_if(removed: bool) -> Outcome {
    if removed {
        Outcome::Removed
    } else {
        Outcome::NonExisting
    }
}

impl Filters {
    /// True when no filter is set and no-filter is off: the subscriber receives nothing.
    pub fn is_empty(&self) -> bool {
        self.pnrs.is_empty()
            && self.municipalities.is_empty()
            && self.ages.is_empty()
            && self.change_codes.is_empty()
            && !self.no_filter
    }

    /// True when the invariants hold (see the type's documentation).
    pub fn is_valid(&self) -> bool {
        self.municipalities
            .iter()
            .all(|&m| (1..=MAX_MUNICIPALITY).contains(&m))
            && self.ages.iter().all(|r| r.is_valid())
            && self.ages.windows(2).all(|w| w[0] < w[1])
    }

    /// Applies one operation and answers as the service does. `replica`, when given, makes an
    /// add of an unknown PNR answer NON_EXISTING_PNR (an add of a PNR already subscribed answers
    /// ALREADY_EXISTED without asking the replica).
    pub fn apply(&mut self, op: Operation, replica: Option<&dyn PnrDirectory>) -> Outcome {
        match op {
            Operation::AddPnr(p) => {
                if self.pnrs.contains(p.key()) {
                    Outcome::AlreadyExisted
                } else if replica.is_some_and(|r| !r.contains(p)) {
                    Outcome::NonExistingPnr
                } else {
                    added_if(self.pnrs.insert(p.key()))
                }
            }
            Operation::RemovePnr(p) => removed_if(self.pnrs.remove(p.key())),
            Operation::AddAgeRange(r) => match self.ages.binary_search(&r) {
                Ok(_) => Outcome::AlreadyExisted,
                Err(at) => {
                    self.ages.insert(at, r);
                    Outcome::Added
                }
            },
            Operation::RemoveAgeRange(r) => match self.ages.binary_search(&r) {
                Ok(at) => {
                    self.ages.remove(at);
                    Outcome::Removed
                }
                Err(_) => Outcome::NonExisting,
            },
            Operation::AddMunicipalityCode(c) => added_if(self.municipalities.insert(c)),
            Operation::RemoveMunicipalityCode(c) => removed_if(self.municipalities.remove(&c)),
            Operation::AddChangeCode(c) => added_if(self.change_codes.insert(c)),
            Operation::RemoveChangeCode(c) => removed_if(self.change_codes.remove(&c)),
            Operation::RemoveAll(group) => removed_if(self.clear(group)),
            Operation::SetNoFilter(on) => {
                let was = std::mem::replace(&mut self.no_filter, on);
                match (on, was) {
                    (true, was) => added_if(!was),
                    (false, was) => removed_if(was),
                }
            }
        }
    }

    /// Empties one group; true when it held anything.
    fn clear(&mut self, group: FilterGroup) -> bool {
        match group {
            FilterGroup::Pnr => !std::mem::take(&mut self.pnrs).is_empty(),
            FilterGroup::AgeRange => !std::mem::take(&mut self.ages).is_empty(),
            FilterGroup::MunicipalityCode => !std::mem::take(&mut self.municipalities).is_empty(),
            FilterGroup::EventChangeCode => !std::mem::take(&mut self.change_codes).is_empty(),
        }
    }

    /// The subscribed PNRs in ascending order.
    pub fn pnr_list(&self) -> impl Iterator<Item = Pnr> + '_ {
        self.pnrs.iter().map(Pnr::from_key)
    }

    /// Builds normalised age ranges from any list: sorted, duplicates dropped.
    pub fn normalise_ages(mut ages: Vec<AgeRange>) -> Vec<AgeRange> {
        ages.sort_unstable();
        ages.dedup();
        ages
    }
}

/// The largest municipality code.
const MAX_MUNICIPALITY: u16 = 999;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_pnr;

    fn pnr(s: &str) -> Pnr {
        parse_pnr(s).unwrap()
    }

    #[test]
    fn pnr_results() {
        let mut f = Filters::default();
        let p = pnr("0101651234");
        assert_eq!(f.apply(Operation::AddPnr(p), None), Outcome::Added);
        assert_eq!(f.apply(Operation::AddPnr(p), None), Outcome::AlreadyExisted);
        assert_eq!(f.apply(Operation::RemovePnr(p), None), Outcome::Removed);
        assert_eq!(f.apply(Operation::RemovePnr(p), None), Outcome::NonExisting);
        let replica: RoaringBitmap = [p.key()].into_iter().collect();
        let q = pnr("0202651234");
        assert_eq!(
            f.apply(Operation::AddPnr(q), Some(&replica)),
            Outcome::NonExistingPnr
        );
        assert!(f.pnrs.is_empty());
        assert_eq!(
            f.apply(Operation::AddPnr(p), Some(&replica)),
            Outcome::Added
        );
        // Already subscribed wins over the replica's answer.
        f.pnrs.insert(q.key());
        assert_eq!(
            f.apply(Operation::AddPnr(q), Some(&replica)),
            Outcome::AlreadyExisted
        );
    }

    #[test]
    fn age_results_keep_ranges_sorted() {
        let mut f = Filters::default();
        let r = |s, e| AgeRange::new(s, e).unwrap();
        assert_eq!(
            f.apply(Operation::AddAgeRange(r(65, 999)), None),
            Outcome::Added
        );
        assert_eq!(
            f.apply(Operation::AddAgeRange(r(0, 17)), None),
            Outcome::Added
        );
        assert_eq!(
            f.apply(Operation::AddAgeRange(r(10, 20)), None),
            Outcome::Added
        );
        assert_eq!(
            f.apply(Operation::AddAgeRange(r(0, 17)), None),
            Outcome::AlreadyExisted
        );
        assert_eq!(f.ages, vec![r(0, 17), r(10, 20), r(65, 999)]);
        assert!(f.is_valid());
        assert_eq!(
            f.apply(Operation::RemoveAgeRange(r(0, 18)), None),
            Outcome::NonExisting
        );
        assert_eq!(
            f.apply(Operation::RemoveAgeRange(r(10, 20)), None),
            Outcome::Removed
        );
        assert_eq!(f.ages, vec![r(0, 17), r(65, 999)]);
    }

    #[test]
    fn municipality_and_change_code_results() {
        let mut f = Filters::default();
        let c = EventCode::parse("A01").unwrap();
        assert_eq!(
            f.apply(Operation::AddMunicipalityCode(101), None),
            Outcome::Added
        );
        assert_eq!(
            f.apply(Operation::AddMunicipalityCode(101), None),
            Outcome::AlreadyExisted
        );
        assert_eq!(
            f.apply(Operation::RemoveMunicipalityCode(851), None),
            Outcome::NonExisting
        );
        assert_eq!(
            f.apply(Operation::RemoveMunicipalityCode(101), None),
            Outcome::Removed
        );
        assert_eq!(f.apply(Operation::AddChangeCode(c), None), Outcome::Added);
        assert_eq!(
            f.apply(Operation::AddChangeCode(c), None),
            Outcome::AlreadyExisted
        );
        assert_eq!(
            f.apply(Operation::RemoveChangeCode(c), None),
            Outcome::Removed
        );
        assert_eq!(
            f.apply(Operation::RemoveChangeCode(c), None),
            Outcome::NonExisting
        );
    }

    #[test]
    fn remove_all_and_no_filter() {
        let mut f = Filters::default();
        for g in FilterGroup::ALL {
            assert_eq!(f.apply(Operation::RemoveAll(g), None), Outcome::NonExisting);
        }
        f.apply(Operation::AddPnr(pnr("0101651234")), None);
        f.apply(Operation::AddMunicipalityCode(101), None);
        assert_eq!(
            f.apply(Operation::RemoveAll(FilterGroup::Pnr), None),
            Outcome::Removed
        );
        assert!(f.pnrs.is_empty());
        assert_eq!(f.municipalities.len(), 1, "other groups untouched");
        assert_eq!(
            f.apply(Operation::RemoveAll(FilterGroup::MunicipalityCode), None),
            Outcome::Removed
        );
        assert!(f.is_empty());
        assert_eq!(
            f.apply(Operation::SetNoFilter(false), None),
            Outcome::NonExisting
        );
        assert_eq!(f.apply(Operation::SetNoFilter(true), None), Outcome::Added);
        assert_eq!(
            f.apply(Operation::SetNoFilter(true), None),
            Outcome::AlreadyExisted
        );
        assert!(!f.is_empty());
        assert_eq!(
            f.apply(Operation::SetNoFilter(false), None),
            Outcome::Removed
        );
    }
}
