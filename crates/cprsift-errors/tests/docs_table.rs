//! docs/errors.md holds the category table generated from the one table in the code; this test
//! keeps the two equal. After changing the table, `CPRSIFT_BLESS=1 cargo test -p
//! cprsift-errors` rewrites the document's table.

#![allow(clippy::unwrap_used)] // a test fails loudly on what it did not expect

use cprsift_errors::Category;

const BEGIN: &str = "<!-- categories: generated from crates/cprsift-errors; do not edit -->\n";
const END: &str = "<!-- end of categories -->";

#[test]
fn the_documented_table_is_the_code_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/errors.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc.find(BEGIN).expect("the begin marker") + BEGIN.len();
    let end = doc.find(END).expect("the end marker");
    let table = Category::markdown_table();
    if std::env::var_os("CPRSIFT_BLESS").is_some() {
        let blessed = format!("{}{table}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, blessed).unwrap();
        return;
    }
    assert_eq!(
        &doc[start..end],
        table,
        "docs/errors.md is out of date: run CPRSIFT_BLESS=1 cargo test -p cprsift-errors"
    );
}
