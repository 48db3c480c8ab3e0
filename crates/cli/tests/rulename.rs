//! RULENAME: the names of the rules an event's `creeventlist` lists, from
//! `--catalog` rows (`rule,ID,NAME`, as QRadar's rule list gives them), and
//! the pack's own rules by id.

mod common;

use common::portent;
use serde_json::{json, Value};
use std::path::Path;

/// `query AQL EVENTS --catalog CATALOG --format jsonl --window ignore`:
/// exit code, rows, stderr.
fn query(aql: &str, events: &Path, catalog: &Path) -> (i32, Vec<Value>, String) {
    let (code, out, err) = portent(&[
        "query",
        aql,
        events.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--format",
        "jsonl",
        "--window",
        "ignore",
    ]);
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, rows, err)
}

#[test]
fn rule_names_of_the_listed_rules() {
    let dir = std::env::temp_dir().join(format!("portent-rulename-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("rules.csv");
    std::fs::write(
        &catalog,
        "table,id,name\nrule,100045,Suspicious Login Burst\nrule,100234,Port Scan\n",
    )
    .unwrap();
    let ev = |t: i64, list: Value| {
        json!({"starttime": 1_764_115_200_000i64 + t, "devicetype": 12, "logsourceid": 1,
               "sourceip": "10.0.0.1", "creeventlist": list})
        .to_string()
    };
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        [
            ev(0, json!("100234, 100045")),
            ev(1, json!("100045")),
            ev(2, json!("777")),
            ev(3, json!(null)),
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, rows, err) = query(
        "SELECT starttime, RULENAME(creeventlist) AS rules, RULENAME('t1043-commonly-used-port') AS seed \
         FROM events ORDER BY starttime",
        &events,
        &catalog,
    );
    assert_eq!(code, 0, "{err}");
    let rules: Vec<&Value> = rows.iter().map(|r| &r["rules"]).collect();
    assert_eq!(
        rules,
        [
            &json!("Port Scan, Suspicious Login Burst"),
            &json!("Suspicious Login Burst"),
            &Value::Null,
            &Value::Null
        ]
    );
    assert!(rows[0]["seed"]
        .as_str()
        .unwrap()
        .starts_with("Commonly Used Port"));
    // As IBM's example filters: events a matching rule fired on.
    let (code, rows, err) = query(
        "SELECT starttime FROM events WHERE RULENAME(creEventList) ILIKE '%suspicious%'",
        &events,
        &catalog,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), 2, "{rows:?}");
}

/// `--catalog` also takes what QRadar's API returns for its categories, QID
/// records and rules, so a deployment's own lists name events offline; the
/// built-in table knows IBM's documented authentication categories (3014).
#[test]
fn catalogs_from_qradars_api_json() {
    let dir = std::env::temp_dir().join(format!("portent-catalog-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = dir.join("qradar.json");
    std::fs::write(
        &catalog,
        json!([
            {"id": 18150, "name": "AAA Authentication Failed", "high_level_category_id": 18000,
             "severity": 3, "description": "..."},
            {"id": 100045, "name": "Suspicious Login Burst", "type": "EVENT", "origin": "USER",
             "enabled": true},
            {"qid": 5000862, "id": 987, "name": "A new process has been created",
             "low_level_category_id": 8110},
            {"id": 19000, "name": "Audit", "description": "Audit events"},
        ])
        .to_string(),
    )
    .unwrap();
    let events = dir.join("events.jsonl");
    let ev = |cat: i64, qid: i64| {
        json!({"starttime": 1_764_115_200_000i64, "devicetype": 12, "category": cat,
               "qid": qid, "creeventlist": "100045", "sourceip": "10.0.0.1"})
        .to_string()
    };
    std::fs::write(&events, [ev(18150, 5000862), ev(3014, 1)].join("\n")).unwrap();
    let (code, rows, err) = query(
        "SELECT CATEGORYNAME(category) AS c, QIDNAME(qid) AS q, RULENAME(creeventlist) AS r, \
         CATEGORYNAME(19000) AS h FROM events",
        &events,
        &catalog,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows[0]["c"], "AAA Authentication Failed");
    assert_eq!(rows[0]["q"], "A new process has been created");
    assert_eq!(rows[0]["r"], "Suspicious Login Burst");
    assert_eq!(rows[0]["h"], "Audit");
    assert_eq!(rows[1]["c"], "Admin Login Successful");
    // Something else is refused, by its place.
    std::fs::write(&catalog, r#"[{"id": 1, "name": "x"}, {"name": "y"}]"#).unwrap();
    let (code, _, err) = portent(&[
        "query",
        "SELECT * FROM events",
        events.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("qradar.json") && err.contains("element 1"),
        "{err}"
    );
}
