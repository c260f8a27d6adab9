//! Writing people as records, every one through [`RecordBuilder`] and the layout constants:
//! the person block in ascending record-type order, and the 003 record for the tail.

use std::fmt::Write as _;

use chrono::{Duration, NaiveDate};
use cprsift_format::date::Ts12;
use cprsift_format::layout::fields::{
    r001, r002, r003, r004, r005, r006, r007, r008, r009, r010, r011, r012, r014, r015, r016, r022,
    r023, r024, r026, r027, r028, r029,
};
use cprsift_format::layout::{self, Layout};
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::{Field, Pnr};

use crate::people::{self, add_years, years_between, Addr, NameTables, Person, Spouse, NONE};
use crate::rng::Rng;
use crate::tables::{
    self, Tables, COUNTRIES, DENMARK, FEMALE_NAMES, MALE_NAMES, ROAD_ENDINGS, ROAD_STEMS, SURNAMES,
};

/// A TS12 value at noon (CPR's legacy dates carry a time; noon is as good as any).
pub fn noon(d: NaiveDate) -> Ts12 {
    Ts12::from_date(d, 12, 0)
}

/// The fields of one address in a record type (002, 023 and 003 place them differently).
pub struct AddrFields {
    /// KOMKOD.
    pub kom: &'static Field,
    /// VEJKOD.
    pub vej: &'static Field,
    /// HUSNR.
    pub husnr: &'static Field,
    /// ETAGE.
    pub etage: &'static Field,
    /// SIDEDOER.
    pub door: &'static Field,
}

/// The address fields of 002.
pub const ADDR_002: AddrFields = AddrFields {
    kom: &r002::KOMKOD,
    vej: &r002::VEJKOD,
    husnr: &r002::HUSNR,
    etage: &r002::ETAGE,
    door: &r002::SIDEDOER,
};
/// The address fields of 023.
pub const ADDR_023: AddrFields = AddrFields {
    kom: &r023::KOMKOD,
    vej: &r023::VEJKOD,
    husnr: &r023::HUSNR,
    etage: &r023::ETAGE,
    door: &r023::SIDEDOER,
};
/// The address fields of 003.
pub const ADDR_003: AddrFields = AddrFields {
    kom: &r003::KOMKOD,
    vej: &r003::VEJKOD,
    husnr: &r003::HUSNR,
    etage: &r003::ETAGE,
    door: &r003::SIDEDOER,
};

const DOORS: [&[u8]; 4] = [b"", b"th", b"tv", b"mf"];

/// Sets the coded address fields.
pub fn set_addr(b: &mut RecordBuilder, f: &AddrFields, a: &Addr) {
    b.number(f.kom, u64::from(a.kom))
        .number(f.vej, u64::from(a.vej));
    if a.husnr > 0 {
        let h = a.husnr;
        let husnr = [
            b'0' + (h / 100 % 10) as u8,
            b'0' + (h / 10 % 10) as u8,
            b'0' + (h % 10) as u8,
            a.letter,
        ];
        b.text(f.husnr, &husnr);
    } else {
        b.text(f.husnr, b"");
    }
    match a.floor {
        0 => b.text(f.etage, b""),
        1 => b.text(f.etage, b"st"),
        n => b.text(f.etage, &[b'0' + (n - 1) / 10, b'0' + (n - 1) % 10]),
    };
    b.text_right(f.door, DOORS[usize::from(a.door.min(3))]);
}

/// The road's name: a stem and an ending chosen by road and municipality code.
pub fn road_name(out: &mut String, a: &Addr) {
    let (k, v) = (usize::from(a.kom), usize::from(a.vej));
    out.push_str(ROAD_STEMS[(v * 7 + k) % ROAD_STEMS.len()]);
    out.push_str(ROAD_ENDINGS[(v / ROAD_STEMS.len() + k) % ROAD_ENDINGS.len()]);
}

/// STANDARDADR: road, house number, `,floor`, door (spec/CODES.md §12).
pub fn standard_address(out: &mut String, a: &Addr) {
    road_name(out, a);
    if a.husnr > 0 {
        let _ = write!(out, " {}", a.husnr);
        if a.letter != b' ' {
            out.push(char::from(a.letter));
        }
    }
    match a.floor {
        0 => {}
        1 => out.push_str(",st"),
        n => {
            let _ = write!(out, ",{}", n - 1);
        }
    }
    if a.door > 0 {
        out.push(' ');
        out.push_str(std::str::from_utf8(DOORS[usize::from(a.door.min(3))]).unwrap_or(""));
    }
}

/// Builds a 003 record: the addressing name, and the clear-written address when `addr` is
/// given (residents); otherwise the numeric fields are zero-filled as CPR does for status >= 30.
pub fn build_003(
    b: &mut RecordBuilder,
    t: &Tables,
    pnr: Pnr,
    name: &str,
    addr: Option<&Addr>,
    scratch: &mut String,
) {
    b.reset(&layout::R003);
    b.text(&r003::PNR, &pnr.digits())
        .text_utf8(&r003::ADRNVN, name);
    match addr {
        Some(a) if a.vej > 0 => {
            set_addr(b, &ADDR_003, a);
            scratch.clear();
            standard_address(scratch, a);
            b.text_utf8(&r003::STANDARDADR, scratch);
            scratch.clear();
            road_name(scratch, a);
            b.text_utf8(&r003::VEJADRNVN, scratch);
            if let Some(m) = t.municipality(a.kom) {
                b.number(&r003::POSTNR, u64::from(m.postnr))
                    .text_utf8(&r003::POSTDISTTXT, &m.name);
            }
        }
        _ => {
            b.number(&r003::POSTNR, 0)
                .number(&r003::KOMKOD, 0)
                .number(&r003::VEJKOD, 0);
        }
    }
}

/// Builds a 002 record for a resident address.
pub fn build_002(
    b: &mut RecordBuilder,
    pnr: Pnr,
    a: &Addr,
    moved_in: NaiveDate,
    into_kom: NaiveDate,
    from_kom: Option<u16>,
) {
    b.reset(&layout::R002);
    b.text(&r002::PNR, &pnr.digits());
    set_addr(b, &ADDR_002, a);
    b.ts12(&r002::TILFLYDTO, noon(moved_in))
        .ts12(&r002::TILFLYKOMDTO, noon(into_kom));
    match from_kom {
        Some(k) => b
            .number(&r002::FRAFLYKOMKOD, u64::from(k))
            .ts12(&r002::FRAFLYKOMDTO, noon(into_kom)),
        None => b
            .number(&r002::FRAFLYKOMKOD, 0)
            .number(&r002::FRAFLYKOMDTO, 0),
    };
    b.number(&r002::START_MYNKOD_ADRTXT, 0);
}

/// Builds a 023 row for an address held from `from` to `to`.
pub fn build_023(b: &mut RecordBuilder, pnr: Pnr, a: &Addr, from: NaiveDate, to: NaiveDate) {
    b.reset(&layout::R023);
    b.text(&r023::PNR, &pnr.digits());
    set_addr(b, &ADDR_023, a);
    b.ts12(&r023::TILFLYDTO, noon(from))
        .ts12(&r023::FRAFLYDTO, noon(to));
}

/// `First [Middle] Surname`.
pub fn display_name(out: &mut String, female: bool, first: u8, middle: u8, surname: u8) {
    out.clear();
    out.push_str(first_name(female, first));
    if let Some((m, _)) = SURNAMES.get(usize::from(middle)) {
        out.push(' ');
        out.push_str(m);
    }
    out.push(' ');
    out.push_str(SURNAMES[usize::from(surname) % SURNAMES.len()].0);
}

/// A first name by sex and index.
pub fn first_name(female: bool, i: u8) -> &'static str {
    let t: &[(&str, u32)] = if female { &FEMALE_NAMES } else { &MALE_NAMES };
    t[usize::from(i) % t.len()].0
}

/// A previous address.
#[derive(Clone, Copy)]
struct Stay {
    addr: Addr,
    from: NaiveDate,
    to: NaiveDate,
}

/// Reusable state for rendering a batch: the record builder, scratch text, history rows.
pub struct Renderer {
    b: RecordBuilder,
    rng: Rng,
    person_layout: &'static Layout,
    proddto: NaiveDate,
    names: NameTables,
    t: &'static Tables,
    text: String,
    text2: String,
    spouse_name: String,
    stays: Vec<Stay>,
    /// Records written to blocks (not 003).
    pub records: u64,
}

/// What a person's block refers to in others.
pub struct Relations<'a> {
    /// All persons of the batch.
    pub people: &'a [Person],
    /// (parent, child) pairs sorted by parent then child birth.
    pub children: &'a [(u32, u32)],
}

impl Relations<'_> {
    fn children_of(&self, i: u32) -> impl Iterator<Item = u32> + '_ {
        let from = self.children.partition_point(|&(p, _)| p < i);
        self.children[from..]
            .iter()
            .take_while(move |&&(p, _)| p == i)
            .map(|&(_, c)| c)
    }
}

/// (parent, child) pairs of a batch, sorted by parent then by the child's birth.
pub fn child_pairs(people: &[Person]) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        for parent in [p.mother, p.father] {
            if parent != NONE {
                pairs.push((parent, i as u32));
            }
        }
    }
    pairs.sort_by_key(|&(p, c)| (p, people[c as usize].birth, c));
    pairs
}

impl Renderer {
    /// A renderer writing 001 in `person_layout` (R001 or R001_U12180).
    pub fn new(rng: Rng, person_layout: &'static Layout, proddto: NaiveDate) -> Renderer {
        Renderer {
            b: RecordBuilder::new(&layout::R000),
            rng,
            person_layout,
            proddto,
            names: NameTables::new(),
            t: tables::tables(),
            text: String::new(),
            text2: String::new(),
            spouse_name: String::new(),
            stays: Vec::new(),
            records: 0,
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>) {
        self.b.write(out, Terminator::Lf);
        self.records += 1;
    }

    /// Appends person `i`'s block to `out` and its 003 record (no terminator) to `tail`.
    pub fn person(&mut self, rel: &Relations<'_>, i: u32, out: &mut Vec<u8>, tail: &mut Vec<u8>) {
        let p = &rel.people[i as usize];
        let pnr = p.pnr;
        let d = pnr.digits();
        self.r001(rel, p);
        self.emit(out);
        if matches!(p.status, 30 | 50 | 60) {
            return;
        }
        let until = p
            .status_date
            .filter(|_| matches!(p.status, 70 | 80 | 90))
            .unwrap_or(self.proddto);
        self.history(p);
        let resident = matches!(p.status, 1 | 3 | 5 | 7);
        if resident || p.status == 20 {
            let (into_kom, from_kom) = self.municipality_move(p);
            build_002(&mut self.b, pnr, &p.addr, p.moved_in, into_kom, from_kom);
            self.emit(out);
        }
        for bit in 0..4u8 {
            if p.protections & (1 << bit) != 0 {
                let years = if bit == 0 { 1 } else { 100 };
                self.b.reset(&layout::R004);
                self.b
                    .text(&r004::PNR, &d)
                    .number(&r004::BESKYTTYPE, u64::from(bit + 1))
                    .date(&r004::START_DT_BESKYTTELSE, p.protect_start)
                    .date(
                        &r004::SLET_DT_BESKYTTELSE,
                        add_years(p.protect_start, years),
                    );
                self.emit(out);
            }
        }
        if p.status == 80 {
            self.r005(p);
            self.emit(out);
        }
        let contact = match p.status {
            90 => 0.3,
            80 => 0.4,
            20 => 0.5,
            70 => 0.1,
            _ => 0.0,
        };
        if self.rng.chance(contact) {
            self.r006(p);
            self.emit(out);
        }
        if p.status == 70 {
            self.b.reset(&layout::R007);
            self.b
                .text(&r007::PNR, &d)
                .ts12(&r007::FORSVINDDTO, noon(until));
            self.emit(out);
        }
        self.r008(p);
        self.emit(out);
        self.r009(p);
        self.emit(out);
        self.r010(p);
        self.emit(out);
        self.r011(p);
        self.emit(out);
        let outside = self.outside_spouse(p);
        self.r012(rel, p, outside);
        self.emit(out);
        for c in rel.children_of(i) {
            self.b.reset(&layout::R014);
            self.b
                .text(&r014::PNR, &d)
                .text(&r014::PNRBARN, &rel.people[c as usize].pnr.digits());
            self.emit(out);
        }
        self.r015(rel, p);
        self.emit(out);
        self.custody(rel, p, out);
        if p.link != NONE {
            let old = &rel.people[p.link as usize];
            self.b.reset(&layout::R022);
            self.b
                .text(&r022::PNRGAELD, &d)
                .text(&r022::PNR, &old.pnr.digits())
                .date(&r022::START_DT_PERSON, old.birth)
                .date(
                    &r022::SLUT_DT_PERSON,
                    old.status_date.unwrap_or(self.proddto),
                );
            self.emit(out);
        }
        for k in 0..self.stays.len() {
            let s = self.stays[k];
            build_023(&mut self.b, pnr, &s.addr, s.from, s.to);
            self.emit(out);
        }
        if let Some((country, arrival)) = p.foreign {
            self.b.reset(&layout::R024);
            self.b
                .text(&r024::PNR, &d)
                .number(&r024::UDR_LANDEKOD, 0)
                .number(&r024::UDRDTO, 0)
                .number(
                    &r024::INDR_LANDEKOD,
                    u64::from(COUNTRIES[usize::from(country)].0),
                )
                .ts12(&r024::INDRDTO, noon(arrival));
            self.emit(out);
        }
        if p.surname != p.birth_surname {
            self.b.reset(&layout::R026);
            self.b
                .text(&r026::PNR, &d)
                .text_utf8(&r026::FORNVN, first_name(p.female, p.first))
                .text_utf8(&r026::EFTERNVN, SURNAMES[usize::from(p.birth_surname)].0)
                .ts12(&r026::NVNHAENSTART, noon(p.birth))
                .ts12(&r026::NVNHAENSLUT, noon(p.civ_date.unwrap_or(until)));
            if let Some((m, _)) = SURNAMES.get(usize::from(p.middle)) {
                self.b.text_utf8(&r026::MELNVN, m);
            }
            self.emit(out);
        }
        if let (Some(nat), Some((country, _))) = (p.naturalised, p.foreign) {
            self.b.reset(&layout::R027);
            self.b
                .text(&r027::PNR, &d)
                .number(
                    &r027::LANDEKOD,
                    u64::from(COUNTRIES[usize::from(country)].0),
                )
                .ts12(&r027::HAENSTART_STATSBORGERSKAB, noon(p.birth))
                .ts12(&r027::HAENSLUT_STATSBORGERSKAB, noon(nat));
            self.emit(out);
        }
        if let Some(left) = p.church_left {
            self.b.reset(&layout::R028);
            self.b
                .text(&r028::PNR, &d)
                .text(&r028::FKIRK, b"F")
                .date(
                    &r028::START_DT_FOLKEKIRKE,
                    (p.birth + Duration::days(60)).min(left),
                )
                .date(&r028::SLUT_DT_FOLKEKIRKE, left);
            self.emit(out);
        }
        self.civil_history(rel, p, outside, out);
        display_name(&mut self.text, p.female, p.first, p.middle, p.surname);
        let addr = (resident && p.addr.vej > 0).then_some(&p.addr);
        build_003(&mut self.b, self.t, pnr, &self.text, addr, &mut self.text2);
        tail.extend_from_slice(self.b.bytes());
    }

    fn r001(&mut self, rel: &Relations<'_>, p: &Person) {
        self.b.reset(self.person_layout);
        self.b
            .text(&r001::PNR, &p.pnr.digits())
            .number(&r001::STATUS, u64::from(p.status));
        match (p.status, p.status_date) {
            (1 | 3 | 5 | 7, _) | (_, None) => self.b.number(&r001::STATUSHAENSTART, 0),
            (_, Some(at)) => self
                .b
                .ts12(&r001::STATUSHAENSTART, Ts12::from_date(at, 0, 0)),
        };
        if matches!(p.status, 50 | 60) && p.link != NONE {
            self.b
                .text(&r001::PNRGAELD, &rel.people[p.link as usize].pnr.digits());
        }
        let start = match (p.status, p.foreign) {
            (20, _) => p.status_date.unwrap_or(p.birth),
            (_, Some((_, arrival))) => arrival,
            _ => p.birth,
        };
        self.b
            .text(&r001::KOEN, if p.female { b"K" } else { b"M" })
            .date(&r001::FOED_DT, p.birth)
            .date(&r001::START_DT_PERSON, start);
        if matches!(p.status, 30 | 50 | 60) {
            self.b
                .date(&r001::SLUT_DT_PERSON, p.status_date.unwrap_or(self.proddto));
        }
    }

    /// Previous addresses: 0-7 stays from the person's arrival in the register (at the
    /// earliest 2 April 1968) to the current address; for the dead, emigrated and disappeared
    /// the last known address is a stay ending on the status date.
    fn history(&mut self, p: &Person) {
        self.stays.clear();
        if p.status == 20 || p.addr.kom == 0 {
            return;
        }
        let start = p
            .foreign
            .map_or(p.birth, |f| f.1)
            .max(people::ymd(1968, 4, 2))
            .max(p.birth);
        let end = p.moved_in;
        let days = (end - start).num_days();
        if days > 60 {
            let years = days as f64 / 365.25;
            let n = ((years * 0.16 * (0.4 + self.rng.unit() * 1.2)) as usize).min(7);
            let mut cuts: Vec<i64> = (0..n).map(|_| self.rng.range(1, days - 1)).collect();
            cuts.sort_unstable();
            let mut from = start;
            for &c in &cuts {
                let to = start + Duration::days(c);
                if to <= from {
                    continue;
                }
                let kom = if self.rng.chance(0.6) {
                    p.addr.kom
                } else {
                    let i = self.rng.weighted(&self.t.denmark_cum);
                    self.t.denmark[i].code
                };
                let addr = people::address(&mut self.rng, self.t, kom, false);
                self.stays.push(Stay { addr, from, to });
                from = to;
            }
            if let Some(last) = self.stays.last_mut() {
                last.to = end;
            }
        }
        if matches!(p.status, 70 | 80 | 90) {
            let to = p.status_date.unwrap_or(self.proddto).max(p.moved_in);
            if p.addr.vej > 0 && to > p.moved_in {
                self.stays.push(Stay {
                    addr: p.addr,
                    from: p.moved_in,
                    to,
                });
            }
        }
    }

    /// The date the person moved into the current municipality, and the one moved from.
    fn municipality_move(&self, p: &Person) -> (NaiveDate, Option<u16>) {
        let mut into = p.moved_in;
        for s in self.stays.iter().rev() {
            if s.addr.kom != p.addr.kom {
                return (into, Some(s.addr.kom));
            }
            into = s.from;
        }
        (into, None)
    }

    fn r005(&mut self, p: &Person) {
        let country = p
            .foreign
            .map_or_else(|| self.names.country(&mut self.rng), |f| f.0);
        let (code, name, _) = COUNTRIES[usize::from(country)];
        self.text.clear();
        let _ = write!(
            self.text,
            "{} {}",
            SURNAMES[self.rng.below(50) as usize].0,
            self.rng.range(1, 200)
        );
        self.b.reset(&layout::R005);
        self.b
            .text(&r005::PNR, &p.pnr.digits())
            .number(&r005::UDR_LANDEKOD, u64::from(code))
            .ts12(&r005::UDRDTO, noon(p.status_date.unwrap_or(self.proddto)))
            .text_utf8(&r005::UDLANDADR1, &self.text)
            .text_utf8(&r005::UDLANDADR2, &name.to_uppercase());
    }

    fn r006(&mut self, p: &Person) {
        self.text.clear();
        let who = SURNAMES[self.rng.below(50) as usize].0;
        if p.status == 90 {
            let _ = write!(self.text, "Dødsbo v/ Advokat {who}");
        } else {
            let _ = write!(
                self.text,
                "c/o {} {who}",
                first_name(self.rng.chance(0.5), self.rng.below(50) as u8)
            );
        }
        let kom = {
            let i = self.rng.weighted(&self.t.denmark_cum);
            &self.t.denmark[i]
        };
        let a = people::address(&mut self.rng, self.t, kom.code, false);
        self.text2.clear();
        standard_address(&mut self.text2, &a);
        let town = format!("{} {}", kom.postnr, kom.name);
        self.b.reset(&layout::R006);
        self.b
            .text(&r006::PNR, &p.pnr.digits())
            .text_utf8(&r006::ADR1_KONTAKTADR, &self.text)
            .text_utf8(&r006::ADR2_KONTAKTADR, &self.text2)
            .text_utf8(&r006::ADR3_KONTAKTADR, &town)
            .date(
                &r006::START_DT_ADRTXT,
                p.status_date.unwrap_or(self.proddto),
            );
    }

    fn r008(&mut self, p: &Person) {
        display_name(&mut self.text, p.female, p.first, p.middle, p.surname);
        let since = if p.surname != p.birth_surname {
            p.civ_date.unwrap_or(p.birth)
        } else {
            p.birth
        };
        self.b.reset(&layout::R008);
        self.b
            .text(&r008::PNR, &p.pnr.digits())
            .text_utf8(&r008::FORNVN, first_name(p.female, p.first))
            .text_utf8(&r008::EFTERNVN, SURNAMES[usize::from(p.surname)].0)
            .ts12(&r008::NVNHAENSTART, noon(since))
            .text_utf8(&r008::ADRNVN, &self.text);
        if let Some((m, _)) = SURNAMES.get(usize::from(p.middle)) {
            self.b.text_utf8(&r008::MELNVN, m);
        }
    }

    fn r009(&mut self, p: &Person) {
        self.b.reset(&layout::R009);
        self.b.text(&r009::PNR, &p.pnr.digits());
        match p.foreign {
            Some((c, _)) => {
                let (code, name, _) = COUNTRIES[usize::from(c)];
                self.b
                    .number(&r009::START_MYNKOD_FOEDESTED, u64::from(code))
                    .text_utf8(&r009::MYNTXT_FOEDESTED, name);
            }
            None => {
                let kom = if p.addr.kom >= 100 { p.addr.kom } else { 101 };
                let name = self.t.municipality(kom).map_or("", |m| m.name.as_str());
                self.b
                    .number(&r009::START_MYNKOD_FOEDESTED, u64::from(kom))
                    .text_utf8(&r009::MYNTXT_FOEDESTED, name);
            }
        }
    }

    fn r010(&mut self, p: &Person) {
        let (code, since) = match (p.foreign, p.naturalised) {
            (Some(_), Some(nat)) => (DENMARK, nat),
            (Some((c, _)), None) => (COUNTRIES[usize::from(c)].0, p.birth),
            (None, _) => (DENMARK, p.birth),
        };
        self.b.reset(&layout::R010);
        self.b
            .text(&r010::PNR, &p.pnr.digits())
            .number(&r010::LANDEKOD, u64::from(code))
            .ts12(&r010::HAENSTART_STATSBORGERSKAB, noon(since));
    }

    fn r011(&mut self, p: &Person) {
        let since = match (p.church, p.church_left, p.foreign) {
            (b'U', Some(left), _) => left,
            (b'U', None, Some((_, arrival))) => arrival,
            (b'U', None, None) => p.birth,
            _ => p.birth + Duration::days(60),
        };
        self.b.reset(&layout::R011);
        self.b
            .text(&r011::PNR, &p.pnr.digits())
            .text(&r011::FKIRK, &[p.church])
            .date(&r011::START_DT_FOLKEKIRKE, since);
    }

    /// Draws the name (into `spouse_name`) and birth date of a spouse who has no PNR in the
    /// file.
    fn outside_spouse(&mut self, p: &Person) -> NaiveDate {
        self.spouse_name.clear();
        if p.spouse != Spouse::Outside {
            return p.birth;
        }
        let female = !p.female;
        let first = self.names.first(&mut self.rng, female);
        let surname = self.names.surname(&mut self.rng);
        let _ = write!(
            self.spouse_name,
            "{}, {}",
            SURNAMES[usize::from(surname)].0,
            first_name(female, first)
        );
        p.birth + Duration::days(self.rng.range(-1500, 1500))
    }

    fn spouse_fields(
        &mut self,
        rel: &Relations<'_>,
        spouse: Spouse,
        born: NaiveDate,
        f: [&Field; 3],
    ) {
        match spouse {
            Spouse::Inside(s) => {
                self.b.text(f[0], &rel.people[s as usize].pnr.digits());
            }
            Spouse::Outside => {
                self.b
                    .text(f[0], b"0000000000")
                    .date(f[1], born)
                    .text_utf8(f[2], &self.spouse_name);
            }
            Spouse::None => {
                self.b.text(f[0], b"0000000000");
            }
        }
    }

    fn r012(&mut self, rel: &Relations<'_>, p: &Person, outside: NaiveDate) {
        self.b.reset(&layout::R012);
        self.b
            .text(&r012::PNR, &p.pnr.digits())
            .text(&r012::CIVST, &[p.civst]);
        let current = if p.civst == b'D' {
            Spouse::None
        } else {
            p.spouse
        };
        self.spouse_fields(
            rel,
            current,
            outside,
            [&r012::AEGTEPNR, &r012::AEGTEFOED_DT, &r012::AEGTENVN],
        );
        match p.civ_date {
            Some(at) => self.b.ts12(&r012::HAENSTART_CIVILSTAND, noon(at)),
            None => self.b.number(&r012::HAENSTART_CIVILSTAND, 0),
        };
    }

    fn r015(&mut self, rel: &Relations<'_>, p: &Person) {
        self.b.reset(&layout::R015);
        self.b.text(&r015::PNR, &p.pnr.digits());
        let sides = [
            (
                p.mother,
                true,
                [
                    &r015::MOR_DT,
                    &r015::PNRMOR,
                    &r015::MOR_FOED_DT,
                    &r015::MORNVN,
                ],
            ),
            (
                p.father,
                false,
                [
                    &r015::FAR_DT,
                    &r015::PNRFAR,
                    &r015::FAR_FOED_DT,
                    &r015::FARNVN,
                ],
            ),
        ];
        for (parent, female, f) in sides {
            if parent != NONE {
                let q = &rel.people[parent as usize];
                self.b
                    .date(f[0], p.birth)
                    .text(f[1], &q.pnr.digits())
                    .date(f[2], q.birth);
            } else if p.foreign.is_none() {
                let first = self.names.first(&mut self.rng, female);
                let surname = if female {
                    self.names.surname(&mut self.rng)
                } else {
                    p.birth_surname
                };
                self.text.clear();
                let _ = write!(
                    self.text,
                    "{}, {}",
                    SURNAMES[usize::from(surname)].0,
                    first_name(female, first)
                );
                let born = add_years(p.birth, -(self.rng.range(20, 40) as i32));
                self.b
                    .date(f[0], p.birth)
                    .text(f[1], b"0000000000")
                    .date(f[2], born)
                    .text_utf8(f[3], &self.text);
            } else {
                self.b.text(f[1], b"0000000000");
            }
        }
    }

    fn custody(&mut self, rel: &Relations<'_>, p: &Person, out: &mut Vec<u8>) {
        if !matches!(p.status, 1 | 3 | 5 | 7) || years_between(p.birth, self.proddto) >= 18 {
            return;
        }
        let alive = |i: u32| i != NONE && matches!(rel.people[i as usize].status, 1 | 3 | 5 | 7);
        let married =
            p.mother != NONE && rel.people[p.mother as usize].spouse == Spouse::Inside(p.father);
        for (holder, code) in [(p.mother, 3u64), (p.father, 4)] {
            if alive(holder) && (code == 3 || married || !alive(p.mother)) {
                self.b.reset(&layout::R016);
                self.b
                    .text(&r016::PNR, &p.pnr.digits())
                    .number(&r016::RELTYP_FORAELDREMYN, code)
                    .date(&r016::START_DT_FORAELDREMYN, p.birth);
                self.emit(out);
            }
        }
    }

    fn civil_history(
        &mut self,
        rel: &Relations<'_>,
        p: &Person,
        outside: NaiveDate,
        out: &mut Vec<u8>,
    ) {
        let unmarried_until = match p.civst {
            b'G' => p.civ_date,
            _ => p.married_from,
        };
        let Some(wedding) = unmarried_until else {
            return;
        };
        self.b.reset(&layout::R029);
        self.b
            .text(&r029::PNR, &p.pnr.digits())
            .text(&r029::CIVST, b"U")
            .text(&r029::AEGTEPNR, b"0000000000")
            .number(&r029::HAENSTART_CIVILSTAND, 0)
            .ts12(&r029::HAENSLUT_CIVILSTAND, noon(wedding));
        self.emit(out);
        if p.civst != b'G' {
            let ended = p.civ_date.unwrap_or(self.proddto);
            self.b.reset(&layout::R029);
            self.b
                .text(&r029::PNR, &p.pnr.digits())
                .text(&r029::CIVST, b"G");
            self.spouse_fields(
                rel,
                Spouse::Outside,
                outside,
                [&r029::AEGTEPNR, &r029::AEGTEFOED_DT, &r029::AEGTENVN],
            );
            self.b
                .ts12(&r029::HAENSTART_CIVILSTAND, noon(wedding))
                .ts12(&r029::HAENSLUT_CIVILSTAND, noon(ended));
            self.emit(out);
        }
    }
}
