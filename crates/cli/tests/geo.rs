//! GEO::LOOKUP and GEO::DISTANCE over a MaxMind database given with
//! `--reference`. The database is written here (documentation networks at
//! chosen places), so every answer is worked out by hand: the distance from
//! (0, 0) to (0, 90) is a quarter of the equator, pi/2 x 6371.0088 km.

mod common;

use common::{portent, scratch};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A City database: 203.0.113.0/24 at (0, 0) with a city, country,
/// continent and a subdivision; 198.51.100.0/24 at (0, 90) with a country;
/// 192.0.2.0/24 with a country and no location.
fn city_db(dir: &Path) -> PathBuf {
    let mut w = mmdb_writer::Writer::new("GeoIP2-City");
    let insert = |w: &mut mmdb_writer::Writer, net: &str, v: Value| {
        w.insert(net.parse::<ipnet::IpNet>().unwrap(), &v).unwrap();
    };
    insert(
        &mut w,
        "203.0.113.0/24",
        json!({
            "city": {"geoname_id": 11, "names": {"en": "Null Island City", "de": "Nullinselstadt"}},
            "country": {"iso_code": "ZZ", "names": {"en": "Nullland"}},
            "continent": {"code": "AF", "names": {"en": "Africa"}},
            "location": {"latitude": 0.0, "longitude": 0.0, "accuracy_radius": 100},
            "subdivisions": [{"iso_code": "A1", "names": {"en": "First"}}],
        }),
    );
    insert(
        &mut w,
        "198.51.100.0/24",
        json!({
            "country": {"iso_code": "XY", "names": {"en": "Eastland"}},
            "location": {"latitude": 0.0, "longitude": 90.0},
        }),
    );
    insert(
        &mut w,
        "192.0.2.0/24",
        json!({"country": {"iso_code": "QQ", "names": {"en": "Nowhere"}}}),
    );
    let p = dir.join("GeoTest-City.mmdb");
    std::fs::write(&p, w.to_bytes().unwrap()).unwrap();
    p
}

/// Three connections in QRadar's field names.
fn events(dir: &Path) -> PathBuf {
    let row = |t: i64, s: &str, d: &str| {
        json!({"starttime": 1_764_115_200_000i64 + t, "devicetype": 12, "logsourceid": 1,
               "category": 4012, "sourceip": s, "destinationip": d, "destinationport": 443})
        .to_string()
    };
    let p = dir.join("events.jsonl");
    let lines = [
        row(0, "203.0.113.5", "198.51.100.7"),
        row(1, "203.0.113.5", "192.0.2.1"),
        row(2, "10.0.0.1", "203.0.113.9"),
    ];
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn query(aql: &str, inputs: &Path, db: Option<&Path>) -> (i32, Vec<Value>, String) {
    let mut args = vec!["query", aql, inputs.to_str().unwrap(), "--format", "jsonl"];
    args.extend(["--window", "ignore", "--no-limit"]);
    if let Some(db) = db {
        args.extend(["--reference", db.to_str().unwrap()]);
    }
    let (code, out, err) = portent(&args);
    let rows = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, rows, err)
}

const QUARTER_OF_THE_EQUATOR_KM: f64 = std::f64::consts::FRAC_PI_2 * 6371.0088;

#[test]
fn lookups_and_distances_worked_by_hand() {
    let dir = scratch("lookup");
    let (db, ev) = (city_db(&dir), events(&dir));
    let (code, rows, err) = query(
        "SELECT sourceip, GEO::LOOKUP(sourceip, 'city', 'name') AS city, \
         geo::lookup(sourceip, 'city', 'names.de') AS stadt, \
         GEO::LOOKUP(destinationip, 'country', 'iso_code') AS dest_country, \
         GEO::LOOKUP(destinationip, 'physical_country', 'name') AS dest_country_name, \
         GEO::LOOKUP(sourceip, 'subdivisions', '0.iso_code') AS region, \
         GEO::LOOKUP(sourceip, 'location', 'latitude') AS lat, \
         GEO::LOOKUP(sourceip, 'continent') AS continent, \
         GEO::DISTANCE(sourceip, destinationip) AS km \
         FROM events ORDER BY starttime",
        &ev,
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("GeoIP") && err.contains("GeoIP2-City"),
        "{err}"
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["city"], "Null Island City");
    assert_eq!(rows[0]["stadt"], "Nullinselstadt");
    assert_eq!(rows[0]["dest_country"], "XY");
    assert_eq!(rows[0]["dest_country_name"], "Eastland");
    assert_eq!(rows[0]["region"], "A1");
    assert_eq!(rows[0]["lat"], 0.0);
    let continent: Value = serde_json::from_str(rows[0]["continent"].as_str().unwrap()).unwrap();
    assert_eq!(continent["code"], "AF");
    let km = rows[0]["km"].as_f64().unwrap();
    assert!((km - QUARTER_OF_THE_EQUATOR_KM).abs() < 1e-6, "{km}");
    // No location for 192.0.2.1: no distance; an address outside the
    // database: NULL everywhere.
    assert_eq!(rows[1]["dest_country"], "QQ");
    assert!(rows[1]["km"].is_null());
    assert!(rows[2]["city"].is_null() && rows[2]["region"].is_null());
    assert_eq!(rows[2]["dest_country"], "ZZ");
    assert!(rows[2]["km"].is_null());
}

#[test]
fn geo_answers_filter_and_group() {
    let dir = scratch("group");
    let (db, ev) = (city_db(&dir), events(&dir));
    let (code, rows, err) = query(
        "SELECT GEO::LOOKUP(destinationip, 'country', 'iso_code') AS c, COUNT(*) AS n \
         FROM events GROUP BY c ORDER BY c",
        &ev,
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    let got: Vec<(String, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["c"].as_str().unwrap().to_owned(),
                r["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("QQ".into(), 1), ("XY".into(), 1), ("ZZ".into(), 1)]);
    let (code, rows, err) = query(
        "SELECT destinationip FROM events WHERE GEO::DISTANCE(sourceip, destinationip) > 10000",
        &ev,
        Some(&db),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["destinationip"], "198.51.100.7");
    // Just over the quarter: nothing.
    let (_, rows, _) = query(
        "SELECT destinationip FROM events WHERE GEO::DISTANCE(sourceip, destinationip) > 10008",
        &ev,
        Some(&db),
    );
    assert!(rows.is_empty());
}

#[test]
fn without_a_database_geo_functions_are_refused_with_what_to_give() {
    let dir = scratch("none");
    let ev = events(&dir);
    let (code, _, err) = query(
        "SELECT GEO::LOOKUP(sourceip, 'city') FROM events",
        &ev,
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no GeoIP database is loaded"), "{err}");
    assert!(
        err.contains("--reference") && err.contains(".mmdb"),
        "{err}"
    );
    // Lint says the same as query, and with the database it is content.
    let q = "SELECT GEO::DISTANCE(sourceip, destinationip) AS km FROM events";
    let (code, out, _) = portent(&["lint", q]);
    assert_eq!(code, 2);
    assert!(out.contains("no GeoIP database is loaded"), "{out}");
    let db = city_db(&dir);
    let (code, out, err) = portent(&["lint", q, "--reference", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("unknown function"), "{out}");
    // A file that is not a database stops the run, named.
    let bad = dir.join("bad.mmdb");
    std::fs::write(&bad, b"not a database").unwrap();
    let (code, _, err) = query(
        "SELECT GEO::LOOKUP(sourceip, 'city') FROM events",
        &ev,
        Some(&bad),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.mmdb") && err.contains("not a MaxMind database"),
        "{err}"
    );
}
