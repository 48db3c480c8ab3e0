//! Inputs the fuzzer found, kept as regression tests.

use portent_aql::{parse, spanless::erase_query};

fn roundtrip(text: &str) {
    let mut first = parse(text).unwrap();
    let printed = first.to_string();
    let mut second = parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e:?}"));
    erase_query(&mut first);
    erase_query(&mut second);
    assert_eq!(first, second, "{text} printed as {printed}");
}

#[test]
fn interval_after_arithmetic() {
    roundtrip("SELECT x FROM events WHERE starttime > NOW() - 2 +HOURS");
}
