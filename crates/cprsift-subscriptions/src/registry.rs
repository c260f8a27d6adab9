//! All subscribers and their filters, in id order, with the service's operations, the bulk
//! operations and the PNR-change rule.

use std::collections::BTreeMap;

use cprsift_format::Pnr;
use roaring::RoaringBitmap;

use crate::error::SubscriptionError;
use crate::filters::{Filters, Operation, Outcome, PnrDirectory};
use crate::pnr_list::PnrList;
use crate::values::SubscriberId;

/// Every subscriber with its filters. Iteration is in id order, so everything derived from a
/// registry (exports, stores, delivery order) is deterministic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registry {
    subscribers: BTreeMap<SubscriberId, Filters>,
}

/// The three bulk operations on a PNR list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMode {
    /// AddPNRSubscription for every line, in file order.
    Add,
    /// RemovePNRSubscription for every line, in file order.
    Remove,
    /// Makes the PNR set equal to the list: an add for every line, in file order, then a remove
    /// of every subscribed PNR not in the list.
    Sync,
}

/// What a bulk operation did: how many lines (or, for a sync's removals, PNRs) got each answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// ADDED answers.
    pub added: u64,
    /// REMOVED answers (for a sync: subscribed PNRs not in the list).
    pub removed: u64,
    /// ALREADY_EXISTED answers (a PNR listed twice answers this the second time).
    pub already_existed: u64,
    /// NON_EXISTING answers.
    pub non_existing: u64,
    /// NON_EXISTING_PNR answers (only with a replica).
    pub non_existing_pnr: u64,
    /// Invalid lines that were skipped (only when skipping was asked for).
    pub rejected: Vec<crate::error::RejectedLine>,
}

impl BulkReport {
    fn count(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Added => &mut self.added,
            Outcome::Removed => &mut self.removed,
            Outcome::AlreadyExisted => &mut self.already_existed,
            Outcome::NonExisting => &mut self.non_existing,
            Outcome::NonExistingPnr => &mut self.non_existing_pnr,
        };
        *slot += 1;
    }

    /// True when the registry changed.
    pub fn changed(&self) -> bool {
        self.added > 0 || self.removed > 0
    }
}

/// One PNR subscription moved by a PNR change (docs/rules.md §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PnrMove {
    /// The subscriber whose subscription moved.
    pub subscriber: SubscriberId,
    /// The old PNR (X, status 60).
    pub from: Pnr,
    /// The new PNR (Y, X's PNRGAELD).
    pub to: Pnr,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The number of subscribers.
    pub fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// True when there is no subscriber.
    pub fn is_empty(&self) -> bool {
        self.subscribers.is_empty()
    }

    /// Every subscriber with its filters, in id order.
    pub fn subscribers(&self) -> impl ExactSizeIterator<Item = (&SubscriberId, &Filters)> {
        self.subscribers.iter()
    }

    /// One subscriber's filters (GetAllFilters).
    pub fn get(&self, id: &SubscriberId) -> Option<&Filters> {
        self.subscribers.get(id)
    }

    /// Puts a subscriber with the given filters, replacing any it had; returns the old ones.
    /// Age ranges are normalised (sorted, deduplicated).
    pub fn insert(&mut self, id: SubscriberId, mut filters: Filters) -> Option<Filters> {
        filters.ages = Filters::normalise_ages(filters.ages);
        self.subscribers.insert(id, filters)
    }

    /// Creates a subscriber without filters: ADDED, or ALREADY_EXISTED (filters untouched).
    pub fn create_subscriber(&mut self, id: &SubscriberId) -> Outcome {
        if self.subscribers.contains_key(id) {
            Outcome::AlreadyExisted
        } else {
            self.subscribers.insert(id.clone(), Filters::default());
            Outcome::Added
        }
    }

    /// Removes a subscriber and all its filters: REMOVED, or NON_EXISTING.
    pub fn remove_subscriber(&mut self, id: &SubscriberId) -> Outcome {
        if self.subscribers.remove(id).is_some() {
            Outcome::Removed
        } else {
            Outcome::NonExisting
        }
    }

    /// Applies one operation to a subscriber. An unknown subscriber is created by an operation
    /// that answers ADDED, and only then; other answers leave the registry as it was.
    pub fn apply(
        &mut self,
        id: &SubscriberId,
        op: Operation,
        replica: Option<&dyn PnrDirectory>,
    ) -> Outcome {
        self.with_filters(id, |f| {
            let outcome = f.apply(op, replica);
            (outcome, outcome == Outcome::Added)
        })
    }

    /// Applies a bulk operation in one step. A list with rejected lines changes nothing and is
    /// refused, unless `skip_invalid` (refused for [`BulkMode::Sync`]: a skipped line would
    /// remove the subscription it was meant to keep). An unknown subscriber is created when
    /// something is added.
    pub fn bulk(
        &mut self,
        id: &SubscriberId,
        mode: BulkMode,
        list: &PnrList,
        skip_invalid: bool,
        replica: Option<&dyn PnrDirectory>,
    ) -> Result<BulkReport, SubscriptionError> {
        if !list.rejected.is_empty() {
            if mode == BulkMode::Sync && skip_invalid {
                return Err(SubscriptionError::SyncSkipsInvalid);
            }
            if !skip_invalid {
                return Err(list.refusal());
            }
        }
        let report = self.with_filters(id, |f| {
            let mut report = BulkReport {
                rejected: list.rejected.clone(),
                ..BulkReport::default()
            };
            for &(_, pnr) in &list.pnrs {
                let op = match mode {
                    BulkMode::Add | BulkMode::Sync => Operation::AddPnr(pnr),
                    BulkMode::Remove => Operation::RemovePnr(pnr),
                };
                report.count(f.apply(op, replica));
            }
            if mode == BulkMode::Sync {
                let listed: RoaringBitmap = list.pnrs.iter().map(|(_, p)| p.key()).collect();
                let stale = &f.pnrs - &listed;
                report.removed = stale.len();
                f.pnrs -= stale;
            }
            let created = report.added > 0;
            (report, created)
        });
        Ok(report)
    }

    /// Runs `change` on a subscriber's filters; an unknown subscriber gets empty filters, kept
    /// only when `change` says so.
    fn with_filters<T>(
        &mut self,
        id: &SubscriberId,
        change: impl FnOnce(&mut Filters) -> (T, bool),
    ) -> T {
        if let Some(filters) = self.subscribers.get_mut(id) {
            return change(filters).0;
        }
        let mut filters = Filters::default();
        let (result, keep) = change(&mut filters);
        if keep {
            self.subscribers.insert(id.clone(), filters);
        }
        result
    }

    /// docs/rules.md §2, PNR changes: for every `(x, y)` (x's block had status 60 and PNRGAELD
    /// y), a PNR subscription on x moves to y. All moves are judged against the sets as they
    /// were before the call, so chains are not followed (`x -> y`, `y -> z` moves a
    /// subscription on x to y, not to z). Pairs with `x == y` are ignored. Returns the moves
    /// made, by subscriber id, then in the order of `moves`.
    pub fn move_pnr_subscriptions(&mut self, moves: &[(Pnr, Pnr)]) -> Vec<PnrMove> {
        let sources: RoaringBitmap = moves
            .iter()
            .filter(|(x, y)| x != y)
            .map(|(x, _)| x.key())
            .collect();
        let mut made = Vec::new();
        for (id, filters) in &mut self.subscribers {
            if filters.pnrs.is_disjoint(&sources) {
                continue;
            }
            let before = filters.pnrs.clone();
            let moved = &before & &sources;
            filters.pnrs -= &moved;
            for &(x, y) in moves {
                if x != y && moved.contains(x.key()) {
                    filters.pnrs.insert(y.key());
                    made.push(PnrMove {
                        subscriber: id.clone(),
                        from: x,
                        to: y,
                    });
                }
            }
        }
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::parse_pnr;
    use std::path::Path;

    fn id(s: &str) -> SubscriberId {
        SubscriberId::new(s).unwrap()
    }
    fn pnr(s: &str) -> Pnr {
        parse_pnr(s).unwrap()
    }

    #[test]
    fn unknown_subscriber_is_created_by_an_add_only() {
        let mut reg = Registry::new();
        let a = id("a");
        let p = pnr("0101651234");
        assert_eq!(
            reg.apply(&a, Operation::RemovePnr(p), None),
            Outcome::NonExisting
        );
        assert!(reg.is_empty());
        let replica = RoaringBitmap::new();
        assert_eq!(
            reg.apply(&a, Operation::AddPnr(p), Some(&replica)),
            Outcome::NonExistingPnr
        );
        assert!(reg.is_empty());
        assert_eq!(reg.apply(&a, Operation::AddPnr(p), None), Outcome::Added);
        assert_eq!(reg.len(), 1);
        assert_eq!(
            reg.apply(&a, Operation::RemovePnr(p), None),
            Outcome::Removed
        );
        assert_eq!(reg.len(), 1, "a subscriber without filters stays");
        assert!(reg.get(&a).unwrap().is_empty());
        assert_eq!(reg.remove_subscriber(&a), Outcome::Removed);
        assert_eq!(reg.remove_subscriber(&a), Outcome::NonExisting);
        assert_eq!(reg.create_subscriber(&a), Outcome::Added);
        assert_eq!(reg.create_subscriber(&a), Outcome::AlreadyExisted);
    }

    fn list(text: &str) -> PnrList {
        PnrList::parse(Path::new("l.txt"), text.as_bytes())
    }

    #[test]
    fn bulk_add_remove_sync() {
        let mut reg = Registry::new();
        let a = id("a");
        let l = list("0101651234\n0202651234\n0101651234\n");
        let r = reg.bulk(&a, BulkMode::Add, &l, false, None).unwrap();
        assert_eq!((r.added, r.already_existed), (2, 1));
        let replica: RoaringBitmap = [pnr("0303651234").key()].into_iter().collect();
        let l = list("0303651234\n0404651234\n0101651234\n");
        let r = reg
            .bulk(&a, BulkMode::Sync, &l, false, Some(&replica))
            .unwrap();
        assert_eq!(
            (r.added, r.already_existed, r.non_existing_pnr, r.removed),
            (1, 1, 1, 1)
        );
        let held: Vec<Pnr> = reg.get(&a).unwrap().pnr_list().collect();
        assert_eq!(held, vec![pnr("0101651234"), pnr("0303651234")]);
        let r = reg
            .bulk(
                &a,
                BulkMode::Remove,
                &list("0101651234\n0909651234"),
                false,
                None,
            )
            .unwrap();
        assert_eq!((r.removed, r.non_existing), (1, 1));
    }

    #[test]
    fn bulk_with_invalid_lines() {
        let mut reg = Registry::new();
        let a = id("a");
        let l = list("0101651234\nnonsense\n");
        let e = reg.bulk(&a, BulkMode::Add, &l, false, None).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        assert!(reg.is_empty(), "nothing changed");
        assert!(matches!(
            reg.bulk(&a, BulkMode::Sync, &l, true, None),
            Err(SubscriptionError::SyncSkipsInvalid)
        ));
        let r = reg.bulk(&a, BulkMode::Add, &l, true, None).unwrap();
        assert_eq!(r.added, 1);
        assert_eq!(r.rejected.len(), 1);
        assert_eq!(r.rejected[0].line, 2);
    }

    #[test]
    fn pnr_moves_follow_no_chains() {
        let (x, y, z) = (pnr("0101651234"), pnr("0202651234"), pnr("0303651234"));
        let mut reg = Registry::new();
        for (s, ps) in [
            ("a", vec![x]),
            ("b", vec![y]),
            ("c", vec![x, y]),
            ("d", vec![z]),
        ] {
            let f = Filters {
                pnrs: ps.iter().map(|p| p.key()).collect(),
                ..Filters::default()
            };
            reg.insert(id(s), f);
        }
        let moves = reg.move_pnr_subscriptions(&[(x, y), (y, z), (z, z)]);
        let pnrs = |s: &str| reg.get(&id(s)).unwrap().pnr_list().collect::<Vec<_>>();
        assert_eq!(pnrs("a"), vec![y]);
        assert_eq!(pnrs("b"), vec![z]);
        assert_eq!(pnrs("c"), vec![y, z]);
        assert_eq!(pnrs("d"), vec![z]);
        let summary: Vec<(String, Pnr, Pnr)> = moves
            .into_iter()
            .map(|m| (m.subscriber.to_string(), m.from, m.to))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("a".into(), x, y),
                ("b".into(), y, z),
                ("c".into(), x, y),
                ("c".into(), y, z)
            ]
        );
    }
}
