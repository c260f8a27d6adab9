//! Where cprsift's tests find CPR's own test extracts, in one place.
//!
//! - [`conformance`]: one of CPR's two real test extracts. They are CPR's, published by CPR,
//!   and not part of this repository: the tests look for them in the folder named by the
//!   environment variable `CPRSIFT_CONFORMANCE`, by default `../shared/conformance` beside the
//!   checkout. Where they are absent, the test that needs one prints one line saying what was
//!   not checked and where the files belong, and passes; CI (`.ci/run`) requires the folder, so
//!   there they always run.

use std::path::PathBuf;

/// The environment variable naming the folder of CPR's test extracts.
pub const CONFORMANCE_ENV: &str = "CPRSIFT_CONFORMANCE";

/// The folder of CPR's test extracts: `$CPRSIFT_CONFORMANCE`, else `../shared/conformance`
/// beside the checkout.
pub fn conformance_dir() -> PathBuf {
    std::env::var_os(CONFORMANCE_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        })
}

/// The bytes of CPR's test extract `name`, or `None` after printing one line that says what
/// `check` (a few words naming the test's subject) could not verify and where the file
/// belongs.
pub fn conformance(name: &str, check: &str) -> Option<Vec<u8>> {
    let path = conformance_dir().join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            eprintln!(
                "not checked: {check}: CPR's test extract {} is not there ({e}); put CPR's \
                 conformance extracts in ../shared/conformance beside the checkout or name \
                 their folder in {CONFORMANCE_ENV}",
                path.display()
            );
            None
        }
    }
}
