//! The [`FilterSet`]: every subscriber of the registry compiled once into references to
//! shared predicates, so that a predicate many subscribers share (a municipality, an age range,
//! an event code) is evaluated once per day, not once per subscriber. Subscribers are the
//! registry's own values (`cprsift_subscriptions`): the registry is the one source of truth for
//! what a subscriber is, and the engine borrows its ids and filters as they are.

use std::collections::{BTreeSet, HashMap};

use cprsift_format::EventCode;
use cprsift_subscriptions::{AgeRange, Filters, PnrMove, SubscriberId};
use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::day_index::DayIndex;
use crate::error::EngineError;

/// One subscriber as the engine reads it: the registry's id and filters, borrowed. Implemented
/// for the registry's borrowed pairs ([`cprsift_subscriptions::Registry::subscribers`]) and for
/// references to owned `(SubscriberId, Filters)` pairs, so that neither is converted and no PNR
/// bitmap is copied.
pub trait SubscriberRef<'a> {
    /// The id and the filters.
    fn parts(self) -> (&'a SubscriberId, &'a Filters);
}

impl<'a> SubscriberRef<'a> for (&'a SubscriberId, &'a Filters) {
    fn parts(self) -> (&'a SubscriberId, &'a Filters) {
        self
    }
}

impl<'a> SubscriberRef<'a> for &'a (SubscriberId, Filters) {
    fn parts(self) -> (&'a SubscriberId, &'a Filters) {
        (&self.0, &self.1)
    }
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
    ids: Vec<&'a SubscriberId>,
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
    /// Compiles subscribers (in the order given, which is the order of every result). A
    /// subscriber named twice is refused.
    pub fn compile<S: SubscriberRef<'a>>(
        subscribers: impl IntoIterator<Item = S>,
    ) -> Result<FilterSet<'a>, EngineError> {
        let mut seen = BTreeSet::new();
        let (mut munis, mut ages, mut codes) = (Interner::new(), Interner::new(), Interner::new());
        let mut ids = Vec::new();
        let mut compiled = Vec::new();
        for s in subscribers {
            let (id, f) = s.parts();
            if !seen.insert(id) {
                return Err(EngineError::DuplicateSubscriber { id: id.to_string() });
            }
            ids.push(id);
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
            ids,
            municipalities: munis.values,
            ages: ages.values,
            codes: codes.values,
            subscribers: compiled,
        })
    }

    /// The subscribers' ids, in order.
    pub fn ids(&self) -> &[&'a SubscriberId] {
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
            .zip(self.ids.par_iter())
            .map(|(s, &id)| {
                if s.no_filter {
                    return Selection {
                        blocks: day.all_blocks().clone(),
                        moves: day.moves_for(id, s.pnrs),
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
                    moves: day.moves_for(id, s.pnrs),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine names outbox folders after ids: the registry's id rule must keep them inside.
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
        let sub = |id: &str, m: &[u16]| {
            let filters = Filters {
                municipalities: m.iter().copied().collect(),
                ages: vec![AgeRange { start: 0, end: 17 }],
                ..Default::default()
            };
            (SubscriberId::new(id).unwrap(), filters)
        };
        let subs = [sub("a", &[101, 851]), sub("b", &[851])];
        let set = FilterSet::compile(&subs).unwrap();
        assert_eq!(set.distinct_predicates(), 3);
        assert!(FilterSet::compile(&[sub("a", &[1]), sub("a", &[2])]).is_err());
    }
}
