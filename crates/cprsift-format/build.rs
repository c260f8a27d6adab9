//! Generates the record layouts from `spec/records.tsv`, the one source of truth for every
//! field's position. The table is read once here; nothing in the crate types a position by hand.

// Writing to a String cannot fail, and a build script that meets a broken table should stop loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

struct Row {
    record_type: u16,
    variant: String,
    name: String,
    record_length: usize,
    field: String,
    start: usize,
    end: usize,
    length: usize,
    ty: String,
    verified: String,
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let tsv = manifest.join("spec").join("records.tsv");
    println!("cargo:rerun-if-changed={}", tsv.display());
    let text = std::fs::read_to_string(&tsv).expect("spec/records.tsv is readable");

    let mut layouts: BTreeMap<(u16, String), Vec<Row>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() >= 13,
            "records.tsv line {}: too few columns",
            n + 1
        );
        let num = |i: usize| -> usize {
            cols[i]
                .parse()
                .unwrap_or_else(|_| panic!("records.tsv line {}: column {i}", n + 1))
        };
        let row = Row {
            record_type: cols[0].parse().expect("record_type is 3 digits"),
            variant: cols[1].to_string(),
            name: cols[2].to_string(),
            record_length: num(3),
            field: cols[5].to_string(),
            start: num(6),
            end: num(7),
            length: num(8),
            ty: cols[10].to_string(),
            verified: cols[12].to_string(),
        };
        layouts
            .entry((row.record_type, row.variant.clone()))
            .or_default()
            .push(row);
    }

    let mut out = String::new();
    let mut statics = Vec::new();
    let mut modules = String::new();
    for ((record_type, variant), rows) in &layouts {
        // The table's own invariant: fields are contiguous and fill the record exactly.
        let mut next = 1;
        for r in rows {
            assert_eq!(
                r.start, next,
                "{record_type:03} {variant} {}: not contiguous",
                r.field
            );
            assert_eq!(
                r.end - r.start + 1,
                r.length,
                "{record_type:03} {}: length",
                r.field
            );
            next = r.end + 1;
        }
        assert_eq!(
            next - 1,
            rows[0].record_length,
            "{record_type:03} {variant}: total length"
        );

        let ident = layout_ident(*record_type, variant);
        let mut fields = String::new();
        let checked: Vec<String> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.ty != "A")
            .map(|(i, _)| format!("{ident}_FIELDS[{i}]"))
            .collect();
        // The reader's byte tests: the checked fields but the record type (whose digits the
        // framing has already seen), as compact (start, end, kind) triples.
        let checks: Vec<String> = rows
            .iter()
            .filter(|r| r.ty != "A" && r.start > 1)
            .map(|r| {
                format!(
                    "Check {{ start: {}, end: {}, kind: FieldKind::{} }}",
                    r.start - 1,
                    r.end,
                    kind(&r.ty)
                )
            })
            .collect();
        // The same checks as straight-line code, one function per layout: constant offsets and
        // kinds, no loop, no dispatch on the kind (the reader's hot path).
        let mut quick = format!("fn {}_QUICK(b: &[u8]) -> bool {{\n", ident);
        for r in rows.iter().filter(|r| r.ty != "A" && r.start > 1) {
            let (start, end) = (r.start - 1, r.end);
            let test = match r.ty.as_str() {
                "N" | "TS12" => "numeric",
                _ => "date",
            };
            writeln!(
                quick,
                "    if b.len() < {end} {{\n        return crate::read::quick::rest_blank(b, {start});\n    }}\n    if !crate::read::quick::{test}::<{start}, {end}>(b) {{\n        return false;\n    }}"
            )
            .unwrap();
        }
        quick.push_str("    true\n}\n");
        writeln!(out, "#[allow(non_snake_case, unused_variables)]\n{quick}").unwrap();
        let mut consts = String::new();
        for (i, r) in rows.iter().enumerate() {
            let marker = rows
                .get(i + 1)
                .filter(|m| m.field.contains("UMRK") && m.length == 1 && is_date(&r.ty))
                .map_or("None".to_string(), |m| format!("Some({})", m.start - 1));
            let def = format!(
                "Field {{ name: {:?}, start: {}, len: {}, kind: FieldKind::{}, marker: {}, verified: {} }}",
                r.field,
                r.start - 1,
                r.length,
                kind(&r.ty),
                marker,
                r.verified == "YES"
            );
            writeln!(fields, "        {def},").unwrap();
            writeln!(
                consts,
                "    /// `{}` (positions {}-{}, {}).\n    pub const {}: Field = {def};",
                r.field,
                r.start,
                r.end,
                r.ty,
                const_ident(&r.field)
            )
            .unwrap();
        }
        writeln!(
            out,
            "static {ident}_FIELDS: [Field; {}] = [\n{fields}];\nstatic {ident}_CHECKED: [Field; {}] = [{}];\nstatic {ident}_CHECKS: [Check; {}] = [{}];\n",
            rows.len(),
            checked.len(),
            checked.join(", "),
            checks.len(),
            checks.join(", ")
        )
        .unwrap();
        writeln!(
            out,
            "/// Layout of record {record_type:03}, variant {variant}.\npub static {ident}: Layout = Layout {{\n    record_type: RecordType({record_type}),\n    variant: Variant::{},\n    name: {:?},\n    len: {},\n    fields: &{ident}_FIELDS,\n    checked: &{ident}_CHECKED,\n    checks: &{ident}_CHECKS,\n    quick: QuickTest({ident}_QUICK),\n}};\n",
            variant_ident(variant),
            rows[0].name,
            rows[0].record_length,
        )
        .unwrap();
        writeln!(
            modules,
            "/// Fields of record {record_type:03} ({variant}): {}.\npub mod {} {{\n    use super::super::{{Field, FieldKind}};\n{consts}}}\n",
            rows[0].name,
            ident.to_lowercase()
        )
        .unwrap();
        statics.push((*record_type, rows[0].record_length, ident));
    }

    writeln!(
        out,
        "/// Every layout of the table, in (record type, variant) order."
    )
    .unwrap();
    writeln!(out, "pub static ALL: [&Layout; {}] = [", statics.len()).unwrap();
    for (_, _, ident) in &statics {
        writeln!(out, "    &{ident},").unwrap();
    }
    writeln!(out, "];\n").unwrap();

    // Per record type: its layouts, shortest first (the shorter layout wins when a longer
    // variant's extra bytes are blank).
    let mut by_type: BTreeMap<u16, Vec<(usize, &String)>> = BTreeMap::new();
    for (rt, len, ident) in &statics {
        by_type.entry(*rt).or_default().push((*len, ident));
    }
    let mut table = vec!["&[]".to_string(); 1000];
    for (rt, mut list) in by_type {
        list.sort();
        let refs: Vec<String> = list.iter().map(|(_, i)| format!("&{i}")).collect();
        writeln!(
            out,
            "static VARIANTS_{rt:03}: [&Layout; {}] = [{}];",
            refs.len(),
            refs.join(", ")
        )
        .unwrap();
        table[usize::from(rt)] = format!("&VARIANTS_{rt:03}");
    }
    // One entry per three-digit type: the reader looks a type up once per line.
    writeln!(
        out,
        "static BY_TYPE: [&[&Layout]; 1000] = [{}];",
        table.join(", ")
    )
    .unwrap();
    writeln!(
        out,
        "\n/// The layouts of one record type, shortest first; empty when the type is not defined."
    )
    .unwrap();
    writeln!(
        out,
        "pub fn variants_of(record_type: u16) -> &'static [&'static Layout] {{"
    )
    .unwrap();
    writeln!(
        out,
        "    BY_TYPE.get(usize::from(record_type)).copied().unwrap_or(&[])\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "/// Typed field constants, one module per layout.\npub mod fields {{\n{modules}}}"
    )
    .unwrap();

    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this")).join("layouts.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn is_date(ty: &str) -> bool {
    matches!(ty, "D8" | "D10" | "TS12")
}

fn kind(ty: &str) -> &'static str {
    match ty {
        "N" => "Numeric",
        "A" => "Text",
        "D8" => "D8",
        "D10" => "D10",
        "TS12" => "Ts12",
        other => panic!("records.tsv: unknown field type {other}"),
    }
}

fn variant_ident(variant: &str) -> &'static str {
    match variant {
        "U12170" => "U12170",
        "U12180" => "U12180",
        "EXT" => "Ext",
        "EXT-002B" => "Ext002B",
        other => panic!("records.tsv: unknown variant {other}"),
    }
}

fn layout_ident(record_type: u16, variant: &str) -> String {
    match variant {
        "U12170" => format!("R{record_type:03}"),
        "U12180" => format!("R{record_type:03}_U12180"),
        "EXT" => format!("R{record_type:03}_EXT"),
        _ => format!("R{record_type:03}_EXT002B"),
    }
}

fn const_ident(field: &str) -> String {
    let mut s = String::new();
    for c in field.chars() {
        match c {
            'Æ' | 'æ' => s.push_str("AE"),
            'Ø' | 'ø' => s.push_str("OE"),
            'Å' | 'å' => s.push_str("AA"),
            c if c.is_ascii_alphanumeric() => s.push(c.to_ascii_uppercase()),
            _ => s.push('_'),
        }
    }
    s
}
