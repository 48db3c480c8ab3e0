//! Shared by the end-to-end tests: running the binary, and the corpus with the
//! expected counts of its MANIFEST.md (an independent counter's figures).
#![allow(dead_code)]

pub mod stream;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty directory for one test. Unique per call, not per name:
/// tests run in parallel, and a helper two tests share would otherwise let
/// one delete the other's files mid-run.
pub fn scratch(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("portent-test-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The repository.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `portent` in the repository: exit code, stdout, stderr.
pub fn portent(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portent"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The corpus, or `None` (saying so) when it is absent; under CI its absence
/// fails. Tests that need it are marked ignored, so that a run without it
/// says so in its summary; CI runs them with `--include-ignored`.
pub fn corpus() -> Option<PathBuf> {
    portent_core::testdata::corpus()
}

/// One row of the MANIFEST table.
pub struct Entry {
    pub file: String,
    pub events: u64,
    pub strict: u64,
    pub wfp: u64,
    pub aql_rows: u64,
    pub role: String,
}

/// The MANIFEST table.
pub fn manifest(dir: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).unwrap();
    let num = |s: &str| s.trim().trim_matches('*').parse::<u64>().unwrap();
    text.lines()
        .filter(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            c.len() >= 15 && c[1].parse::<u32>().is_ok() && c[2].starts_with('`')
        })
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            Entry {
                file: c[2].trim_matches('`').to_owned(),
                events: num(c[4]),
                strict: num(c[9]),
                wfp: num(c[11]),
                aql_rows: num(c[13]),
                role: c[14].to_owned(),
            }
        })
        .collect()
}

/// The readable records of the corrupt baseline EVTX, as MANIFEST gotcha 9 says
/// ("... (N good records, ...)").
pub fn baseline_good_records(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("MANIFEST.md")).unwrap();
    let at = text
        .find(" good records")
        .expect("MANIFEST names the good records");
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().unwrap()
}
