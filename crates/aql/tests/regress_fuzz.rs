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

/// Each of these used to loop for ever, piling up errors until memory ran
/// out: a clause whose next token was the end of input stepped back onto its
/// own keyword, and parsed it again.
#[test]
fn a_clause_cut_at_the_end_of_input_ends() {
    for text in [
        "SELECT ,,,,,,,,,,,,,,,,,SELECT * FROM events WHERE fieldA='valueA' OR (fieldB=ents PARAMETERS',,,,,,      ) ,000",
        "SELECT * FROM events PARAMETERS",
        "SELECT * FROM events PARAMETERS '",
        "SELECT * FROM events ORDER BY x COLLATE",
        "SELECT * FROM events START PARSEDATETIME(",
        "SELECT * FROM events WHERE TEXT SEARCH",
    ] {
        let errors = parse(text).expect_err(text);
        assert!(!errors.is_empty() && errors.len() < 100, "{text}: {} errors", errors.len());
    }
}
