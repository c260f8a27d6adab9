//! cprgen.
fn main() {}
