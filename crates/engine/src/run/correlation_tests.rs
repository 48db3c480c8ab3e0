//! Hand-computed cases for each correlation type and window rule.

use super::*;
use portent_core::Record;

const SEC: i64 = 1_000;
const USER: FieldId = ids::USERNAME;
const HOST: FieldId = ids::HOSTNAME;
const IP: FieldId = ids::SOURCEIP;

fn ev(t: Option<i64>, user: &str, host: &str, ip: Option<&str>) -> Record<'static> {
    let mut r = Record::new();
    if let Some(t) = t {
        r.set(ids::STARTTIME, Value::Int(t));
    }
    r.set(USER, Value::string(user.to_owned()));
    r.set(HOST, Value::string(host.to_owned()));
    if let Some(ip) = ip {
        r.set(IP, Value::string(ip.to_owned()));
    }
    r
}

fn spec(kind: Kind, rules: &[usize], group: &[FieldId], span_s: i64, cond: Option<Bounds>) -> Spec {
    Spec {
        kind,
        inputs: rules.iter().map(|r| Input::Rule(*r)).collect(),
        input_titles: rules.iter().map(|r| format!("rule {r}")).collect(),
        group: group
            .iter()
            .map(|f| {
                (
                    format!("f{}", f.index()),
                    vec![Pick::Fields(vec![*f]); rules.len()],
                )
            })
            .collect(),
        value: None,
        timespan_ms: span_s * SEC,
        condition: cond,
    }
}

fn gte(n: u64) -> Option<Bounds> {
    Some(Bounds {
        gte: Some(n),
        ..Bounds::default()
    })
}

/// An alert as the tests compare it: (correlation, count, first s, last s, key).
type Got = (usize, u64, i64, i64, Vec<Option<String>>);

/// Feeds `(rule, event)` in order and flushes at the end: (count, first s, last s, key).
fn run(set: &mut Set, feed: &[(usize, Record<'static>)]) -> Vec<Got> {
    let mut out = Vec::new();
    for (rule, e) in feed {
        set.observe(*rule, e, &mut out);
    }
    set.flush(None, &mut out);
    out.into_iter()
        .map(|f| (f.correlation, f.count, f.first / SEC, f.last / SEC, f.key))
        .collect()
}

fn key(s: &str) -> Vec<Option<String>> {
    vec![Some(s.to_owned())]
}

#[test]
fn event_count_slides_and_starts_over_after_each_alert() {
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[USER], 60, gte(3))],
        vec![],
        100,
    )
    .unwrap();
    let e = |t: i64, u: &str| (0, ev(Some(t * SEC), u, "h", None));
    let got = run(
        &mut set,
        &[
            e(0, "alice"),
            e(10, "alice"),
            e(0, "bob"),
            e(70, "bob"),
            e(20, "alice"), // third alice within 60 s: fires
            e(140, "bob"),  // bob never has 3 within 60 s
            e(30, "alice"),
            e(40, "alice"),
            e(50, "alice"), // three more after the reset: fires again
        ],
    );
    assert_eq!(
        got,
        vec![(0, 3, 0, 20, key("alice")), (0, 3, 30, 50, key("alice"))]
    );
}

#[test]
fn event_count_window_is_not_a_fixed_bucket() {
    // 50 s, 70 s and 100 s lie in no one minute bucket but within 60 s.
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[], 60, gte(3))],
        vec![],
        100,
    )
    .unwrap();
    let got = run(
        &mut set,
        &[50, 70, 100].map(|t| (0, ev(Some(t * SEC), "u", "h", None))),
    );
    assert_eq!(got, vec![(0, 3, 50, 100, vec![])]);
    // ...but 0 s, 50 s and 61 s do not.
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[], 60, gte(3))],
        vec![],
        100,
    )
    .unwrap();
    let got = run(
        &mut set,
        &[0, 50, 61].map(|t| (0, ev(Some(t * SEC), "u", "h", None))),
    );
    assert!(got.is_empty());
}

#[test]
fn value_count_counts_distinct_values_in_the_window() {
    let mut s = spec(Kind::ValueCount, &[0], &[HOST], 60, gte(3));
    s.value = Some(("user".into(), vec![Pick::Fields(vec![USER])]));
    let mut set = Set::new(vec![s], vec![], 100).unwrap();
    let e = |t: i64, u: &str, h: &str| (0, ev(Some(t * SEC), u, h, None));
    let got = run(
        &mut set,
        &[
            e(0, "a", "dc1"),
            e(5, "a", "dc1"),
            e(10, "b", "dc1"),
            e(15, "b", "dc1"), // two distinct so far, however many events
            e(20, "a", "ws7"),
            e(80, "c", "dc1"), // a (5 s) has left the window; b (15 s) is 65 s old too
            e(90, "d", "dc1"),
            e(100, "e", "dc1"), // c, d, e within 60 s
        ],
    );
    assert_eq!(got, vec![(0, 3, 80, 100, key("dc1"))]);
    assert_eq!(set.stats(0).observed, 8);
}

#[test]
fn value_count_without_the_field_is_counted_not_correlated() {
    let mut s = spec(Kind::ValueCount, &[0], &[], 60, gte(1));
    s.value = Some(("ip".into(), vec![Pick::Fields(vec![IP])]));
    let mut set = Set::new(vec![s], vec![], 100).unwrap();
    let got = run(
        &mut set,
        &[
            (0, ev(Some(0), "u", "h", None)),
            (0, ev(None, "u", "h", Some("10.0.0.1"))),
        ],
    );
    assert!(got.is_empty());
    let st = set.stats(0);
    assert_eq!((st.observed, st.no_value, st.untimed), (2, 1, 1));
}

#[test]
fn temporal_needs_every_rule_within_the_timespan_in_any_order() {
    let mut set = Set::new(
        vec![spec(Kind::Temporal, &[0, 1, 2], &[USER], 300, None)],
        vec![],
        100,
    )
    .unwrap();
    let e = |r: usize, t: i64, u: &str| (r, ev(Some(t * SEC), u, "h", None));
    let got = run(
        &mut set,
        &[
            e(2, 0, "x"),
            e(0, 100, "x"),
            e(0, 100, "y"),
            e(1, 250, "x"), // C, A, B within 300 s: fires
            e(1, 260, "y"),
            e(2, 600, "y"), // y's A is 500 s old
        ],
    );
    assert_eq!(got, vec![(0, 3, 0, 250, key("x"))]);
}

#[test]
fn temporal_with_a_condition_counts_distinct_rules() {
    let mut set = Set::new(
        vec![spec(Kind::Temporal, &[0, 1, 2], &[], 60, gte(2))],
        vec![],
        100,
    )
    .unwrap();
    let e = |r: usize, t: i64| (r, ev(Some(t * SEC), "u", "h", None));
    let got = run(&mut set, &[e(0, 0), e(0, 10), e(2, 20)]);
    assert_eq!(got, vec![(0, 2, 10, 20, vec![])]);
}

#[test]
fn temporal_ordered_needs_the_order() {
    let mut set = Set::new(
        vec![spec(Kind::TemporalOrdered, &[0, 1], &[USER], 600, None)],
        vec![],
        100,
    )
    .unwrap();
    let e = |r: usize, t: i64, u: &str| (r, ev(Some(t * SEC), u, "h", None));
    let got = run(
        &mut set,
        &[
            e(1, 0, "x"),   // B before A: nothing yet
            e(0, 60, "x"),  // A
            e(0, 0, "y"),   // y: A at 0 ...
            e(0, 300, "y"), // ... and again at 300: the later start is kept
            e(1, 700, "y"), // 400 s after the second A: fires from 300
            e(1, 900, "x"), // 840 s after x's A: too late
        ],
    );
    assert_eq!(got, vec![(0, 2, 300, 700, key("y"))]);
}

#[test]
fn one_event_does_not_take_two_steps_of_a_sequence() {
    // The same rule twice in a row needs two events.
    let mut set = Set::new(
        vec![spec(Kind::TemporalOrdered, &[0, 0], &[], 60, None)],
        vec![],
        100,
    )
    .unwrap();
    let e = |t: i64| (0, ev(Some(t * SEC), "u", "h", None));
    assert!(run(&mut set, &[e(0)]).is_empty());
    let mut set = Set::new(
        vec![spec(Kind::TemporalOrdered, &[0, 0], &[], 60, None)],
        vec![],
        100,
    )
    .unwrap();
    assert_eq!(run(&mut set, &[e(0), e(30)]), vec![(0, 2, 0, 30, vec![])]);
}

#[test]
fn upper_bounds_are_decided_when_the_window_is_over() {
    let lt3 = Some(Bounds {
        lt: Some(3),
        ..Bounds::default()
    });
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[USER], 60, lt3)],
        vec![],
        100,
    )
    .unwrap();
    let e = |t: i64, u: &str| (0, ev(Some(t * SEC), u, "h", None));
    let mut out = Vec::new();
    for (r, x) in [e(0, "a"), e(10, "a"), e(20, "b"), e(30, "b"), e(40, "b")] {
        set.observe(r, &x, &mut out);
    }
    assert!(out.is_empty(), "nothing is decided before a window is over");
    set.flush(Some(60 * SEC), &mut out);
    assert!(
        out.is_empty(),
        "a's window runs to 60 s, still open at 60 s: {out:?}"
    );
    set.flush(Some(61 * SEC), &mut out);
    set.flush(Some(81 * SEC), &mut out);
    let got: Vec<_> = out
        .iter()
        .map(|f| (f.count, f.first / SEC, f.last / SEC, f.key.clone()))
        .collect();
    // a: 2 events (< 3) fires; b: 3 events does not.
    assert_eq!(got, vec![(2, 0, 10, key("a"))]);
    // A later event of a group decides its window at once.
    let got = run(&mut set, &[e(200, "c"), e(300, "c")]);
    assert_eq!(
        got,
        vec![(0, 1, 200, 200, key("c")), (0, 1, 300, 300, key("c"))]
    );
}

#[test]
fn a_range_and_eq_hold_exactly() {
    let b = Bounds {
        gt: Some(1),
        lte: Some(2),
        ..Bounds::default()
    };
    assert!(!b.holds(1) && b.holds(2) && !b.holds(3) && !b.rising());
    let eq = Bounds {
        eq: Some(2),
        ..Bounds::default()
    };
    let mut s = spec(Kind::ValueCount, &[0], &[], 60, Some(eq));
    s.value = Some(("user".into(), vec![Pick::Fields(vec![USER])]));
    let mut set = Set::new(vec![s], vec![], 100).unwrap();
    let e = |t: i64, u: &str| (0, ev(Some(t * SEC), u, "h", None));
    // Window 1: a, b, a (2 distinct): fires. Window 2: c, d, e (3): does not.
    let got = run(
        &mut set,
        &[
            e(0, "a"),
            e(1, "b"),
            e(2, "a"),
            e(100, "c"),
            e(101, "d"),
            e(102, "e"),
        ],
    );
    assert_eq!(got, vec![(0, 2, 0, 2, vec![])]);
}

#[test]
fn chained_correlations_feed_each_other() {
    // The specification's example: many failed logons, then a success.
    let failed = spec(Kind::EventCount, &[0], &[USER], 600, gte(3));
    let mut then = spec(Kind::TemporalOrdered, &[0, 1], &[USER], 600, None);
    then.inputs = vec![Input::Correlation(0), Input::Rule(1)];
    then.group = vec![(
        "User".into(),
        vec![Pick::Group(0), Pick::Fields(vec![USER])],
    )];
    let mut set = Set::new(vec![failed, then], vec![HOST], 100).unwrap();
    let e = |r: usize, t: i64, u: &str| (r, ev(Some(t * SEC), u, "dc1", None));
    let got = run(
        &mut set,
        &[
            e(1, 0, "x"), // a success before the failures: nothing
            e(0, 10, "x"),
            e(0, 20, "x"),
            e(0, 30, "x"), // third failure: the inner fires at 30
            e(1, 40, "y"), // another user's success
            e(1, 50, "x"), // x's success: the outer fires
        ],
    );
    assert_eq!(
        got,
        vec![(0, 3, 10, 30, key("x")), (1, 2, 30, 50, key("x"))]
    );
    let mut out = Vec::new();
    set.observe(0, &ev(Some(0), "z", "dc1", None), &mut out);
    assert!(out.is_empty());
}

#[test]
fn alerts_carry_the_last_event_and_read_as_rows() {
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[4], &[USER], 60, gte(2))],
        vec![HOST],
        100,
    )
    .unwrap();
    let mut out = Vec::new();
    set.observe(4, &ev(Some(0), "u", "ws1", None), &mut out);
    set.observe(4, &ev(Some(1_500), "u", "ws2", None), &mut out);
    assert_eq!(out.len(), 1);
    let row = set.row(&out[0], &Zone::utc());
    let cells: Vec<(String, String)> = row
        .cells
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.to_text().unwrap_or_default().into_owned(),
            )
        })
        .collect();
    let want = [
        ("correlation", "event_count"),
        ("f10", "u"),
        ("events", "2"),
        ("rules", "rule 4"),
        ("first_time", "1970-01-01T00:00:00.000+00:00"),
        ("last_time", "1970-01-01T00:00:01.500+00:00"),
    ];
    assert_eq!(cells.len(), want.len());
    for ((n, v), (wn, wv)) in cells.iter().zip(want) {
        assert!(n == wn || wn == "f10" && n.starts_with('f'), "{n}");
        assert_eq!(v, wv);
    }
    assert_eq!(row.provenance, vec![Value::string("ws2".into())]);
}

#[test]
fn circles_and_dangling_inputs_are_refused() {
    let mut a = spec(Kind::Temporal, &[0], &[], 60, None);
    a.inputs = vec![Input::Correlation(1)];
    let mut b = spec(Kind::Temporal, &[0], &[], 60, None);
    b.inputs = vec![Input::Correlation(0)];
    let err = Set::new(vec![a.clone(), b], vec![], 10).err().unwrap();
    assert!(err.contains("circle"), "{err}");
    assert!(Set::new(vec![a], vec![], 10).is_err());
}

#[test]
fn groups_are_bounded_and_evictions_counted() {
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[USER], 60, gte(2))],
        vec![],
        10,
    )
    .unwrap();
    let mut out = Vec::new();
    // 50 users, each seen once, all within one minute: none can be swept as idle.
    for u in 0..50 {
        set.observe(0, &ev(Some(u), &format!("u{u}"), "h", None), &mut out);
    }
    assert!(set.groups() <= 10, "{}", set.groups());
    assert!(set.stats(0).evicted >= 40);
    // Groups idle for longer than the timespan go without being counted.
    let mut set = Set::new(
        vec![spec(Kind::EventCount, &[0], &[USER], 1, gte(2))],
        vec![],
        1_000_000,
    )
    .unwrap();
    for u in 0..5_000 {
        set.observe(
            0,
            &ev(Some(u * 2 * SEC), &format!("u{u}"), "h", None),
            &mut out,
        );
    }
    assert!(set.groups() < 2_100, "{}", set.groups());
    assert_eq!(set.stats(0).evicted, 0);
}
