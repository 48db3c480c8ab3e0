//! `query` writes the rows of a query that neither sorts nor groups while it
//! reads (JSON lines, JSON, CSV): the same rows as the buffered run gives
//! (`--now latest`, known only at the end, makes a query buffer).

mod common;

use common::{corpus, portent, root};
use serde_json::Value;

/// Each row as canonical JSON without its NULL cells (the buffered formats
/// pad a row to every column seen), sorted: enrichment may hold a row back
/// until the end when streaming.
fn rows_of(jsonl: Option<&str>, json: Option<&str>) -> Vec<String> {
    let rows: Vec<Value> = match (jsonl, json) {
        (Some(t), _) => t
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        (_, Some(t)) => serde_json::from_str::<Value>(t).unwrap()["rows"]
            .as_array()
            .unwrap()
            .clone(),
        _ => unreachable!(),
    };
    let mut out: Vec<String> = rows
        .into_iter()
        .map(|r| {
            let m: std::collections::BTreeMap<String, Value> = r
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            serde_json::to_string(&m).unwrap()
        })
        .collect();
    out.sort();
    out
}

fn same_rows(input: &str, aql: &str) -> usize {
    let (c1, streamed, e1) = portent(&[
        "query",
        aql,
        input,
        "--format",
        "jsonl",
        "--window",
        "ignore",
        "--provenance",
    ]);
    let (c2, buffered, e2) = portent(&[
        "query",
        aql,
        input,
        "--format",
        "json",
        "--window",
        "ignore",
        "--provenance",
        "--now",
        "latest",
    ]);
    let (c3, streamed_json, e3) = portent(&[
        "query",
        aql,
        input,
        "--format",
        "json",
        "--window",
        "ignore",
        "--provenance",
    ]);
    assert_eq!(c1, c3, "{e3}");
    assert!(
        rows_of(None, Some(&streamed_json)) == rows_of(None, Some(&buffered)),
        "streamed and buffered JSON rows differ"
    );
    // 3: some input was partly unreadable (the corpus has a damaged file).
    assert_eq!(c1, c2, "{e1}{e2}");
    assert!(c1 == 0 || c1 == 3, "{e1}");
    let (a, b) = (
        rows_of(Some(&streamed), None),
        rows_of(None, Some(&buffered)),
    );
    assert_eq!(a.len(), b.len());
    assert!(a == b, "streamed and buffered rows differ");
    // The summary counts the same rows either way.
    let count = |e: &str| e.lines().find(|l| l.contains("query:")).map(str::to_owned);
    assert_eq!(count(&e1), count(&e2));
    a.len()
}

#[test]
fn streamed_rows_are_the_buffered_rows() {
    let examples = root().join("examples").display().to_string();
    assert_eq!(same_rows(&examples, "SELECT * FROM events"), 30);
    assert!(same_rows(&examples, "SELECT \"Process Name\", destinationport FROM events WHERE destinationport IS NOT NULL") > 0);
    // CSV streams with the header the query's columns give.
    let (code, out, _) = portent(&[
        "query",
        "SELECT destinationport, username FROM events WHERE destinationport = 443",
        &examples,
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("destinationport,username\n"), "{out}");
    assert_eq!(
        out.lines().count() - 1,
        out.lines().filter(|l| l.starts_with("443,")).count()
    );
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn streamed_rows_are_the_buffered_rows_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    // Fixed columns: the buffered JSON of `SELECT *` over the corpus pads
    // every row to every column (gigabytes); streamed JSON does not.
    let n = same_rows(
        dir.to_str().unwrap(),
        "SELECT starttime, \"Event ID\", \"Process Name\", \"Command\", destinationport, username FROM events",
    );
    assert!(n > 100_000, "{n}");
}

/// A grouped query takes the candidates as they are read (it holds its
/// groups, not the events): the counts are those of every event.
#[test]
fn grouped_queries_count_every_event_while_reading() {
    let examples = root().join("examples").display().to_string();
    let count = |aql: &str| -> Vec<Value> {
        let (code, out, err) = portent(&["query", aql, &examples, "--format", "jsonl"]);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = count("SELECT COUNT(*) AS n FROM events");
    assert_eq!(all, vec![serde_json::json!({"n": 30})]);
    // Grouped by a field enrichment fills (the command line of each
    // connection's process): every event is in one group.
    let groups = count("SELECT \"Command\", COUNT(*) AS n FROM events GROUP BY \"Command\"");
    let total: i64 = groups.iter().map(|g| g["n"].as_i64().unwrap()).sum();
    assert_eq!(total, 30);
    assert!(groups.len() > 2, "{groups:?}");
}
