//! The day's index: one change extract's person blocks, as the single-pass reader found and
//! checked them, with roaring bitmaps of day block numbers per municipality (before and after),
//! per age, per event code, and the PNRs present. Day block numbers follow the input order (the
//! blocks set aside in lenient mode left out), so a bitmap's ascending iteration is the
//! delivery order.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use cprsift_format::date::age_on;
use cprsift_format::{
    BlockFacts, CheckedExtract, EventCode, Extract, Header, ParseError, PersonBlock, Pnr, Record,
};
use cprsift_subscriptions::{AgeRange, PnrMove, SubscriberId};
use rayon::prelude::*;
use roaring::RoaringBitmap;

/// The replica's state before today's extract is applied, as the daily filters need it.
pub trait PriorState: Sync {
    /// The person's current municipality (002 KOMKOD) in the replica; `None` when the replica
    /// does not hold the PNR or holds it without a municipality.
    fn municipality_before(&self, pnr: Pnr) -> Option<u16>;
}

impl PriorState for HashMap<Pnr, u16> {
    fn municipality_before(&self, pnr: Pnr) -> Option<u16> {
        self.get(&pnr).copied()
    }
}

/// How the daily filters read the day (docs/rules.md §2 switches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Switch `after-only`: the municipality filter looks only at today's 002 KOMKOD, not at
    /// the replica's municipality before the change.
    pub after_only: bool,
    /// Switch `main-only`: the change-code filter looks only at 099 records of the main
    /// person (AFLEDTMRK blank), not at derived events.
    pub main_events_only: bool,
}

/// A status-60 block with PNRGAELD: the subscription on `from` moves to `to`.
#[derive(Clone, Copy, Debug)]
struct PnrChange {
    from: Pnr,
    to: Pnr,
    to_block: Option<u32>,
}

/// The day's index. See the module documentation. It borrows the extract as the reader
/// checked it: block bytes, records and 003 records are views of the input, and the facts the
/// filters need (municipality, birth date, status, events) were gathered by that one read.
pub struct DayIndex<'c> {
    checked: &'c CheckedExtract<'c>,
    extract: &'c Extract<'c>,
    header: Header,
    /// For each day block (the numbering of every bitmap), the reader's block index.
    blocks: Vec<u32>,
    /// (PNR key, day block), sorted by key.
    by_key: Vec<(u32, u32)>,
    /// The kept blocks' 003 records, framed once, grouped by day block (each group in tail
    /// order); day block `d`'s are `tail[tail_start[d]..tail_start[d + 1]]`.
    tail: Vec<Record<'c>>,
    tail_start: Vec<u32>,
    all: RoaringBitmap,
    pnr_keys: RoaringBitmap,
    municipality: HashMap<u16, RoaringBitmap>,
    by_age: BTreeMap<u32, RoaringBitmap>,
    events: HashMap<EventCode, RoaringBitmap>,
    changes: Vec<PnrChange>,
    changed_keys: RoaringBitmap,
}

fn insert(map: &mut HashMap<u16, RoaringBitmap>, code: u16, i: u32) {
    map.entry(code).or_default().insert(i);
}

/// The keys of the day's (small) set `day` that are also in a subscriber's (possibly large)
/// set `subscribed`, in ascending order. A weekday holds a few thousand persons while a PNR-list
/// subscriber may hold 200,000 PNRs spread over as many roaring containers: probing the day's
/// keys costs O(day x log(containers)) per subscriber, where a container-by-container
/// intersection costs O(containers). The intersection is used when the sets are of similar size.
fn common_keys<'s>(
    day: &'s RoaringBitmap,
    subscribed: &'s RoaringBitmap,
) -> Box<dyn Iterator<Item = u32> + 's> {
    if day.len().saturating_mul(PROBE_RATIO) < subscribed.len() {
        Box::new(day.iter().filter(move |&k| subscribed.contains(k)))
    } else {
        Box::new((day & subscribed).into_iter())
    }
}

/// How much larger a subscriber's PNR set must be than the day's before probing wins.
const PROBE_RATIO: u64 = 4;

impl<'c> DayIndex<'c> {
    /// Indexes a change extract the reader checked. `set_aside` lists the reader's block
    /// indices left out (lenient mode; ascending): the index, its numbering and every file hold
    /// only the other blocks. Fails with the error to report when the file has no readable
    /// frame or its 000 lacks what a delivery needs ([`Header`]). `prior` answers the "before"
    /// municipality.
    pub fn build(
        checked: &'c CheckedExtract<'c>,
        prior: &dyn PriorState,
        options: MatchOptions,
        set_aside: &[usize],
    ) -> Result<DayIndex<'c>, ParseError> {
        let extract = checked.frame()?;
        let header = Header::of(extract)?;
        let facts = checked.blocks();
        let kept: Vec<u32> = (0..facts.len())
            .filter(|i| set_aside.binary_search(i).is_err())
            .map(|i| i as u32)
            .collect();
        let before: Vec<Option<u16>> = if options.after_only {
            vec![None; kept.len()]
        } else {
            kept.par_iter()
                .map(|&i| prior.municipality_before(facts[i as usize].pnr()))
                .collect()
        };
        let mut day = DayIndex {
            checked,
            extract,
            header,
            blocks: kept,
            by_key: Vec::new(),
            tail: Vec::new(),
            tail_start: vec![0],
            all: RoaringBitmap::new(),
            pnr_keys: RoaringBitmap::new(),
            municipality: HashMap::new(),
            by_age: BTreeMap::new(),
            events: HashMap::new(),
            changes: Vec::new(),
            changed_keys: RoaringBitmap::new(),
        };
        for (d, before) in before.into_iter().enumerate() {
            let block = day.blocks[d] as usize;
            day.push(d as u32, &facts[block], before, block, options);
        }
        day.by_key.sort_unstable();
        for c in &mut day.changes {
            c.to_block = day
                .by_key
                .binary_search_by_key(&c.to.key(), |&(k, _)| k)
                .ok()
                .map(|i| day.by_key[i].1);
        }
        day.changes.sort_unstable_by_key(|c| c.from);
        Ok(day)
    }

    fn push(
        &mut self,
        d: u32,
        facts: &BlockFacts,
        before: Option<u16>,
        block: usize,
        options: MatchOptions,
    ) {
        let pnr = facts.pnr();
        self.tail.extend(self.checked.tail_records(block));
        self.tail_start.push(self.tail.len() as u32);
        self.all.push(d);
        self.pnr_keys.insert(pnr.key());
        self.by_key.push((pnr.key(), d));
        let after = facts.municipality();
        if let Some(m) = after {
            insert(&mut self.municipality, m, d);
        }
        if let Some(m) = before.filter(|&b| Some(b) != after) {
            insert(&mut self.municipality, m, d);
        }
        if let Some(age) = facts
            .birth_date()
            .and_then(|b| age_on(b, self.header.proddto))
        {
            self.by_age.entry(age).or_default().push(d);
        }
        for event in self.checked.events(block) {
            if event.main || !options.main_events_only {
                self.events.entry(event.code).or_default().insert(d);
            }
        }
        if let (Some(60), Some(to)) = (facts.status(), facts.pnr_gaeld().filter(|&to| to != pnr)) {
            self.changes.push(PnrChange {
                from: pnr,
                to,
                to_block: None,
            });
            self.changed_keys.insert(pnr.key());
        }
    }

    /// The checked extract the day was built from.
    pub fn checked(&self) -> &'c CheckedExtract<'c> {
        self.checked
    }

    /// The extract's frame (000, 999, ...).
    pub fn extract(&self) -> &'c Extract<'c> {
        self.extract
    }

    /// What the 000 record says: PRODDTO, PRODDTOFORRIG, OPGAVENR.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// 000 PRODDTO.
    pub fn proddto(&self) -> NaiveDate {
        self.header.proddto
    }

    /// The number of person blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True when the extract holds no person.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Day block `i` (input order) as a view of the input, when it exists.
    pub fn block(&self, i: u32) -> Option<PersonBlock<'c>> {
        self.checked.block(*self.blocks.get(i as usize)? as usize)
    }

    /// The reader's facts of day block `i`, when it exists.
    pub fn facts(&self, i: u32) -> Option<&'c BlockFacts> {
        self.checked
            .blocks()
            .get(*self.blocks.get(i as usize)? as usize)
    }

    /// The index of a person's block.
    pub fn block_of(&self, pnr: Pnr) -> Option<u32> {
        self.by_key
            .binary_search_by_key(&pnr.key(), |&(k, _)| k)
            .ok()
            .map(|i| self.by_key[i].1)
    }

    /// The 003 records of the given day blocks, in tail order (a 003 whose PNR has no block
    /// today is never delivered).
    pub fn tail_of(&self, blocks: &RoaringBitmap) -> Vec<Record<'c>> {
        let mut out: Vec<Record<'c>> = blocks
            .iter()
            .filter_map(|b| {
                let from = *self.tail_start.get(b as usize)? as usize;
                let to = *self.tail_start.get(b as usize + 1)? as usize;
                self.tail.get(from..to)
            })
            .flatten()
            .copied()
            .collect();
        out.sort_unstable_by_key(Record::offset);
        out
    }

    /// Every block.
    pub fn all_blocks(&self) -> &RoaringBitmap {
        &self.all
    }

    /// Blocks whose municipality after (or, unless `after-only`, before) is `code`.
    pub fn municipality_blocks(&self, code: u16) -> Option<&RoaringBitmap> {
        self.municipality.get(&code)
    }

    /// Blocks of persons whose age on PRODDTO is in `range`.
    pub fn age_blocks(&self, range: AgeRange) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        for (_, b) in self
            .by_age
            .range(u32::from(range.start)..=u32::from(range.end))
        {
            out |= b;
        }
        out
    }

    /// Blocks with a 099 of this event code (derived ones too, unless `main-only`).
    pub fn event_blocks(&self, code: &EventCode) -> Option<&RoaringBitmap> {
        self.events.get(code)
    }

    /// Blocks of the subscribed PNRs present today, plus, for a subscribed PNR that changed
    /// today (status 60), the block of its PNRGAELD when present.
    pub fn pnr_blocks(&self, pnrs: &RoaringBitmap) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        if pnrs.is_empty() {
            return out;
        }
        for key in common_keys(&self.pnr_keys, pnrs) {
            if let Some(b) = self.block_of(Pnr::from_key(key)) {
                out.insert(b);
            }
        }
        for key in common_keys(&self.changed_keys, pnrs) {
            let change = self.change_of(key);
            if let Some(b) = change.and_then(|c| c.to_block) {
                out.insert(b);
            }
        }
        out
    }

    fn change_of(&self, key: u32) -> Option<&PnrChange> {
        self.changes
            .binary_search_by_key(&key, |c| c.from.key())
            .ok()
            .map(|i| &self.changes[i])
    }

    /// The PNR subscriptions among `subscriber`'s `pnrs` that move today (status 60 with
    /// PNRGAELD).
    pub fn moves_for(&self, subscriber: &SubscriberId, pnrs: &RoaringBitmap) -> Vec<PnrMove> {
        if pnrs.is_empty() {
            return Vec::new();
        }
        common_keys(&self.changed_keys, pnrs)
            .filter_map(|k| self.change_of(k))
            .map(|c| PnrMove {
                subscriber: subscriber.clone(),
                from: c.from,
                to: c.to,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Probing and intersecting give the plain intersection, whichever set is larger.
        #[test]
        fn common_keys_is_the_intersection(
            day in proptest::collection::btree_set(0u32..400_000, 0..50),
            subscribed in proptest::collection::btree_set(0u32..400_000, 0..2_000),
        ) {
            let day: RoaringBitmap = day.into_iter().collect();
            let subscribed: RoaringBitmap = subscribed.into_iter().collect();
            let expected: Vec<u32> = (&day & &subscribed).iter().collect();
            prop_assert_eq!(common_keys(&day, &subscribed).collect::<Vec<_>>(), expected.clone());
            prop_assert_eq!(common_keys(&subscribed, &day).collect::<Vec<_>>(), expected);
        }
    }
}
