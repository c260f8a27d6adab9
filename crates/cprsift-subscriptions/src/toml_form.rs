//! The TOML form of a registry (issue 5, field names exactly):
//!
//! ```toml
//! [[subscriber]]
//! id = "b6f1c2d0-1111-4a4a-9a9a-000000000001"
//! pnr = ["0101651234"]
//! municipality = [101, 851]
//! age = [[0, 17], [65, 999]]
//! change_code = ["A01", "A21"]
//! no_filter = false
//! ```
//!
//! Every field but `id` is optional; unknown fields are refused. Municipality codes may be
//! integers (`101`) or 4-digit strings (`"0101"`). Errors carry the file, line and column.
//!
//! PNR lists are read straight into bitmaps before the TOML parser sees the file (see
//! [`crate::pnr_arrays`]): tens of millions of PNRs cost a few bytes each, not a tree node each.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Field, InvalidValue, SubscriptionError, TomlProblem};
use crate::filters::Filters;
use crate::pnr_arrays::{lift, Lifted};
use crate::registry::Registry;
use crate::values::{
    municipality_from_number, municipality_from_text, parse_event_code, parse_pnr, show_text,
    AgeRange, SubscriberId,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    subscriber: Vec<RawSubscriber>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscriber {
    id: Spanned<String>,
    /// When the array was lifted out (the usual case), `[]` at a known place.
    #[serde(default)]
    pnr: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    municipality: Vec<Spanned<RawMunicipality>>,
    #[serde(default)]
    age: Vec<Spanned<Vec<i64>>>,
    #[serde(default)]
    change_code: Vec<Spanned<String>>,
    #[serde(default)]
    no_filter: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawMunicipality {
    Number(i64),
    Text(String),
}

/// Reads a TOML subscription file (memory-mapped: its bytes are never copied).
pub fn read_file(path: &Path) -> Result<Registry, SubscriptionError> {
    let bytes = cprsift_io::MappedFile::open(path).map_err(|e| SubscriptionError::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a TOML subscription file; `path` names it in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Registry, SubscriptionError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let valid = String::from_utf8_lossy(&bytes[..at]);
        toml_error(
            path,
            &valid,
            Some(at),
            TomlProblem::Syntax("not UTF-8 text".into()),
        )
    })?;
    let Lifted {
        reduced,
        map,
        mut pnrs,
    } = lift(text);
    let raw: RawFile = toml::from_str(&reduced).map_err(|e| {
        toml_error(
            path,
            text,
            e.span().map(|s| map.original_offset(s.start)),
            TomlProblem::Syntax(e.message().trim().to_owned()),
        )
    })?;
    drop(reduced);
    let mut registry = Registry::new();
    for sub in raw.subscriber {
        let at = |span: Range<usize>, problem: InvalidValue| {
            let offset = map.original_offset(span.start);
            toml_error(path, text, Some(offset), TomlProblem::Value(problem))
        };
        let id = SubscriberId::new(sub.id.get_ref()).map_err(|e| at(sub.id.span(), e))?;
        let at = |span: Range<usize>, problem: InvalidValue| at(span, problem.for_subscriber(&id));
        let mut filters = Filters {
            no_filter: sub.no_filter,
            ..Filters::default()
        };
        if let Some(list) = &sub.pnr {
            match map.array_at(list.span().start) {
                Some(i) => match std::mem::replace(&mut pnrs[i], Ok(Default::default())) {
                    Ok(set) => filters.pnrs = set,
                    Err((offset, e)) => {
                        let problem = TomlProblem::Value(e.for_subscriber(&id));
                        return Err(toml_error(path, text, Some(offset), problem));
                    }
                },
                None => {
                    for p in list.get_ref() {
                        let pnr = parse_pnr(p.get_ref()).map_err(|e| at(p.span(), e))?;
                        filters.pnrs.insert(pnr.key());
                    }
                }
            }
        }
        for m in &sub.municipality {
            let code = match m.get_ref() {
                RawMunicipality::Number(n) => municipality_from_number(*n),
                RawMunicipality::Text(t) if t.len() == 4 => municipality_from_text(t),
                RawMunicipality::Text(t) => Err(InvalidValue::new(
                    Field::Municipality,
                    show_text(t),
                    "a municipality code is an integer (101) or a 4-digit string (\"0101\")",
                )),
            };
            filters
                .municipalities
                .insert(code.map_err(|e| at(m.span(), e))?);
        }
        for a in &sub.age {
            let range = match a.get_ref().as_slice() {
                [start, end] => AgeRange::new(*start, *end),
                other => Err(InvalidValue::new(
                    Field::Age,
                    format!("{other:?}"),
                    "an age range is [start, end]",
                )),
            };
            filters.ages.push(range.map_err(|e| at(a.span(), e))?);
        }
        for c in &sub.change_code {
            let code = parse_event_code(c.get_ref()).map_err(|e| at(c.span(), e))?;
            filters.change_codes.insert(code);
        }
        if registry.get(&id).is_some() {
            return Err(toml_error(
                path,
                text,
                Some(map.original_offset(sub.id.span().start)),
                TomlProblem::DuplicateId(id.to_string()),
            ));
        }
        registry.insert(id, filters);
    }
    Ok(registry)
}

/// A refusal at a byte offset of the file's text.
fn toml_error(
    path: &Path,
    text: &str,
    offset: Option<usize>,
    problem: TomlProblem,
) -> SubscriptionError {
    let (line, column) = match offset {
        Some(offset) => {
            let (l, c) = line_column(text, offset);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    SubscriptionError::Toml {
        file: path.to_owned(),
        line,
        column,
        problem: Box::new(problem),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Writes a registry in the TOML form: subscribers by id, values ascending, every field written,
/// one PNR per line. The same registry always gives the same bytes.
pub fn export(registry: &Registry) -> String {
    let mut out = String::new();
    for (index, (id, f)) in registry.subscribers().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        // Ids, PNR digits, codes and numbers need no TOML escaping (their alphabets are plain).
        let _ = writeln!(out, "[[subscriber]]\nid = \"{id}\"");
        if f.pnrs.is_empty() {
            out.push_str("pnr = []\n");
        } else {
            out.push_str("pnr = [\n");
            for pnr in f.pnr_list() {
                let digits = pnr.digits();
                let _ = writeln!(out, "  \"{}\",", String::from_utf8_lossy(&digits));
            }
            out.push_str("]\n");
        }
        let list = |items: Vec<String>| items.join(", ");
        let _ = writeln!(
            out,
            "municipality = [{}]",
            list(f.municipalities.iter().map(u16::to_string).collect())
        );
        let _ = writeln!(
            out,
            "age = [{}]",
            list(
                f.ages
                    .iter()
                    .map(|r| format!("[{}, {}]", r.start, r.end))
                    .collect()
            )
        );
        let _ = writeln!(
            out,
            "change_code = [{}]",
            list(f.change_codes.iter().map(|c| format!("\"{c}\"")).collect())
        );
        let _ = writeln!(out, "no_filter = {}", f.no_filter);
    }
    out
}

/// Writes the TOML form to `path` as a private file (mode 0600), atomically: a temporary file
/// beside it, fsynced, renamed over `path`, the folder fsynced; the temporary file is removed
/// on failure. A `path` that is a link or a folder is refused; the folders above it are the
/// operator's choice.
pub fn export_to_file(registry: &Registry, path: &Path) -> Result<(), SubscriptionError> {
    let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name");
        SubscriptionError::io(path, e)
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    cprsift_io::Folder::open_following(parent)
        .and_then(|folder| {
            cprsift_io::atomic::write_atomically(&folder, name, export(registry).as_bytes())
        })
        .map_err(|e| SubscriptionError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_str(text: &str) -> Result<Registry, SubscriptionError> {
        parse(Path::new("subs.toml"), text.as_bytes())
    }

    const EXAMPLE: &str = r#"[[subscriber]]
id = "b6f1c2d0-1111-4a4a-9a9a-000000000001"
pnr = ["0101651234"]
municipality = [101, 851]
age = [[0, 17], [65, 999]]
change_code = ["A01", "A21"]
no_filter = false
"#;

    /// A PNR list element as a TOML value: mostly valid, sometimes refused, sometimes in a form
    /// the lifting leaves to the TOML parser (escapes, a number).
    fn element() -> impl Strategy<Value = String> {
        let digits = (1u32..=31, 1u32..=12, 0u32..=99, 0u32..=9999)
            .prop_map(|(d, m, y, s)| format!("{d:02}{m:02}{y:02}{s:04}"));
        let text = prop_oneof![
            8 => digits,
            1 => Just("3213651234".to_string()),
            1 => Just("12345".to_string()),
            1 => Just("010165-1234".to_string()),
        ];
        (text, 0u8..20).prop_map(|(t, form)| match form {
            0 => format!("\"\\u003{}{}\"", &t[..1], &t[1..]),
            1 => t.trim_start_matches('0').to_string().replace('-', ""),
            2..=5 => format!("'{t}'"),
            _ => format!("\"{t}\""),
        })
    }

    /// A subscription file in varied layouts.
    fn file() -> impl Strategy<Value = String> {
        let sep = prop_oneof![Just(", "), Just(",\n  "), Just(" ,# c\n"), Just(",")];
        let list = (prop::collection::vec((element(), sep), 0..6), any::<bool>());
        let subscriber = (list, any::<bool>(), 0u8..4, any::<bool>());
        prop::collection::vec(subscriber, 0..5).prop_map(|subs| {
            let mut out = String::new();
            for (i, ((items, trailing), has_pnr, header, municipality)) in subs.iter().enumerate() {
                out.push_str(
                    [
                        "[[subscriber]]\n",
                        "[[ subscriber ]] # h\n",
                        "[[subscriber]]\n\n",
                    ][usize::from(*header) % 3],
                );
                out.push_str(&format!("id = \"s{}\"\n", i % 4));
                if *municipality {
                    out.push_str("municipality = [101, \"0851\"]\n");
                }
                if *has_pnr {
                    out.push_str(if *header == 3 { "pnr=[" } else { "pnr = [\n  " });
                    for (k, (e, sep)) in items.iter().enumerate() {
                        out.push_str(e);
                        if k + 1 < items.len() || *trailing {
                            out.push_str(sep);
                        }
                    }
                    out.push_str("]\n");
                }
                out.push_str("age = [[0, 17]]\n");
            }
            out
        })
    }

    /// What a file gives: the registry, or the refusal's line, column and wording.
    fn outcome(text: &str) -> Result<Registry, (Option<usize>, Option<usize>, String)> {
        parse_str(text).map_err(|e| match e {
            SubscriptionError::Toml {
                line,
                column,
                problem,
                ..
            } => (line, column, problem.to_string()),
            other => (None, None, other.to_string()),
        })
    }

    proptest! {
        /// The lifted PNR arrays read exactly as the TOML parser reads them: the oracle is the
        /// same file with the key quoted (`"pnr" = [...]`, the same TOML), which the lifting
        /// leaves alone. Refusals are the same, two columns to the left on those lines.
        #[test]
        fn lifted_arrays_read_as_the_toml_parser_reads_them(text in file()) {
            let oracle = text.replace("\npnr", "\n\"pnr\"");
            let fast = outcome(&text);
            let slow = outcome(&oracle).map_err(|(line, column, m)| {
                let quoted = line
                    .and_then(|l| oracle.lines().nth(l - 1))
                    .is_some_and(|l| l.starts_with("\"pnr\""));
                (line, column.map(|c| if quoted && c > 2 { c - 2 } else { c }), m)
            });
            prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn reads_the_issue_example() {
        let reg = parse_str(EXAMPLE).unwrap();
        let (id, f) = reg.subscribers().next().unwrap();
        assert_eq!(id.as_str(), "b6f1c2d0-1111-4a4a-9a9a-000000000001");
        assert_eq!(f.pnrs.len(), 1);
        assert_eq!(
            f.municipalities.iter().copied().collect::<Vec<_>>(),
            vec![101, 851]
        );
        assert_eq!(f.ages.len(), 2);
        assert_eq!(f.change_codes.len(), 2);
        assert!(!f.no_filter);
        assert_eq!(parse_str(&export(&reg)).unwrap(), reg);
    }

    #[test]
    fn export_to_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let reg = parse_str(EXAMPLE).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("subs.toml");
        std::fs::write(&out, b"old").unwrap();
        export_to_file(&reg, &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), export(&reg));
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
        assert!(export_to_file(&reg, &dir.path().join("missing/x.toml")).is_err());
    }

    #[test]
    fn optional_fields_and_string_codes() {
        let reg = parse_str(
            "[[subscriber]]\nid = \"x\"\nmunicipality = [\"0101\", 101, 706]\nage = [[65, 999], [0, 17], [0, 17]]\n",
        )
        .unwrap();
        let f = reg.get(&SubscriberId::new("x").unwrap()).unwrap();
        assert_eq!(
            f.municipalities.iter().copied().collect::<Vec<_>>(),
            vec![101, 706]
        );
        assert_eq!(
            f.ages,
            vec![
                AgeRange::new(0, 17).unwrap(),
                AgeRange::new(65, 999).unwrap()
            ]
        );
        assert!(parse_str("").unwrap().is_empty());
    }

    fn error_of(text: &str) -> (Option<usize>, Option<usize>, String) {
        match parse_str(text) {
            Err(e @ SubscriptionError::Toml { line, column, .. }) => (line, column, e.to_string()),
            other => panic!("expected a TOML error, got {other:?}"),
        }
    }

    #[test]
    fn refusals_name_file_line_column_subscriber_and_masked_value() {
        let (line, column, m) =
            error_of("[[subscriber]]\nid = \"s1\"\npnr = [\"0101651234\", \"3213651234\"]\n");
        assert_eq!((line, column), (Some(3), Some(22)));
        assert!(
            m.starts_with("subs.toml:3:22: subscriber \"s1\": invalid pnr \"321365-xxxx\""),
            "{m}"
        );
        assert!(!m.contains("3213651234"));
        let (line, _, m) = error_of("[[subscriber]]\nid = \"s1\"\n\nage = [[18, 17]]\n");
        assert_eq!(line, Some(4));
        assert!(m.contains("after its end"), "{m}");
        let (_, _, m) = error_of("[[subscriber]]\nid = \"s1\"\nmunicipality = [1000]\n");
        assert!(m.contains("invalid municipality \"1000\""), "{m}");
        let (_, _, m) = error_of("[[subscriber]]\nid = \"s1\"\nmunicipality = [\"101\"]\n");
        assert!(m.contains("4-digit string"), "{m}");
        let (_, _, m) = error_of("[[subscriber]]\nid = \"s1\"\nchange_code = [\"a01\"]\n");
        assert!(m.contains("invalid change_code"), "{m}");
        let (line, _, m) = error_of("[[subscriber]]\nid = \"../x\"\n");
        assert_eq!(line, Some(2));
        assert!(m.contains("invalid id"), "{m}");
        let (line, _, m) = error_of("[[subscriber]]\nid = \"a\"\n[[subscriber]]\nid = \"a\"\n");
        assert_eq!(line, Some(4));
        assert!(m.contains("defined twice"), "{m}");
        let (line, _, m) = error_of("[[subscriber]]\nid = \"a\"\nmunicipalities = [1]\n");
        assert_eq!(line, Some(3));
        assert!(m.contains("unknown field"), "{m}");
        let (line, _, _) = error_of("[[subscriber]]\nid = \"a\"\nage = [[1, 2, 3]]\n");
        assert_eq!(line, Some(3));
        let (line, _, _) = error_of("[[subscriber]]\nid = \"a\"\npnr = [\n");
        assert!(line.is_some());
        let (line, _, m) = error_of("[[subscriber]]\nid = \"a\"\npnr = [101651234]\n");
        assert_eq!(line, Some(3), "{m}");
    }
}
