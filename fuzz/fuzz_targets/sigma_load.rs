//! The Sigma loader never panics, and every rule it accepts compiles to AQL
//! that Portent's parser reads.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let loaded = portent_sigma::load(text, "fuzz.yml");
    for r in &loaded.rules {
        if let Ok(c) = portent_sigma::to_aql(r) {
            assert!(portent_aql::parse(&c.aql).is_ok(), "{}", c.aql);
        }
    }
});
