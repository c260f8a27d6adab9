//! The day's index: one change extract's person blocks, found in parallel, with roaring
//! bitmaps of block indices per municipality (before and after), per age, per event code, and
//! the PNRs present. Block indices are positions in the extract (input order), so a bitmap's
//! ascending iteration is the delivery order.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::NaiveDate;
use cprsift_format::date::age_on;
use cprsift_format::layout::fields::r099;
use cprsift_format::{EventCode, Extract, PersonBlock, Pnr, Record, RecordType};
use cprsift_subscriptions::{AgeRange, PnrMove, SubscriberId};
use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::error::EngineError;
use crate::lenient::SetAsideBlocks;

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

/// How the daily filters read the day (SEMANTICS.md §2 switches).
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

/// What one block contributes to the indexes, found by the parallel scan.
struct Scan<'a> {
    block: PersonBlock<'a>,
    canonical_lf: bool,
    status: Option<u8>,
    pnr_gaeld: Option<Pnr>,
    after: Option<u16>,
    before: Option<u16>,
    age: Option<u32>,
    events: Vec<EventCode>,
}

/// The day's index. See the module documentation.
pub struct DayIndex<'a> {
    extract: Extract<'a>,
    proddto: NaiveDate,
    blocks: Vec<PersonBlock<'a>>,
    canonical_lf: Vec<bool>,
    tail: Vec<Record<'a>>,
    /// For block `b`, `tail_links[tail_start[b]..tail_start[b + 1]]` are its 003 records'
    /// positions in `tail`.
    tail_start: Vec<u32>,
    tail_links: Vec<u32>,
    by_key: Vec<(u32, u32)>,
    all: RoaringBitmap,
    pnr_keys: RoaringBitmap,
    municipality: HashMap<u16, RoaringBitmap>,
    by_age: BTreeMap<u32, RoaringBitmap>,
    events: HashMap<EventCode, RoaringBitmap>,
    changes: Vec<PnrChange>,
    changed_keys: RoaringBitmap,
}

/// True when the block's bytes are exactly its canonical LF form (every record full length,
/// LF-terminated, nothing between records), so it can be copied as it stands.
fn is_canonical_lf(block: &PersonBlock<'_>, input: &[u8]) -> bool {
    let mut expected = block.range().start;
    for r in block.records() {
        let Ok(r) = r else { return false };
        let end = r.offset() + r.len();
        if r.offset() != expected || r.bytes().len() != r.len() || input.get(end) != Some(&b'\n') {
            return false;
        }
        expected = end + 1;
    }
    expected == block.range().end
}

/// A 099 record's event code. A code that is not `[A-Z][0-9]{2}` (blank, or cut short by a
/// trimmed line) is none: no subscriber can subscribe to it.
fn code_of(r: &Record<'_>) -> Option<EventCode> {
    EventCode::from_bytes(r.field(&r099::HAENDELSE).present())
}

fn scan<'a>(
    block: PersonBlock<'a>,
    input: &'a [u8],
    proddto: NaiveDate,
    prior: &dyn PriorState,
    options: MatchOptions,
) -> Scan<'a> {
    let mut events = Vec::new();
    for r in block.records().filter_map(Result::ok) {
        if r.record_type() != Some(RecordType::EVENT) {
            continue;
        }
        if options.main_events_only && !r.field(&r099::AFLEDTMRK).is_blank() {
            continue;
        }
        events.extend(code_of(&r));
    }
    Scan {
        canonical_lf: is_canonical_lf(&block, input),
        status: block.status(),
        pnr_gaeld: block.pnr_gaeld(),
        after: block.municipality(),
        before: if options.after_only {
            None
        } else {
            prior.municipality_before(block.pnr())
        },
        age: block.birth_date().and_then(|b| age_on(b, proddto)),
        events,
        block,
    }
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

impl<'a> DayIndex<'a> {
    /// Indexes a validated change extract (`extract.check()` must have been valid: a block
    /// error found here is reported as an input error all the same). `prior` answers the
    /// "before" municipality; `path` names the file in errors.
    pub fn build(
        extract: Extract<'a>,
        prior: &dyn PriorState,
        options: MatchOptions,
        path: &Path,
    ) -> Result<DayIndex<'a>, EngineError> {
        Self::build_without(extract, prior, options, path, &SetAsideBlocks::default())
    }

    /// [`DayIndex::build`] leaving out the blocks set aside in lenient mode: the index, block
    /// numbers and every file hold only the others.
    pub(crate) fn build_without(
        extract: Extract<'a>,
        prior: &dyn PriorState,
        options: MatchOptions,
        path: &Path,
        set_aside: &SetAsideBlocks,
    ) -> Result<DayIndex<'a>, EngineError> {
        let input = extract.input();
        let proddto = extract.proddto().ok_or_else(|| EngineError::Outbox {
            path: path.to_path_buf(),
            reason: "the 000 record has no PRODDTO; a delivery needs the production date".into(),
        })?;
        let chunks = extract.block_chunks(rayon::current_num_threads() * 4);
        let scanned: Vec<Result<Vec<Scan<'a>>, EngineError>> = chunks
            .into_par_iter()
            .map(|chunk| {
                chunk
                    .filter(|b| {
                        let start = match b {
                            Ok(b) => b.offset(),
                            Err(e) => e.position.offset as usize,
                        };
                        !set_aside.contains_start(start)
                    })
                    .map(|b| {
                        b.map(|b| scan(b, input, proddto, prior, options))
                            .map_err(|e| EngineError::Input {
                                path: path.to_path_buf(),
                                error: extract.locate(e),
                            })
                    })
                    .collect()
            })
            .collect();
        let mut day = DayIndex {
            proddto,
            blocks: Vec::new(),
            canonical_lf: Vec::new(),
            tail: Vec::new(),
            tail_start: Vec::new(),
            tail_links: Vec::new(),
            by_key: Vec::new(),
            all: RoaringBitmap::new(),
            pnr_keys: RoaringBitmap::new(),
            municipality: HashMap::new(),
            by_age: BTreeMap::new(),
            events: HashMap::new(),
            changes: Vec::new(),
            changed_keys: RoaringBitmap::new(),
            extract,
        };
        for chunk in scanned {
            for s in chunk? {
                day.push(s);
            }
        }
        day.by_key.sort_unstable();
        if let Some(w) = day.by_key.windows(2).find(|w| w[0].0 == w[1].0) {
            let pnr = Pnr::from_key(w[1].0);
            return Err(EngineError::Input {
                path: path.to_path_buf(),
                error: day.extract.locate(
                    cprsift_format::ParseError::new(
                        cprsift_format::ErrorCategory::DuplicatePerson,
                        day.blocks[w[1].1 as usize].offset(),
                        "this person already had a block earlier in the file",
                    )
                    .with_person(Some(pnr)),
                ),
            });
        }
        for c in &mut day.changes {
            c.to_block = day
                .by_key
                .binary_search_by_key(&c.to.key(), |&(k, _)| k)
                .ok()
                .map(|i| day.by_key[i].1);
        }
        day.changes.sort_unstable_by_key(|c| c.from);
        day.index_tail(path)?;
        Ok(day)
    }

    fn push(&mut self, s: Scan<'a>) {
        let i = self.blocks.len() as u32;
        let pnr = s.block.pnr();
        self.all.push(i);
        self.pnr_keys.insert(pnr.key());
        self.by_key.push((pnr.key(), i));
        if let Some(m) = s.after {
            insert(&mut self.municipality, m, i);
        }
        if let Some(m) = s.before.filter(|&b| Some(b) != s.after) {
            insert(&mut self.municipality, m, i);
        }
        if let Some(age) = s.age {
            self.by_age.entry(age).or_default().push(i);
        }
        for code in s.events {
            self.events.entry(code).or_default().insert(i);
        }
        if let (Some(60), Some(to)) = (s.status, s.pnr_gaeld.filter(|&to| to != pnr)) {
            self.changes.push(PnrChange {
                from: pnr,
                to,
                to_block: None,
            });
            self.changed_keys.insert(pnr.key());
        }
        self.canonical_lf.push(s.canonical_lf);
        self.blocks.push(s.block);
    }

    /// Links each 003 record of the tail to its person's block; a 003 whose PNR has no block
    /// today is never delivered.
    fn index_tail(&mut self, path: &Path) -> Result<(), EngineError> {
        let mut links: Vec<(u32, u32)> = Vec::new();
        for r in self.extract.tail() {
            let r = r.map_err(|e| EngineError::Input {
                path: path.to_path_buf(),
                error: self.extract.locate(e),
            })?;
            let block = r.pnr().and_then(|p| self.block_of(p));
            if let Some(b) = block {
                links.push((b, self.tail.len() as u32));
            }
            self.tail.push(r);
        }
        links.sort_unstable();
        self.tail_start = Vec::with_capacity(self.blocks.len() + 1);
        let mut at = 0;
        for b in 0..=self.blocks.len() as u32 {
            while at < links.len() && links[at].0 < b {
                at += 1;
            }
            self.tail_start.push(at as u32);
        }
        self.tail_links = links.into_iter().map(|(_, t)| t).collect();
        Ok(())
    }

    /// The extract.
    pub fn extract(&self) -> &Extract<'a> {
        &self.extract
    }

    /// 000 PRODDTO.
    pub fn proddto(&self) -> NaiveDate {
        self.proddto
    }

    /// The number of person blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True when the extract holds no person.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Block `i` (input order).
    pub fn block(&self, i: u32) -> &PersonBlock<'a> {
        &self.blocks[i as usize]
    }

    /// True when block `i` can be copied as it stands into an LF-framed canonical file.
    pub fn is_canonical_lf(&self, i: u32) -> bool {
        self.canonical_lf[i as usize]
    }

    /// The index of a person's block.
    pub fn block_of(&self, pnr: Pnr) -> Option<u32> {
        self.by_key
            .binary_search_by_key(&pnr.key(), |&(k, _)| k)
            .ok()
            .map(|i| self.by_key[i].1)
    }

    /// The 003 tail's records, in input order.
    pub fn tail(&self) -> &[Record<'a>] {
        &self.tail
    }

    /// Positions in [`DayIndex::tail`] of the 003 records of the given blocks, in tail order.
    pub fn tail_of(&self, blocks: &RoaringBitmap) -> Vec<u32> {
        let mut out = Vec::new();
        for b in blocks {
            let (from, to) = (
                self.tail_start[b as usize] as usize,
                self.tail_start[b as usize + 1] as usize,
            );
            out.extend_from_slice(&self.tail_links[from..to]);
        }
        out.sort_unstable();
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
