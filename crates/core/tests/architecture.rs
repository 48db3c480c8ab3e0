//! The workspace's dependency graph stays one-way, as the README's map says:
//! each library crate may use only the crates listed for it here. A new
//! `portent-*` dependency that is not in its row fails this test, so a
//! change to the architecture is a change to this table and the README.

use std::collections::BTreeSet;
use std::path::Path;

/// (crate folder, the `portent-*` crates its `[dependencies]` may name).
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("aql", &["portent-core"]),
    ("engine", &["portent-core", "portent-aql"]),
    ("io", &["portent-core"]),
    ("scenario", &[]),
    ("sigma", &["portent-core", "portent-aql", "portent-engine"]),
    ("convert", &["portent-aql", "portent-engine"]),
    ("detect", &["portent-core", "portent-engine", "portent-io"]),
    (
        "serve",
        &[
            "portent-core",
            "portent-engine",
            "portent-io",
            "portent-detect",
        ],
    ),
    (
        "cli",
        &[
            "portent-core",
            "portent-aql",
            "portent-engine",
            "portent-io",
            "portent-scenario",
            "portent-sigma",
            "portent-convert",
            "portent-detect",
            "portent-serve",
        ],
    ),
    (
        "bench",
        &[
            "portent-core",
            "portent-aql",
            "portent-engine",
            "portent-io",
            "portent-scenario",
            "portent-detect",
            "portent-serve",
        ],
    ),
];

/// The `portent-*` names under `[dependencies]` (not dev- or build-).
fn dependencies(manifest: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_owned();
        } else if section == "[dependencies]" && line.starts_with("portent-") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            out.insert(name);
        }
    }
    out
}

#[test]
fn every_crate_uses_only_the_crates_below_it() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let allowed = ALLOWED
            .iter()
            .find(|(c, _)| *c == name)
            .unwrap_or_else(|| panic!("crates/{name} is not in the architecture table"))
            .1;
        let extra: Vec<String> = dependencies(&manifest)
            .into_iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(extra.is_empty(), "crates/{name} may not use {extra:?}");
        seen.insert(name);
    }
    assert_eq!(seen.len(), ALLOWED.len(), "every crate in the table exists");
}

#[test]
fn the_reader_of_dependencies_sees_only_normal_ones() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\nportent-core.workspace = true\n\
                    portent-aql = { path = \"../aql\" }\n[dev-dependencies]\nportent-io.workspace = true\n";
    let got: Vec<String> = dependencies(manifest).into_iter().collect();
    assert_eq!(got, ["portent-aql", "portent-core"]);
}
