//! Where the shared test data lives, for tests and benchmarks: the real
//! third-party corpus and the SigmaHQ rules beside the checkout
//! (`../shared`), or wherever `PORTENT_CORPUS` and `PORTENT_SIGMA_RULES`
//! point. One locator, so every test finds the data the same way.
//!
//! Tests that need this data are marked `#[ignore = "needs the corpus"]`,
//! so `cargo test` shows them as ignored instead of passing them silently;
//! `cargo test -- --include-ignored` (as CI does) runs them. Under CI
//! (`CI=true`) missing data is a failure, not a skip.

use std::path::{Path, PathBuf};

/// What the tests mark themselves with; shown in the test summary.
pub const NEEDS_CORPUS: &str = "needs the corpus (../shared/corpus or PORTENT_CORPUS)";

fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn find(var: &str, default: PathBuf, marker: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    if dir.join(marker).exists() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} missing (no {marker}); CI requires it (set {var} to move it)",
        dir.display()
    );
    eprintln!("SKIPPED: {} not found (set {var})", dir.display());
    None
}

/// The corpus (`MANIFEST.md` and the files it lists), if it is there.
pub fn corpus() -> Option<PathBuf> {
    find("PORTENT_CORPUS", shared().join("corpus"), "MANIFEST.md")
}

/// The Sigma rules (`ATTRIBUTION.md` and the rule folders), if they are there.
pub fn sigma_rules() -> Option<PathBuf> {
    find(
        "PORTENT_SIGMA_RULES",
        shared().join("sigma-rules"),
        "ATTRIBUTION.md",
    )
}

/// Every file under `dir` whose name ends in `.ext` (any case), in a stable
/// order (sorted at each level).
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, ext, &mut out);
    out
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case(ext)) {
            out.push(p);
        }
    }
}
