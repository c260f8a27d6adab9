//! A seeded builder of realistic test extracts (a base full extract and chained change
//! extracts with moves, deaths, births, PNR changes and persons without 003), and the slow
//! reference replica the fast one is compared with.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use cprsift_format::layout::fields::{r000, r001, r001_u12180, r002, r003, r008, r022, r099, r999};
use cprsift_format::layout::{R000, R001, R001_U12180, R002, R003, R008, R022, R099, R999};
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::{Pnr, RecordType};

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// What the builder knows of one person.
#[derive(Clone, Debug)]
pub struct Person {
    pub pnr: Pnr,
    pub status: u8,
    pub municipality: Option<u16>,
    pub name: String,
    pub has_003: bool,
    pub pnr_gaeld: Option<Pnr>,
    pub old_pnr: Option<Pnr>,
    pub status_layout: bool,
    pub unknown_record: bool,
}

/// The register the builder simulates.
pub struct World {
    pub rng: Rng,
    pub persons: BTreeMap<Pnr, Person>,
    pub date: NaiveDate,
    pub day: u32,
    serial: u32,
}

pub const OPGAVENR: &[u8; 6] = b"123456";
const MUNICIPALITIES: [u16; 6] = [101, 147, 157, 461, 706, 851];

pub fn base_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 5, 12).unwrap()
}

impl World {
    pub fn new(seed: u64) -> World {
        World {
            rng: Rng::new(seed),
            persons: BTreeMap::new(),
            date: base_date(),
            day: 0,
            serial: 0,
        }
    }

    fn new_pnr(&mut self, born: NaiveDate) -> Pnr {
        loop {
            self.serial += 1;
            let yy = born.format("%d%m%y").to_string();
            // Seventh digit 0-3: 1900s; serials chosen to fail modulus 11 (no real person).
            let s = format!(
                "{yy}{:04}",
                (self.serial * 7 + self.rng.below(7) as u32) % 4000
            );
            let pnr = Pnr::from_digits(s.as_bytes()).unwrap();
            if !pnr.passes_modulus_11() && !self.persons.contains_key(&pnr) {
                return pnr;
            }
        }
    }

    fn random_birth(&mut self) -> NaiveDate {
        NaiveDate::from_ymd_opt(1920, 1, 2)
            .unwrap()
            .checked_add_days(Days::new(self.rng.below(80 * 365)))
            .unwrap()
    }

    fn add_person(&mut self, base: bool) -> Pnr {
        let born = self.random_birth();
        let pnr = self.new_pnr(born);
        let p = Person {
            pnr,
            status: 1,
            municipality: if self.rng.chance(90) {
                Some(MUNICIPALITIES[self.rng.below(6) as usize])
            } else {
                None
            },
            name: format!("Navn{} Æblegård", self.rng.below(100_000)),
            has_003: self.rng.chance(85),
            pnr_gaeld: None,
            old_pnr: None,
            status_layout: base && self.rng.chance(30),
            unknown_record: self.rng.chance(3),
        };
        self.persons.insert(pnr, p);
        pnr
    }

    /// A full extract of `n` persons (status layout 001 for some, blocks and tail shuffled).
    pub fn base(&mut self, n: usize) -> Vec<u8> {
        let keys: Vec<Pnr> = (0..n).map(|_| self.add_person(true)).collect();
        let out = self.extract(&keys, None, false);
        for p in self.persons.values_mut() {
            p.status_layout = false;
        }
        out
    }

    /// The next day's change extract, with about `changes` persons delivered.
    pub fn next_day(&mut self, changes: usize) -> Vec<u8> {
        let prev = self.date;
        self.day += 1;
        self.date = prev.checked_add_days(Days::new(1)).unwrap();
        let mut delivered: Vec<Pnr> = Vec::new();
        let alive: Vec<Pnr> = self
            .persons
            .values()
            .filter(|p| p.status == 1)
            .map(|p| p.pnr)
            .collect();
        for _ in 0..changes {
            let kind = self.rng.below(100);
            if kind < 15 || alive.is_empty() {
                delivered.push(self.add_person(false));
                continue;
            }
            let pnr = alive[self.rng.below(alive.len() as u64) as usize];
            if delivered.contains(&pnr) {
                continue;
            }
            match kind {
                15..=49 => {
                    let p = self.persons.get_mut(&pnr).unwrap();
                    p.municipality = Some(MUNICIPALITIES[(self.rng.0 % 6) as usize]);
                    p.has_003 = true;
                    delivered.push(pnr);
                }
                50..=59 => {
                    let p = self.persons.get_mut(&pnr).unwrap();
                    p.status = 90;
                    p.municipality = None;
                    p.has_003 = false;
                    delivered.push(pnr);
                }
                60..=64 => {
                    // A PNR change: the old number retires (status 60, PNRGAELD), the person
                    // continues under a new one with a 022 row.
                    let born = pnr.birth_date().unwrap_or(self.date);
                    let new = self.new_pnr(born);
                    let mut person = self.persons[&pnr].clone();
                    let old = self.persons.get_mut(&pnr).unwrap();
                    old.status = 60;
                    old.pnr_gaeld = Some(new);
                    old.municipality = None;
                    old.has_003 = false;
                    person.pnr = new;
                    person.old_pnr = Some(pnr);
                    self.persons.insert(new, person);
                    delivered.push(pnr);
                    delivered.push(new);
                }
                65..=74 => {
                    let p = self.persons.get_mut(&pnr).unwrap();
                    p.has_003 = !p.has_003;
                    delivered.push(pnr);
                }
                _ => {
                    let p = self.persons.get_mut(&pnr).unwrap();
                    p.name = format!("Nyt{} Navn", self.rng.below(100_000));
                    delivered.push(pnr);
                }
            }
        }
        self.extract(&delivered, Some(prev), true)
    }

    fn person_records(&self, p: &Person, events: bool, out: &mut Vec<Vec<u8>>) {
        let digits = p.pnr.digits();
        let mut b = RecordBuilder::new(if p.status_layout { &R001_U12180 } else { &R001 });
        b.text(&r001::PNR, &digits)
            .number(&r001::STATUS, u64::from(p.status));
        if let Some(g) = p.pnr_gaeld {
            b.text(&r001::PNRGAELD, &g.digits());
        }
        if p.status != 60 {
            b.text(
                &r001::KOEN,
                if p.pnr.key().is_multiple_of(2) {
                    b"K"
                } else {
                    b"M"
                },
            );
            if let Some(d) = p.pnr.birth_date() {
                if !p.pnr.key().is_multiple_of(3) {
                    b.date(&r001::FOED_DT, d);
                }
            }
        }
        if p.status_layout {
            b.text(&r001_u12180::NGLKONST, b"NGL123456789012");
        }
        out.push(b.bytes().to_vec());
        if let Some(k) = p.municipality {
            let mut b = RecordBuilder::new(&R002);
            b.text(&r002::PNR, &digits)
                .number(&r002::KOMKOD, u64::from(k));
            out.push(b.bytes().to_vec());
        }
        let mut b = RecordBuilder::new(&R008);
        b.text(&r008::PNR, &digits)
            .text_utf8(&r008::FORNVN, &p.name);
        out.push(b.bytes().to_vec());
        if let Some(old) = p.old_pnr {
            let mut b = RecordBuilder::new(&R022);
            b.text(&r022::PNRGAELD, &digits)
                .text(&r022::PNR, &old.digits());
            out.push(b.bytes().to_vec());
        }
        if p.unknown_record {
            // A record type the specification does not define: carried verbatim.
            let mut line = b"034".to_vec();
            line.extend_from_slice(&digits);
            line.extend_from_slice(b"SOMETHING NEW");
            out.push(line);
        }
        if events {
            let mut b = RecordBuilder::new(&R099);
            b.text(&r099::PNR, &digits)
                .date(&r099::TIMESTAMPU, self.date)
                .text(&r099::HAENDELSE, b"A01");
            out.push(b.bytes().to_vec());
        }
    }

    fn clear_address(&self, p: &Person) -> Vec<u8> {
        let mut b = RecordBuilder::new(&R003);
        b.text(&r003::PNR, &p.pnr.digits())
            .text_utf8(&r003::ADRNVN, &p.name)
            .number(&r003::KOMKOD, u64::from(p.municipality.unwrap_or(0)));
        b.bytes().to_vec()
    }

    /// An extract of `keys` (shuffled), with its 003 tail (shuffled, plus an orphan 003).
    fn extract(&mut self, keys: &[Pnr], forrig: Option<NaiveDate>, events: bool) -> Vec<u8> {
        let mut records: Vec<Vec<u8>> = Vec::new();
        let mut start = RecordBuilder::new(&R000);
        start
            .text(&r000::SORTFELT_10, b"0000000000")
            .text(&r000::OPGAVENR, OPGAVENR)
            .date(&r000::PRODDTO, self.date);
        match forrig {
            Some(d) => start.date(&r000::PRODDTOFORRIG, d),
            None => start.number(&r000::PRODDTOFORRIG, 0),
        };
        let mut order = keys.to_vec();
        self.rng.shuffle(&mut order);
        let mut body = Vec::new();
        for k in &order {
            self.person_records(&self.persons[k], events, &mut body);
        }
        let mut tail: Vec<Vec<u8>> = order
            .iter()
            .map(|k| &self.persons[k])
            .filter(|p| p.has_003)
            .map(|p| self.clear_address(p))
            .collect();
        if events {
            // A 003 whose person has no block in the file: neither stored nor delivered.
            let orphan = self.persons.values().find(|p| !keys.contains(&p.pnr));
            if let Some(p) = orphan {
                let mut orphan = p.clone();
                orphan.name = "Orphan Record".into();
                tail.push(self.clear_address(&orphan));
            }
        }
        self.rng.shuffle(&mut tail);
        records.push(start.bytes().to_vec());
        let count = body.len() + tail.len();
        records.extend(body);
        records.extend(tail);
        let mut end = RecordBuilder::new(&R999);
        end.text(&r999::SORTFELT_10, b"9999999999")
            .number(&r999::TAELLER, count as u64);
        records.push(end.bytes().to_vec());
        let mut out = Vec::new();
        for r in records {
            // Trim some lines as CPR does (the reader pads them back).
            let trimmed = if self.rng.chance(20) {
                let n = r.iter().rposition(|&c| c != b' ').map_or(3, |i| i + 1);
                &r[..n.max(3)]
            } else {
                &r[..]
            };
            out.extend_from_slice(trimmed);
            out.extend_from_slice(Terminator::Lf.bytes());
        }
        out
    }
}

/// The slow reference: PNR -> (canonical block, canonical 003 records), rebuilt from scratch by
/// reading lines as text, with no code of the replica crate.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Reference {
    pub persons: BTreeMap<[u8; 10], (Vec<u8>, Vec<u8>)>,
    pub proddto: Vec<u8>,
    pub opgavenr: Vec<u8>,
}

fn canonical(line: &[u8]) -> Vec<u8> {
    let rt = RecordType::from_bytes(line).unwrap();
    let mut out = line.to_vec();
    match rt.layouts().first() {
        Some(layout) => {
            // Padded to the U12170 length; a 121-byte status-layout 001 is cut to 106.
            let len = if rt == RecordType::PERSON {
                106
            } else {
                layout.len
            };
            out.resize(len, b' ');
        }
        None => {
            while out.last() == Some(&b' ') {
                out.pop();
            }
        }
    }
    out.push(b'\n');
    out
}

impl Reference {
    /// Applies one extract's text: full replacement per delivered person.
    pub fn apply(&mut self, file: &[u8]) {
        let mut blocks: BTreeMap<[u8; 10], Vec<u8>> = BTreeMap::new();
        let mut tail: BTreeMap<[u8; 10], Vec<u8>> = BTreeMap::new();
        for line in file.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let key: [u8; 10] = line[3..13].try_into().unwrap();
            match &line[..3] {
                b"000" => {
                    self.opgavenr = line[13..19].to_vec();
                    self.proddto = line[19..27].to_vec();
                }
                b"999" | b"099" => {}
                b"003" => tail.entry(key).or_default().extend(canonical(line)),
                _ => blocks.entry(key).or_default().extend(canonical(line)),
            }
        }
        for (key, block) in blocks {
            let clear = tail.remove(&key).unwrap_or_default();
            self.persons.insert(key, (block, clear));
        }
    }

    /// The extract `export` must write.
    pub fn export(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"000");
        out.extend_from_slice(b"0000000000");
        out.extend_from_slice(&self.opgavenr);
        out.extend_from_slice(&self.proddto);
        out.extend_from_slice(b"00000000\n");
        let mut records = 0;
        for (block, _) in self.persons.values() {
            out.extend_from_slice(block);
            records += block.iter().filter(|&&c| c == b'\n').count();
        }
        for (_, clear) in self.persons.values() {
            out.extend_from_slice(clear);
            records += clear.iter().filter(|&&c| c == b'\n').count();
        }
        out.extend_from_slice(format!("9999999999999{records:08}\n").as_bytes());
        out
    }
}

/// A base extract and `days` chained change extracts, written to `dir`.
pub struct Series {
    pub base: PathBuf,
    pub days: Vec<PathBuf>,
}

pub fn write_series(dir: &Path, seed: u64, persons: usize, days: usize, changes: usize) -> Series {
    let mut world = World::new(seed);
    let base = dir.join("base.txt");
    std::fs::write(&base, world.base(persons)).unwrap();
    let days = (1..=days)
        .map(|d| {
            let path = dir.join(format!("day{d:02}.txt"));
            std::fs::write(&path, world.next_day(changes)).unwrap();
            path
        })
        .collect();
    Series { base, days }
}

/// The reference state after the base and the first `n` days.
pub fn reference_after(series: &Series, n: usize) -> Reference {
    let mut r = Reference::default();
    r.apply(&std::fs::read(&series.base).unwrap());
    for d in &series.days[..n] {
        r.apply(&std::fs::read(d).unwrap());
    }
    r
}

/// Every file under `dir` with its bytes: a replica's whole state, to prove it unchanged.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// The replica exported to bytes.
pub fn exported(dir: &Path) -> Vec<u8> {
    let out = dir.parent().unwrap().join(format!(
        "export-{}.txt",
        dir.file_name().unwrap().to_string_lossy()
    ));
    cprsift_replica::export(dir, &out).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    bytes
}
