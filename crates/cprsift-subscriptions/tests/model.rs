//! The registry's set semantics against a naive model (plain Vecs, linear scans) over random
//! operation sequences: every answer, every bulk report, every PNR move and the final state
//! must agree.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;
use std::path::Path;

use cprsift_format::{EventCode, Pnr};
use cprsift_subscriptions::{
    parse_pnr, AgeRange, BulkMode, FilterGroup, Operation, Outcome, PnrList, Registry, SubscriberId,
};
use proptest::prelude::*;
use roaring::RoaringBitmap;

const IDS: [&str; 3] = ["a", "b", "c"];
const PNRS: [&str; 6] = [
    "0101651234",
    "0202651234",
    "0303651234",
    "1503859991",
    "2902004321",
    "3112999999",
];
const CODES: [&str; 3] = ["A01", "A21", "B02"];
const MUNICIPALITIES: [u16; 4] = [1, 101, 851, 999];

#[derive(Debug, Clone)]
enum Step {
    Apply(usize, Operation),
    Create(usize),
    Delete(usize),
    /// Subscriber, mode, lines (indexes into PNRS; None = an invalid line), skip invalid.
    Bulk(usize, BulkMode, Vec<Option<usize>>, bool),
    Move(Vec<(usize, usize)>),
}

fn pnr(i: usize) -> Pnr {
    parse_pnr(PNRS[i]).unwrap()
}

fn operation() -> impl Strategy<Value = Operation> {
    let p = (0..PNRS.len()).prop_map(pnr);
    let age = (0i64..4, 0i64..4)
        .prop_filter_map("start <= end", |(s, e)| AgeRange::new(s * 10, e * 10).ok());
    let code = (0..CODES.len()).prop_map(|i| EventCode::parse(CODES[i]).unwrap());
    let muni = (0..MUNICIPALITIES.len()).prop_map(|i| MUNICIPALITIES[i]);
    let group = (0..4usize).prop_map(|i| FilterGroup::ALL[i]);
    prop_oneof![
        p.clone().prop_map(Operation::AddPnr),
        p.prop_map(Operation::RemovePnr),
        age.clone().prop_map(Operation::AddAgeRange),
        age.prop_map(Operation::RemoveAgeRange),
        muni.clone().prop_map(Operation::AddMunicipalityCode),
        muni.prop_map(Operation::RemoveMunicipalityCode),
        code.clone().prop_map(Operation::AddChangeCode),
        code.prop_map(Operation::RemoveChangeCode),
        group.prop_map(Operation::RemoveAll),
        any::<bool>().prop_map(Operation::SetNoFilter),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0..IDS.len();
    let mode = prop_oneof![
        Just(BulkMode::Add),
        Just(BulkMode::Remove),
        Just(BulkMode::Sync)
    ];
    let line = prop_oneof![4 => (0..PNRS.len()).prop_map(Some), 1 => Just(None)];
    prop_oneof![
        6 => (id.clone(), operation()).prop_map(|(i, op)| Step::Apply(i, op)),
        1 => id.clone().prop_map(Step::Create),
        1 => id.clone().prop_map(Step::Delete),
        2 => (id, mode, prop::collection::vec(line, 0..8), any::<bool>())
            .prop_map(|(i, m, l, s)| Step::Bulk(i, m, l, s)),
        1 => prop::collection::vec((0..PNRS.len(), 0..PNRS.len()), 0..4).prop_map(Step::Move),
    ]
}

/// The naive model of one subscriber: unsorted Vecs, membership by linear scan.
#[derive(Debug, Clone, Default, PartialEq)]
struct Naive {
    pnrs: Vec<u32>,
    municipalities: Vec<u16>,
    ages: Vec<(u16, u16)>,
    codes: Vec<[u8; 3]>,
    no_filter: bool,
}

fn add<T: PartialEq>(v: &mut Vec<T>, x: T) -> Outcome {
    if v.contains(&x) {
        Outcome::AlreadyExisted
    } else {
        v.push(x);
        Outcome::Added
    }
}

fn remove<T: PartialEq>(v: &mut Vec<T>, x: &T) -> Outcome {
    match v.iter().position(|y| y == x) {
        Some(i) => {
            v.remove(i);
            Outcome::Removed
        }
        None => Outcome::NonExisting,
    }
}

fn clear<T>(v: &mut Vec<T>) -> Outcome {
    if v.is_empty() {
        Outcome::NonExisting
    } else {
        v.clear();
        Outcome::Removed
    }
}

impl Naive {
    fn apply(&mut self, op: Operation, replica: Option<&[u32]>) -> Outcome {
        match op {
            Operation::AddPnr(p) => {
                if self.pnrs.contains(&p.key()) {
                    Outcome::AlreadyExisted
                } else if replica.is_some_and(|r| !r.contains(&p.key())) {
                    Outcome::NonExistingPnr
                } else {
                    add(&mut self.pnrs, p.key())
                }
            }
            Operation::RemovePnr(p) => remove(&mut self.pnrs, &p.key()),
            Operation::AddAgeRange(r) => add(&mut self.ages, (r.start, r.end)),
            Operation::RemoveAgeRange(r) => remove(&mut self.ages, &(r.start, r.end)),
            Operation::AddMunicipalityCode(c) => add(&mut self.municipalities, c),
            Operation::RemoveMunicipalityCode(c) => remove(&mut self.municipalities, &c),
            Operation::AddChangeCode(c) => add(&mut self.codes, *c.as_bytes()),
            Operation::RemoveChangeCode(c) => remove(&mut self.codes, c.as_bytes()),
            Operation::RemoveAll(FilterGroup::Pnr) => clear(&mut self.pnrs),
            Operation::RemoveAll(FilterGroup::AgeRange) => clear(&mut self.ages),
            Operation::RemoveAll(FilterGroup::MunicipalityCode) => clear(&mut self.municipalities),
            Operation::RemoveAll(FilterGroup::EventChangeCode) => clear(&mut self.codes),
            Operation::SetNoFilter(on) => {
                let was = self.no_filter;
                self.no_filter = on;
                match (on, was) {
                    (true, true) => Outcome::AlreadyExisted,
                    (true, false) => Outcome::Added,
                    (false, true) => Outcome::Removed,
                    (false, false) => Outcome::NonExisting,
                }
            }
        }
    }

    fn sorted(mut self) -> Naive {
        self.pnrs.sort_unstable();
        self.municipalities.sort_unstable();
        self.ages.sort_unstable();
        self.codes.sort_unstable();
        self
    }
}

fn view(reg: &Registry) -> BTreeMap<String, Naive> {
    reg.subscribers()
        .map(|(id, f)| {
            let n = Naive {
                pnrs: f.pnrs.iter().collect(),
                municipalities: f.municipalities.iter().copied().collect(),
                ages: f.ages.iter().map(|r| (r.start, r.end)).collect(),
                codes: f.change_codes.iter().map(|c| *c.as_bytes()).collect(),
                no_filter: f.no_filter,
            };
            (id.to_string(), n)
        })
        .collect()
}

/// Counts as (added, removed, already, non_existing, non_existing_pnr).
type Counts = (u64, u64, u64, u64, u64);

fn count(c: &mut Counts, o: Outcome) {
    match o {
        Outcome::Added => c.0 += 1,
        Outcome::Removed => c.1 += 1,
        Outcome::AlreadyExisted => c.2 += 1,
        Outcome::NonExisting => c.3 += 1,
        Outcome::NonExistingPnr => c.4 += 1,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn registry_equals_naive_model(
        steps in prop::collection::vec(step(), 0..40),
        replica_members in prop::option::of(prop::collection::vec(0..PNRS.len(), 0..6)),
    ) {
        let replica_keys: Option<Vec<u32>> =
            replica_members.map(|m| m.into_iter().map(|i| pnr(i).key()).collect());
        let replica_bitmap: Option<RoaringBitmap> =
            replica_keys.as_ref().map(|k| k.iter().copied().collect());
        let replica = replica_bitmap.as_ref().map(|b| b as &dyn cprsift_subscriptions::PnrDirectory);
        let mut reg = Registry::new();
        let mut model: BTreeMap<String, Naive> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Apply(i, op) => {
                    let id = SubscriberId::new(IDS[i]).unwrap();
                    let got = reg.apply(&id, op, replica);
                    let mut n = model.get(IDS[i]).cloned().unwrap_or_default();
                    let want = n.apply(op, replica_keys.as_deref());
                    if model.contains_key(IDS[i]) || want == Outcome::Added {
                        model.insert(IDS[i].to_owned(), n);
                    }
                    prop_assert_eq!(got, want, "{:?}", op);
                }
                Step::Create(i) => {
                    let got = reg.create_subscriber(&SubscriberId::new(IDS[i]).unwrap());
                    let want = if model.contains_key(IDS[i]) {
                        Outcome::AlreadyExisted
                    } else {
                        model.insert(IDS[i].to_owned(), Naive::default());
                        Outcome::Added
                    };
                    prop_assert_eq!(got, want);
                }
                Step::Delete(i) => {
                    let got = reg.remove_subscriber(&SubscriberId::new(IDS[i]).unwrap());
                    let want = match model.remove(IDS[i]) {
                        Some(_) => Outcome::Removed,
                        None => Outcome::NonExisting,
                    };
                    prop_assert_eq!(got, want);
                }
                Step::Bulk(i, mode, lines, skip) => {
                    let text: String = lines
                        .iter()
                        .map(|l| match l {
                            Some(p) => format!("{}\n", PNRS[*p]),
                            None => "not-a-pnr\n".to_owned(),
                        })
                        .collect();
                    let list = PnrList::parse(Path::new("list"), text.as_bytes());
                    let id = SubscriberId::new(IDS[i]).unwrap();
                    let before = view(&reg);
                    let got = reg.bulk(&id, mode, &list, skip, replica);
                    let invalid = lines.iter().any(Option::is_none);
                    if invalid && (!skip || mode == BulkMode::Sync) {
                        prop_assert!(got.is_err());
                        prop_assert_eq!(view(&reg), before, "a refused bulk changes nothing");
                        continue;
                    }
                    let report = got.unwrap();
                    let mut n = model.get(IDS[i]).cloned().unwrap_or_default();
                    let mut c: Counts = (0, 0, 0, 0, 0);
                    for p in lines.iter().flatten() {
                        let op = match mode {
                            BulkMode::Remove => Operation::RemovePnr(pnr(*p)),
                            _ => Operation::AddPnr(pnr(*p)),
                        };
                        count(&mut c, n.apply(op, replica_keys.as_deref()));
                    }
                    if mode == BulkMode::Sync {
                        let listed: Vec<u32> = lines.iter().flatten().map(|p| pnr(*p).key()).collect();
                        let before_len = n.pnrs.len();
                        n.pnrs.retain(|k| listed.contains(k));
                        c.1 = (before_len - n.pnrs.len()) as u64;
                    }
                    if model.contains_key(IDS[i]) || c.0 > 0 {
                        model.insert(IDS[i].to_owned(), n);
                    }
                    prop_assert_eq!(
                        (report.added, report.removed, report.already_existed,
                         report.non_existing, report.non_existing_pnr),
                        c
                    );
                    prop_assert_eq!(report.rejected.len(), lines.iter().filter(|l| l.is_none()).count());
                }
                Step::Move(pairs) => {
                    let moves: Vec<(Pnr, Pnr)> = pairs.iter().map(|&(x, y)| (pnr(x), pnr(y))).collect();
                    let got: Vec<(String, u32, u32)> = reg
                        .move_pnr_subscriptions(&moves)
                        .into_iter()
                        .map(|m| (m.subscriber.to_string(), m.from.key(), m.to.key()))
                        .collect();
                    let mut want = Vec::new();
                    for (id, n) in model.iter_mut() {
                        let before = n.pnrs.clone();
                        let moved = |k: &u32| moves.iter().any(|(x, y)| x != y && x.key() == *k);
                        n.pnrs.retain(|k| !moved(k));
                        for (x, y) in &moves {
                            if x != y && before.contains(&x.key()) {
                                if !n.pnrs.contains(&y.key()) {
                                    n.pnrs.push(y.key());
                                }
                                want.push((id.clone(), x.key(), y.key()));
                            }
                        }
                    }
                    prop_assert_eq!(got, want);
                }
            }
            let sorted: BTreeMap<String, Naive> =
                model.iter().map(|(k, v)| (k.clone(), v.clone().sorted())).collect();
            prop_assert_eq!(view(&reg), sorted);
        }
    }
}
