//! The entry points the fuzz targets call, shared with the regression tests that replay
//! committed crash inputs. Each runs the same code paths as `cprsift check` and `inspect`.

use crate::framing::{frame_at, Framing, FramingReport};
use crate::{CheckedExtract, Extract, ExtractOptions, FieldKind};

/// Frames every record of `input` and reads every field of each in its declared kind.
pub fn framing(input: &[u8]) {
    let framing = Framing::detect(input);
    let mut report = FramingReport::default();
    let mut pos = 0;
    while let Some(framed) = frame_at(input, pos, framing, &mut report) {
        assert!(framed.next > pos, "the reader must always advance");
        if let Ok(record) = framed.record {
            let _ = record.check_fields();
            for field in record.layout().map_or(&[][..], |l| l.fields) {
                let value = record.field(field);
                let _ = value.text();
                match field.kind {
                    FieldKind::Text => drop(value.pnr()),
                    FieldKind::Numeric => drop(value.number()),
                    FieldKind::D8 => drop(value.d8()),
                    FieldKind::D10 => drop(value.d10()),
                    FieldKind::Ts12 => drop(value.ts12()),
                }
            }
        }
        pos = framed.next;
    }
}

/// Reads `input` as `cprsift check` does ([`CheckedExtract::read`]) and asks the result
/// everything its consumers ask: each block's view, facts, events, 003 records and errors,
/// each stray's error, each reported error's site. Then walks the blocks, records and tail
/// as `inspect` and the replica still do.
pub fn extract(input: &[u8]) {
    for strict_unknown in [false, true] {
        let options = ExtractOptions { strict_unknown };
        let read = CheckedExtract::read(input, options);
        let report = read.report();
        assert_eq!(report.is_valid(), report.errors.is_empty());
        for (i, facts) in read.blocks().iter().enumerate() {
            let block = read.block(i).expect("every block has a view");
            assert_eq!(block.pnr(), facts.pnr());
            let _ = (
                facts.status(),
                facts.municipality(),
                facts.birth_date(),
                facts.pnr_gaeld(),
                read.events(i),
                read.tail_records(i).count(),
            );
            assert_eq!(
                facts.is_faulty(),
                !read.block_errors(i).is_empty() || facts.is_duplicate()
            );
            assert_eq!(
                read.block_of(facts.pnr()).map(|b| read.blocks()[b].pnr()),
                Some(facts.pnr())
            );
        }
        for j in 0..read.strays().len() {
            assert!(read.stray_error(j).is_some(), "every stray has its error");
        }
        for e in &report.errors {
            let _ = read.error_site(e);
        }
        let Ok(extract) = Extract::open(input, options) else {
            continue;
        };
        for block in extract.blocks().flatten() {
            let _ = block.validate(|_| {});
            for record in block.records().flatten() {
                let _ = record.pnr();
            }
        }
        let tail = extract.tail_index();
        for record in extract.tail().flatten() {
            if let Some(pnr) = record.pnr() {
                assert!(tail.records_of(pnr).count() > 0);
            }
        }
        let _ = extract.trailer().count();
    }
}
