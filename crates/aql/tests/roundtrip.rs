//! Property: any query the grammar generates parses, and printing it and parsing
//! the print gives the same statement (spans aside).

use portent_aql::{parse, spanless::erase_query};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sourceip".to_owned()),
        Just("destinationport".to_owned()),
        Just("LOGSOURCETYPEID".to_owned()),
        Just("\"Process Name\"".to_owned()),
        Just("\"Command\"".to_owned()),
        Just("username".to_owned()),
        Just("starttime".to_owned()),
    ]
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..100_000).prop_map(|n| n.to_string()),
        (0u32..0xffff).prop_map(|n| format!("0x{n:X}")),
        "[a-z%_\\\\. ']{0,12}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        Just("NULL".to_owned()),
        Just("true".to_owned()),
        (1u32..9).prop_map(|n| format!("{n}.5")),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![field(), literal(), Just("NOW()".to_owned())];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop_oneof![
                    Just("+"),
                    Just("-"),
                    Just("*"),
                    Just("/"),
                    Just("%"),
                    Just("^"),
                    Just("&")
                ],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (
                inner.clone(),
                prop_oneof![
                    Just("="),
                    Just("<>"),
                    Just("!="),
                    Just("<"),
                    Just(">="),
                    Just("==")
                ],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (
                inner.clone(),
                prop_oneof![Just("AND"), Just("OR")],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("NOT ({a})")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("LOWER({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("CONCAT({a}, {b})")),
            (
                inner.clone(),
                proptest::collection::vec(literal(), 1..4),
                any::<bool>()
            )
                .prop_map(|(a, l, n)| format!(
                    "{a} {}IN ({})",
                    if n { "NOT " } else { "" },
                    l.join(", ")
                )),
            (inner.clone(), literal(), literal())
                .prop_map(|(a, b, c)| format!("{a} BETWEEN {b} AND {c}")),
            (
                inner.clone(),
                prop_oneof![
                    Just("LIKE"),
                    Just("NOT ILIKE"),
                    Just("SIMILAR TO"),
                    Just("NOT SIMILAR TO"),
                    Just("MATCHES"),
                    Just("IMATCHES")
                ],
                "[a-z%|()]{0,8}"
            )
                .prop_map(|(a, op, p)| format!("{a} {op} '{p}'")),
            (inner.clone(), any::<bool>())
                .prop_map(|(a, n)| format!("{a} IS {}NULL", if n { "NOT " } else { "" })),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("CASE WHEN {a} THEN {b} ELSE {c} END")),
            (field(), literal(), inner.clone(), inner.clone())
                .prop_map(|(f, l, b, c)| format!("CASE {f} WHEN {l} THEN {b} ELSE {c} END")),
            (
                1u32..9,
                prop_oneof![Just("DAYS"), Just("HOURS"), Just("MINUTES")]
            )
                .prop_map(|(n, u)| format!("NOW() - {n} {u}")),
            inner.prop_map(|a| format!("-({a})")),
        ]
    })
}

fn query() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec((expr(), proptest::option::of("[a-z]{1,6}")), 1..4),
        proptest::option::of(expr()),
        proptest::option::of(field()),
        proptest::option::of((field(), any::<bool>())),
        proptest::option::of(1u32..1000),
        proptest::option::of((
            1u32..60,
            prop_oneof![Just("MINUTES"), Just("HOURS"), Just("DAYS")],
        )),
    )
        .prop_map(|(cols, filter, group, order, limit, last)| {
            let cols: Vec<String> = cols
                .into_iter()
                .map(|(e, a)| match a {
                    Some(a) => format!("{e} AS x{a}"),
                    None => e,
                })
                .collect();
            let mut q = format!("SELECT {} FROM events", cols.join(", "));
            if let Some(f) = filter {
                q.push_str(&format!(" WHERE {f}"));
            }
            if let Some(g) = group {
                q.push_str(&format!(" GROUP BY {g}"));
            }
            if let Some((o, desc)) = order {
                q.push_str(&format!(
                    " ORDER BY {o} {}",
                    if desc { "DESC" } else { "ASC" }
                ));
            }
            if let Some(l) = limit {
                q.push_str(&format!(" LIMIT {l}"));
            }
            if let Some((n, u)) = last {
                q.push_str(&format!(" LAST {n} {u}"));
            }
            q
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_identity(text in query()) {
        let mut first = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e:?}")))?;
        let printed = first.to_string();
        let mut second = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {e:?}")))?;
        erase_query(&mut first);
        erase_query(&mut second);
        prop_assert_eq!(first, second, "{} printed as {}", text, printed);
    }
}
