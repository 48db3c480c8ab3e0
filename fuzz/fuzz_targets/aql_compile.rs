//! Compiling any text gives a query or errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut schema = portent_core::Schema::qradar();
    let _ = portent_engine::Query::compile(text, &mut schema, &Default::default());
});
