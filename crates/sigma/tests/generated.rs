//! Property: rules built from random parts (awkward field names and values
//! with quotes, backslashes, wildcards and non-ASCII text; modifier chains;
//! nested conditions) either load and compile to AQL that Portent's parser
//! and engine accept, or are rejected with a place; nothing panics.

use portent_core::Schema;
use portent_engine::{CompileOptions, Query};
use proptest::prelude::*;

const FIELDS: &[&str] = &[
    "Image",
    "CommandLine",
    "DestinationPort",
    "DestinationIp",
    "User",
    "Odd Name",
    "ParentImage",
    "x.y",
];
const MODS: &[&str] = &[
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|re",
    "|re|i|m",
    "|cidr",
    "|windash|contains",
    "|base64offset|contains",
    "|wide|base64|contains",
    "|cased",
    "|gt",
    "|exists",
    "|fieldref",
    "|neq",
    "|bogus",
];
const VALUES: &[&str] = &[
    "'a''b'",
    "'C:\\Windows\\*'",
    "'\\\\server\\share'",
    "'x?y'",
    "'ünïcode ✓'",
    "443",
    "'10.0.0.0/8'",
    "true",
    "null",
    "''",
    "'(unclosed'",
    "'*'",
];

fn rule() -> impl Strategy<Value = String> {
    let selection = proptest::collection::vec(
        (
            0..FIELDS.len(),
            0..MODS.len(),
            proptest::collection::vec(0..VALUES.len(), 1..3),
        ),
        1..4,
    );
    (proptest::collection::vec(selection, 1..4), 0..6usize).prop_map(|(sels, shape)| {
        let mut y = String::from("title: Generated\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n");
        for (i, sel) in sels.iter().enumerate() {
            y.push_str(&format!("  sel_{i}:\n"));
            for (f, m, vs) in sel {
                y.push_str(&format!("    '{}{}':\n", FIELDS[*f], MODS[*m]));
                for v in vs {
                    y.push_str(&format!("      - {}\n", VALUES[*v]));
                }
            }
        }
        let n = sels.len();
        let cond = match shape {
            0 => "1 of sel_*".to_owned(),
            1 => "all of them".to_owned(),
            2 => format!("sel_0 and not sel_{}", n - 1),
            3 => format!("not (sel_0 or sel_{})", n - 1),
            4 => "sel_0 and (1 of sel_* or not all of sel_*)".to_owned(),
            _ => "sel_0 or missing".to_owned(),
        };
        y.push_str(&format!("  condition: {cond}\n"));
        y
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn generated_rules_compile_or_are_rejected_with_a_place(yaml in rule()) {
        let loaded = portent_sigma::load(&yaml, "gen.yml");
        for r in &loaded.rejected {
            prop_assert!(r.error.pos.line > 0, "{:?}", r);
        }
        for r in &loaded.rules {
            match portent_sigma::to_aql(r) {
                Ok(c) => {
                    let mut schema = Schema::qradar();
                    let q = Query::compile(&c.aql(), &mut schema, &CompileOptions::default());
                    prop_assert!(q.is_ok(), "{}\n{:?}\n{}", yaml, q.err(), c.aql());
                }
                Err(e) => prop_assert!(e.pos.line > 0, "{e}"),
            }
            // The QRadar dialect of the same rule reads and compiles too.
            if let Ok(c) = portent_sigma::compile::to_qradar_aql(r) {
                prop_assert!(!c.aql().contains("ESCAPE") && !c.aql().contains("CASE WHEN"), "{}", c.aql());
                let mut schema = Schema::qradar();
                let q = Query::compile(&c.aql(), &mut schema, &CompileOptions::default());
                prop_assert!(q.is_ok(), "{}\n{:?}\n{}", yaml, q.err(), c.aql());
            }
        }
    }
}
