//! One batch of synthetic people: statuses by exact quota, ages, sexes and municipalities from
//! the tables, then families matched inside the batch (spouses, mothers, fathers, custody),
//! surnames handed down, addresses shared. Personal numbers are assigned afterwards, in batch
//! order, by the caller (see [`crate::pnr_alloc`]), so that they are unique across batches.

use chrono::{Datelike, Months, NaiveDate};
use cprsift_format::Pnr;

use crate::rng::{Rng, Stream};
use crate::tables::{self, name_cum, Tables, COUNTRIES, FEMALE_NAMES, MALE_NAMES, SURNAMES};

/// No index (a missing link).
pub const NONE: u32 = u32::MAX;

/// Person statuses and their shares per 10,000 persons (flows.md §8; 20/30/50/60 assumed).
pub const STATUS_SHARES: [(u8, u64); 11] = [
    (1, 5570),
    (3, 20),
    (5, 50),
    (7, 4),
    (20, 250),
    (30, 5),
    (50, 5),
    (60, 5),
    (70, 40),
    (80, 1195),
    (90, 2856),
];

/// A date from parts known to be valid (constants of this crate).
pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// `date` plus `years` (29 February becomes 28 February).
pub fn add_years(date: NaiveDate, years: i32) -> NaiveDate {
    let months = Months::new(years.unsigned_abs() * 12);
    let r = if years >= 0 {
        date.checked_add_months(months)
    } else {
        date.checked_sub_months(months)
    };
    r.unwrap_or(date)
}

/// Whole years from `from` to `to`.
pub fn years_between(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut y = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    y
}

/// A random address in municipality `kom`: road codes scale with the population, flats are
/// more common in large municipalities; `special` gives a road code 9900-9999 without a house
/// number (status 03/07).
pub fn address(rng: &mut Rng, t: &Tables, kom: u16, special: bool) -> Addr {
    let weight = t.municipality(kom).map_or(0, |m| m.weight);
    if special {
        return Addr {
            kom,
            vej: rng.range(9900, 9999) as u16,
            ..Addr::default()
        };
    }
    let roads = (weight / 60).clamp(20, 999) as i64;
    let flats = if weight > 100_000 { 0.6 } else { 0.2 };
    let floor = if rng.chance(flats) {
        rng.range(1, 6) as u8
    } else {
        0
    };
    Addr {
        kom,
        vej: rng.range(1, roads) as u16,
        husnr: (1.0 + rng.unit().powi(2) * 150.0) as u16,
        letter: if rng.chance(0.08) {
            b'A' + rng.below(4) as u8
        } else {
            b' '
        },
        floor,
        door: if floor > 0 { 1 + rng.below(3) as u8 } else { 0 },
    }
}

/// The spouse of a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spouse {
    /// None (unmarried).
    None,
    /// Another person of the batch.
    Inside(u32),
    /// A spouse without a PNR in the file (abroad, or a former or deceased spouse).
    Outside,
}

/// A domestic address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Addr {
    /// Municipality code.
    pub kom: u16,
    /// Road code (9900-9999: special road code, no house number).
    pub vej: u16,
    /// House number (0: none).
    pub husnr: u16,
    /// House letter or blank.
    pub letter: u8,
    /// 0 none, 1 ground floor (`st`), n floor n-1.
    pub floor: u8,
    /// 0 none, 1 th, 2 tv, 3 mf.
    pub door: u8,
}

/// One generated person.
#[derive(Clone, Debug)]
pub struct Person {
    /// Assigned after generation.
    pub pnr: Pnr,
    /// Birth date.
    pub birth: NaiveDate,
    /// Sex.
    pub female: bool,
    /// 001 STATUS.
    pub status: u8,
    /// Issue (20), retirement (30/50/60), disappearance, emigration or death date.
    pub status_date: Option<NaiveDate>,
    /// Current (or last known) address.
    pub addr: Addr,
    /// Move-in date of `addr`.
    pub moved_in: NaiveDate,
    /// First name (index into the sex's name table).
    pub first: u8,
    /// Middle name: index into `SURNAMES`, or `u8::MAX`.
    pub middle: u8,
    /// Current surname (index into `SURNAMES`).
    pub surname: u8,
    /// Surname at birth.
    pub birth_surname: u8,
    /// 012 CIVST (`U`, `G`, `F`, `E`, `D`).
    pub civst: u8,
    /// Start of the current civil status.
    pub civ_date: Option<NaiveDate>,
    /// The spouse (current for G, former for F/E, last for dead).
    pub spouse: Spouse,
    /// Wedding date of the marriage that ended (F, E, D).
    pub married_from: Option<NaiveDate>,
    /// Mother (index) or [`NONE`].
    pub mother: u32,
    /// Father (index) or [`NONE`].
    pub father: u32,
    /// Children linked so far (for the caps).
    pub children: u8,
    /// Foreign born: country index and arrival date.
    pub foreign: Option<(u8, NaiveDate)>,
    /// Naturalisation date of a foreign-born person.
    pub naturalised: Option<NaiveDate>,
    /// 011 FKIRK.
    pub church: u8,
    /// Date the person left the national church (028 history).
    pub church_left: Option<NaiveDate>,
    /// Protections: bit n set = BESKYTTYPE n+1.
    pub protections: u8,
    /// Start of the protections.
    pub protect_start: NaiveDate,
    /// 50/60: index of the surviving person; others: index of a retired PNR pointing here.
    pub link: u32,
}

/// The cumulative tables of names, built once.
pub struct NameTables {
    female: Vec<u64>,
    male: Vec<u64>,
    surnames: Vec<u64>,
    countries: Vec<u64>,
}

impl NameTables {
    /// Builds the cumulative weights.
    pub fn new() -> NameTables {
        NameTables {
            female: name_cum(&FEMALE_NAMES),
            male: name_cum(&MALE_NAMES),
            surnames: name_cum(&SURNAMES),
            countries: COUNTRIES
                .iter()
                .scan(0, |a, c| {
                    *a += c.2;
                    Some(*a)
                })
                .collect(),
        }
    }

    /// A first name for the sex.
    pub fn first(&self, rng: &mut Rng, female: bool) -> u8 {
        rng.weighted(if female { &self.female } else { &self.male }) as u8
    }

    /// A surname.
    pub fn surname(&self, rng: &mut Rng) -> u8 {
        rng.weighted(&self.surnames) as u8
    }

    /// A foreign country (index into `COUNTRIES`).
    pub fn country(&self, rng: &mut Rng) -> u8 {
        rng.weighted(&self.countries) as u8
    }
}

impl Default for NameTables {
    fn default() -> Self {
        Self::new()
    }
}

/// How many of persons `start..end` (global numbering) have each status: exact quotas, so
/// the totals of a run match the shares whatever the batch size. Each status but the last
/// gets `floor(n * share)` of the first `n` persons (monotone in `n`); the last status takes
/// the rest.
pub fn status_counts(start: u64, end: u64) -> Vec<(u8, u64)> {
    let upto = |n: u64, share: u64| n * share / 10_000;
    let mut counts: Vec<(u8, u64)> = STATUS_SHARES
        .iter()
        .map(|&(status, share)| (status, upto(end, share) - upto(start, share)))
        .collect();
    let others: u64 = counts[..counts.len() - 1].iter().map(|c| c.1).sum();
    if let Some(last) = counts.last_mut() {
        last.1 = (end - start).saturating_sub(others);
    }
    counts
}

/// Generates persons `start..end` of a run with `seed`, as batch `index`.
pub fn generate_batch(
    seed: u64,
    index: u64,
    start: u64,
    end: u64,
    proddto: NaiveDate,
) -> Vec<Person> {
    let t = tables::tables();
    let names = NameTables::new();
    let mut g = Gen {
        rng: Rng::derive(seed, Stream::People, index),
        t,
        names: &names,
        proddto,
        people: Vec::with_capacity((end - start) as usize),
    };
    let mut retired = Vec::new();
    for (status, n) in status_counts(start, end) {
        for _ in 0..n {
            match status {
                50 | 60 => retired.push(status),
                _ => {
                    let p = g.person(status);
                    g.people.push(p);
                }
            }
        }
    }
    g.marry(&[1, 3]);
    g.marry(&[5, 7]);
    g.link_parents();
    g.hand_down_names();
    g.share_addresses();
    for status in retired {
        g.retire(status);
    }
    g.people
}

struct Gen<'a> {
    rng: Rng,
    t: &'static Tables,
    names: &'a NameTables,
    proddto: NaiveDate,
    people: Vec<Person>,
}

fn not_new_year(d: NaiveDate) -> NaiveDate {
    if d.month() == 1 && d.day() == 1 {
        ymd(d.year(), 1, 2)
    } else {
        d
    }
}

impl Gen<'_> {
    /// A birth date giving `age` on the pyramid date.
    fn birth_for_age(&mut self, age: i32) -> NaiveDate {
        let y = 2021 - age;
        not_new_year(self.rng.date(ymd(y, 1, 1), ymd(y, 12, 31)))
    }

    /// A birth date for someone `age` years old on `at`.
    fn birth_before(&mut self, at: NaiveDate, age: f64) -> NaiveDate {
        let age = age.clamp(0.0, 104.0);
        let days = (age * 365.25) as i64 + self.rng.range(0, 364);
        let d = at - chrono::Duration::days(days);
        not_new_year(d.max(ymd(1870, 3, 1)))
    }

    fn address(&mut self, kom: u16, special: bool) -> Addr {
        address(&mut self.rng, self.t, kom, special)
    }

    fn denmark_kom(&mut self) -> u16 {
        let i = self.rng.weighted(&self.t.denmark_cum);
        self.t.denmark[i].code
    }

    fn blank(&mut self, birth: NaiveDate, female: bool, status: u8) -> Person {
        let first = self.names.first(&mut self.rng, female);
        let surname = self.names.surname(&mut self.rng);
        Person {
            pnr: Pnr::from_key(0),
            birth,
            female,
            status,
            status_date: None,
            addr: Addr::default(),
            moved_in: birth,
            first,
            middle: if self.rng.chance(0.25) {
                self.names.surname(&mut self.rng)
            } else {
                u8::MAX
            },
            surname,
            birth_surname: surname,
            civst: b'U',
            civ_date: None,
            spouse: Spouse::None,
            married_from: None,
            mother: NONE,
            father: NONE,
            children: 0,
            foreign: None,
            naturalised: None,
            church: b'U',
            church_left: None,
            protections: 0,
            protect_start: birth,
            link: NONE,
        }
    }

    fn person(&mut self, status: u8) -> Person {
        let end = self.proddto - chrono::Duration::days(2);
        let cpr_start = ymd(1968, 4, 2);
        let (birth, female, at) = match status {
            1 | 3 | 5 | 7 => {
                let gi = self.rng.weighted(&self.t.pyramid_cum);
                let age = (gi / 2) as i32
                    + if gi / 2 == 100 {
                        self.rng.range(0, 3) as i32
                    } else {
                        0
                    };
                (self.birth_for_age(age), gi % 2 == 1, None)
            }
            90 => {
                let death = self.rng.date(cpr_start, end);
                let age = if self.rng.chance(0.01) {
                    0.0
                } else {
                    self.rng.normal(78.0, 12.0).clamp(1.0, 104.0)
                };
                (
                    self.birth_before(death, age),
                    self.rng.chance(0.5),
                    Some(death),
                )
            }
            70 | 80 => {
                let when = self.rng.date(cpr_start, end);
                let age = self.rng.normal(31.0, 11.0).clamp(0.0, 85.0);
                (
                    self.birth_before(when, age),
                    self.rng.chance(0.48),
                    Some(when),
                )
            }
            20 => {
                let issued = self.rng.date(ymd(1990, 1, 2), end);
                let age = self.rng.normal(38.0, 11.0).clamp(18.0, 75.0);
                (
                    self.birth_before(issued, age),
                    self.rng.chance(0.35),
                    Some(issued),
                )
            }
            _ => {
                let retired = self.rng.date(ymd(1975, 1, 2), end);
                let age = self.rng.normal(30.0, 15.0).clamp(0.0, 90.0);
                (
                    self.birth_before(retired, age),
                    self.rng.chance(0.5),
                    Some(retired),
                )
            }
        };
        let mut p = self.blank(birth, female, status);
        p.status_date = at;
        let until = at.unwrap_or(self.proddto);
        p.addr = match status {
            5 | 7 => {
                let i = self.rng.weighted(&self.t.greenland_cum);
                let kom = self.t.greenland[i].code;
                self.address(kom, status == 7)
            }
            20 => {
                let i = self.rng.weighted(&self.t.admin_cum);
                Addr {
                    kom: self.t.admin[i].code,
                    ..Addr::default()
                }
            }
            30 => Addr::default(),
            _ => {
                let kom = self.denmark_kom();
                self.address(kom, status == 3)
            }
        };
        let foreign_share = match status {
            1 | 3 => 0.109,
            20 => 0.9,
            80 | 70 => 0.4,
            90 => 0.04,
            _ => 0.0,
        };
        let first_day = birth.max(cpr_start);
        if until > first_day + chrono::Duration::days(30) && self.rng.chance(foreign_share) {
            let arrival = self.rng.date(
                first_day + chrono::Duration::days(1),
                until - chrono::Duration::days(1),
            );
            let country = self.names.country(&mut self.rng);
            p.foreign = Some((country, arrival));
            p.first = self.names.first(&mut self.rng, female);
            if arrival < add_years(until, -9) && self.rng.chance(0.35) {
                p.naturalised = Some(self.rng.date(add_years(arrival, 9), until));
            }
        }
        let settled = p.foreign.map_or(birth, |f| f.1).max(cpr_start).max(birth);
        p.moved_in = if settled >= until {
            settled
        } else {
            // Time at the current address: most moves are recent.
            let span = (until - settled).num_days();
            let back = (span as f64 * self.rng.unit().powi(2)) as i64;
            not_new_year(until - chrono::Duration::days(back))
        };
        if status == 20 {
            p.moved_in = at.unwrap_or(birth);
        }
        self.civil_status(&mut p, until);
        self.church_and_protection(&mut p, until);
        p
    }

    fn civil_status(&mut self, p: &mut Person, at: NaiveDate) {
        let age = years_between(p.birth, at);
        if p.status == 90 {
            p.civst = b'D';
            p.civ_date = p.status_date;
            if age >= 20 && self.rng.chance(0.55) {
                p.spouse = Spouse::Outside;
                p.married_from = Some(
                    self.rng
                        .date(add_years(p.birth, 20), add_years(p.birth, age.min(45))),
                );
            }
            return;
        }
        if age < 18 || matches!(p.status, 20 | 30) {
            return;
        }
        let (g, f, e) = match age {
            18..=24 => (0.04, 0.0, 0.0),
            25..=29 => (0.22, 0.01, 0.0),
            30..=34 => (0.42, 0.03, 0.002),
            35..=39 => (0.52, 0.06, 0.003),
            40..=49 => (0.56, 0.11, 0.006),
            50..=59 => (0.58, 0.14, 0.02),
            60..=69 => (0.60, 0.14, 0.06),
            70..=79 => (0.55, 0.10, 0.18),
            _ => (0.33, 0.07, 0.45),
        };
        let x = self.rng.unit();
        let earliest = add_years(p.birth, 20).max(add_years(at, -(age - 18).min(55)));
        let wedding = self.rng.date(earliest, at - chrono::Duration::days(1));
        if x < g {
            p.civst = b'G';
            p.civ_date = Some(wedding);
            p.spouse = Spouse::Outside;
        } else if x < g + f + e {
            p.civst = if x < g + f { b'F' } else { b'E' };
            p.married_from = Some(wedding);
            p.civ_date = Some(self.rng.date(wedding + chrono::Duration::days(200), at));
            p.spouse = Spouse::Outside;
        }
    }

    fn church_and_protection(&mut self, p: &mut Person, at: NaiveDate) {
        let danish = p.foreign.is_none();
        let x = self.rng.unit();
        p.church = match (danish, x) {
            (true, x) if x < 0.74 => b'F',
            (true, x) if x < 0.75 => b'M',
            (false, x) if x < 0.08 => b'F',
            _ => b'U',
        };
        if p.church == b'U' && danish && years_between(p.birth, at) > 20 && self.rng.chance(0.6) {
            p.church_left = Some(self.rng.date(add_years(p.birth, 18), at));
        }
        if matches!(p.status, 1 | 3 | 5 | 7) {
            let adult = years_between(p.birth, at) >= 18;
            for (bit, share) in [
                (0, 0.004),
                (1, 0.03),
                (2, if adult { 0.18 } else { 0.0 }),
                (3, 0.01),
            ] {
                if self.rng.chance(share) {
                    p.protections |= 1 << bit;
                }
            }
            p.protect_start = self.rng.date(
                self.proddto - chrono::Duration::days(360),
                self.proddto - chrono::Duration::days(1),
            );
        }
    }

    /// Pairs married persons of the given statuses, men and women matched by rank of age.
    fn marry(&mut self, statuses: &[u8]) {
        let mut men = Vec::new();
        let mut women = Vec::new();
        for (i, p) in self.people.iter().enumerate() {
            if p.civst == b'G' && statuses.contains(&p.status) {
                if p.female {
                    women.push(i)
                } else {
                    men.push(i)
                }
            }
        }
        men.sort_by_key(|&i| self.people[i].birth);
        women.sort_by_key(|&i| self.people[i].birth);
        for (&m, &w) in men.iter().zip(&women) {
            let (bm, bw) = (self.people[m].birth, self.people[w].birth);
            if (bm - bw).num_days().abs() > 12 * 365 {
                continue;
            }
            let younger = bm.max(bw);
            let wedding = self.rng.date(
                add_years(younger, 20).min(self.proddto - chrono::Duration::days(30)),
                self.proddto - chrono::Duration::days(10),
            );
            let addr = self.people[m].addr;
            let moved_in = self.people[m].moved_in.max(self.people[w].birth);
            let man = &mut self.people[m];
            man.spouse = Spouse::Inside(w as u32);
            man.civ_date = Some(wedding);
            let wife = &mut self.people[w];
            wife.spouse = Spouse::Inside(m as u32);
            wife.civ_date = Some(wedding);
            wife.addr = addr;
            wife.moved_in = moved_in;
        }
    }

    fn alive_at(&self, i: usize, at: NaiveDate) -> bool {
        let p = &self.people[i];
        match p.status {
            70 | 80 | 90 => p.status_date.is_some_and(|d| d > at),
            20 | 30 | 50 | 60 => false,
            _ => true,
        }
    }

    /// Links persons to mothers and fathers of plausible ages in the batch.
    fn link_parents(&mut self) {
        let mut women: Vec<usize> = Vec::new();
        let mut men: Vec<usize> = Vec::new();
        for (i, p) in self.people.iter().enumerate() {
            if matches!(p.status, 1 | 3 | 5 | 7 | 70 | 80 | 90) {
                if p.female {
                    women.push(i)
                } else {
                    men.push(i)
                }
            }
        }
        women.sort_by_key(|&i| self.people[i].birth);
        men.sort_by_key(|&i| self.people[i].birth);
        for c in 0..self.people.len() {
            let child = &self.people[c];
            if matches!(child.status, 20 | 30 | 50 | 60) {
                continue;
            }
            let share = if child.foreign.is_some() { 0.15 } else { 0.93 };
            if !self.rng.chance(share) {
                continue;
            }
            let birth = child.birth;
            let Some(m) = self.pick_parent(&women, birth, 5) else {
                continue;
            };
            self.people[c].mother = m as u32;
            self.people[m].children += 1;
            let father = match self.people[m].spouse {
                Spouse::Inside(h)
                    if self.fits_parent(h as usize, birth, 6) && self.rng.chance(0.9) =>
                {
                    Some(h as usize)
                }
                _ if self.rng.chance(0.5) => self.pick_parent(&men, birth, 6),
                _ => None,
            };
            if let Some(f) = father {
                self.people[c].father = f as u32;
                self.people[f].children += 1;
            }
        }
    }

    fn fits_parent(&self, i: usize, birth: NaiveDate, cap: u8) -> bool {
        let p = &self.people[i];
        p.children < cap
            && p.birth <= add_years(birth, -18)
            && p.birth >= add_years(birth, -45)
            && self.alive_at(i, birth)
    }

    fn pick_parent(&mut self, sorted: &[usize], birth: NaiveDate, cap: u8) -> Option<usize> {
        let lo = sorted.partition_point(|&i| self.people[i].birth < add_years(birth, -44));
        let hi = sorted.partition_point(|&i| self.people[i].birth <= add_years(birth, -18));
        if hi <= lo {
            return None;
        }
        for _ in 0..6 {
            let i = sorted[lo + self.rng.below((hi - lo) as u64) as usize];
            if self.fits_parent(i, birth, cap) {
                return Some(i);
            }
        }
        None
    }

    /// Surnames follow the father (else the mother); some wives take the husband's name.
    fn hand_down_names(&mut self) {
        let mut order: Vec<usize> = (0..self.people.len()).collect();
        order.sort_by_key(|&i| self.people[i].birth);
        for &i in &order {
            let p = &self.people[i];
            let from = if p.father != NONE { p.father } else { p.mother };
            if from != NONE {
                let s = self.people[from as usize].birth_surname;
                let mother_name =
                    (p.mother != NONE).then(|| self.people[p.mother as usize].birth_surname);
                let p = &mut self.people[i];
                p.birth_surname = s;
                p.surname = s;
                if let Some(m) = mother_name.filter(|&m| m != s) {
                    if p.middle != u8::MAX || i % 3 == 0 {
                        p.middle = m;
                    }
                }
            }
        }
        for i in 0..self.people.len() {
            if let (true, Spouse::Inside(h)) = (self.people[i].female, self.people[i].spouse) {
                if self.rng.chance(0.4) {
                    self.people[i].surname = self.people[h as usize].birth_surname;
                }
            }
        }
    }

    /// Minors live with their mother.
    fn share_addresses(&mut self) {
        for c in 0..self.people.len() {
            let (m, birth, status) = (
                self.people[c].mother,
                self.people[c].birth,
                self.people[c].status,
            );
            if m == NONE
                || !matches!(status, 1 | 3 | 5 | 7)
                || years_between(birth, self.proddto) >= 18
            {
                continue;
            }
            let mother = &self.people[m as usize];
            if mother.status == status {
                let (addr, moved_in) = (mother.addr, mother.moved_in.max(birth));
                let child = &mut self.people[c];
                child.addr = addr;
                child.moved_in = moved_in;
            }
        }
    }

    /// Adds a retired PNR (50 duplicate, 60 changed) of a living person of the batch.
    fn retire(&mut self, status: u8) {
        let n = self.people.len();
        let survivor = (0..40)
            .map(|_| self.rng.below(n as u64) as usize)
            .find(|&i| {
                self.people[i].status == 1
                    && self.people[i].link == NONE
                    && self.people[i].birth < self.proddto - chrono::Duration::days(400)
            });
        let Some(s) = survivor else {
            let p = self.person(30);
            self.people.push(p);
            return;
        };
        let sp = &self.people[s];
        let (mut birth, mut female) = (sp.birth, sp.female);
        if status == 60 {
            if self.rng.chance(0.7) {
                birth = not_new_year(birth + chrono::Duration::days(self.rng.range(-40, 40)));
            } else {
                female = !female;
            }
        }
        let from = sp.birth.max(ymd(1990, 1, 2));
        let retired_on = self
            .rng
            .date(from, self.proddto - chrono::Duration::days(2));
        let mut p = self.blank(birth, female, status);
        p.status_date = Some(retired_on);
        p.link = s as u32;
        self.people[s].link = n as u32;
        self.people.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_add_up_exactly() {
        let whole: u64 = status_counts(0, 10_000_000).iter().map(|c| c.1).sum();
        assert_eq!(whole, 10_000_000);
        let mut parts = vec![0u64; STATUS_SHARES.len()];
        for b in 0..100 {
            for (k, (_, n)) in status_counts(b * 1234, (b + 1) * 1234)
                .into_iter()
                .enumerate()
            {
                parts[k] += n;
            }
        }
        let direct: Vec<u64> = status_counts(0, 123_400).into_iter().map(|c| c.1).collect();
        assert_eq!(parts, direct);
    }

    #[test]
    fn batches_are_reproducible_and_linked_both_ways() {
        let d = ymd(2022, 5, 12);
        let a = generate_batch(9, 3, 0, 3000, d);
        let b = generate_batch(9, 3, 0, 3000, d);
        assert_eq!(a.len(), b.len());
        assert!(a
            .iter()
            .zip(&b)
            .all(|(x, y)| x.birth == y.birth && x.surname == y.surname));
        for (i, p) in a.iter().enumerate() {
            if let Spouse::Inside(s) = p.spouse {
                assert_eq!(a[s as usize].spouse, Spouse::Inside(i as u32));
                assert_ne!(a[s as usize].female, p.female);
            }
            if p.mother != NONE {
                assert!(a[p.mother as usize].female);
                assert!(a[p.mother as usize].birth < p.birth);
            }
        }
        assert!(a.iter().any(|p| matches!(p.spouse, Spouse::Inside(_))));
        assert!(a.iter().filter(|p| p.mother != NONE).count() > 1000);
    }
}
