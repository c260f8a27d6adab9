//! Subscribers as the engine sees them (plain values, independent of how the registry stores
//! them) and the [`FilterSet`]: every subscriber compiled once into references to shared
//! predicates, so that a predicate many subscribers share (a municipality, an age range, an
//! event code) is evaluated once per day, not once per subscriber.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use cprsift_format::Pnr;
use rayon::prelude::*;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::day::DayIndex;
use crate::error::EngineError;

/// A 099 HAENDELSE event code, e.g. `*b"A01"`.
pub type EventCode = [u8; 3];

/// A subscriber's id. Ids become folder names in the outbox, so only
/// `[A-Za-z0-9][A-Za-z0-9._-]{0,63}` is accepted (SEMANTICS.md §2): no id can name a path
/// outside its own folder (`..`, `/` and leading dots are impossible).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SubscriberId(String);

impl SubscriberId {
    /// Checks and wraps an id.
    pub fn new(id: &str) -> Result<SubscriberId, EngineError> {
        let b = id.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 64
            && b[0].is_ascii_alphanumeric()
            && b[1..]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if ok {
            Ok(SubscriberId(id.to_string()))
        } else {
            Err(EngineError::BadSubscriberId { id: id.to_string() })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An age range in whole years, both ends inclusive (SEMANTICS.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgeRange {
    /// First age in the range.
    pub start: u16,
    /// Last age in the range.
    pub end: u16,
}

/// One subscriber's SF6002 filters, as plain values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubscriberFilters {
    /// Subscribed PNRs, as [`Pnr::key`] values.
    pub pnrs: RoaringBitmap,
    /// Subscribed municipality codes (1-999).
    pub municipalities: BTreeSet<u16>,
    /// Subscribed age ranges.
    pub ages: Vec<AgeRange>,
    /// Subscribed event codes.
    pub change_codes: BTreeSet<EventCode>,
    /// Every person, whatever the other filters say.
    pub no_filter: bool,
}

/// A subscriber: id and filters.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscriber {
    /// The id (its outbox folder's name).
    pub id: SubscriberId,
    /// The filters.
    pub filters: SubscriberFilters,
}

/// A PNR subscription that moves from a changed PNR to its valid one (SEMANTICS.md §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PnrMove {
    /// The changed PNR (status 60), subscribed today.
    pub from: Pnr,
    /// Its PNRGAELD.
    pub to: Pnr,
}

/// What the filters chose for one subscriber on one day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// Indices of the day's person blocks (see [`DayIndex`]) to deliver.
    pub blocks: RoaringBitmap,
    /// The subscriber's PNR subscriptions that move after today's delivery.
    pub moves: Vec<PnrMove>,
}

/// One subscriber, compiled: its PNR set (borrowed, never copied: PNR lists can hold
/// hundreds of thousands of PNRs) and indices into the shared predicate lists.
#[derive(Clone, Debug)]
struct Compiled<'a> {
    pnrs: &'a RoaringBitmap,
    municipalities: Vec<usize>,
    ages: Vec<usize>,
    codes: Vec<usize>,
    no_filter: bool,
}

/// All subscribers compiled once. Evaluation computes each distinct predicate's bitmap of
/// block indices once and gives every subscriber the union of its predicates' bitmaps, so its
/// cost grows with the number of *distinct* predicates plus a few bitmap unions per
/// subscriber. It borrows the subscribers' PNR sets.
#[derive(Clone, Debug)]
pub struct FilterSet<'a> {
    ids: Vec<SubscriberId>,
    municipalities: Vec<u16>,
    ages: Vec<AgeRange>,
    codes: Vec<EventCode>,
    subscribers: Vec<Compiled<'a>>,
}

/// Interns values into a list of distinct ones, returning each value's index.
struct Interner<T> {
    values: Vec<T>,
    index: HashMap<T, usize>,
}

impl<T: Copy + Eq + std::hash::Hash> Interner<T> {
    fn new() -> Self {
        Interner {
            values: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn intern(&mut self, v: T) -> usize {
        *self.index.entry(v).or_insert_with(|| {
            self.values.push(v);
            self.values.len() - 1
        })
    }
}

impl<'a> FilterSet<'a> {
    /// Compiles subscribers (in the order given, which is the order of every result).
    pub fn compile(subscribers: &'a [Subscriber]) -> Result<FilterSet<'a>, EngineError> {
        let mut seen = BTreeSet::new();
        let (mut munis, mut ages, mut codes) = (Interner::new(), Interner::new(), Interner::new());
        let mut compiled = Vec::with_capacity(subscribers.len());
        for s in subscribers {
            if !seen.insert(&s.id) {
                return Err(EngineError::DuplicateSubscriber {
                    id: s.id.to_string(),
                });
            }
            let f = &s.filters;
            compiled.push(Compiled {
                pnrs: &f.pnrs,
                municipalities: f.municipalities.iter().map(|&m| munis.intern(m)).collect(),
                ages: f
                    .ages
                    .iter()
                    .filter(|r| r.start <= r.end)
                    .map(|&r| ages.intern(r))
                    .collect(),
                codes: f.change_codes.iter().map(|&c| codes.intern(c)).collect(),
                no_filter: f.no_filter,
            });
        }
        Ok(FilterSet {
            ids: subscribers.iter().map(|s| s.id.clone()).collect(),
            municipalities: munis.values,
            ages: ages.values,
            codes: codes.values,
            subscribers: compiled,
        })
    }

    /// The subscribers' ids, in order.
    pub fn ids(&self) -> &[SubscriberId] {
        &self.ids
    }

    /// The number of distinct predicates (municipalities, age ranges, event codes): what one
    /// day's evaluation computes besides the per-subscriber unions.
    pub fn distinct_predicates(&self) -> usize {
        self.municipalities.len() + self.ages.len() + self.codes.len()
    }

    /// Evaluates every subscriber against a day: one [`Selection`] per subscriber, in order.
    pub fn evaluate(&self, day: &DayIndex<'_>) -> Vec<Selection> {
        let empty = RoaringBitmap::new();
        let munis: Vec<&RoaringBitmap> = self
            .municipalities
            .iter()
            .map(|&m| day.municipality_blocks(m).unwrap_or(&empty))
            .collect();
        let codes: Vec<&RoaringBitmap> = self
            .codes
            .iter()
            .map(|c| day.event_blocks(c).unwrap_or(&empty))
            .collect();
        let ages: Vec<RoaringBitmap> = self.ages.par_iter().map(|r| day.age_blocks(*r)).collect();
        self.subscribers
            .par_iter()
            .map(|s| {
                if s.no_filter {
                    return Selection {
                        blocks: day.all_blocks().clone(),
                        moves: day.moves_for(s.pnrs),
                    };
                }
                let mut blocks = day.pnr_blocks(s.pnrs);
                for &i in &s.municipalities {
                    blocks |= munis[i];
                }
                for &i in &s.ages {
                    blocks |= &ages[i];
                }
                for &i in &s.codes {
                    blocks |= codes[i];
                }
                Selection {
                    blocks,
                    moves: day.moves_for(s.pnrs),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_escape_the_outbox() {
        for good in [
            "b6f1c2d0-1111-4a4a-9a9a-000000000001",
            "a",
            "A.b_c-9",
            "x..",
        ] {
            assert!(SubscriberId::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            ".hidden",
            "-x",
            "a b",
            "æ",
            long.as_str(),
        ] {
            assert!(SubscriberId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shared_predicates_are_interned() {
        let sub = |id: &str, m: &[u16]| Subscriber {
            id: SubscriberId::new(id).unwrap(),
            filters: SubscriberFilters {
                municipalities: m.iter().copied().collect(),
                ages: vec![AgeRange { start: 0, end: 17 }],
                ..Default::default()
            },
        };
        let subs = [sub("a", &[101, 851]), sub("b", &[851])];
        let set = FilterSet::compile(&subs).unwrap();
        assert_eq!(set.distinct_predicates(), 3);
        assert!(FilterSet::compile(&[sub("a", &[1]), sub("a", &[2])]).is_err());
    }
}
