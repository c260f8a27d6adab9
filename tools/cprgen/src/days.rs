//! Daily change extracts continuing a full extract: consecutive weekdays, PRODDTO and
//! PRODDTOFORRIG chained, each a valid U12170 file whose person blocks are complete (full
//! replacement) and carry their 099 events, with the 003 records in the tail in address order.
//!
//! Persons are read from the memory-mapped full extract through a compact index, and from the
//! overlay of blocks changed on the previous generated days, so day k continues day k-1.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use cprsift_format::date::Ts12;
use cprsift_format::layout::fields::{
    r001, r002, r003, r004, r005, r008, r012, r014, r015, r016, r022, r024, r026, r029, r099,
};
use cprsift_format::layout::{self, Layout};
use cprsift_format::write::RecordBuilder;
use cprsift_format::{Pnr, RecordType};
use cprsift_io::MappedFile;

use crate::edit::{field, number, pnr_field, EditBlock};
use crate::full::{write_end, write_start};
use crate::index::FullIndex;
use crate::people::{self, add_years, years_between, Addr, NameTables};
use crate::pnr_alloc::candidate;
use crate::render::{build_002, build_003, build_023, first_name, noon, set_addr, ADDR_002};
use crate::rng::{Rng, Stream};
use crate::tables::{self, Tables, COUNTRIES, SURNAMES};
use crate::tail::address_key;
use crate::{create_private_dir, write_atomically, Error, Result};

/// What to generate.
#[derive(Clone, Debug)]
pub struct DayConfig {
    /// The full extract to continue.
    pub full: PathBuf,
    /// Where the day files go (created 0700).
    pub out_dir: PathBuf,
    /// Number of consecutive weekdays.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// Make the last day a mass-change day (municipal merger).
    pub spike: bool,
    /// OPGAVENR of the change extracts.
    pub opgavenr: u32,
    /// Multiplies every daily volume (1.0 = flows.md §9 scaled to the extract's size); tests
    /// raise it to see rare events such as PNR changes on small extracts.
    pub intensity: f64,
}

impl DayConfig {
    /// One day, seed 1, no spike, OPGAVENR 900170.
    pub fn new(full: PathBuf, out_dir: PathBuf) -> DayConfig {
        DayConfig {
            full,
            out_dir,
            days: 1,
            seed: 1,
            spike: false,
            opgavenr: 900_170,
            intensity: 1.0,
        }
    }
}

/// What one day file holds.
#[derive(Clone, Debug)]
pub struct DaySummary {
    /// The file written.
    pub path: PathBuf,
    /// Its PRODDTO.
    pub proddto: NaiveDate,
    /// Its PRODDTOFORRIG.
    pub proddto_forrig: NaiveDate,
    /// Person blocks.
    pub persons: u64,
    /// 099 records.
    pub events: u64,
    /// TAELLER.
    pub records: u64,
    /// File size.
    pub bytes: u64,
}

/// Daily volumes at national scale per working day (flows.md §9, 2022 where given), in
/// events; households move and emigrate together, so persons exceed events.
const VOLUMES: Volumes = Volumes {
    move_households: 2100.0,
    births: 232.0,
    deaths: 236.0,
    reimmigrations: 120.0,
    immigrations: 361.0,
    emigrations: 190.0,
    marriages: 131.0,
    divorces: 51.0,
    surname_changes: 100.0,
    first_name_changes: 25.0,
    protections_expiring: 90.0,
    protections_new: 90.0,
    pnr_changes: 2.0,
};

struct Volumes {
    move_households: f64,
    births: f64,
    deaths: f64,
    reimmigrations: f64,
    immigrations: f64,
    emigrations: f64,
    marriages: f64,
    divorces: f64,
    surname_changes: f64,
    first_name_changes: f64,
    protections_expiring: f64,
    protections_new: f64,
    pnr_changes: f64,
}

/// Persons of the national-scale full extract (the volumes' reference).
const NATIONAL: f64 = 10_500_000.0;

const AE_G: &[u8] = b"\xC6G";
const T_AE: &[u8] = b"T\xC6";
const B_OE: &[u8] = b"B\xD8";

/// Generates the day files; returns one summary per day.
pub fn generate_days(cfg: &DayConfig) -> Result<Vec<DaySummary>> {
    let map = MappedFile::open(&cfg.full).map_err(|source| Error::Io {
        path: cfg.full.clone(),
        source,
    })?;
    let t = tables::tables();
    let spike = cfg.spike.then(|| spike_municipalities(t));
    let idx = FullIndex::build(&map, &cfg.full, spike.map(|s| s.0))?;
    let Some(mut prev) = idx.extract.proddto() else {
        return Err(Error::Config(format!(
            "{}: the full extract has no PRODDTO",
            cfg.full.display()
        )));
    };
    create_private_dir(&cfg.out_dir)?;
    let mut state = State {
        idx,
        overlay: HashMap::new(),
        merged: Vec::new(),
        t,
        names: NameTables::new(),
    };
    let mut out = Vec::new();
    for k in 0..cfg.days {
        let date = next_weekday(prev);
        let mut day = Day::new(
            &mut state,
            Rng::derive(cfg.seed, Stream::Day, u64::from(k)),
            prev,
            date,
        );
        day.intensity = cfg.intensity;
        day.run()?;
        if let (Some((from, to)), true) = (spike, k + 1 == cfg.days) {
            day.merge_municipality(from, to)?;
        }
        let path = cfg
            .out_dir
            .join(format!("D{}.L{:06}", date.format("%y%m%d"), cfg.opgavenr));
        let (persons, events, records, bytes) =
            write_atomically(&path, |f| day.write(f, cfg.opgavenr))?;
        day.finish();
        out.push(DaySummary {
            path,
            proddto: date,
            proddto_forrig: prev,
            persons,
            events,
            records,
            bytes,
        });
        prev = date;
    }
    Ok(out)
}

/// The municipality merged on a spike day (population closest to 60,000) and the one it
/// merges into (its neighbour in the table, same region).
fn spike_municipalities(t: &Tables) -> (u16, u16) {
    let i = (0..t.denmark.len())
        .min_by_key(|&i| t.denmark[i].weight.abs_diff(60_000))
        .unwrap_or(0);
    let j = if i > 0 { i - 1 } else { 1 };
    (
        t.denmark[i].code,
        t.denmark[j.min(t.denmark.len() - 1)].code,
    )
}

fn next_weekday(d: NaiveDate) -> NaiveDate {
    let mut n = d + Duration::days(1);
    while matches!(n.weekday(), Weekday::Sat | Weekday::Sun) {
        n += Duration::days(1);
    }
    n
}

struct State<'a> {
    idx: FullIndex<'a>,
    overlay: HashMap<u32, EditBlock>,
    merged: Vec<u16>,
    t: &'static Tables,
    names: NameTables,
}

impl State<'_> {
    fn current(&self, key: u32) -> Result<Option<EditBlock>> {
        match self.overlay.get(&key) {
            Some(b) => Ok(Some(b.clone())),
            None => self.idx.load(key),
        }
    }
}

struct Touched {
    block: EditBlock,
    events: Vec<Vec<u8>>,
}

struct Day<'s, 'a> {
    st: &'s mut State<'a>,
    rng: Rng,
    from: NaiveDate,
    to: NaiveDate,
    date: NaiveDate,
    order: Vec<u32>,
    blocks: HashMap<u32, Touched>,
    b: RecordBuilder,
    text: String,
    text2: String,
    intensity: f64,
}

fn layout_of(r: &[u8]) -> Option<&'static Layout> {
    RecordType::from_bytes(r).and_then(|t| t.layouts().first().copied())
}

fn latin1(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| char::from(b))
        .collect::<String>()
        .trim_end()
        .to_string()
}

impl<'s, 'a> Day<'s, 'a> {
    fn new(st: &'s mut State<'a>, rng: Rng, prev: NaiveDate, date: NaiveDate) -> Day<'s, 'a> {
        Day {
            st,
            rng,
            from: prev,
            to: date - Duration::days(1),
            date,
            order: Vec::new(),
            blocks: HashMap::new(),
            b: RecordBuilder::new(&layout::R099),
            text: String::new(),
            text2: String::new(),
            intensity: 1.0,
        }
    }

    fn when(&mut self) -> NaiveDate {
        self.rng.date(self.from, self.to)
    }

    fn scaled(&mut self, national: f64, factor: f64) -> u64 {
        let scale = self.st.idx.len() as f64 / NATIONAL;
        self.rng.round(national * scale * factor * self.intensity)
    }

    /// All the day's ordinary events.
    fn run(&mut self) -> Result<()> {
        let month_turn = (0..=(self.to - self.from).num_days())
            .map(|k| self.from + Duration::days(k))
            .any(|d| d.day() <= 2 || d.day() >= 29);
        let bunch = if month_turn { 2.4 } else { 0.65 };
        let v = &VOLUMES;
        for _ in 0..self.scaled(v.deaths, 1.0) {
            self.death()?;
        }
        for _ in 0..self.scaled(v.births, 1.0) {
            self.birth()?;
        }
        for _ in 0..self.scaled(v.marriages, 1.0) {
            self.marriage()?;
        }
        for _ in 0..self.scaled(v.divorces, 1.0) {
            self.divorce()?;
        }
        for _ in 0..self.scaled(v.move_households, bunch) {
            self.household_move()?;
        }
        for _ in 0..self.scaled(v.emigrations, bunch) {
            self.emigration()?;
        }
        for _ in 0..self.scaled(v.reimmigrations, bunch) {
            self.reimmigration()?;
        }
        for _ in 0..self.scaled(v.immigrations, bunch) {
            self.immigration()?;
        }
        for _ in 0..self.scaled(v.surname_changes, 1.0) {
            self.name_change(false)?;
        }
        for _ in 0..self.scaled(v.first_name_changes, 1.0) {
            self.name_change(true)?;
        }
        for _ in 0..self.scaled(v.protections_expiring, 1.0) {
            self.protection_expires()?;
        }
        for _ in 0..self.scaled(v.protections_new, 1.0) {
            self.new_protection()?;
        }
        for _ in 0..self.scaled(v.pnr_changes, 1.0) {
            self.pnr_change()?;
        }
        Ok(())
    }

    // ----- persons -----

    /// Makes `key` part of today's file (loading its current block); false if unknown.
    fn touch(&mut self, key: u32) -> Result<bool> {
        if self.blocks.contains_key(&key) {
            return Ok(true);
        }
        let Some(block) = self.st.current(key)? else {
            return Ok(false);
        };
        self.blocks.insert(
            key,
            Touched {
                block,
                events: Vec::new(),
            },
        );
        self.order.push(key);
        Ok(true)
    }

    fn block(&mut self, key: u32) -> &mut EditBlock {
        // Only called for touched keys.
        &mut self
            .blocks
            .entry(key)
            .or_insert_with(|| Touched {
                block: EditBlock::new(Pnr::from_key(key)),
                events: Vec::new(),
            })
            .block
    }

    /// A random person (by the extract's status) not yet changed today who passes `pred`.
    fn pick(
        &mut self,
        statuses: &[u8],
        pred: impl Fn(&EditBlock, NaiveDate) -> bool,
    ) -> Result<Option<u32>> {
        for _ in 0..400 {
            let Some(key) = self.st.idx.random(&mut self.rng, statuses) else {
                return Ok(None);
            };
            if self.blocks.contains_key(&key) {
                continue;
            }
            if let Some(b) = self.st.current(key)? {
                if pred(&b, self.date) {
                    self.touch(key)?;
                    return Ok(Some(key));
                }
            }
        }
        Ok(None)
    }

    fn event(&mut self, key: u32, code: &[u8], derived: &[u8], when: NaiveDate) {
        let minute = self.rng.range(7 * 60, 18 * 60 - 1) as u32;
        self.b.reset(&layout::R099);
        self.b
            .text(&r099::PNR, &Pnr::from_key(key).digits())
            .ts12(
                &r099::TIMESTAMPU,
                Ts12::from_date(when, minute / 60, minute % 60),
            )
            .text(&r099::HAENDELSE, code)
            .text(&r099::AFLEDTMRK, derived);
        let rec = self.b.bytes().to_vec();
        if let Some(t) = self.blocks.get_mut(&key) {
            t.events.push(rec);
        }
    }

    /// A derived event on a relative, if the relative is in the register.
    /// Only living persons (status 01-07) are delivered for a relative's event.
    fn derived(
        &mut self,
        relative: Option<Pnr>,
        code: &[u8],
        mark: &[u8],
        when: NaiveDate,
    ) -> Result<bool> {
        if let Some(r) = relative {
            if self.touch(r.key())? && self.blocks[&r.key()].block.status() < 20 {
                self.event(r.key(), code, mark, when);
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn living_adult(b: &EditBlock, date: NaiveDate, ages: std::ops::RangeInclusive<i32>) -> bool {
        b.status() == 1
            && b.birth()
                .is_some_and(|d| ages.contains(&years_between(d, date)))
    }

    fn new_key(&mut self, birth: NaiveDate, female: bool) -> Option<Pnr> {
        for _ in 0..2000 {
            let seq = self.rng.below(10_000) as u32;
            if let Some(p) = candidate(birth, female, seq) {
                let k = p.key();
                if !self.st.idx.contains(k)
                    && !self.st.overlay.contains_key(&k)
                    && !self.blocks.contains_key(&k)
                {
                    return Some(p);
                }
            }
        }
        None
    }

    fn name_of(&self, key: u32) -> String {
        self.blocks
            .get(&key)
            .and_then(|t| t.block.tail.first())
            .map_or_else(String::new, |r| latin1(field(r, &r003::ADRNVN)))
    }

    fn rebuild_003(&mut self, key: u32, name: Option<&str>) {
        let name = name.map_or_else(|| self.name_of(key), str::to_string);
        let t = self.st.t;
        let block = &self.blocks[&key].block;
        let addr = if matches!(block.status(), 1 | 3 | 5 | 7) {
            block.address()
        } else {
            None
        };
        build_003(
            &mut self.b,
            t,
            Pnr::from_key(key),
            &name,
            addr.as_ref(),
            &mut self.text,
        );
        let rec = self.b.bytes().to_vec();
        let block = self.block(key);
        block.tail.clear();
        block.tail.push(rec);
    }

    fn random_kom(&mut self) -> u16 {
        loop {
            let i = self.rng.weighted(&self.st.t.denmark_cum);
            let kom = self.st.t.denmark[i].code;
            if !self.st.merged.contains(&kom) {
                return kom;
            }
        }
    }

    /// Ends the current address at `when` (a 023 row) and removes 002.
    fn close_address(&mut self, key: u32, when: NaiveDate) {
        let block = &self.blocks[&key].block;
        if let (Some(a), moved) = (block.address(), block.moved_in()) {
            let from = moved.unwrap_or(when).min(when);
            build_023(&mut self.b, Pnr::from_key(key), &a, from, when);
            let b = self.b.clone();
            let block = self.block(key);
            block.push(&b);
            block.remove(2, |_| true);
        }
    }

    fn set_status(&mut self, key: u32, status: u8, when: NaiveDate) {
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R001));
        self.block(key).edit(&mut b, &layout::R001, |b| {
            b.number(&r001::STATUS, u64::from(status));
            if status < 20 {
                b.number(&r001::STATUSHAENSTART, 0);
            } else {
                b.ts12(&r001::STATUSHAENSTART, Ts12::from_date(when, 0, 0));
            }
        });
        self.b = b;
    }

    /// Closes the current civil status with a 029 row and sets a new one.
    fn set_civil_status(&mut self, key: u32, civst: u8, spouse: Option<Pnr>, when: NaiveDate) {
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R012));
        let block = self.block(key);
        if let Some(old) = block.get(12).map(<[u8]>::to_vec) {
            b.reset(&layout::R029);
            b.text(&r029::PNR, &block.pnr.digits())
                .text(&r029::CIVST, field(&old, &r012::CIVST))
                .text(&r029::AEGTEPNR, field(&old, &r012::AEGTEPNR))
                .text(&r029::AEGTEFOED_DT, field(&old, &r012::AEGTEFOED_DT))
                .text(&r029::AEGTENVN, field(&old, &r012::AEGTENVN))
                .text(
                    &r029::HAENSTART_CIVILSTAND,
                    field(&old, &r012::HAENSTART_CIVILSTAND),
                )
                .ts12(&r029::HAENSLUT_CIVILSTAND, noon(when));
            block.push(&b);
        }
        block.remove(12, |_| true);
        b.reset(&layout::R012);
        b.text(&r012::PNR, &block.pnr.digits())
            .text(&r012::CIVST, &[civst])
            .text(&r012::AEGTEPNR, &spouse.map_or(*b"0000000000", Pnr::digits))
            .ts12(&r012::HAENSTART_CIVILSTAND, noon(when));
        block.push(&b);
        self.b = b;
    }

    // ----- events -----

    fn death(&mut self) -> Result<()> {
        let Some(key) = self.pick(&[1, 3], |b, d| {
            b.birth().is_some_and(|bd| {
                let age = years_between(bd, d);
                matches!(b.status(), 1 | 3)
                    && age >= 40
                    && (age - 40) as u64 * 3 > (bd.ordinal() as u64 * 7919) % 150
            })
        })?
        else {
            return Ok(());
        };
        let when = self.when();
        let block = &self.blocks[&key].block;
        let (spouse, civst, children, parents, female) = (
            block.spouse(),
            block.civst(),
            block.children(),
            block.parents(),
            block.female(),
        );
        self.set_status(key, 90, when);
        self.close_address(key, when);
        self.set_civil_status(key, b'D', None, when);
        self.rebuild_003(key, None);
        self.event(key, b"A21", b"", when);
        if let (Some(s), b'G') = (spouse, civst) {
            if self.touch(s.key())? && self.blocks[&s.key()].block.status() < 20 {
                self.set_civil_status(s.key(), b'E', Some(Pnr::from_key(key)), when);
                self.event(s.key(), b"A21", AE_G, when);
            }
        }
        let custody = if female { 3 } else { 4 };
        for c in children {
            if self.derived(Some(c), b"A21", B_OE, when)? {
                self.block(c.key())
                    .remove(16, |r| number(r, &r016::RELTYP_FORAELDREMYN) == custody);
            }
        }
        self.derived(parents[0], b"A21", b"MO", when)?;
        self.derived(parents[1], b"A21", b"FA", when)?;
        Ok(())
    }

    fn new_person(
        &mut self,
        birth: NaiveDate,
        female: bool,
        when: NaiveDate,
        addr: &Addr,
        surname: Option<String>,
        country: Option<u8>,
    ) -> Option<u32> {
        let pnr = self.new_key(birth, female)?;
        let key = pnr.key();
        let d = pnr.digits();
        let mut block = EditBlock::new(pnr);
        let b = &mut self.b;
        b.reset(&layout::R001);
        b.text(&r001::PNR, &d)
            .number(&r001::STATUS, 1)
            .number(&r001::STATUSHAENSTART, 0)
            .text(&r001::KOEN, if female { b"K" } else { b"M" })
            .date(&r001::FOED_DT, birth)
            .date(
                &r001::START_DT_PERSON,
                if country.is_some() { when } else { birth },
            );
        block.push(b);
        build_002(b, pnr, addr, when, when, None);
        block.push(b);
        let first = self.st.names.first(&mut self.rng, female);
        let surname = surname.unwrap_or_else(|| {
            SURNAMES[usize::from(self.st.names.surname(&mut self.rng))]
                .0
                .to_string()
        });
        self.text.clear();
        self.text.push_str(first_name(female, first));
        self.text.push(' ');
        self.text.push_str(&surname);
        let b = &mut self.b;
        b.reset(&layout::R008);
        b.text(&r008::PNR, &d)
            .text_utf8(&r008::FORNVN, first_name(female, first))
            .text_utf8(&r008::EFTERNVN, &surname)
            .ts12(&r008::NVNHAENSTART, noon(birth.max(when)))
            .text_utf8(&r008::ADRNVN, &self.text);
        block.push(b);
        let (code, place) = match country {
            Some(c) => (
                COUNTRIES[usize::from(c)].0,
                COUNTRIES[usize::from(c)].1.to_string(),
            ),
            None => (
                addr.kom,
                self.st
                    .t
                    .municipality(addr.kom)
                    .map_or_else(String::new, |m| m.name.clone()),
            ),
        };
        b.reset(&layout::R009);
        b.text(&cprsift_format::layout::fields::r009::PNR, &d)
            .number(
                &cprsift_format::layout::fields::r009::START_MYNKOD_FOEDESTED,
                u64::from(code),
            )
            .text_utf8(
                &cprsift_format::layout::fields::r009::MYNTXT_FOEDESTED,
                &place,
            );
        block.push(b);
        b.reset(&layout::R010);
        b.text(&cprsift_format::layout::fields::r010::PNR, &d)
            .number(
                &cprsift_format::layout::fields::r010::LANDEKOD,
                u64::from(
                    code.max(5000)
                        .min(if country.is_some() { 9999 } else { 5100 }),
                ),
            )
            .ts12(
                &cprsift_format::layout::fields::r010::HAENSTART_STATSBORGERSKAB,
                noon(birth),
            );
        block.push(b);
        b.reset(&layout::R011);
        b.text(&cprsift_format::layout::fields::r011::PNR, &d)
            .text(
                &cprsift_format::layout::fields::r011::FKIRK,
                if country.is_some() { b"U" } else { b"A" },
            )
            .date(
                &cprsift_format::layout::fields::r011::START_DT_FOLKEKIRKE,
                when,
            );
        block.push(b);
        b.reset(&layout::R012);
        b.text(&r012::PNR, &d)
            .text(&r012::CIVST, b"U")
            .text(&r012::AEGTEPNR, b"0000000000")
            .number(&r012::HAENSTART_CIVILSTAND, 0);
        block.push(b);
        build_003(b, self.st.t, pnr, &self.text, Some(addr), &mut self.text2);
        block.tail.push(b.bytes().to_vec());
        self.blocks.insert(
            key,
            Touched {
                block,
                events: Vec::new(),
            },
        );
        self.order.push(key);
        Some(key)
    }

    fn birth(&mut self) -> Result<()> {
        let Some(mother) = self.pick(&[1], |b, d| {
            b.female() && Self::living_adult(b, d, 20..=42) && b.address().is_some()
        })?
        else {
            return Ok(());
        };
        let m = &self.blocks[&mother].block;
        let father = m.spouse().filter(|_| m.civst() == b'G');
        let (Some(addr), m_birth) = (m.address(), m.birth()) else {
            return Ok(());
        };
        let surname = m.get(8).map(|r| latin1(field(r, &r008::EFTERNVN)));
        let when = self.when();
        let birth = when - Duration::days(self.rng.range(0, 2));
        let female = self.rng.chance(0.487);
        let Some(child) = self.new_person(birth, female, birth, &addr, surname, None) else {
            return Ok(());
        };
        let father = match father {
            Some(f) if self.touch(f.key())? => Some(f),
            _ => None,
        };
        let cp = Pnr::from_key(child);
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R015));
        b.reset(&layout::R015);
        b.text(&r015::PNR, &cp.digits())
            .date(&r015::MOR_DT, birth)
            .text(&r015::PNRMOR, &Pnr::from_key(mother).digits());
        if let Some(md) = m_birth {
            b.date(&r015::MOR_FOED_DT, md);
        }
        match father {
            Some(f) => {
                b.date(&r015::FAR_DT, birth)
                    .text(&r015::PNRFAR, &f.digits());
            }
            None => {
                b.text(&r015::PNRFAR, b"0000000000");
            }
        }
        self.block(child).push(&b);
        for (holder, code) in [(Some(Pnr::from_key(mother)), 3u64), (father, 4)] {
            if let Some(h) = holder {
                b.reset(&layout::R016);
                b.text(&r016::PNR, &cp.digits())
                    .number(&r016::RELTYP_FORAELDREMYN, code)
                    .date(&r016::START_DT_FORAELDREMYN, birth);
                self.block(child).push(&b);
                b.reset(&layout::R014);
                b.text(&r014::PNR, &h.digits())
                    .text(&r014::PNRBARN, &cp.digits());
                self.block(h.key()).push(&b);
            }
        }
        self.b = b;
        self.event(child, b"A14", b"", when);
        self.event(mother, b"A14", b"MO", when);
        if let Some(f) = father {
            self.event(f.key(), b"A14", b"FA", when);
        }
        Ok(())
    }

    fn marriage(&mut self) -> Result<()> {
        let single = |b: &EditBlock, d| {
            matches!(b.civst(), b'U' | b'F' | b'E') && Self::living_adult(b, d, 22..=65)
        };
        let Some(a) = self.pick(&[1], single)? else {
            return Ok(());
        };
        let (a_female, a_birth) = (
            self.blocks[&a].block.female(),
            self.blocks[&a].block.birth(),
        );
        let Some(b) = self.pick(&[1], |b, d| {
            single(b, d)
                && b.female() != a_female
                && b.birth()
                    .zip(a_birth)
                    .is_some_and(|(x, y)| (x - y).num_days().abs() < 3650)
        })?
        else {
            return Ok(());
        };
        let when = self.when();
        self.set_civil_status(a, b'G', Some(Pnr::from_key(b)), when);
        self.set_civil_status(b, b'G', Some(Pnr::from_key(a)), when);
        self.event(a, b"A24", b"", when);
        self.event(b, b"A24", AE_G, when);
        let (wife, husband) = if a_female { (a, b) } else { (b, a) };
        if self.rng.chance(0.35) {
            let name = self.blocks[&husband]
                .block
                .get(8)
                .map(|r| latin1(field(r, &r008::EFTERNVN)));
            if let Some(n) = name {
                self.rename(wife, None, Some(&n), when);
                self.event(wife, b"A13", b"", when);
            }
        }
        if self.rng.chance(0.5) {
            if let Some(addr) = self.blocks[&husband].block.address() {
                self.move_to(wife, addr, when);
                self.event(wife, b"A01", b"", when);
            }
        }
        Ok(())
    }

    fn divorce(&mut self) -> Result<()> {
        let Some(a) = self.pick(&[1], |b, _| {
            b.status() == 1 && b.civst() == b'G' && b.spouse().is_some()
        })?
        else {
            return Ok(());
        };
        let Some(s) = self.blocks[&a].block.spouse() else {
            return Ok(());
        };
        if !self.touch(s.key())? || self.blocks[&s.key()].block.spouse() != Some(Pnr::from_key(a)) {
            return Ok(());
        }
        let when = self.when();
        self.set_civil_status(a, b'F', Some(s), when);
        self.set_civil_status(s.key(), b'F', Some(Pnr::from_key(a)), when);
        self.event(a, b"A24", b"", when);
        self.event(s.key(), b"A24", T_AE, when);
        Ok(())
    }

    /// Moves `key` to `addr` on `when`: the old address becomes a 023 row.
    fn move_to(&mut self, key: u32, addr: Addr, when: NaiveDate) {
        let block = &self.blocks[&key].block;
        let Some(old) = block.address() else { return };
        let moved = block.moved_in().unwrap_or(when).min(when);
        build_023(&mut self.b, Pnr::from_key(key), &old, moved, when);
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R002));
        let block = self.block(key);
        block.push(&b);
        block.edit(&mut b, &layout::R002, |b| {
            set_addr(b, &ADDR_002, &addr);
            b.ts12(&r002::TILFLYDTO, noon(when));
            if addr.kom != old.kom {
                b.ts12(&r002::TILFLYKOMDTO, noon(when))
                    .number(&r002::FRAFLYKOMKOD, u64::from(old.kom))
                    .ts12(&r002::FRAFLYKOMDTO, noon(when));
            }
        });
        self.b = b;
        self.rebuild_003(key, None);
    }

    fn household_move(&mut self) -> Result<()> {
        let Some(key) = self.pick(&[1], |b, d| {
            Self::living_adult(b, d, 18..=110) && b.address().is_some_and(|a| a.vej < 9900)
        })?
        else {
            return Ok(());
        };
        let when = self.when();
        let block = &self.blocks[&key].block;
        let old = block.address();
        let mut household = vec![key];
        if let (Some(s), b'G') = (block.spouse(), block.civst()) {
            household.push(s.key());
        }
        household.extend(block.children().iter().map(|c| c.key()));
        let kom = match old {
            Some(a) if self.rng.chance(0.62) && !self.st.merged.contains(&a.kom) => a.kom,
            _ => self.random_kom(),
        };
        let addr = people::address(&mut self.rng, self.st.t, kom, false);
        for (k, member) in household.into_iter().enumerate() {
            if k > 0 {
                if !self.touch(member)? {
                    continue;
                }
                let m = &self.blocks[&member].block;
                let minor = m.birth().is_some_and(|d| years_between(d, self.date) < 18);
                let spouse = m.spouse() == Some(Pnr::from_key(key));
                if m.status() != 1
                    || m.address() != old
                    || !(minor || spouse)
                    || !self.blocks[&member].events.is_empty()
                {
                    continue;
                }
            }
            self.move_to(member, addr, when);
            self.event(member, b"A01", b"", when);
        }
        Ok(())
    }

    fn emigration(&mut self) -> Result<()> {
        let Some(key) = self.pick(&[1], |b, d| Self::living_adult(b, d, 20..=70))? else {
            return Ok(());
        };
        let when = self.when();
        let country = self.st.names.country(&mut self.rng);
        let block = &self.blocks[&key].block;
        let spouse = block.spouse().filter(|_| block.civst() == b'G');
        self.emigrate(key, country, when);
        if let Some(s) = spouse {
            if self.touch(s.key())? && self.blocks[&s.key()].block.status() == 1 {
                if self.rng.chance(0.6) {
                    self.emigrate(s.key(), country, when);
                } else {
                    self.event(s.key(), b"A06", AE_G, when);
                }
            }
        }
        Ok(())
    }

    fn emigrate(&mut self, key: u32, country: u8, when: NaiveDate) {
        self.set_status(key, 80, when);
        self.close_address(key, when);
        let (code, name, _) = COUNTRIES[usize::from(country)];
        self.b.reset(&layout::R005);
        self.b
            .text(&r005::PNR, &Pnr::from_key(key).digits())
            .number(&r005::UDR_LANDEKOD, u64::from(code))
            .ts12(&r005::UDRDTO, noon(when))
            .text_utf8(&r005::UDLANDADR2, &name.to_uppercase());
        let b = self.b.clone();
        self.block(key).push(&b);
        self.rebuild_003(key, None);
        self.event(key, b"A06", b"", when);
    }

    fn reimmigration(&mut self) -> Result<()> {
        let Some(key) = self.pick(&[80], |b, _| b.status() == 80 && b.get(5).is_some())? else {
            return Ok(());
        };
        let when = self.when();
        let kom = self.random_kom();
        let addr = people::address(&mut self.rng, self.st.t, kom, false);
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R024));
        let block = self.block(key);
        if let Some(old) = block.get(5).map(<[u8]>::to_vec) {
            b.reset(&layout::R024);
            b.text(&r024::PNR, &block.pnr.digits())
                .text(&r024::UDR_LANDEKOD, field(&old, &r005::UDR_LANDEKOD))
                .text(&r024::UDRDTO, field(&old, &r005::UDRDTO))
                .text(&r024::INDR_LANDEKOD, field(&old, &r005::UDR_LANDEKOD))
                .ts12(&r024::INDRDTO, noon(when));
            block.push(&b);
        }
        block.remove(5, |_| true);
        block.remove(6, |_| true);
        build_002(&mut b, Pnr::from_key(key), &addr, when, when, None);
        self.block(key).push(&b);
        self.b = b;
        self.set_status(key, 1, when);
        self.rebuild_003(key, None);
        self.event(key, b"A04", b"", when);
        Ok(())
    }

    fn immigration(&mut self) -> Result<()> {
        let when = self.when();
        let age = self.rng.normal(29.0, 9.0).clamp(0.0, 80.0);
        let birth = when - Duration::days((age * 365.25) as i64 + self.rng.range(0, 364));
        let birth = if birth.month() == 1 && birth.day() == 1 {
            birth + Duration::days(1)
        } else {
            birth
        };
        let female = self.rng.chance(0.47);
        let kom = self.random_kom();
        let addr = people::address(&mut self.rng, self.st.t, kom, false);
        let country = self.st.names.country(&mut self.rng);
        if let Some(key) = self.new_person(birth, female, when, &addr, None, Some(country)) {
            self.b.reset(&layout::R015);
            self.b
                .text(&r015::PNR, &Pnr::from_key(key).digits())
                .text(&r015::PNRMOR, b"0000000000")
                .text(&r015::PNRFAR, b"0000000000");
            let b = self.b.clone();
            self.block(key).push(&b);
            self.event(key, b"P31", b"", when);
        }
        Ok(())
    }

    /// Changes first name and/or surname, keeping the old names as a 026 row.
    fn rename(&mut self, key: u32, first: Option<&str>, surname: Option<&str>, when: NaiveDate) {
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R026));
        let block = self.block(key);
        let Some(old) = block.get(8).map(<[u8]>::to_vec) else {
            self.b = b;
            return;
        };
        b.reset(&layout::R026);
        b.text(&r026::PNR, &block.pnr.digits())
            .text(&r026::FORNVN, field(&old, &r008::FORNVN))
            .text(&r026::MELNVN, field(&old, &r008::MELNVN))
            .text(&r026::EFTERNVN, field(&old, &r008::EFTERNVN))
            .text(&r026::NVNHAENSTART, field(&old, &r008::NVNHAENSTART))
            .ts12(&r026::NVNHAENSLUT, noon(when));
        block.push(&b);
        let fornvn = first.map_or_else(|| latin1(field(&old, &r008::FORNVN)), str::to_string);
        let melnvn = latin1(field(&old, &r008::MELNVN));
        let efternvn = surname.map_or_else(|| latin1(field(&old, &r008::EFTERNVN)), str::to_string);
        let adrnvn = [fornvn.as_str(), melnvn.as_str(), efternvn.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        block.edit(&mut b, &layout::R008, |b| {
            b.text_utf8(&r008::FORNVN, &fornvn)
                .text_utf8(&r008::EFTERNVN, &efternvn)
                .ts12(&r008::NVNHAENSTART, noon(when))
                .text_utf8(&r008::ADRNVN, &adrnvn);
        });
        self.b = b;
        self.rebuild_003(key, Some(&adrnvn));
    }

    fn name_change(&mut self, first: bool) -> Result<()> {
        let Some(key) = self.pick(&[1], |b, d| Self::living_adult(b, d, 18..=90))? else {
            return Ok(());
        };
        let when = self.when();
        if first {
            let f = self.blocks[&key].block.female();
            let i = self.st.names.first(&mut self.rng, f);
            self.rename(key, Some(first_name(f, i)), None, when);
        } else {
            let s = SURNAMES[usize::from(self.st.names.surname(&mut self.rng))].0;
            self.rename(key, None, Some(s), when);
        }
        self.event(key, b"A13", b"", when);
        Ok(())
    }

    fn protection_expires(&mut self) -> Result<()> {
        let has = |b: &EditBlock| b.all(4).any(|r| number(r, &r004::BESKYTTYPE) == 1);
        let Some(key) = self.pick(&[1, 3, 5, 7], move |b, _| has(b))? else {
            return Ok(());
        };
        self.block(key)
            .remove(4, |r| number(r, &r004::BESKYTTYPE) == 1);
        self.event(key, b"P11", b"", self.to);
        Ok(())
    }

    fn new_protection(&mut self) -> Result<()> {
        let Some(key) = self.pick(&[1], |b, d| {
            Self::living_adult(b, d, 18..=90)
                && !b.all(4).any(|r| number(r, &r004::BESKYTTYPE) == 1)
        })?
        else {
            return Ok(());
        };
        let when = self.when();
        self.b.reset(&layout::R004);
        self.b
            .text(&r004::PNR, &Pnr::from_key(key).digits())
            .number(&r004::BESKYTTYPE, 1)
            .date(&r004::START_DT_BESKYTTELSE, when)
            .date(&r004::SLET_DT_BESKYTTELSE, add_years(when, 1));
        let b = self.b.clone();
        self.block(key).push(&b);
        self.event(key, b"A33", b"", when);
        Ok(())
    }

    /// X gets a new PNR Y: X's own block becomes a status-60 001 pointing at Y; Y gets X's data
    /// with a 022 row; relatives' references move to Y.
    fn pnr_change(&mut self) -> Result<()> {
        let Some(x) = self.pick(&[1], |b, d| Self::living_adult(b, d, 0..=100))? else {
            return Ok(());
        };
        let when = self.when();
        let old = self.blocks[&x].block.clone();
        let (Some(birth), female) = (old.birth(), old.female()) else {
            return Ok(());
        };
        let (birth, female) = if self.rng.chance(0.7) {
            let d = birth + Duration::days(self.rng.range(1, 30));
            (
                if d.month() == 1 && d.day() == 1 {
                    d + Duration::days(1)
                } else {
                    d
                },
                female,
            )
        } else {
            (birth, !female)
        };
        let Some(y) = self.new_key(birth, female) else {
            return Ok(());
        };
        let xp = Pnr::from_key(x);
        let mut new = EditBlock::new(y);
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R001));
        for r in old.records.iter().chain(&old.tail) {
            let Some(l) = layout_of(r) else { continue };
            b.load(l, r).text(&r001::PNR, &y.digits());
            if l.record_type.0 == 1 {
                b.text(&r001::KOEN, if female { b"K" } else { b"M" })
                    .date(&r001::FOED_DT, birth);
            }
            if l.record_type.0 == 3 {
                new.tail.push(b.bytes().to_vec());
            } else {
                new.push(&b);
            }
        }
        b.reset(&layout::R022);
        b.text(&r022::PNRGAELD, &y.digits())
            .text(&r022::PNR, &xp.digits())
            .date(&r022::START_DT_PERSON, old.birth().unwrap_or(birth))
            .date(&r022::SLUT_DT_PERSON, when);
        new.push(&b);
        b.reset(&layout::R001);
        b.text(&r001::PNR, &xp.digits())
            .text(&r001::PNRGAELD, &y.digits())
            .number(&r001::STATUS, 60)
            .ts12(&r001::STATUSHAENSTART, Ts12::from_date(when, 0, 0))
            .date(&r001::SLUT_DT_PERSON, when);
        let retired = self.block(x);
        retired.records = vec![b.bytes().to_vec()];
        retired.tail.clear();
        self.b = b;
        self.blocks.insert(
            y.key(),
            Touched {
                block: new,
                events: Vec::new(),
            },
        );
        self.order.push(y.key());
        self.event(x, b"P03", b"", when);
        self.event(y.key(), b"P03", b"PN", when);
        let relatives: Vec<(Option<Pnr>, &[u8])> = [
            (old.spouse(), AE_G),
            (old.parents()[0], b"MO".as_slice()),
            (old.parents()[1], b"FA".as_slice()),
        ]
        .into_iter()
        .chain(old.children().into_iter().map(|c| (Some(c), B_OE)))
        .collect();
        for (rel, mark) in relatives {
            let Some(r) = rel else { continue };
            if !self.touch(r.key())? {
                continue;
            }
            self.repoint(r.key(), xp, y);
            self.event(r.key(), b"P03", mark, when);
        }
        Ok(())
    }

    /// Replaces references to `from` by `to` in the relation fields of `key`'s block.
    fn repoint(&mut self, key: u32, from: Pnr, to: Pnr) {
        let fields = [
            &r012::AEGTEPNR,
            &r014::PNRBARN,
            &r015::PNRMOR,
            &r015::PNRFAR,
        ];
        let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R012));
        let block = self.block(key);
        for r in block.records.iter_mut() {
            let Some(l) = layout_of(r) else { continue };
            let rt = l.record_type.0;
            for f in fields {
                let owner = match f.name {
                    "AEGTEPNR" => 12,
                    "PNRBARN" => 14,
                    _ => 15,
                };
                if rt == owner && pnr_field(r, f) == Some(from) {
                    b.load(l, r).text(f, &to.digits());
                    *r = b.bytes().to_vec();
                }
            }
        }
        self.b = b;
    }

    /// The municipal merger of a spike day: every resident of `from` is moved, technically,
    /// to `to` (new municipality and road codes, same house), event A42.
    fn merge_municipality(&mut self, from: u16, to: u16) -> Result<()> {
        let mut keys: Vec<u32> = self.st.idx.spike.clone();
        let mut extra: Vec<u32> = self
            .st
            .overlay
            .iter()
            .filter(|(_, b)| b.address().is_some_and(|a| a.kom == from))
            .map(|(k, _)| *k)
            .collect();
        extra.sort_unstable();
        keys.extend(extra);
        keys.extend(self.order.iter().copied().filter(|k| {
            self.blocks[k]
                .block
                .address()
                .is_some_and(|a| a.kom == from)
        }));
        let when = self.to;
        for key in keys {
            if !self.touch(key)? {
                continue;
            }
            let Some(mut addr) = self.blocks[&key].block.address().filter(|a| a.kom == from) else {
                continue;
            };
            if !self.blocks[&key]
                .events
                .iter()
                .all(|e| field(e, &r099::HAENDELSE) != b"A42")
            {
                continue;
            }
            addr.kom = to;
            if addr.vej < 9900 {
                addr.vej += 5000;
            }
            let mut b = std::mem::replace(&mut self.b, RecordBuilder::new(&layout::R002));
            self.block(key).edit(&mut b, &layout::R002, |b| {
                set_addr(b, &ADDR_002, &addr);
            });
            self.b = b;
            let name = self.name_of(key);
            let t = self.st.t;
            build_003(
                &mut self.b,
                t,
                Pnr::from_key(key),
                &name,
                Some(&addr),
                &mut self.text,
            );
            let rec = self.b.bytes().to_vec();
            let block = self.block(key);
            block.tail.clear();
            block.tail.push(rec);
            self.event(key, b"A42", b"", when);
        }
        self.st.merged.push(from);
        Ok(())
    }

    // ----- output -----

    /// Writes the day file: 000, the blocks in the order they were touched, the 003 tail in
    /// address order, 999. Returns (persons, events, TAELLER, bytes).
    fn write(
        &mut self,
        f: &mut cprsift_io::AtomicFile,
        opgavenr: u32,
    ) -> Result<(u64, u64, u64, u64)> {
        let mut out = Vec::with_capacity(self.blocks.len() * 1600);
        let mut b = RecordBuilder::new(&layout::R000);
        write_start(&mut b, &mut out, opgavenr, self.date, Some(self.from))?;
        let (mut records, mut events) = (0, 0);
        let mut tail: Vec<&Vec<u8>> = Vec::new();
        let order = &self.order;
        for key in order {
            let Some(t) = self.blocks.get_mut(key) else {
                continue;
            };
            if t.events.is_empty() {
                // Touched only to read it; not part of the day.
                continue;
            }
            records += t.block.write(&mut out, &t.events);
            events += t.events.len() as u64;
        }
        let mut persons = 0;
        for key in order {
            if let Some(t) = self.blocks.get(key).filter(|t| !t.events.is_empty()) {
                persons += 1;
                tail.extend(t.block.tail.iter());
            }
        }
        tail.sort_by_key(|r| address_key(r));
        for r in &tail {
            out.extend_from_slice(r);
            out.push(b'\n');
        }
        records += tail.len() as u64;
        write_end(&mut b, &mut out, records)?;
        f.write_all(&out).map_err(Error::Write)?;
        Ok((persons, events, records, out.len() as u64))
    }

    /// Keeps today's blocks for the following days.
    fn finish(self) {
        for (key, t) in self.blocks {
            if !t.events.is_empty() {
                self.st.overlay.insert(key, t.block);
            }
        }
    }
}
