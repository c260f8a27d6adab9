//! Fuzzes what `cprsift check` and the block iterator do with a file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cprsift_format::fuzz_entry::extract(data);
});
