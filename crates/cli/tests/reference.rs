//! Reference data end to end: `--reference` with CSV and QRadar's API JSON,
//! in `query` and `hunt`, against counts worked out from the shipped example
//! (18 events; 13 of them alice's connections to 93.184.216.34).

mod common;

use common::{portent, root};

fn reference_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("watched_users.csv"),
        "# element_type=ALNIC\nvalue\ncorp\\alice\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("user_names.csv"),
        "key,value\nCORP\\alice,Alice Example\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("qradar.json"),
        r#"[{"name": "Bad Destinations", "element_type": "IP", "time_to_live": "1 days", "timeout_type": "LAST_SEEN",
             "data": [{"value": "93.184.216.34", "last_seen": 1764115200000}]},
            {"name": "Ports", "element_type": "PORT", "data": {"powershell.exe": [{"value": "443"}, {"value": "8443"}]}}]"#,
    )
    .unwrap();
    d
}

fn example() -> String {
    root()
        .join("examples/t1043-events.jsonl")
        .display()
        .to_string()
}

#[test]
fn query_looks_up_sets_maps_and_maps_of_sets() {
    let refs = reference_dir();
    let r = refs.path().to_str().unwrap();
    let (code, out, err) = portent(&[
        "query",
        "SELECT username, REFERENCEMAP('user_names', username) AS who, COUNT(*) AS n FROM events WHERE REFERENCESETCONTAINS('watched_users', username) AND REFERENCESETCONTAINS('Bad Destinations', destinationip) GROUP BY username",
        &example(),
        "--reference",
        r,
        "--format",
        "csv",
        "--now",
        "1764115200000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "username,who,n\nCORP\\alice,Alice Example,13\n");
    assert!(
        err.contains("reference data: 4 collection(s) from 3 file(s)"),
        "{err}"
    );
    // The same count without reference data, for the record.
    let (_, plain, _) = portent(&[
        "query",
        "SELECT COUNT(*) AS n FROM events WHERE destinationip = '93.184.216.34' AND username = 'CORP\\alice'",
        &example(),
        "--format",
        "csv",
    ]);
    assert_eq!(plain, "n\n13\n");
    // A map of sets: powershell's connections on a listed port (443 only).
    let (code, out, err) = portent(&[
        "query",
        "SELECT COUNT(*) AS n FROM events WHERE REFERENCEMAPSETCONTAINS('Ports', 'powershell.exe', destinationport) AND LOWER(\"Process Name\") LIKE '%powershell.exe'",
        &example(),
        "--reference",
        r,
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, plain, _) = portent(&[
        "query",
        "SELECT COUNT(*) AS n FROM events WHERE destinationport IN (443, 8443) AND LOWER(\"Process Name\") LIKE '%powershell.exe'",
        &example(),
        "--format",
        "csv",
    ]);
    assert_eq!(out, plain);
}

#[test]
fn time_to_live_counts_from_the_query_now() {
    let refs = reference_dir();
    let q = "SELECT COUNT(*) AS n FROM events WHERE REFERENCESETCONTAINS('Bad Destinations', destinationip)";
    let run = |now: &str| {
        portent(&[
            "query",
            q,
            &example(),
            "--reference",
            refs.path().to_str().unwrap(),
            "--format",
            "csv",
            "--now",
            now,
        ])
        .1
    };
    // Last seen 2025-11-26T00:00Z, a day to live.
    assert_eq!(run("2025-11-26T12:00:00Z"), "n\n13\n");
    assert_eq!(run("2025-11-27T00:00:01Z"), "n\n0\n");
}

#[test]
fn a_missing_collection_or_a_bad_file_stops_the_run_with_its_name() {
    let refs = reference_dir();
    let (code, _, err) = portent(&[
        "query",
        "SELECT username FROM events WHERE REFERENCESETCONTAINS('watched', username)",
        &example(),
        "--reference",
        refs.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no reference set `watched` is loaded")
            && err.contains("loaded: Bad Destinations, Ports, user_names, watched_users"),
        "{err}"
    );
    let (code, _, err) = portent(&[
        "query",
        "SELECT REFERENCEMAP('user_names', username) FROM events",
        &example(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--reference"), "{err}");
    std::fs::write(refs.path().join("broken.csv"), "value\n").unwrap();
    std::fs::write(
        refs.path().join("ips.csv"),
        "# element_type=IP\nvalue\n10.0.0.1\nnot-an-ip\n",
    )
    .unwrap();
    let (code, _, err) = portent(&[
        "query",
        "SELECT COUNT(*) FROM events",
        &example(),
        "--reference",
        refs.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ips.csv: row 4") && err.contains("not-an-ip"),
        "{err}"
    );
}

#[test]
fn hunt_rules_read_reference_data() {
    let refs = reference_dir();
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("watched.toml"),
        "id = \"watched-user-bad-destination\"\ntitle = \"Watched user reaches a listed destination\"\nquery = \"watched.aql\"\nseverity = \"high\"\n",
    )
    .unwrap();
    std::fs::write(
        rules.path().join("watched.aql"),
        "SELECT username, destinationip FROM events WHERE REFERENCESETCONTAINS('watched_users', username) AND REFERENCESETCONTAINS('Bad Destinations', destinationip)",
    )
    .unwrap();
    let (code, out, err) = portent(&[
        "hunt",
        "--rules",
        rules.path().to_str().unwrap(),
        "--reference",
        refs.path().to_str().unwrap(),
        &example(),
        "--format",
        "jsonl",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let hits = out.lines().filter(|l| l.contains("\"rule_id\"")).count();
    assert_eq!(hits, 13, "{out}");
}

#[test]
fn networkname_and_asset_functions_read_their_files() {
    let refs = reference_dir();
    std::fs::write(
        refs.path().join("networks.csv"),
        "network,name\n10.0.0.0/8,Corporate\n10.1.2.0/24,Corporate.Desktops\n0.0.0.0/0,Internet\n",
    )
    .unwrap();
    std::fs::write(
        refs.path().join("assets.csv"),
        "ip,hostname,user\n10.1.2.3,WKS-ALICE,alice\n",
    )
    .unwrap();
    let (code, out, err) = portent(&[
        "query",
        "SELECT NETWORKNAME(sourceip) AS src, NETWORKNAME(destinationip) AS dst, ASSETHOSTNAME(sourceip) AS host, COUNT(*) AS n FROM events GROUP BY src, dst, host ORDER BY n DESC",
        &example(),
        "--reference",
        refs.path().to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    // Worked out from the example: all 18 events come from 10.1.2.3; 13 go
    // to 93.184.216.34 and 1 to 8.8.8.8 (Internet), 4 to 10.0.0.x (Corporate).
    let (_, plain, _) = portent(&[
        "query",
        "SELECT COUNT(*) AS n FROM events WHERE sourceip = '10.1.2.3' AND NOT INCIDR('10.0.0.0/8', destinationip)",
        &example(),
        "--format",
        "csv",
    ]);
    assert_eq!(plain, "n\n14\n");
    assert_eq!(
        out,
        "src,dst,host,n\nCorporate.Desktops,Internet,WKS-ALICE,14\nCorporate.Desktops,Corporate,WKS-ALICE,4\n"
    );
    assert!(err.contains("3 network(s); 1 asset(s)"), "{err}");
    let (code, _, err) = portent(&[
        "query",
        "SELECT NETWORKNAME(sourceip) FROM events",
        &example(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no network hierarchy is loaded"), "{err}");
}
