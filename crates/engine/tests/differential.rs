//! Differential tests: the planned evaluator (optimisations on), the plain plan
//! (optimisations off) and the reference AST walk must agree on every event.

use portent_aql::ast::SelectItem;
use portent_core::schema::ids;
use portent_core::{Catalog, Record, Schema, Value};
use portent_engine::reference::Reference;
use portent_engine::{CompileOptions, Query, Row, Run, Zone};
use proptest::prelude::*;

const NOW: i64 = 1_764_115_200_000;

const QUERIES: &[&str] = &[
    include_str!("../../../rules/t1043-commonly-used-port.aql"),
    "SELECT * FROM events WHERE LOWER(\"Process Name\") NOT SIMILAR TO '%(chrome|svchost)\\.exe%'",
    "SELECT * FROM events WHERE \"Process Name\" ILIKE '%CMD.exe' OR \"Process Name\" LIKE 'C:\\\\%'",
    "SELECT * FROM events WHERE \"Process Name\" IMATCHES '.*(power|p)shell.*' AND NOT destinationport IN (80, '443')",
    "SELECT * FROM events WHERE destinationport NOT IN (53, NULL) OR username IS NULL",
    "SELECT * FROM events WHERE destinationport BETWEEN 50 AND '500' AND devicetype = '12'",
    "SELECT * FROM events WHERE INCIDR('10.0.0.0/8', sourceip) AND NOT (username LIKE '%svc%')",
    "SELECT * FROM events WHERE LOWER(\"Process Name\") SIMILAR TO '%(cmd|pwsh)\\.exe' AND LOWER(\"Process Name\") SIMILAR TO '%cmd%'",
    "SELECT * FROM events WHERE UPPER(username) = 'CORP\\ALICE' OR STRLEN(\"Process Name\") > 30",
    "SELECT * FROM events WHERE CASE WHEN destinationport < 100 THEN 'low' ELSE 'high' END = 'low'",
    "SELECT * FROM events WHERE (destinationport + 1) % 2 = 0 AND starttime > NOW() - 2 HOURS",
    "SELECT * FROM events WHERE TEXT SEARCH 'alice' AND destinationport = 443",
    "SELECT * FROM events WHERE \"Process Name\" SIMILAR TO '%[0-9]{2}%' OR \"Process Name\" MATCHES '.*\\.EXE'",
    "SELECT * FROM events WHERE IF devicetype = 12 THEN destinationport = 443 ELSE username IS NOT NULL",
    "SELECT * FROM events WHERE CONCAT(username, '@', devicetype) LIKE '%@12' AND LOWER(\"Process Name\") LIKE '%.exe'",
];

fn process_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("C:\\Windows\\System32\\cmd.exe".to_owned())),
        Just(Some("C:\\WINDOWS\\SYSTEM32\\CMD.EXE".to_owned())),
        Just(Some("C:\\Windows\\System32\\dsregcmd.exe".to_owned())),
        Just(Some(
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe".to_owned()
        )),
        Just(Some("c:\\tmp\\ПРОЦЕСС\\PowerShell.EXE".to_owned())),
        Just(Some(
            "C:\\Program Files\\Google\\Chrome\\chrome.exe".to_owned()
        )),
        Just(Some("svchost.exe".to_owned())),
        Just(Some("notepad.exe.bak".to_owned())),
        Just(Some("İNotepad.exe".to_owned())),
        "[a-zA-Z0-9\\\\.:_ ]{0,24}".prop_map(Some),
    ]
}

fn port() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        Just(Value::Null),
        prop::sample::select(vec![22i64, 25, 53, 80, 135, 443, 444, 3389, 8080])
            .prop_map(Value::Int),
        Just(Value::str("443")),
        Just(Value::str("https")),
        Just(Value::Float(80.0)),
        (0i64..70000).prop_map(Value::Int),
    ]
}

fn event() -> impl Strategy<Value = Record<'static>> {
    (
        process_name(),
        port(),
        prop::sample::select(vec![
            Value::Int(12),
            Value::Int(11),
            Value::str("12"),
            Value::Null,
        ]),
        prop::sample::select(vec![
            Value::str("CORP\\alice"),
            Value::str("svc_backup"),
            Value::Null,
        ]),
        prop::sample::select(vec![
            Value::Ip("10.1.2.3".parse().unwrap()),
            Value::str("192.168.0.1"),
            Value::Null,
        ]),
        (-3i64 * 86_400_000..3_600_000).prop_map(|d| NOW + d),
    )
        .prop_map(|(name, port, dt, user, src, t)| {
            let mut r = Record::new();
            if let Some(n) = name {
                r.set(ids::PROCESS_NAME, Value::string(n));
            }
            r.set(ids::DESTINATIONPORT, port);
            r.set(ids::DEVICETYPE, dt);
            r.set(ids::USERNAME, user);
            r.set(ids::SOURCEIP, src);
            r.set(ids::STARTTIME, Value::Int(t));
            r
        })
}

fn strip(q: &str) -> String {
    // ORDER BY / LIMIT would reorder and cut rows; the comparison is per event.
    let cut = q.find("ORDER BY").unwrap_or(q.len());
    q[..cut].to_owned()
}

fn run(q: &Query, events: &[Record<'static>]) -> Vec<(usize, Vec<Value<'static>>)> {
    let mut out = Vec::new();
    let mut run = Run::new(q, Vec::<Row>::new(), NOW);
    for (i, e) in events.iter().enumerate() {
        let mut r = e.clone();
        r.set(ids::RECORD_NUMBER, Value::Int(i as i64));
        run.push(&r).unwrap();
    }
    let (rows, _) = run.finish().unwrap();
    for row in rows {
        let idx = row.provenance[0].to_i64().unwrap() as usize;
        out.push((
            idx,
            row.cells
                .into_iter()
                .map(|c| c.value)
                .filter(|_| true)
                .collect(),
        ));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn planned_plain_and_reference_agree(events in prop::collection::vec(event(), 1..40)) {
        let catalog = Catalog::builtin();
        for text in QUERIES {
            let text = strip(text);
            let mut schema = Schema::qradar();
            let base = CompileOptions { provenance: vec![ids::RECORD_NUMBER], ..CompileOptions::default() };
            let fast = Query::compile(&text, &mut schema, &base).unwrap();
            let plain = Query::compile(&text, &mut schema, &CompileOptions { optimize: false, ..base.clone() }).unwrap();
            let a = run(&fast, &events);
            let b = run(&plain, &events);
            prop_assert_eq!(&a, &b, "optimised vs plain: {}", text);

            let refdata = portent_engine::refdata::ReferenceData::default();
            let reference = Reference { schema: &schema, catalog: &catalog, now: NOW, zone: Zone::utc(), refdata: &refdata };
            let ast = portent_aql::parse(&text).unwrap();
            let mut expected = Vec::new();
            for (i, e) in events.iter().enumerate() {
                let keep = ast.filter.as_ref().is_none_or(|f| reference.truth(f, e) == Some(true));
                if keep {
                    let mut cells = Vec::new();
                    for item in &ast.select {
                        match item {
                            SelectItem::Expr { expr, .. } => cells.push(reference.eval(expr, e)),
                            SelectItem::Wildcard(_) => {
                                let mut r = e.clone();
                                r.set(ids::RECORD_NUMBER, Value::Int(i as i64));
                                portent_core::Event::for_each(&r, &mut |_, v| cells.push(v.clone().into_owned()));
                            }
                        }
                    }
                    expected.push((i, cells));
                }
            }
            prop_assert_eq!(&a, &expected, "planned vs reference: {}", text);
        }
    }
}
