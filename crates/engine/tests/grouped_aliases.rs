//! GROUP BY answers worked out by hand for the alias shapes of real QRadar
//! queries (issue 14): an alias equal to a grouped field, aggregates' aliases
//! read by a later column, and unknown functions refused in every query shape.

use portent_core::schema::ids;
use portent_core::{Record, Schema, Value};
use portent_engine::{CompileOptions, Query, Row, Run};

/// alice twice (443, 80), bob once (443), carol once (53).
fn events() -> Vec<Record<'static>> {
    [
        ("CORP\\alice", 443),
        ("CORP\\alice", 80),
        ("CORP\\bob", 443),
        ("CORP\\carol", 53),
    ]
    .iter()
    .map(|(u, p)| {
        let mut r = Record::new();
        r.set(ids::USERNAME, Value::string((*u).to_owned()));
        r.set(ids::DESTINATIONPORT, Value::Int(*p));
        r
    })
    .collect()
}

/// The rows as text, each a list of its cells, in output order.
fn run(aql: &str) -> Vec<Vec<String>> {
    let mut schema = Schema::qradar();
    let q = Query::compile(aql, &mut schema, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{aql}: {e:?}"));
    let mut r = Run::new(&q, Vec::<Row>::new(), 0);
    for e in events() {
        r.push(&e).unwrap();
    }
    let (rows, _) = r.finish().unwrap();
    rows.iter()
        .map(|row| {
            row.cells
                .iter()
                .map(|c| c.value.to_text().map_or("NULL".into(), |t| t.into_owned()))
                .collect()
        })
        .collect()
}

fn rows(v: &[&[&str]]) -> Vec<Vec<String>> {
    v.iter()
        .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
        .collect()
}

#[test]
fn an_alias_equal_to_the_grouped_field_reads_the_field() {
    assert_eq!(
        run("SELECT SUBSTRING(username, 5, 35) AS \"Username\", COUNT(*) FROM events GROUP BY username ORDER BY \"Username\""),
        rows(&[&["alice", "2"], &["bob", "1"], &["carol", "1"]])
    );
    // The same with the alias in GROUP BY's own case, and HAVING on the count.
    assert_eq!(
        run("SELECT LOWER(USERNAME) AS username, COUNT(*) AS n FROM events GROUP BY username HAVING n > 1"),
        rows(&[&["corp\\alice", "2"]])
    );
}

#[test]
fn a_later_column_reads_the_aliases_of_aggregates() {
    // 4 events, 2 on 443: 2 * 100 / 4 = 50.
    assert_eq!(
        run("SELECT COUNT(*) AS \"Total Events\", SUM(IF destinationport = 443 THEN 1 ELSE 0) AS \"On 443\", LONG(\"On 443\"*100)/\"Total Events\" AS \"Percent\", \"Total Events\" - \"On 443\" AS rest FROM events"),
        rows(&[&["4", "2", "50", "2"]])
    );
    // Per group: alice 1 of 2 on 443 (50), bob 1 of 1 (100), carol 0 of 1 (0).
    assert_eq!(
        run("SELECT username, COUNT(*) AS total, SUM(IF destinationport = 443 THEN 1 ELSE 0) AS tls, tls * 100 / total AS pct FROM events GROUP BY username ORDER BY username"),
        rows(&[&["CORP\\alice", "2", "1", "50"], &["CORP\\bob", "1", "1", "100"], &["CORP\\carol", "1", "0", "0"]])
    );
}

#[test]
fn unknown_functions_are_refused_in_every_shape() {
    for aql in [
        "SELECT DISTINCTCOUNTCOUNT(sourceip) FROM events GROUP BY username",
        "SELECT username, NETWORKNAMEX(sourceip) FROM events GROUP BY username",
        "SELECT COUNT(*) FROM events GROUP BY username HAVING NOSUCH(username) = 1",
        "SELECT NOSUCH(username) FROM events",
        "SELECT username FROM events WHERE NOSUCH(username) = 1",
    ] {
        let mut schema = Schema::qradar();
        let err = Query::compile(aql, &mut schema, &CompileOptions::default())
            .err()
            .unwrap_or_else(|| panic!("{aql} compiled"));
        let text = format!("{err:?}");
        assert!(
            text.contains("Unknown") || text.contains("unknown"),
            "{aql}: {text}"
        );
    }
}
