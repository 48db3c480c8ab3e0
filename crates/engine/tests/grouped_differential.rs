//! GROUP BY, HAVING, ORDER BY, LIMIT and aliases of aggregates: the engine
//! against answers computed directly in Rust over generated events (no shared
//! code: the groups, counts, sums and NULL rules are written out here), for
//! query shapes taken from real QRadar searches.

use portent_core::schema::ids;
use portent_core::{Record, Schema, Value};
use portent_engine::{CompileOptions, Query, Row, Run};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// (username, destinationport, sourcebytes)
type Ev = (Option<&'static str>, Option<i64>, Option<i64>);

fn events() -> impl Strategy<Value = Vec<Ev>> {
    let user = prop::sample::select(vec![Some("alice"), Some("bob"), Some("carol"), None]);
    let port = prop::sample::select(vec![Some(22i64), Some(53), Some(80), Some(443), None]);
    let bytes = prop_oneof![Just(None), (0i64..1_000).prop_map(Some)];
    prop::collection::vec((user, port, bytes), 0..40)
}

fn record(&(u, p, b): &Ev) -> Record<'static> {
    let mut r = Record::new();
    if let Some(u) = u {
        r.set(ids::USERNAME, Value::str(u));
    }
    if let Some(p) = p {
        r.set(ids::DESTINATIONPORT, Value::Int(p));
    }
    if let Some(b) = b {
        r.set(ids::SOURCEBYTES, Value::Int(b));
    }
    r
}

/// The engine's rows, each cell as text ("NULL" for NULL).
fn engine(aql: &str, evs: &[Ev]) -> Vec<Vec<String>> {
    let mut schema = Schema::qradar();
    let q = Query::compile(aql, &mut schema, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{aql}: {e:?}"));
    let mut run = Run::new(&q, Vec::<Row>::new(), 0);
    for e in evs {
        run.push(&record(e)).unwrap();
    }
    let (rows, _) = run.finish().unwrap();
    rows.iter()
        .map(|r| {
            r.cells
                .iter()
                .map(|c| c.value.to_text().map_or("NULL".into(), |t| t.into_owned()))
                .collect()
        })
        .collect()
}

fn text(v: Option<i64>) -> String {
    v.map_or("NULL".into(), |v| v.to_string())
}

/// Numbers compare as numbers (an average may print as 12 or 12.0).
fn same(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| match (p.parse::<f64>(), q.parse::<f64>()) {
                        (Ok(p), Ok(q)) => (p - q).abs() < 1e-9,
                        _ => p == q,
                    })
        })
}

fn sorted(mut v: Vec<Vec<String>>) -> Vec<Vec<String>> {
    v.sort();
    v
}

#[derive(Default)]
struct Group {
    n: i64,
    ports: Vec<i64>,
    bytes: Vec<i64>,
    tls: i64,
}

fn groups(evs: &[Ev]) -> BTreeMap<Option<&'static str>, Group> {
    let mut m: BTreeMap<Option<&'static str>, Group> = BTreeMap::new();
    for &(u, p, b) in evs {
        let g = m.entry(u).or_default();
        g.n += 1;
        g.ports.extend(p);
        g.bytes.extend(b);
        g.tls += i64::from(p == Some(443));
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn aggregates_per_group(evs in events(), k in 0i64..6) {
        let aql = format!("SELECT username AS u, COUNT(*) AS n, COUNT(destinationport) AS np, SUM(sourcebytes) AS s, MIN(destinationport) AS lo, MAX(destinationport) AS hi, UNIQUECOUNT(destinationport) AS d FROM events GROUP BY username HAVING n > {k}");
        let want: Vec<Vec<String>> = groups(&evs)
            .into_iter()
            .filter(|(_, g)| g.n > k)
            .map(|(u, g)| {
                let uniq: BTreeSet<i64> = g.ports.iter().copied().collect();
                vec![
                    u.map_or("NULL".into(), str::to_owned),
                    g.n.to_string(),
                    g.ports.len().to_string(),
                    text((!g.bytes.is_empty()).then(|| g.bytes.iter().sum())),
                    text(g.ports.iter().copied().min()),
                    text(g.ports.iter().copied().max()),
                    uniq.len().to_string(),
                ]
            })
            .collect();
        let got = engine(&aql, &evs);
        prop_assert!(same(&sorted(got.clone()), &sorted(want.clone())), "{aql}\ngot  {got:?}\nwant {want:?}");
    }

    #[test]
    fn later_columns_read_aggregate_aliases(evs in events()) {
        let aql = "SELECT username, COUNT(*) AS total, SUM(IF destinationport = 443 THEN 1 ELSE 0) AS tls, tls * 100 / total AS pct, total - tls AS other FROM events GROUP BY username";
        let want: Vec<Vec<String>> = groups(&evs)
            .into_iter()
            .map(|(u, g)| vec![
                u.map_or("NULL".into(), str::to_owned),
                g.n.to_string(),
                g.tls.to_string(),
                (g.tls * 100 / g.n).to_string(),
                (g.n - g.tls).to_string(),
            ])
            .collect();
        let got = engine(aql, &evs);
        prop_assert!(same(&sorted(got.clone()), &sorted(want.clone())), "got  {got:?}\nwant {want:?}");
    }

    #[test]
    fn grouped_by_an_alias_of_an_expression(evs in events()) {
        let aql = "SELECT destinationport % 2 AS parity, COUNT(*) AS n FROM events GROUP BY parity";
        let mut m: BTreeMap<Option<i64>, i64> = BTreeMap::new();
        for &(_, p, _) in &evs {
            *m.entry(p.map(|p| p % 2)).or_default() += 1;
        }
        let want: Vec<Vec<String>> = m.into_iter().map(|(k, n)| vec![text(k), n.to_string()]).collect();
        let got = engine(aql, &evs);
        prop_assert!(same(&sorted(got.clone()), &sorted(want.clone())), "got  {got:?}\nwant {want:?}");
    }

    #[test]
    fn ordered_and_limited(evs in events(), limit in 1usize..4) {
        let aql = format!("SELECT username, COUNT(*) AS n FROM events WHERE username IS NOT NULL GROUP BY username ORDER BY n DESC, username LIMIT {limit}");
        let mut want: Vec<(i64, &str)> = groups(&evs)
            .into_iter()
            .filter_map(|(u, g)| u.map(|u| (g.n, u)))
            .collect();
        want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let want: Vec<Vec<String>> = want
            .into_iter()
            .take(limit)
            .map(|(n, u)| vec![u.to_owned(), n.to_string()])
            .collect();
        let got = engine(&aql, &evs);
        prop_assert!(same(&got, &want), "{aql}\ngot  {got:?}\nwant {want:?}");
    }

    #[test]
    fn aggregates_without_group_by_give_one_row(evs in events()) {
        let aql = "SELECT COUNT(*) AS n, SUM(sourcebytes) AS s, AVG(sourcebytes) AS a, MAX(sourcebytes) - MIN(sourcebytes) AS spread FROM events";
        let bytes: Vec<i64> = evs.iter().filter_map(|e| e.2).collect();
        let avg = (!bytes.is_empty()).then(|| bytes.iter().sum::<i64>() as f64 / bytes.len() as f64);
        let spread = (!bytes.is_empty()).then(|| bytes.iter().max().unwrap() - bytes.iter().min().unwrap());
        let want = vec![vec![
            evs.len().to_string(),
            text((!bytes.is_empty()).then(|| bytes.iter().sum())),
            avg.map_or("NULL".into(), |a| a.to_string()),
            text(spread),
        ]];
        let got = engine(aql, &evs);
        prop_assert!(same(&got, &want), "got  {got:?}\nwant {want:?}");
    }
}
