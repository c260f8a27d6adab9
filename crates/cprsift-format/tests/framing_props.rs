//! Property tests of the reader: round trips through the layouts, the five framings, and the
//! fast reader against the slow oracle on arbitrary input.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

mod oracle;

use chrono::NaiveDate;
use cprsift_errors::Category;
use cprsift_format::framing::{frame_at, Framing, FramingReport};
use cprsift_format::layout::{fields, ALL, R000, R001, R003, R099, R999};
use cprsift_format::write::{RecordBuilder, Terminator};
use cprsift_format::{
    check, BlockEvent, CheckedExtract, ErrorSite, EventCode, Extract, ExtractOptions, FieldKind,
    Layout, PersonBlock, RecordType,
};
use proptest::prelude::*;

/// The fast reader's items, in the oracle's terms.
fn fast(input: &[u8]) -> Vec<oracle::Item> {
    let framing = Framing::detect(input);
    let mut report = FramingReport::default();
    let mut pos = 0;
    let mut items = Vec::new();
    while let Some(f) = frame_at(input, pos, framing, &mut report) {
        items.push(match f.record {
            Ok(r) => {
                let mut padded = Vec::new();
                r.write_padded(&mut padded);
                let bad_field = r
                    .check_fields()
                    .err()
                    .map(|e| (e.field.unwrap(), e.category));
                oracle::Item::Record {
                    offset: r.offset(),
                    padded,
                    bad_field,
                }
            }
            Err(e) => oracle::Item::Error {
                offset: e.position.offset as usize,
                category: e.category,
            },
        });
        pos = f.next;
    }
    items
}

/// A valid value for one field.
fn value(kind: FieldKind, len: usize) -> BoxedStrategy<Vec<u8>> {
    match kind {
        FieldKind::Text => proptest::collection::vec(
            prop_oneof![
                Just(b' '),
                b'A'..=b'Z',
                b'a'..=b'z',
                b'0'..=b'9',
                Just(0xE6u8),
                Just(0xF8u8)
            ],
            0..=len,
        )
        .boxed(),
        FieldKind::Numeric => (0u64..10u64.pow(len.min(18) as u32))
            .prop_map(move |n| format!("{n:0len$}").into_bytes())
            .boxed(),
        FieldKind::D8 | FieldKind::D10 | FieldKind::Ts12 => (1900i32..2030, 1u32..=12, 1u32..=28)
            .prop_map(move |(y, m, d)| {
                let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
                match kind {
                    FieldKind::D8 => date.format("%Y%m%d").to_string().into_bytes(),
                    FieldKind::D10 => date.format("%Y-%m-%d").to_string().into_bytes(),
                    _ => date.format("%Y%m%d1200").to_string().into_bytes(),
                }
            })
            .boxed(),
    }
}

/// A layout and valid values for all its fields but the record type.
fn record_values() -> impl Strategy<Value = (&'static Layout, Vec<Vec<u8>>)> {
    proptest::sample::select(ALL.to_vec()).prop_flat_map(|layout| {
        let values: Vec<_> = layout.fields[1..]
            .iter()
            .map(|f| value(f.kind, f.len))
            .collect();
        (Just(layout), values)
    })
}

fn build(layout: &'static Layout, values: &[Vec<u8>]) -> Vec<u8> {
    let mut b = RecordBuilder::new(layout);
    for (field, v) in layout.fields[1..].iter().zip(values) {
        b.text(field, v);
    }
    b.bytes().to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A record built from the layouts reads back field by field.
    #[test]
    fn records_round_trip((layout, values) in record_values()) {
        let bytes = build(layout, &values);
        let mut report = FramingReport::default();
        let mut line = bytes.clone();
        line.push(b'\n');
        let framed = frame_at(&line, 0, Framing::Lines, &mut report).unwrap();
        let r = framed.record.unwrap();
        prop_assert!(r.check_fields().is_ok());
        // A longer variant with blank extra bytes reads as the shorter record.
        let read_layout = r.layout().unwrap();
        prop_assert_eq!(read_layout.record_type, layout.record_type);
        for (field, v) in layout.fields[1..].iter().zip(&values) {
            let got = if field.end() <= read_layout.len { r.field(field).trimmed().to_vec() } else { Vec::new() };
            let want: Vec<u8> = v.to_vec();
            let want = String::from_utf8_lossy(&want).trim().as_bytes().to_vec();
            let got_text = String::from_utf8_lossy(&got).trim().as_bytes().to_vec();
            prop_assert_eq!(got_text, want, "field {}", field.name);
        }
    }

    /// Fast and slow readers agree on arbitrary input, errors included.
    #[test]
    fn fast_reader_equals_oracle(input in arbitrary_input()) {
        prop_assert_eq!(fast(&input), oracle::read(&input));
    }

    /// The same logical file parses to identical records under all five framings.
    #[test]
    fn five_framings_read_alike(file in logical_file()) {
        let renderings = render_all(&file);
        let mut expected: Option<Vec<Vec<u8>>> = None;
        for (name, bytes) in &renderings {
            let extract = Extract::open(bytes, ExtractOptions::default())
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            let report = cprsift_format::check(bytes, ExtractOptions::default());
            prop_assert!(report.is_valid(), "{}: {:?}", name, report.errors);
            let mut records = vec![padded(&extract.start_record())];
            for block in extract.blocks() {
                for r in block.unwrap().records() {
                    records.push(padded(&r.unwrap()));
                }
            }
            records.extend(extract.tail().map(|r| padded(&r.unwrap())));
            records.push(padded(&extract.end_record()));
            match &expected {
                None => expected = Some(records),
                Some(e) => prop_assert_eq!(e, &records, "{}", name),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `check` counts for 999 TAELLER exactly the records the rule counts (every line but
    /// 000, 999 and 910, wherever they stand), and tells a missing start record from a
    /// misplaced one as the oracle does.
    #[test]
    fn taeller_and_start_record_follow_the_rules(input in framed_soup()) {
        let report = check(&input, ExtractOptions::default());
        if Framing::detect(&input) != Framing::Lines {
            return Ok(());
        }
        if report.opgavenr.is_some() {
            prop_assert_eq!(report.counted, oracle::taeller_count(&input));
        }
        let first = report.errors.first().map(|e| e.category);
        match oracle::start_error(&input) {
            Some(category) => prop_assert_eq!(first, Some(category)),
            // A 000 among the blocks is misplaced too, but the start record is not missing.
            None => prop_assert_ne!(first, Some(Category::Missing000)),
        }
    }
}

/// Soup between a 000 and a 999 record (each sometimes left out or moved), so that the frame
/// opens and the block region holds anything.
fn framed_soup() -> impl Strategy<Value = Vec<u8>> {
    let start = b"00000000000001109012022051320220512".to_vec();
    (arbitrary_input(), 0u8..8, 0u64..12).prop_map(move |(soup, shape, taeller)| {
        let end = format!("9999999999999{taeller:08}").into_bytes();
        let mut out = Vec::new();
        match shape {
            0 => out.extend_from_slice(b"9971503859991202205121200A74\n"),
            1 => {}
            _ => {
                out.extend_from_slice(&start);
                out.push(b'\n');
            }
        }
        out.extend_from_slice(&soup);
        out.push(b'\n');
        if shape == 0 {
            out.extend_from_slice(&start);
            out.push(b'\n');
        }
        if shape != 7 {
            out.extend_from_slice(&end);
            out.push(b'\n');
        }
        out
    })
}

fn padded(r: &cprsift_format::Record<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    r.write_padded(&mut v);
    v
}

/// Byte soup built from pieces of real records, separators and noise.
fn arbitrary_input() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => record_values().prop_map(|(l, v)| build(l, &v)),
        2 => record_values().prop_map(|(l, v)| {
            let mut b = build(l, &v);
            let keep = b.iter().rposition(|&c| c != b' ').map_or(3, |i| i + 1);
            b.truncate(keep);
            b
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..20),
        1 => proptest::collection::vec(prop_oneof![Just(b' '), Just(b'0'), Just(b'9'), Just(b'-')], 0..30),
        2 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(vec![0x1A]),
        1 => proptest::sample::select(vec![&b"000"[..], b"001", b"002", b"003", b"099", b"999", b"910", b"500"]).prop_map(|s| s.to_vec()),
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// A valid extract as a list of full-length records: 000, blocks, 003 tail, 999.
fn logical_file() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let person_types: Vec<&'static Layout> = ALL
        .iter()
        .copied()
        .filter(|l| {
            l.record_type.is_person_record()
                && l.record_type != RecordType::PERSON
                && l.record_type.0 < 100
        })
        .collect();
    let block = (
        proptest::collection::vec(
            proptest::sample::select(person_types).prop_flat_map(|l| {
                let values: Vec<_> = l.fields[2..].iter().map(|f| value(f.kind, f.len)).collect();
                (Just(l), values)
            }),
            0..5,
        ),
        proptest::collection::vec(value(FieldKind::Text, 20), 2),
        any::<bool>(),
    );
    proptest::collection::vec(block, 0..6).prop_map(|blocks| {
        let mut records = Vec::new();
        let mut b = RecordBuilder::new(&R000);
        b.text(&fields::r000::SORTFELT_10, b"0000000000")
            .number(&fields::r000::OPGAVENR, 110_901);
        b.date(
            &fields::r000::PRODDTO,
            NaiveDate::from_ymd_opt(2022, 5, 13).unwrap(),
        );
        b.date(
            &fields::r000::PRODDTOFORRIG,
            NaiveDate::from_ymd_opt(2022, 5, 12).unwrap(),
        );
        records.push(b.bytes().to_vec());
        let mut tail = Vec::new();
        for (i, (others, text, has_003)) in blocks.into_iter().enumerate() {
            let pnr = format!("{:02}0385{:04}", 10 + i, 9990 - i);
            let mut p = RecordBuilder::new(&R001);
            p.text(&fields::r001::PNR, pnr.as_bytes())
                .number(&fields::r001::STATUS, 1);
            p.text(&fields::r001::STILLING, &text[0]);
            records.push(p.bytes().to_vec());
            let mut others = others;
            others.sort_by_key(|(l, _)| l.record_type);
            for (layout, values) in others {
                let mut r = RecordBuilder::new(layout);
                r.text(&layout.fields[1], pnr.as_bytes());
                for (field, v) in layout.fields[2..].iter().zip(&values) {
                    r.text(field, v);
                }
                records.push(r.bytes().to_vec());
            }
            if has_003 {
                let mut a = RecordBuilder::new(&R003);
                a.text(&fields::r003::PNR, pnr.as_bytes())
                    .text(&fields::r003::ADRNVN, &text[1]);
                tail.push(a.bytes().to_vec());
            }
        }
        let count = records.len() - 1 + tail.len();
        records.extend(tail);
        let mut e = RecordBuilder::new(&R999);
        e.text(&fields::r999::SORTFELT_10, b"9999999999")
            .number(&fields::r999::TAELLER, count as u64);
        records.push(e.bytes().to_vec());
        records
    })
}

fn trim_end(r: &[u8]) -> &[u8] {
    &r[..r.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1)]
}

/// LF full length; CRLF; right-trimmed LF; CPR's own (CRLF, trimmed, final 0x1A); concatenated.
fn render_all(records: &[Vec<u8>]) -> Vec<(&'static str, Vec<u8>)> {
    let join = |terminator: Terminator, trim: bool, eof: bool| {
        let mut out = Vec::new();
        for r in records {
            out.extend_from_slice(if trim { trim_end(r) } else { r });
            out.extend_from_slice(terminator.bytes());
        }
        if eof {
            out.push(0x1A);
        }
        out
    };
    vec![
        ("lf", join(Terminator::Lf, false, false)),
        ("crlf", join(Terminator::Crlf, false, false)),
        ("trimmed", join(Terminator::Lf, true, false)),
        ("cpr", join(Terminator::Crlf, true, true)),
        ("concatenated", join(Terminator::None, false, false)),
    ]
}

/// A damaged extract in line framing: person blocks of a few PNRs (some repeated, one not a
/// PNR) with valid records of every person type, 099 events, 003 records in the tail (some of
/// nobody's), and damage: a byte changed, a line trimmed or padded, CRLF, a stray record type,
/// a short line, a wrong TAELLER.
fn damaged_file() -> impl Strategy<Value = Vec<u8>> {
    const PNRS: [&[u8; 10]; 6] = [
        b"1503859991",
        b"2207919998",
        b"0101004000",
        b"2902004000",
        b"3112999999",
        b"12345abcde",
    ];
    let person_types: Vec<&'static Layout> = ALL
        .iter()
        .copied()
        .filter(|l| l.record_type.is_person_record() && l.record_type.0 < 100)
        .collect();
    let record = proptest::sample::select(person_types).prop_flat_map(|l| {
        let values: Vec<_> = l.fields[2..].iter().map(|f| value(f.kind, f.len)).collect();
        (Just(l), values)
    });
    // (damage kind, position, byte)
    let damage = (
        0u8..16,
        any::<usize>(),
        proptest::sample::select(vec![b' ', b'0', b'A', b'-', b'9', b'x']),
    );
    let line = (record, 0usize..PNRS.len(), damage, any::<bool>());
    let block = (
        0usize..PNRS.len(),
        proptest::collection::vec(line, 0..5),
        proptest::collection::vec(
            (
                0u8..4,
                proptest::sample::select(vec![&b"A01"[..], b"B22", b"a01", b"   ", b"Z9"]),
                any::<bool>(),
            ),
            0..3,
        ),
    );
    let tail = proptest::collection::vec(0usize..PNRS.len() + 1, 0..4);
    (
        proptest::collection::vec(block, 0..7),
        tail,
        0u64..4,
        any::<bool>(),
    )
        .prop_map(|(blocks, tail, taeller_off, eof)| {
            let mut lines: Vec<Vec<u8>> = vec![b"00000000000001109012022051320220512".to_vec()];
            for (p, records, events) in blocks {
                let pnr = PNRS[p];
                let mut first = RecordBuilder::new(&R001);
                first
                    .text(&fields::r001::PNR, pnr)
                    .number(&fields::r001::STATUS, 1 + p as u64 * 10)
                    .text(
                        &fields::r001::FOED_DT,
                        if p % 2 == 0 {
                            b"1985-03-15"
                        } else {
                            b"          "
                        },
                    )
                    .text(
                        &fields::r001::PNRGAELD,
                        if p == 1 { PNRS[0] } else { b"          " },
                    );
                lines.push(first.bytes().to_vec());
                for ((layout, values), other, (kind, at, byte), crlf) in records {
                    let mut r = RecordBuilder::new(layout);
                    // Mostly the block's PNR; sometimes another person's (a new group).
                    r.text(
                        &layout.fields[1],
                        if kind == 15 { PNRS[other] } else { pnr },
                    );
                    for (field, v) in layout.fields[2..].iter().zip(&values) {
                        r.text(field, v);
                    }
                    let mut bytes = r.bytes().to_vec();
                    match kind {
                        0 | 1 => {
                            let i = at % bytes.len();
                            bytes[i] = byte;
                        }
                        2 => bytes.truncate(
                            bytes
                                .iter()
                                .rposition(|&c| c != b' ')
                                .map_or(3, |i| i + 1)
                                .max(3),
                        ),
                        3 => bytes.extend_from_slice(b"    "),
                        4 => bytes.push(b'x'),
                        5 => bytes.truncate(at % 3),
                        6 => bytes[..3].copy_from_slice(proptest_type(at)),
                        7 => bytes.truncate(13 + at % 20),
                        _ => {}
                    }
                    if crlf && kind < 9 {
                        bytes.push(b'\r');
                    }
                    lines.push(bytes);
                }
                for (kind, code, derived) in events {
                    let mut e = RecordBuilder::new(&R099);
                    e.text(&fields::r099::PNR, pnr)
                        .text(&fields::r099::HAENDELSE, code);
                    e.text(&fields::r099::TIMESTAMPU, b"202205131032");
                    if derived {
                        e.text(&fields::r099::AFLEDTMRK, b"01");
                    }
                    let mut bytes = e.bytes().to_vec();
                    if kind == 0 {
                        bytes.truncate(27);
                    }
                    lines.push(bytes);
                }
            }
            for t in tail {
                let mut a = RecordBuilder::new(&R003);
                a.text(
                    &fields::r003::PNR,
                    PNRS.get(t).map_or(&b"0000000000"[..], |p| &p[..]),
                );
                lines.push(a.bytes().to_vec());
            }
            let counted = lines.len() as u64 - 1;
            let taeller = counted + taeller_off.saturating_sub(2);
            let mut e = RecordBuilder::new(&R999);
            e.text(&fields::r999::SORTFELT_10, b"9999999999")
                .number(&fields::r999::TAELLER, taeller);
            lines.push(e.bytes().to_vec());
            let mut out = Vec::new();
            for l in lines {
                out.extend_from_slice(&l);
                out.push(b'\n');
            }
            if eof {
                out.push(0x1A);
            }
            out
        })
}

/// Record types a damaged line may take instead of its own.
fn proptest_type(at: usize) -> &'static [u8] {
    [
        &b"000"[..],
        b"910",
        b"999",
        b"997",
        b"003",
        b"500",
        b"A01",
        b"001",
    ][at % 8]
}

/// The canonical-form test as the engine states it, record by record.
fn naive_canonical(block: &PersonBlock<'_>, input: &[u8]) -> bool {
    let mut expected = block.range().start;
    for r in block.records() {
        let Ok(r) = r else { return false };
        let end = r.offset() + r.len();
        if r.offset() != expected || r.bytes().len() != r.len() || input.get(end) != Some(&b'\n') {
            return false;
        }
        expected = end + 1;
    }
    expected == block.range().end
}

/// The reader's facts against the plain paths: every block's facts equal what the `PersonBlock`
/// accessors and a naive walk compute (its report is held to the slow oracle, `tests/oracle`).
fn reader_agrees(input: &[u8], options: ExtractOptions) -> Result<(), TestCaseError> {
    let read = CheckedExtract::read(input, options);
    prop_assert_eq!(
        *read.content_id().as_bytes(),
        *blake3::hash(input).as_bytes()
    );
    let extract = match Extract::open(input, options) {
        Ok(extract) => extract,
        Err(e) => {
            prop_assert!(read.extract().is_none() && read.is_empty());
            prop_assert_eq!(&read.report().errors, &vec![e]);
            return Ok(());
        }
    };
    let mut blocks = Vec::new();
    let mut strays = Vec::new();
    for item in extract.blocks() {
        match item {
            Ok(b) => blocks.push(b),
            Err(e) => strays.push(e),
        }
    }
    prop_assert_eq!(read.len(), blocks.len());
    let tail: Vec<_> = extract.tail().filter_map(Result::ok).collect();
    for (i, b) in blocks.iter().enumerate() {
        let f = read.blocks()[i];
        prop_assert_eq!(read.block_range(i), Some(b.range()));
        prop_assert_eq!(f.pnr(), b.pnr());
        prop_assert_eq!(f.record_count(), b.record_count());
        prop_assert_eq!(f.status(), b.status());
        prop_assert_eq!(f.pnr_gaeld(), b.pnr_gaeld());
        prop_assert_eq!(f.municipality(), b.municipality());
        prop_assert_eq!(f.birth_date(), b.birth_date());
        prop_assert_eq!(
            f.is_canonical_lf(),
            naive_canonical(b, input),
            "block {}",
            i
        );
        let events: Vec<BlockEvent> = b
            .records()
            .filter_map(Result::ok)
            .filter(|r| r.record_type() == Some(RecordType::EVENT))
            .filter_map(|r| {
                Some(BlockEvent {
                    code: EventCode::from_bytes(r.field(&fields::r099::HAENDELSE).present())?,
                    main: r.field(&fields::r099::AFLEDTMRK).is_blank(),
                })
            })
            .collect();
        prop_assert_eq!(read.events(i), &events[..]);
        let first_of_pnr = blocks.iter().position(|o| o.pnr() == b.pnr()) == Some(i);
        let links: Vec<u64> = tail
            .iter()
            .filter(|r| first_of_pnr && r.pnr() == Some(b.pnr()))
            .map(|r| r.offset() as u64)
            .collect();
        prop_assert_eq!(read.tail_offsets(i), &links[..]);
        prop_assert_eq!(read.tail_records(i).count(), links.len());
        let own = b.validate(|_| {}).err();
        prop_assert_eq!(f.has_own_error(), own.is_some());
        let twins = blocks.iter().filter(|o| o.pnr() == b.pnr()).count();
        prop_assert_eq!(f.is_duplicate(), twins > 1);
        let mut errors = read.block_errors(i);
        if let Some(own) = own {
            let own_first = errors
                .iter()
                .find(|e| e.category != Category::DuplicatePerson);
            prop_assert_eq!(
                own_first.map(|e| (&e.detail, e.position.offset)),
                Some((&own.detail, own.position.offset))
            );
        }
        read.locate(&mut errors);
        prop_assert_eq!(read.block(i).map(|v| v.bytes()), Some(b.bytes()));
        prop_assert_eq!(
            read.block_of(b.pnr()),
            blocks.iter().position(|o| o.pnr() == b.pnr())
        );
    }
    prop_assert_eq!(read.strays().len(), strays.len());
    for (j, e) in strays.iter().enumerate() {
        let mut mine = vec![read.stray_error(j).unwrap()];
        read.locate(&mut mine);
        prop_assert_eq!(&mine[0], e);
    }
    // Every error of the report lies in a faulty block, in stray records, or outside the
    // blocks, and the block's (or stray's) own list holds it.
    for e in &read.report().errors {
        match read.error_site(e) {
            ErrorSite::Block(i) => {
                prop_assert!(read.blocks()[i].is_faulty());
                let mut listed = read.block_errors(i);
                read.locate(&mut listed);
                prop_assert!(listed.contains(e), "{} not in {:?}", e, listed);
            }
            ErrorSite::Stray(j) => {
                let mut mine = vec![read.stray_error(j).unwrap()];
                read.locate(&mut mine);
                prop_assert_eq!(&mine[0], e);
            }
            ErrorSite::Outside => {
                prop_assert!(!extract
                    .blocks_range()
                    .contains(&(e.position.offset as usize)));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The single-pass reader equals the old paths on arbitrary bytes.
    #[test]
    fn reader_equals_old_paths_on_soup(input in framed_soup(), strict in any::<bool>()) {
        reader_agrees(&input, ExtractOptions { strict_unknown: strict })?;
    }

    /// ... and on damaged extracts, where blocks, duplicates, events and 003 links abound.
    #[test]
    fn reader_equals_old_paths_on_damaged_files(input in damaged_file(), strict in any::<bool>()) {
        reader_agrees(&input, ExtractOptions { strict_unknown: strict })?;
    }

    /// ... in concatenated framing too.
    #[test]
    fn reader_equals_old_paths_concatenated(input in damaged_file()) {
        let flat: Vec<u8> = input.into_iter().filter(|&b| b != b'\n').collect();
        reader_agrees(&flat, ExtractOptions::default())?;
    }
}

/// A damaged file grown past the size the reader splits into parallel pieces: its blocks
/// repeated `k` times (duplicates across pieces), then its 003 tail repeated as often.
fn grown(input: &[u8], k: usize) -> Vec<u8> {
    let lines: Vec<&[u8]> = input.split_inclusive(|&b| b == b'\n').collect();
    let (Some((first, rest)), true) = (lines.split_first(), lines.len() > 2) else {
        return input.to_vec();
    };
    let (last, body) = rest.split_last().unwrap_or((first, &[]));
    let tail_from = body
        .iter()
        .rposition(|l| !l.starts_with(b"003"))
        .map_or(0, |i| i + 1);
    let (blocks, tail) = body.split_at(tail_from);
    let mut out = first.to_vec();
    for _ in 0..k {
        out.extend(blocks.concat());
    }
    for _ in 0..k {
        out.extend(tail.concat());
    }
    out.extend_from_slice(last);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// ... and when the blocks and the tail are read in several parallel pieces.
    #[test]
    fn reader_equals_old_paths_in_parallel_pieces(input in damaged_file()) {
        let big = grown(&input, 200);
        reader_agrees(&big, ExtractOptions::default())?;
    }
}
