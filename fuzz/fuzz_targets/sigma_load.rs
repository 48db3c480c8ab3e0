//! The Sigma loader never panics, and every rule it accepts is built as a
//! syntax tree whose printed AQL Portent's parser reads back as that tree.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portent_aql::spanless::erase_query;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let loaded = portent_sigma::load(text, "fuzz.yml");
    for r in &loaded.rules {
        if let Ok(c) = portent_sigma::to_aql(r) {
            let aql = c.aql();
            let mut read = portent_aql::parse(&aql).unwrap_or_else(|e| panic!("{aql}\n{e:?}"));
            erase_query(&mut read);
            let mut built = c.query.clone();
            erase_query(&mut built);
            assert_eq!(built, read, "{aql}");
        }
    }
});
