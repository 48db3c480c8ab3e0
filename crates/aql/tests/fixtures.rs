//! Parser fixtures: every `ok/*.aql` parses, round-trips through the printer and
//! keeps its spans inside the source; every `err/*.aql` fails with the code
//! frames pinned in snapshots. The peer test vectors (IBM's pySigma QRadar
//! backend outputs) and IBM documentation queries parse and print back.

use portent_aql::ast::{Expr, ExprKind, Query, SelectItem};
use portent_aql::spanless::erase_query;
use portent_core::Span;
use std::path::{Path, PathBuf};

fn fixture_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(sub)
}

fn aql_files(sub: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture_dir(sub))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "aql"))
        .collect();
    files.sort();
    files
}

/// Parses, prints, re-parses: the ASTs must agree (one-line and pretty
/// printing alike), and printing is a fixpoint.
fn assert_round_trip(src: &str) -> Query {
    let q = portent_aql::parse(src).unwrap_or_else(|e| panic!("{src}\n{e:?}"));
    let printed = q.to_string();
    let q2 =
        portent_aql::parse(&printed).unwrap_or_else(|e| panic!("reprint failed: {printed}\n{e:?}"));
    assert_eq!(q2.to_string(), printed, "printing is not a fixpoint");
    let (mut a, mut b) = (q.clone(), q2);
    erase_query(&mut a);
    erase_query(&mut b);
    assert_eq!(a, b, "AST changed through print: {printed}");
    // The layout for people (a clause per line) reads back the same too.
    let pretty = format!("{q:#}");
    let mut c = portent_aql::parse(&pretty)
        .unwrap_or_else(|e| panic!("pretty reprint failed: {pretty}\n{e:?}"));
    erase_query(&mut c);
    assert_eq!(a, c, "AST changed through the pretty print: {pretty}");
    validate_spans(&q, src);
    q
}

/// ruff's invariants: every span lies in the source and children lie inside parents.
fn validate_spans(q: &Query, src: &str) {
    let len = src.len() as u32;
    assert!(q.span.end <= len);
    let check = |e: &Expr| {
        fn inner(e: &Expr, parent: Span, len: u32) {
            assert!(
                e.span.start <= e.span.end && e.span.end <= len,
                "{:?}",
                e.span
            );
            assert!(
                parent.start <= e.span.start && e.span.end <= parent.end,
                "child {:?} outside parent {:?}",
                e.span,
                parent
            );
            let mut kids = Vec::new();
            e.walk(&mut |c| kids.push(c));
            for k in kids.into_iter().skip(1) {
                assert!(e.span.start <= k.span.start && k.span.end <= e.span.end);
            }
        }
        inner(e, q.span, len)
    };
    for item in &q.select {
        if let SelectItem::Expr { expr, .. } = item {
            check(expr);
        }
    }
    q.filter.iter().for_each(check);
    q.having.iter().for_each(check);
    q.group_by.iter().for_each(check);
    q.order_by.iter().for_each(|o| check(&o.expr));
}

#[test]
fn ok_fixtures() {
    for path in aql_files("ok") {
        let src = std::fs::read_to_string(&path).unwrap();
        let q = assert_round_trip(&src);
        let mut erased = q.clone();
        erase_query(&mut erased);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(
            format!("ok_{name}"),
            format!("## Printed\n{q}\n\n## AST\n{erased:#?}\n")
        );
    }
}

#[test]
fn seed_query_parses_unchanged() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/t1043-commonly-used-port.aql");
    let src = std::fs::read_to_string(path).unwrap();
    let q = assert_round_trip(&src);
    assert_eq!(q.select.len(), 11);
    assert_eq!(q.limit.as_ref().map(|l| l.value), Some(500));
    assert!(q.order_by[0].descending);
    let mut similar = 0;
    q.filter.as_ref().unwrap().walk(&mut |e| {
        if let ExprKind::Match { .. } = e.kind {
            similar += 1;
        }
    });
    assert_eq!(
        similar, 4,
        "three positive SIMILAR TO and one NOT SIMILAR TO"
    );
    insta::assert_snapshot!("seed_printed", q.to_string());
}

#[test]
fn err_fixtures() {
    for path in aql_files("err") {
        let src = std::fs::read_to_string(&path).unwrap();
        let errors = portent_aql::parse(&src).expect_err("must fail");
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let mut out = String::new();
        for e in &errors {
            assert!(e.span.end as usize <= src.len());
            out.push_str(&e.to_diagnostic().render(&format!("{name}.aql"), &src));
            out.push('\n');
        }
        insta::assert_snapshot!(format!("err_{name}"), out);
    }
}

fn lines(file: &str) -> Vec<String> {
    std::fs::read_to_string(fixture_dir(file))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn pysigma_vectors_parse_and_print_back() {
    let vectors = lines("pysigma_vectors.aql");
    assert_eq!(vectors.len(), 40);
    for v in vectors {
        assert_round_trip(&v);
    }
}

#[test]
fn ibm_documentation_queries_parse() {
    for q in lines("ibm_docs.aql") {
        assert_round_trip(&q);
    }
}

#[test]
fn nesting_limit_is_an_error_not_a_crash() {
    let deep = format!(
        "SELECT * FROM events WHERE {}1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let errors = portent_aql::parse(&deep).unwrap_err();
    assert!(errors.iter().any(|e| e.code() == "P0103"), "{errors:?}");
    let unary = format!("SELECT * FROM events WHERE {}1", "NOT ".repeat(5000));
    assert!(portent_aql::parse(&unary).is_err());
}

#[test]
fn long_chains() {
    // Operator chains deepen the tree, so they count against the nesting limit...
    let chain = format!("SELECT * FROM events WHERE a{}", " IN (1)".repeat(20000));
    let errors = portent_aql::parse(&chain).unwrap_err();
    assert!(errors.iter().any(|e| e.code() == "P0103"));
    let sum = format!("SELECT * FROM events WHERE 1{}", " + 1".repeat(20000));
    assert!(portent_aql::parse(&sum).is_err());
    // ...but AND/OR chains are flat, so a Sigma-style list of 5000 alternatives parses.
    let ors = (0..5000)
        .map(|i| format!("a = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let q = portent_aql::parse(&format!("SELECT * FROM events WHERE {ors}")).unwrap();
    assert!(q.to_string().ends_with("a = 4999"));
}
