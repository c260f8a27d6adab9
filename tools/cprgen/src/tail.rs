//! The 003 tail in address order (CPR builds it in a separate, address-sorted pass, so it is
//! not in block order). 003 records are collected in runs of bounded size, each sorted and
//! spilled to an anonymous temporary file when it fills, then merged: memory stays bounded
//! however large the extract.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use cprsift_format::layout::R003;
use cprsift_format::write::Terminator;
use rayon::prelude::*;

const REC: usize = 249;
/// Length of [`address_key`].
pub const KEY: usize = 28;

/// The sort key of a 003 record: KOMKOD, VEJKOD, HUSNR, ETAGE, SIDEDOER (positions 208-225),
/// then the PNR.
pub fn address_key(r: &[u8]) -> [u8; KEY] {
    let mut k = [0u8; KEY];
    k[..18].copy_from_slice(&r[207..225]);
    k[18..].copy_from_slice(&r[3..13]);
    k
}

/// Collects 003 records (each exactly 249 bytes, no terminator) and writes them sorted.
pub struct TailSorter {
    run: Vec<u8>,
    run_limit: usize,
    dir: PathBuf,
    spill: Option<File>,
    spilled: u64,
    runs: Vec<(u64, u64)>,
}

impl TailSorter {
    /// A sorter keeping at most `run_limit` bytes in memory, spilling to `dir`.
    pub fn new(dir: PathBuf, run_limit: usize) -> TailSorter {
        debug_assert_eq!(R003.len, REC);
        TailSorter {
            run: Vec::new(),
            run_limit: run_limit.max(REC),
            dir,
            spill: None,
            spilled: 0,
            runs: Vec::new(),
        }
    }

    /// Adds records (a multiple of 249 bytes).
    pub fn push(&mut self, records: &[u8]) -> io::Result<()> {
        self.run.extend_from_slice(records);
        if self.run.len() >= self.run_limit {
            self.flush_run()?;
        }
        Ok(())
    }

    /// The number of records added.
    pub fn len(&self) -> u64 {
        self.spilled + (self.run.len() / REC) as u64
    }

    fn sorted_run(&self) -> Vec<u32> {
        let n = self.run.len() / REC;
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_unstable_by_key(|&i| address_key(&self.run[i as usize * REC..][..REC]));
        order
    }

    fn flush_run(&mut self) -> io::Result<()> {
        if self.run.is_empty() {
            return Ok(());
        }
        let order = self.sorted_run();
        if self.spill.is_none() {
            self.spill = Some(tempfile::tempfile_in(&self.dir)?);
        }
        let file = self
            .spill
            .as_mut()
            .ok_or_else(|| io::Error::other("no spill file"))?;
        let mut w = io::BufWriter::with_capacity(4 << 20, file);
        for &i in &order {
            w.write_all(&self.run[i as usize * REC..][..REC])?;
        }
        w.flush()?;
        let start = self.runs.last().map_or(0, |&(s, n)| s + n * REC as u64);
        self.runs.push((start, order.len() as u64));
        self.spilled += order.len() as u64;
        self.run.clear();
        Ok(())
    }

    /// Writes every record in address order, each followed by `terminator`. Returns the count.
    pub fn finish(mut self, out: &mut impl Write, terminator: Terminator) -> io::Result<u64> {
        let total = self.len();
        if self.spill.is_none() {
            for i in self.sorted_run() {
                out.write_all(&self.run[i as usize * REC..][..REC])?;
                out.write_all(terminator.bytes())?;
            }
            return Ok(total);
        }
        self.flush_run()?;
        let file = self
            .spill
            .take()
            .ok_or_else(|| io::Error::other("no spill file"))?;
        let mut cursors: Vec<RunCursor> = self
            .runs
            .iter()
            .map(|&(start, n)| RunCursor::new(start, n))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if let Some(r) = c.current(&file)? {
                heap.push(Reverse((address_key(r), i)));
            }
        }
        while let Some(Reverse((_, i))) = heap.pop() {
            let c = &mut cursors[i];
            if let Some(r) = c.current(&file)? {
                out.write_all(r)?;
                out.write_all(terminator.bytes())?;
            }
            c.advance();
            if let Some(r) = c.current(&file)? {
                heap.push(Reverse((address_key(r), i)));
            }
        }
        Ok(total)
    }
}

/// A buffered read position in one sorted run of the spill file.
struct RunCursor {
    next_offset: u64,
    left: u64,
    buf: Vec<u8>,
    pos: usize,
}

const CURSOR_BUF: usize = REC * 8192;

impl RunCursor {
    fn new(start: u64, records: u64) -> RunCursor {
        RunCursor {
            next_offset: start,
            left: records,
            buf: Vec::new(),
            pos: 0,
        }
    }

    fn current<'s>(&'s mut self, file: &File) -> io::Result<Option<&'s [u8]>> {
        if self.pos >= self.buf.len() {
            if self.left == 0 {
                return Ok(None);
            }
            let n = (self.left as usize).min(CURSOR_BUF / REC);
            self.buf.resize(n * REC, 0);
            file.read_exact_at(&mut self.buf, self.next_offset)?;
            self.next_offset += (n * REC) as u64;
            self.left -= n as u64;
            self.pos = 0;
        }
        Ok(Some(&self.buf[self.pos..self.pos + REC]))
    }

    fn advance(&mut self) {
        self.pos += REC;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Rng, Stream};

    fn record(rng: &mut Rng) -> Vec<u8> {
        let mut r = vec![b' '; REC];
        for i in (207..225).chain(3..13) {
            r[i] = b'0' + rng.below(3) as u8;
        }
        r
    }

    /// The spilling merge agrees with one in-memory sort (the oracle).
    #[test]
    fn spilled_merge_equals_in_memory_sort() {
        let mut rng = Rng::derive(5, Stream::Render, 0);
        let recs: Vec<Vec<u8>> = (0..5000).map(|_| record(&mut rng)).collect();
        let dir = std::env::temp_dir();
        let mut small = TailSorter::new(dir.clone(), REC * 97);
        let mut big = TailSorter::new(dir, usize::MAX);
        for r in &recs {
            small.push(r).unwrap();
            big.push(r).unwrap();
        }
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(small.finish(&mut a, Terminator::Lf).unwrap(), 5000);
        assert_eq!(big.finish(&mut b, Terminator::Lf).unwrap(), 5000);
        assert_eq!(a, b);
        let mut oracle: Vec<&Vec<u8>> = recs.iter().collect();
        oracle.sort_by_key(|r| address_key(r));
        let expected: Vec<u8> = oracle
            .iter()
            .flat_map(|r| r.iter().copied().chain([b'\n']))
            .collect();
        assert_eq!(a, expected);
    }
}
