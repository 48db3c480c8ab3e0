//! The parser never panics, and what it accepts prints back to text that parses
//! to the same statement.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(mut q) = portent_aql::parse(text) {
        let printed = q.to_string();
        let mut again = portent_aql::parse(&printed).expect("printed query parses");
        portent_aql::spanless::erase_query(&mut q);
        portent_aql::spanless::erase_query(&mut again);
        assert_eq!(q, again, "{printed}");
    }
});
