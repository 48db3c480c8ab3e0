//! The engine's stages stay one-way: compiling (lower, query, lint) turns the
//! AQL syntax tree into the IR; running (ir, plan, eval, exec, prefilter,
//! shared automata, dispatch, patterns, functions) sees only the IR and the
//! compiled query. A run-stage module that names the syntax tree or the
//! lowering fails this test, so the IR keeps its own types (tables, match
//! dialects, operators) and a front end other than AQL can target it.

const RUN_STAGE: &[&str] = &[
    "ir.rs",
    "plan.rs",
    "eval.rs",
    "exec.rs",
    "prefilter.rs",
    "shared.rs",
    "dispatch.rs",
    "pattern.rs",
    "similar.rs",
    "functions.rs",
];

const COMPILE_STAGE: &[&str] = &["portent_aql", "crate::lower", "crate::lint", "lower::"];

#[test]
fn the_run_stage_never_names_the_syntax_tree_or_the_lowering() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offences = Vec::new();
    for file in RUN_STAGE {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        // Unit tests may build queries from AQL text.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if let Some(name) = COMPILE_STAGE.iter().find(|c| line.contains(*c)) {
                offences.push(format!("src/{file}:{}: names {name}: {line}", n + 1));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
