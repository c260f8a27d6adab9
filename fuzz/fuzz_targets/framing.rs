//! Fuzzes the framing reader: every input frames into records or errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    cprsift_format::fuzz_entry::framing(data);
});
