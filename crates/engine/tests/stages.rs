//! The engine's stages stay one-way: `src/compile` (lowering, planning) turns
//! the AQL syntax tree into the IR; `src/run` (evaluation, prefilters, shared
//! automata, routing, patterns, functions, correlation windows) and the IR
//! itself see only the IR and the compiled query. A run-stage file that names
//! the syntax tree, the lowering or the diagnostics fails this test, so the IR
//! keeps its own types (tables, match dialects, operators) and a front end
//! other than AQL can target it.

use std::path::{Path, PathBuf};

/// What the run stage may not name.
const FORBIDDEN: &[&str] = &[
    "portent_aql",
    "crate::lower",
    "crate::compile::lower",
    "lower::",
    "crate::lint",
    "crate::explain",
    "crate::why",
    "crate::reference",
    "crate::diagnostics",
];

fn run_stage() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(src.join("run"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        // Unit tests kept in their own file may build queries from AQL text.
        .filter(|p| !p.to_string_lossy().ends_with("_tests.rs"))
        .collect();
    files.push(src.join("ir.rs"));
    files.sort();
    files
}

#[test]
fn the_run_stage_never_names_the_syntax_tree_the_lowering_or_the_diagnostics() {
    let files = run_stage();
    assert!(files.len() > 10, "{files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests may build queries from AQL text.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            if let Some(name) = FORBIDDEN.iter().find(|c| line.contains(*c)) {
                offences.push(format!(
                    "{}:{}: names {name}: {line}",
                    file.display(),
                    n + 1
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
