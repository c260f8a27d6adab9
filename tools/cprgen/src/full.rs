//! The full extract: 000, person blocks generated in parallel batches and written in batch
//! order, the 003 tail in address order, 999 with TAELLER.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use chrono::NaiveDate;
use cprsift_format::layout::fields::{r000, r999};
use cprsift_format::layout::{self, Layout};
use cprsift_format::write::{RecordBuilder, Terminator};
use rayon::prelude::*;

use crate::people::{self, generate_batch, Person};
use crate::pnr_alloc::PnrAllocator;
use crate::render::{child_pairs, Relations, Renderer};
use crate::rng::{Rng, Stream};
use crate::tail::TailSorter;
use crate::{Error, Result};

/// Named sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// About 1,000 persons, for tests.
    Tiny,
    /// 100,000 persons.
    Small,
    /// National scale: 10.5 million persons ever registered.
    Full,
}

impl Preset {
    /// The number of persons.
    pub fn persons(self) -> u64 {
        match self {
            Preset::Tiny => 1_000,
            Preset::Small => 100_000,
            Preset::Full => 10_500_000,
        }
    }
}

/// The layout of the full extract.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PersonLayout {
    /// Status extract: 001 at 121 bytes (NGLKONST blank).
    #[default]
    U12180,
    /// Change-extract layout: 001 at 106 bytes (no 099 in a full extract).
    U12170,
}

impl PersonLayout {
    fn layout(self) -> &'static Layout {
        match self {
            PersonLayout::U12180 => &layout::R001_U12180,
            PersonLayout::U12170 => &layout::R001,
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct FullConfig {
    /// Persons ever registered (all statuses, retired PNRs included).
    pub persons: u64,
    /// The seed: same seed, same bytes.
    pub seed: u64,
    /// 001 layout.
    pub layout: PersonLayout,
    /// 000 OPGAVENR.
    pub opgavenr: u32,
    /// 000 PRODDTO: the extract's date.
    pub proddto: NaiveDate,
    /// Where the 003 tail spills while sorting (default: the system temp folder).
    pub spill_dir: Option<PathBuf>,
    /// In-memory size of one sorted 003 run, in bytes.
    pub tail_run_bytes: usize,
}

/// The default OPGAVENR of generated full extracts (synthetic).
pub const FULL_OPGAVENR: u32 = 900_180;

impl FullConfig {
    /// A preset with the defaults: U12180, PRODDTO 2022-05-12, OPGAVENR 900180.
    pub fn preset(preset: Preset, seed: u64) -> FullConfig {
        FullConfig::persons(preset.persons(), seed)
    }

    /// Any size with the defaults.
    pub fn persons(persons: u64, seed: u64) -> FullConfig {
        FullConfig {
            persons,
            seed,
            layout: PersonLayout::U12180,
            opgavenr: FULL_OPGAVENR,
            proddto: people::ymd(2022, 5, 12),
            spill_dir: None,
            tail_run_bytes: 256 << 20,
        }
    }
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Person blocks.
    pub persons: u64,
    /// Records as 999 TAELLER counts them (000 and 999 excluded).
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Persons per 001 STATUS.
    pub status_counts: BTreeMap<u8, u64>,
    /// True when `records` exceeds what the 8-digit 999 TAELLER can hold: the field then
    /// holds the last eight digits (`cprsift_format::taeller_of`, the project's one rule for
    /// writers and the validator). The national preset (~149 million records) does.
    pub taeller_overflow: bool,
}

/// Persons per batch: each batch is generated from its own random stream.
const BATCH: u64 = 8192;
/// Batches generated in parallel before they are written in order.
const WINDOW: u64 = 16;

struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the 000 start record.
pub(crate) fn write_start(
    b: &mut RecordBuilder,
    out: &mut impl Write,
    opgavenr: u32,
    proddto: NaiveDate,
    forrig: Option<NaiveDate>,
) -> io::Result<()> {
    b.reset(&layout::R000);
    b.text(&r000::SORTFELT_10, b"0000000000")
        .number(&r000::OPGAVENR, u64::from(opgavenr))
        .date(&r000::PRODDTO, proddto);
    match forrig {
        Some(d) => b.date(&r000::PRODDTOFORRIG, d),
        None => b.number(&r000::PRODDTOFORRIG, 0),
    };
    out.write_all(b.bytes())?;
    out.write_all(Terminator::Lf.bytes())
}

/// Writes the 999 end record for `taeller` records (000, 999 excluded).
pub(crate) fn write_end(
    b: &mut RecordBuilder,
    out: &mut impl Write,
    taeller: u64,
) -> io::Result<()> {
    b.reset(&layout::R999);
    b.text(&r999::SORTFELT_10, b"9999999999")
        .number(&r999::TAELLER, taeller);
    out.write_all(b.bytes())?;
    out.write_all(Terminator::Lf.bytes())
}

/// Gives every person of a batch its PNR, in order, shifting a birth date by a day in the rare
/// case its numbers are used up.
fn assign_pnrs(alloc: &mut PnrAllocator, people: &mut [Person]) -> Result<()> {
    for p in people {
        let mut tries = 0;
        loop {
            if let Some(pnr) = alloc.next(p.birth, p.female) {
                p.pnr = pnr;
                break;
            }
            tries += 1;
            if tries > 60 {
                return Err(Error::Config(format!(
                    "no free personal numbers near {}",
                    p.birth
                )));
            }
            p.birth = p.birth.succ_opt().unwrap_or(p.birth);
        }
    }
    Ok(())
}

struct Rendered {
    blocks: Vec<u8>,
    tail: Vec<u8>,
    records: u64,
}

fn render_batch(cfg: &FullConfig, index: u64, people: &[Person]) -> Rendered {
    let mut rng = Rng::derive(cfg.seed, Stream::Render, index);
    let mut order: Vec<u32> = (0..people.len() as u32).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let children = child_pairs(people);
    let rel = Relations {
        people,
        children: &children,
    };
    let mut r = Renderer::new(rng, cfg.layout.layout(), cfg.proddto);
    let mut blocks = Vec::with_capacity(people.len() * 1400);
    let mut tail = Vec::with_capacity(people.len() * 249);
    for i in order {
        r.person(&rel, i, &mut blocks, &mut tail);
    }
    Rendered {
        blocks,
        tail,
        records: r.records,
    }
}

/// Generates a full extract into `out` (wrap nothing: it is buffered here).
pub fn generate_full(cfg: &FullConfig, out: impl Write) -> Result<Summary> {
    if cfg.persons == 0 {
        return Err(Error::Config(
            "a full extract needs at least one person".into(),
        ));
    }
    let mut w = CountingWriter {
        inner: BufWriter::with_capacity(16 << 20, out),
        bytes: 0,
    };
    let mut b = RecordBuilder::new(&layout::R000);
    write_start(&mut b, &mut w, cfg.opgavenr, cfg.proddto, None)?;
    let spill = cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut tail = TailSorter::new(spill, cfg.tail_run_bytes);
    let mut alloc = PnrAllocator::default();
    let mut summary = Summary::default();
    let batches = cfg.persons.div_ceil(BATCH);
    let mut first = 0;
    while first < batches {
        let last = (first + WINDOW).min(batches);
        let mut window: Vec<Vec<Person>> = (first..last)
            .into_par_iter()
            .map(|i| {
                generate_batch(
                    cfg.seed,
                    i,
                    i * BATCH,
                    ((i + 1) * BATCH).min(cfg.persons),
                    cfg.proddto,
                )
            })
            .collect();
        for people in &mut window {
            assign_pnrs(&mut alloc, people)?;
            summary.persons += people.len() as u64;
            for p in people.iter() {
                *summary.status_counts.entry(p.status).or_default() += 1;
            }
        }
        let rendered: Vec<Rendered> = window
            .par_iter()
            .enumerate()
            .map(|(k, people)| render_batch(cfg, first + k as u64, people))
            .collect();
        for r in rendered {
            w.write_all(&r.blocks)?;
            tail.push(&r.tail)?;
            summary.records += r.records;
        }
        first = last;
    }
    summary.records += tail.finish(&mut w, Terminator::Lf)?;
    summary.taeller_overflow = summary.records >= cprsift_format::TAELLER_MODULUS;
    write_end(&mut b, &mut w, summary.records)?;
    w.flush()?;
    summary.bytes = w.bytes;
    Ok(summary)
}
