//! Reference data from both file layouts, by element type, with time to live.

use super::*;

const DAY: i64 = 86_400_000;

fn data(files: &[(&str, &str)]) -> ReferenceData {
    let mut d = ReferenceData::default();
    for (name, text) in files {
        d.load(text, name, &format!("{name}.file")).unwrap();
    }
    d
}

#[test]
fn sets_compare_by_element_type() {
    let d = data(&[
        (
            "admins",
            "# element_type=ALNIC\nvalue\nAdministrator\nsvc_backup\n",
        ),
        ("bad_ips", "value\n10.0.0.5\n"),
        ("ports", "# element_type=PORT\nvalue\n4444\n"),
        ("nets", "# element_type=CIDR\nvalue\n192.168.0.0/16\n"),
    ]);
    let s = |v: &str| Value::string(v.to_owned());
    assert_eq!(d.set_contains("admins", &s("ADMINISTRATOR"), 0), Some(true));
    assert_eq!(
        d.set_contains("ADMINS", &s("svc_backup"), 0),
        Some(true),
        "names ignore case"
    );
    assert_eq!(d.set_contains("admins", &s("guest"), 0), Some(false));
    assert_eq!(
        d.set_contains("bad_ips", &s("10.0.0.5"), 0),
        Some(true),
        "ALN compares text"
    );
    assert_eq!(d.set_contains("ports", &Value::Int(4444), 0), Some(true));
    assert_eq!(
        d.set_contains("ports", &s("04444"), 0),
        Some(true),
        "ports as numbers"
    );
    assert_eq!(d.set_contains("nets", &s("192.168.7.9"), 0), Some(true));
    assert_eq!(d.set_contains("nets", &s("10.1.1.1"), 0), Some(false));
    assert_eq!(
        d.set_contains("admins", &Value::Null, 0),
        None,
        "NULL in, NULL out"
    );
    assert_eq!(d.set_contains("nosuch", &s("x"), 0), None);
}

#[test]
fn qradar_api_json_loads_every_kind() {
    let json = r#"[
      {"name": "Blocked IPs", "element_type": "IP", "time_to_live": "1 days", "timeout_type": "LAST_SEEN",
       "data": [{"value": "203.0.113.7", "last_seen": 1000}, {"value": "203.0.113.8", "last_seen": 90000000}]},
      {"name": "User names", "element_type": "ALN", "data": {"jdoe": {"value": "John Doe", "source": "api"}}},
      {"name": "Owners", "element_type": "ALNIC", "data": {"web01": [{"value": "Alice"}, {"value": "bob"}]}},
      {"name": "Assets", "element_type": "ALN", "key_name_types": {"owner": "ALN", "port": "PORT"},
       "data": {"10.0.0.1": {"owner": {"value": "alice"}, "port": {"value": "443"}}}}
    ]"#;
    let d = data(&[("ignored", json)]);
    assert_eq!(d.names(), ["Assets", "Blocked IPs", "Owners", "User names"]);
    let s = |v: &str| Value::string(v.to_owned());
    // 203.0.113.7 was last seen at 1 s: a day later it is gone; .8 is not.
    assert_eq!(
        d.set_contains("Blocked IPs", &s("203.0.113.7"), DAY / 2),
        Some(true)
    );
    assert_eq!(
        d.set_contains("Blocked IPs", &s("203.0.113.7"), DAY + 2_000),
        Some(false)
    );
    assert_eq!(
        d.set_contains("Blocked IPs", &s("203.0.113.8"), DAY + 2_000),
        Some(true)
    );
    assert_eq!(d.map_value("User names", &s("jdoe"), 0), s("John Doe"));
    assert_eq!(d.map_value("User names", &s("nobody"), 0), Value::Null);
    assert_eq!(
        d.map_set_contains("Owners", &s("web01"), &s("ALICE"), 0),
        Some(true)
    );
    assert_eq!(
        d.map_set_contains("Owners", &s("web01"), &s("carol"), 0),
        Some(false)
    );
    assert_eq!(d.table_value("Assets", "port", &s("10.0.0.1"), 0), s("443"));
    assert_eq!(
        d.table_value("Assets", "owner", &s("10.0.0.2"), 0),
        Value::Null
    );
    assert_eq!(d.get("assets").unwrap().kind, Kind::Table);
}

#[test]
fn csv_maps_map_of_sets_and_tables_follow_the_header() {
    let d = data(&[
        ("dept", "key,value\nalice,finance\nbob,it\n"),
        ("groups", "key,value\nalice,admins\nalice,vpn\n"),
        ("hosts", "key,owner,site\nweb01,alice,paris\n"),
        ("seen", "# time_to_live=7d timeout_type=FIRST_SEEN\nvalue,first_seen,last_seen\nx,0,999999999999\n"),
    ]);
    let s = |v: &str| Value::string(v.to_owned());
    assert_eq!(d.get("dept").unwrap().kind, Kind::Map);
    assert_eq!(d.get("groups").unwrap().kind, Kind::MapOfSets);
    assert_eq!(d.map_value("dept", &s("bob"), 0), s("it"));
    assert_eq!(
        d.map_set_contains("groups", &s("alice"), &s("vpn"), 0),
        Some(true)
    );
    assert_eq!(d.table_value("hosts", "SITE", &s("web01"), 0), s("paris"));
    // Time to live counts from the first sighting here.
    assert_eq!(d.set_contains("seen", &s("x"), 6 * DAY), Some(true));
    assert_eq!(d.set_contains("seen", &s("x"), 8 * DAY), Some(false));
}

#[test]
fn bad_files_say_where() {
    let mut d = ReferenceData::default();
    let e = d
        .load(
            "# element_type=IP\nvalue\n10.0.0.1\nnot-an-ip\n",
            "ips",
            "ips.csv",
        )
        .unwrap_err();
    assert!(
        e.starts_with("ips.csv: row 4:") && e.contains("not-an-ip"),
        "{e}"
    );
    let e = d.load("who,what\na,b\n", "x", "x.csv").unwrap_err();
    assert!(e.contains("the header must be"), "{e}");
    let e = d
        .load(
            "{\"name\": \"s\", \"time_to_live\": \"soon\", \"data\": []}",
            "s",
            "s.json",
        )
        .unwrap_err();
    assert!(e.contains("time_to_live `soon`"), "{e}");
    assert!(d
        .load("[1,", "j", "j.json")
        .unwrap_err()
        .starts_with("j.json:"));
}

#[test]
fn durations() {
    assert_eq!(ttl("7d"), Some(7 * DAY));
    assert_eq!(ttl("1 days 2 hours"), Some(DAY + 7_200_000));
    assert_eq!(ttl("30 mins"), Some(1_800_000));
    assert_eq!(ttl("5000"), Some(5000));
    assert_eq!(ttl("soon"), None);
}

#[test]
fn networks_most_specific_first_and_assets_by_address() {
    let d = data(&[
        ("networks", "network,name\n10.0.0.0/8,Corporate\n10.1.2.0/24,Corporate.Servers\n0.0.0.0/0,Internet\n"),
        ("assets", "ip,hostname,user,owner\n10.1.2.3,web01,svc_web,alice\n"),
    ]);
    let s = |v: &str| Value::string(v.to_owned());
    assert_eq!(d.network_name(&s("10.1.2.3")), s("Corporate.Servers"));
    assert_eq!(d.network_name(&s("10.9.9.9")), s("Corporate"));
    assert_eq!(d.network_name(&s("8.8.8.8")), s("Internet"));
    assert_eq!(d.network_name(&s("not an ip")), Value::Null);
    assert_eq!(d.asset("hostname", &s("10.1.2.3")), s("web01"));
    assert_eq!(d.asset("OWNER", &s("10.1.2.3")), s("alice"));
    assert_eq!(d.asset("hostname", &s("10.1.2.4")), Value::Null);
    assert_eq!(d.counts(), (3, 1));
    let mut bad = ReferenceData::default();
    let e = bad
        .load("network,name\n10.0.0.0/33,x\n", "n", "n.csv")
        .unwrap_err();
    assert!(e.starts_with("n.csv: row 2"), "{e}");
}
