//! Shared test helpers: builders of small change extracts and in-memory replicas from person
//! specs, and the slow oracle (plain loops over parsed blocks, HashMap/Vec only, no bitmaps)
//! that the fast path is compared with byte for byte.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::NaiveDate;
use cprsift_engine::{EngineError, PersonSource, SourcePerson};
use cprsift_format::date::age_on;
use cprsift_format::layout::fields::{r000, r001, r002, r003, r099, r999};
use cprsift_format::layout::{R000, R001, R002, R003, R099, R999};
use cprsift_format::write::{write_record, RecordBuilder, Terminator};
use cprsift_format::{EventCode, Extract, ExtractOptions, Pnr, RecordType};
use cprsift_subscriptions::{AgeRange, Filters, SubscriberId};

/// A subscriber as the registry holds it: id and filters.
pub type Subscriber = (SubscriberId, Filters);

/// A date.
pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A PNR from its digits.
pub fn pnr(s: &str) -> Pnr {
    Pnr::parse(s).unwrap()
}

/// One person as a test describes it.
#[derive(Clone, Debug)]
pub struct Person {
    pub pnr: Pnr,
    pub status: u8,
    pub pnr_gaeld: Option<Pnr>,
    pub municipality: Option<u16>,
    /// 001 FOED_DT; `None` = blank (the PNR's date is used).
    pub birth: Option<NaiveDate>,
    /// (event code, derived?)
    pub events: Vec<(&'static str, bool)>,
    pub has_003: bool,
}

impl Person {
    /// A resident of `municipality`, status 01, one A01 main event, with a 003.
    pub fn new(p: &str, municipality: u16) -> Person {
        Person {
            pnr: pnr(p),
            status: 1,
            pnr_gaeld: None,
            municipality: Some(municipality),
            birth: None,
            events: vec![("A01", false)],
            has_003: true,
        }
    }

    /// The block's records (001, 002, then `events` as 099 when `with_events`), each built.
    fn records(&self, with_events: bool) -> Vec<RecordBuilder> {
        let digits = self.pnr.digits();
        let mut out = Vec::new();
        let mut r = RecordBuilder::new(&R001);
        r.text(&r001::PNR, &digits)
            .number(&r001::STATUS, u64::from(self.status));
        if let Some(g) = self.pnr_gaeld {
            r.text(&r001::PNRGAELD, &g.digits());
        }
        if let Some(b) = self.birth {
            r.date(&r001::FOED_DT, b);
        }
        out.push(r);
        if let Some(m) = self.municipality {
            let mut r = RecordBuilder::new(&R002);
            r.text(&r002::PNR, &digits)
                .number(&r002::KOMKOD, u64::from(m));
            out.push(r);
        }
        if with_events {
            for (code, derived) in &self.events {
                let mut r = RecordBuilder::new(&R099);
                r.text(&r099::PNR, &digits)
                    .text(&r099::TIMESTAMPU, b"200111190000")
                    .text(&r099::HAENDELSE, code.as_bytes());
                if *derived {
                    r.text(&r099::AFLEDTMRK, b"AE");
                }
                out.push(r);
            }
        }
        out
    }

    fn clear_address(&self) -> Option<RecordBuilder> {
        self.has_003.then(|| {
            let mut r = RecordBuilder::new(&R003);
            r.text(&r003::PNR, &self.pnr.digits());
            r
        })
    }
}

/// A change extract of `persons` (blocks in the order given, the 003 tail in `tail_order`, a
/// permutation of positions in `persons`), framed with `terminator`, optionally with CPR's
/// right-trimming of lines.
pub fn extract_bytes(
    proddto: NaiveDate,
    forrig: Option<NaiveDate>,
    persons: &[Person],
    tail_order: &[usize],
    terminator: Terminator,
    trim: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let line = |out: &mut Vec<u8>, r: &RecordBuilder| {
        let mut bytes = r.bytes().to_vec();
        if trim {
            while bytes.last() == Some(&b' ') {
                bytes.pop();
            }
        }
        out.extend_from_slice(&bytes);
        out.extend_from_slice(terminator.bytes());
    };
    let mut start = RecordBuilder::new(&R000);
    start
        .text(&r000::SORTFELT_10, b"0000000000")
        .text(&r000::OPGAVENR, b"110901")
        .date(&r000::PRODDTO, proddto);
    match forrig {
        Some(f) => start.date(&r000::PRODDTOFORRIG, f),
        None => start.number(&r000::PRODDTOFORRIG, 0),
    };
    line(&mut out, &start);
    let mut count = 0;
    for p in persons {
        for r in p.records(true) {
            line(&mut out, &r);
            count += 1;
        }
    }
    for &i in tail_order {
        if let Some(r) = persons[i].clear_address() {
            line(&mut out, &r);
            count += 1;
        }
    }
    let mut end = RecordBuilder::new(&R999);
    end.text(&r999::SORTFELT_10, b"9999999999")
        .number(&r999::TAELLER, count);
    line(&mut out, &end);
    out
}

/// A replica held in memory: persons in ascending PNR order, stored as the replica crate
/// stores them (canonical LF records, no 099, 003 apart).
pub struct MemReplica {
    pub date: NaiveDate,
    pub opgavenr: [u8; 6],
    pub persons: Vec<(Person, Vec<u8>, Vec<u8>)>,
}

impl MemReplica {
    pub fn new(date: NaiveDate, mut persons: Vec<Person>) -> MemReplica {
        persons.sort_by_key(|p| p.pnr);
        persons.dedup_by_key(|p| p.pnr);
        let persons = persons
            .into_iter()
            .map(|p| {
                let mut block = Vec::new();
                for r in p.records(false) {
                    r.write(&mut block, Terminator::Lf);
                }
                let mut clear = Vec::new();
                if let Some(r) = p.clear_address() {
                    r.write(&mut clear, Terminator::Lf);
                }
                (p, block, clear)
            })
            .collect();
        MemReplica {
            date,
            opgavenr: *b"110901",
            persons,
        }
    }

    /// The "before" municipalities, as the daily oracle and fast path read them.
    pub fn municipalities(&self) -> HashMap<Pnr, u16> {
        self.persons
            .iter()
            .filter_map(|(p, _, _)| p.municipality.map(|m| (p.pnr, m)))
            .collect()
    }
}

impl PersonSource for MemReplica {
    fn date(&self) -> NaiveDate {
        self.date
    }
    fn opgavenr(&self) -> [u8; 6] {
        self.opgavenr
    }
    fn len(&self) -> usize {
        self.persons.len()
    }
    fn person_at(&self, i: usize) -> Result<SourcePerson<'_>, EngineError> {
        let (p, block, clear) = &self.persons[i];
        Ok(SourcePerson {
            pnr: p.pnr,
            municipality: p.municipality,
            birth_date: p.birth.or_else(|| p.pnr.birth_date()),
            status: p.status,
            block,
            clear_address: clear,
        })
    }
}

/// A subscriber from plain values.
pub fn subscriber(
    id: &str,
    pnrs: &[Pnr],
    municipalities: &[u16],
    ages: &[(u16, u16)],
    codes: &[&str],
    no_filter: bool,
) -> Subscriber {
    let filters = Filters {
        pnrs: pnrs.iter().map(|p| p.key()).collect(),
        municipalities: municipalities.iter().copied().collect(),
        ages: ages
            .iter()
            .map(|&(start, end)| AgeRange { start, end })
            .collect(),
        change_codes: codes.iter().map(|c| EventCode::parse(c).unwrap()).collect(),
        no_filter,
    };
    (SubscriberId::new(id).unwrap(), filters)
}

/// The oracle's daily switches.
#[derive(Clone, Copy, Debug, Default)]
pub struct OracleSwitches {
    pub after_only: bool,
    pub main_only: bool,
    pub terminator: Terminator,
}

/// Does `s` want this block today? docs/rules.md §2, read literally.
fn wants(
    s: &Subscriber,
    block: &cprsift_format::PersonBlock<'_>,
    changed_to_subscribed: bool,
    before: &HashMap<Pnr, u16>,
    proddto: NaiveDate,
    sw: OracleSwitches,
) -> bool {
    let f = &s.1;
    if f.no_filter || f.pnrs.contains(block.pnr().key()) || changed_to_subscribed {
        return true;
    }
    let after = block.municipality();
    let prior = if sw.after_only {
        None
    } else {
        before.get(&block.pnr()).copied()
    };
    if [after, prior]
        .iter()
        .flatten()
        .any(|m| f.municipalities.contains(m))
    {
        return true;
    }
    if let Some(age) = block.birth_date().and_then(|b| age_on(b, proddto)) {
        if f.ages
            .iter()
            .any(|r| u32::from(r.start) <= age && age <= u32::from(r.end))
        {
            return true;
        }
    }
    block.records().filter_map(Result::ok).any(|r| {
        r.record_type() == Some(RecordType::EVENT)
            && (!sw.main_only || r.field(&r099::AFLEDTMRK).is_blank())
            && f.change_codes.iter().any(|c| {
                let v = r.field(&r099::HAENDELSE);
                let mut code = [b' '; 3];
                code[..v.present().len()].copy_from_slice(v.present());
                &code == c.as_bytes()
            })
    })
}

/// The daily file every subscriber should get, by plain loops; `None` when skipped.
pub fn oracle_daily(
    input: &[u8],
    before: &HashMap<Pnr, u16>,
    subscribers: &[Subscriber],
    sw: OracleSwitches,
    skip_empty: bool,
) -> Vec<(String, Option<Vec<u8>>)> {
    let extract = Extract::open(input, ExtractOptions::default()).unwrap();
    let proddto = extract.proddto().unwrap();
    let blocks: Vec<_> = extract.blocks().map(Result::unwrap).collect();
    let tail: Vec<_> = extract.tail().map(Result::unwrap).collect();
    let mut out = Vec::new();
    for s in subscribers {
        // PNRGAELD of subscribed PNRs that changed today (status 60).
        let mut changed_to = HashSet::new();
        for b in &blocks {
            if b.status() == Some(60) && s.1.pnrs.contains(b.pnr().key()) {
                if let Some(y) = b.pnr_gaeld() {
                    changed_to.insert(y);
                }
            }
        }
        let chosen: Vec<_> = blocks
            .iter()
            .filter(|b| wants(s, b, changed_to.contains(&b.pnr()), before, proddto, sw))
            .collect();
        if skip_empty && chosen.is_empty() {
            out.push((s.0.to_string(), None));
            continue;
        }
        let chosen_pnrs: HashSet<Pnr> = chosen.iter().map(|b| b.pnr()).collect();
        let mut file = Vec::new();
        let mut count = 0;
        write_record(&mut file, &extract.start_record(), sw.terminator);
        for b in &chosen {
            for r in b.records() {
                write_record(&mut file, &r.unwrap(), sw.terminator);
                count += 1;
            }
        }
        for r in &tail {
            if r.pnr().is_some_and(|p| chosen_pnrs.contains(&p)) {
                write_record(&mut file, r, sw.terminator);
                count += 1;
            }
        }
        let mut end = RecordBuilder::new(&R999);
        end.text(&r999::SORTFELT_10, b"9999999999")
            .number(&r999::TAELLER, count);
        end.write(&mut file, sw.terminator);
        out.push((s.0.to_string(), Some(file)));
    }
    out
}

/// Splits canonical LF lines and writes them with `t`.
fn lines(out: &mut Vec<u8>, bytes: &[u8], t: Terminator) {
    for l in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        out.extend_from_slice(l);
        out.extend_from_slice(t.bytes());
    }
}

/// The initial-load shards every subscriber should get, by plain loops (greedy shards).
pub fn oracle_initial(
    replica: &MemReplica,
    subscribers: &[Subscriber],
    shard_size: u64,
    t: Terminator,
) -> Vec<(String, Vec<Vec<u8>>)> {
    let d = replica.date;
    let header = |out: &mut Vec<u8>| {
        let mut r = RecordBuilder::new(&R000);
        r.text(&r000::SORTFELT_10, b"0000000000")
            .text(&r000::OPGAVENR, &replica.opgavenr)
            .date(&r000::PRODDTO, d)
            .text(&r000::PRODDTOFORRIG, b"00000000");
        r.write(out, t);
    };
    let mut result = Vec::new();
    for s in subscribers {
        let f = &s.1;
        let mut shards: Vec<Vec<usize>> = vec![Vec::new()];
        let mut size = 0u64;
        let fixed = (R000.len + R999.len + 2 * t.bytes().len()) as u64;
        for (i, (p, block, clear)) in replica.persons.iter().enumerate() {
            let birth = p.birth.or_else(|| p.pnr.birth_date());
            let age = birth.and_then(|b| age_on(b, d));
            let by_age = [1, 3, 5, 7].contains(&p.status)
                && age.is_some_and(|a| {
                    f.ages
                        .iter()
                        .any(|r| u32::from(r.start) <= a && a <= u32::from(r.end))
                });
            let chosen = f.no_filter
                || f.pnrs.contains(p.pnr.key())
                || p.municipality
                    .is_some_and(|m| f.municipalities.contains(&m))
                || by_age;
            if !chosen {
                continue;
            }
            let mut one = Vec::new();
            lines(&mut one, block, t);
            one.extend_from_slice(&vec![0; R099.len + t.bytes().len()]);
            lines(&mut one, clear, t);
            let need = one.len() as u64;
            let current = shards.last().unwrap();
            if !current.is_empty() && fixed + size + need > shard_size {
                shards.push(Vec::new());
                size = 0;
            }
            shards.last_mut().unwrap().push(i);
            size += need;
        }
        let files = shards
            .iter()
            .map(|members| {
                let mut out = Vec::new();
                header(&mut out);
                let mut count = 0;
                for &i in members {
                    let (p, block, _) = &replica.persons[i];
                    lines(&mut out, block, t);
                    count += block.iter().filter(|&&b| b == b'\n').count() as u64;
                    let mut a45 = RecordBuilder::new(&R099);
                    a45.text(&r099::PNR, &p.pnr.digits())
                        .text(
                            &r099::TIMESTAMPU,
                            format!("{}0000", d.format("%Y%m%d")).as_bytes(),
                        )
                        .text(&r099::HAENDELSE, b"A45");
                    a45.write(&mut out, t);
                    count += 1;
                }
                for &i in members {
                    let clear = &replica.persons[i].2;
                    lines(&mut out, clear, t);
                    count += clear.iter().filter(|&&b| b == b'\n').count() as u64;
                }
                let mut end = RecordBuilder::new(&R999);
                end.text(&r999::SORTFELT_10, b"9999999999")
                    .number(&r999::TAELLER, count);
                end.write(&mut out, t);
                out
            })
            .collect();
        result.push((s.0.to_string(), files));
    }
    result
}

/// Reads a delivered file, decompressing `.zst`.
pub fn read_delivered(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "zst") {
        zstd::decode_all(&bytes[..]).unwrap()
    } else {
        bytes
    }
}
