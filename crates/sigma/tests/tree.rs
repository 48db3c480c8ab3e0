//! Sigma rules are built as the AQL syntax tree the engine compiles; their
//! text (what `sigma convert` and `convert --to aql` print, what people read)
//! is printed from that tree. Over every SigmaHQ rule, in both dialects, the
//! text must read back as the very tree that runs, spans aside.
//!
//! When the tree replaced the text generator (session 12), the new trees were
//! also compared with the old generator's text parsed: all 4,848 equal.

use portent_aql::spanless::erase_query;

#[test]
#[ignore = "needs the Sigma rules (../shared/sigma-rules or PORTENT_SIGMA_RULES)"]
fn every_sigmahq_rule_prints_as_the_tree_that_runs() {
    let Some(root) = portent_core::testdata::sigma_rules() else {
        return;
    };
    let mut compared = 0;
    for f in portent_core::testdata::files(&root, "yml") {
        let text = std::fs::read_to_string(&f).unwrap();
        for r in portent_sigma::load(&text, &f.display().to_string()).rules {
            for qradar in [false, true] {
                let compiled = if qradar {
                    portent_sigma::compile::to_qradar_aql(&r)
                } else {
                    portent_sigma::compile::to_aql(&r)
                };
                let Ok(c) = compiled else { continue };
                let mut built = c.query.clone();
                erase_query(&mut built);
                let text = c.aql();
                let mut read = portent_aql::parse(&text)
                    .unwrap_or_else(|e| panic!("{}: {e:?}\n{text}", f.display()));
                erase_query(&mut read);
                assert_eq!(built, read, "{}:\n{text}", f.display());
                compared += 1;
            }
        }
    }
    assert!(compared > 4000, "{compared}");
}

#[test]
fn a_rule_is_a_tree_with_its_log_source_first() {
    let yaml = "title: T\nlogsource: {product: windows, category: process_creation}\n\
                detection:\n  s:\n    Image|endswith: '\\certutil.exe'\n  condition: s\n";
    let l = portent_sigma::load(yaml, "t.yml");
    let c = portent_sigma::to_aql(&l.rules[0]).unwrap();
    let Some(portent_aql::ast::Expr {
        kind: portent_aql::ast::ExprKind::Logical { op, terms },
        ..
    }) = &c.query.filter
    else {
        panic!("{:?}", c.query.filter)
    };
    assert_eq!(*op, portent_aql::ast::LogicalOp::And);
    // The log source's channels and event ids, then the detection.
    assert!(terms[0].to_string().contains("Event ID"), "{}", terms[0]);
    assert!(
        terms[1].to_string().contains("certutil.exe"),
        "{}",
        terms[1]
    );
    assert!(c.aql().contains("\n  AND "), "{}", c.aql());
}
