//! Differential test: Portent's Sigma (each rule compiled to AQL and run by
//! Portent's engine) against rsigma-eval 0.23.0 (an independent Sigma
//! evaluator, pinned, used only here), with the SigmaHQ rules in
//! `../shared/sigma-rules` over every Sysmon event of `../shared/corpus`.
//! rsigma does not apply log sources itself, so each rule is asked only about
//! the Sysmon events of its category; enrichment is off, as rsigma has none.

use portent_core::event::FieldRef;
use portent_core::{Event, Record, Schema, Value};
use portent_engine::{CompileOptions, Query, Row, Run, WindowPolicy};
use portent_io::{plan, read_unit, ReadOptions};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn shared(sub: &str) -> Option<PathBuf> {
    match sub {
        "corpus" => portent_core::testdata::corpus(),
        _ => portent_core::testdata::sigma_rules(),
    }
}

fn yml(dir: &Path, out: &mut Vec<PathBuf>) {
    out.extend(portent_core::testdata::files(dir, "yml"));
}

/// The Sysmon event id of a Sigma category, for the rules the test compares.
fn sysmon_id(category: Option<&str>) -> Option<i64> {
    match category? {
        "process_creation" => Some(1),
        "network_connection" => Some(3),
        "dns_query" | "dns" => Some(22),
        _ => None,
    }
}

/// The event as rsigma sees it: every field under its source name.
fn as_json(rec: &Record<'static>, schema: &Schema) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    rec.for_each(&mut |f, v| {
        let name = match f {
            FieldRef::Name(n) => n.to_owned(),
            FieldRef::Id(id) => schema.name(id).to_owned(),
        };
        let j = match v {
            Value::Null => return,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(x) => serde_json::Value::from(*x),
            other => serde_json::Value::String(
                other.to_text().map(|t| t.into_owned()).unwrap_or_default(),
            ),
        };
        m.entry(name).or_insert(j);
    });
    serde_json::Value::Object(m)
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn portent_agrees_with_rsigma_on_the_corpus() {
    let (Some(rules_dir), Some(corpus)) = (shared("sigma-rules"), shared("corpus")) else {
        return;
    };
    let mut files = Vec::new();
    // The hand-picked rules; the whole SigmaHQ set beside them includes
    // rules Portent rejects with a reason, tested on their own.
    for d in ["network_connection", "supporting"] {
        yml(&rules_dir.join(d), &mut files);
    }
    let mut schema = Schema::qradar();
    let opts = CompileOptions {
        window: WindowPolicy::Ignore,
        ..CompileOptions::default()
    };
    let mut ours: Vec<(String, i64, Query)> = Vec::new();
    let mut oracle = rsigma_eval::Engine::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let loaded = portent_sigma::load(&text, &f.display().to_string());
        assert!(loaded.rejected.is_empty(), "{:?}", loaded.rejected);
        let collection = rsigma_parser::parse_sigma_yaml(&text).unwrap();
        oracle.add_collection(&collection).unwrap();
        for r in loaded.rules {
            let Some(eid) = sysmon_id(r.logsource.category.as_deref()) else {
                continue;
            };
            let c = portent_sigma::to_aql(&r).unwrap();
            let q = Query::compile(&c.aql(), &mut schema, &opts)
                .unwrap_or_else(|e| panic!("{}: {e:?}\n{}", r.title, c.aql()));
            ours.push((r.title.clone(), eid, q));
        }
    }
    assert!(ours.len() >= 24, "{}", ours.len());
    let read = ReadOptions::default();
    let (units, _) = plan(&[corpus], &read);
    let (mut events, mut hits, mut disagreements) = (0u64, 0u64, Vec::new());
    for u in &units {
        read_unit(u, &schema, &read, &mut |name, rec| {
            let channel = rec.get(portent_core::schema::ids::CHANNEL);
            if !channel
                .as_str()
                .is_some_and(|c| c.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational"))
            {
                return;
            }
            let Some(eid) = rec.get(portent_core::schema::ids::EVENT_ID).to_i64() else {
                return;
            };
            if ![1, 3, 22].contains(&eid) {
                return;
            }
            events += 1;
            let mine: BTreeSet<String> = ours
                .iter()
                .filter(|(_, id, _)| *id == eid)
                .filter(|(_, _, q)| Run::new(q, Vec::<Row>::new(), 0).matches(&rec))
                .map(|(t, _, _)| t.clone())
                .collect();
            let json = as_json(&rec, &schema);
            let event = rsigma_eval::JsonEvent::borrow(&json);
            let relevant: BTreeSet<&str> = ours
                .iter()
                .filter(|(_, id, _)| *id == eid)
                .map(|(t, _, _)| t.as_str())
                .collect();
            let theirs: BTreeSet<String> = oracle
                .evaluate(&event)
                .into_iter()
                .map(|m| m.header.rule_title.to_string())
                .filter(|t| relevant.contains(t.as_str()))
                .collect();
            hits += mine.len() as u64;
            if mine != theirs && disagreements.len() < 20 {
                disagreements.push(format!("{name}: ours {mine:?}, rsigma {theirs:?}: {json}"));
            }
        });
    }
    eprintln!("{} rules, {events} Sysmon events, {hits} hits", ours.len());
    assert!(events > 1_000, "{events}");
    assert!(hits > 100, "{hits}");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Rules exercising every supported modifier, against events built from a
/// pool of values that hit and miss them: both evaluators must agree on each.
#[test]
fn portent_agrees_with_rsigma_on_every_modifier() {
    let rules = [
        ("contains", "CommandLine|contains: 'urlcache'"),
        ("startswith", "CommandLine|startswith: 'certutil'"),
        ("endswith", "Image|endswith: '\\certutil.exe'"),
        ("wildcards", "Image: 'C:\\Windows\\\\*\\cert?til.exe'"),
        ("escaped star", "CommandLine|contains: 'a\\*b'"),
        ("all", "CommandLine|contains|all: ['-urlcache', '-f']"),
        ("windash", "CommandLine|windash|contains: ' -f '"),
        ("re", "CommandLine|re: 'http://[0-9]+\\.'"),
        ("re i", "CommandLine|re|i: 'URLCACHE'"),
        (
            "cidr",
            "DestinationIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']",
        ),
        ("base64 contains", "CommandLine|base64|contains: 'IEX'"),
        (
            "base64offset",
            "CommandLine|base64offset|contains: 'Invoke-'",
        ),
        (
            "wide base64offset",
            "CommandLine|wide|base64offset|contains: 'ping'",
        ),
        ("exists", "ParentImage|exists: true"),
        ("not exists", "ParentImage|exists: false"),
        ("cased", "CommandLine|cased|contains: 'URLCACHE'"),
        ("fieldref", "ParentImage|fieldref: Image"),
        ("gt", "DestinationPort|gt: 1000"),
        ("lte", "DestinationPort|lte: 443"),
        ("neq", "User|neq: 'CORP\\alice'"),
        ("null", "ParentImage: null"),
        ("empty", "CommandLine: ''"),
        ("number as text", "DestinationPort: '443'"),
        (
            "list any",
            "Image|endswith: ['\\cmd.exe', '\\powershell.exe']",
        ),
    ];
    let lines = [
        "certutil.exe -urlcache -split -f http://10.1.2.3/a a",
        "CERTUTIL.EXE -URLCACHE /f x",
        "powershell -e SUVYIChOZXctT2JqZWN0 IEX",
        "powershell -enc SW52b2tlLUV4cHJlc3Npb24=",
        "cmd /c a*b",
        "cmd /c ab",
        "ping -n 1 127.0.0.1",
        "powershell -e cABpAG4AZwA=",
        "",
    ];
    let images = [
        "C:\\Windows\\System32\\certutil.exe",
        "C:\\Windows\\SysWOW64\\certutil.exe",
        "C:\\Windows\\System32\\cmd.exe",
        "C:\\Tools\\powershell.exe",
    ];
    let ips = ["10.9.8.7", "192.168.1.1", "8.8.8.8", "172.16.0.1"];
    let ports = [443_i64, 80, 8443, 53];
    let mut schema = Schema::qradar();
    let opts = CompileOptions {
        window: WindowPolicy::Ignore,
        ..CompileOptions::default()
    };
    let mut cases = Vec::new();
    for (name, det) in rules {
        let yaml = format!(
            "title: '{name}'\nid: 00000000-0000-4000-8000-{:012}\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    selection:\n        {det}\n    condition: selection\n",
            cases.len()
        );
        let loaded = portent_sigma::load(&yaml, name);
        assert!(loaded.rejected.is_empty(), "{name}: {:?}", loaded.rejected);
        let c = portent_sigma::to_aql(&loaded.rules[0]).unwrap();
        let q = Query::compile(&c.aql(), &mut schema, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e:?}\n{}", c.aql()));
        let mut engine = rsigma_eval::Engine::new();
        engine
            .add_collection(&rsigma_parser::parse_sigma_yaml(&yaml).unwrap())
            .unwrap();
        cases.push((name, q, engine));
    }
    let read = ReadOptions::default();
    let mut checked = 0;
    let mut fired = std::collections::BTreeMap::<&str, usize>::new();
    for (i, line) in lines.iter().enumerate() {
        for (j, image) in images.iter().enumerate() {
            let parent = if (i + j) % 3 == 0 {
                serde_json::Value::Null
            } else if (i + j) % 3 == 1 {
                (*image).into()
            } else {
                "C:\\Windows\\explorer.exe".into()
            };
            let user = if j % 2 == 0 {
                "CORP\\alice"
            } else {
                "CORP\\bob"
            };
            let mut ev = serde_json::json!({
                "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "h",
                "SourceModuleType": "im_msvistalog", "@timestamp": "2025-01-01T00:00:00Z",
                "Image": image, "CommandLine": line, "User": user,
                "DestinationIp": ips[(i + j) % 4], "DestinationPort": ports[(i * 3 + j) % 4],
            });
            if !parent.is_null() {
                ev["ParentImage"] = parent;
            }
            let text = ev.to_string();
            let mut recs = Vec::new();
            portent_io::read_bytes(
                "gen.json",
                text.into_bytes(),
                &schema,
                &read,
                &mut |_, r| recs.push(r),
            );
            assert_eq!(recs.len(), 1);
            let rec = &recs[0];
            let json = as_json(rec, &schema);
            for (name, q, engine) in &cases {
                let mine = Run::new(q, Vec::<Row>::new(), 0).matches(rec);
                let theirs = !engine
                    .evaluate(&rsigma_eval::JsonEvent::borrow(&json))
                    .is_empty();
                if name.contains("base64offset") && mine && !theirs {
                    // rsigma 0.23 keeps the last characters of each shifted
                    // encoding, which depend on the bytes that follow the
                    // value; pySigma (and Portent) drop them, so an encoded
                    // `Invoke-Expression` contains Portent's `Invoke-` and
                    // not rsigma's. Counted, and must stay rare.
                    *fired.entry("base64offset, beyond rsigma").or_default() += 1;
                } else {
                    assert_eq!(mine, theirs, "{name} on {json}");
                }
                *fired.entry(name).or_default() += usize::from(mine);
                checked += 1;
            }
        }
    }
    assert!(
        fired
            .get("base64offset, beyond rsigma")
            .copied()
            .unwrap_or(0)
            <= images.len()
    );
    // Each rule fires on some events and not on others, so each was tested both ways.
    for (name, _, _) in &cases {
        let n = fired.get(name).copied().unwrap_or(0);
        assert!(
            n > 0 && n < lines.len() * images.len(),
            "{name} fired on {n}"
        );
    }
    assert_eq!(checked, rules.len() * lines.len() * images.len());
}
