//! The replica as the fan-out core reads it: the "before" municipality of the day's persons
//! and, for initial loads, every stored person in ascending PNR order. A view, so the core
//! never depends on the replica crate.

use chrono::NaiveDate;
use cprsift_engine::{EngineError, PersonSource, PriorState, SourcePerson};
use cprsift_format::Pnr;
use cprsift_replica::Replica;

/// A borrowed replica, seen through the core's two traits.
#[derive(Clone, Copy, Debug)]
pub struct ReplicaView<'r>(pub &'r Replica);

impl PriorState for ReplicaView<'_> {
    fn municipality_before(&self, pnr: Pnr) -> Option<u16> {
        self.0.lookup(pnr).and_then(|e| e.municipality)
    }
}

impl PersonSource for ReplicaView<'_> {
    fn date(&self) -> NaiveDate {
        self.0.proddto()
    }

    fn opgavenr(&self) -> [u8; 6] {
        self.0.opgavenr()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn person_at(&self, i: usize) -> Result<SourcePerson<'_>, EngineError> {
        let p = self.0.person_at(i);
        Ok(SourcePerson {
            pnr: p.entry.pnr,
            municipality: p.entry.municipality,
            birth_date: p.entry.birth_date,
            status: p.entry.status,
            block: p.block,
            clear_address: p.clear_address,
        })
    }
}
