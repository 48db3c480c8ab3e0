//! EVTX split into chunk ranges reads the same events as the whole file, on the
//! corpus's multi-chunk (and partly corrupt) baseline log.

use portent_core::schema::ids;
use portent_core::{Event, Schema};
use portent_io::{plan, read_unit, ReadOptions};
use std::path::{Path, PathBuf};

fn baseline() -> Option<PathBuf> {
    portent_core::testdata::corpus().map(|c| c.join("baseline/omerbenamram-evtx/sysmon.evtx"))
}

/// MANIFEST gotcha 9: "... the evtx crate rejects (N errors) ... (M good records)".
fn manifest_gotcha_9(evtx: &Path) -> (u64, u64) {
    let manifest = evtx.ancestors().nth(3).unwrap().join("MANIFEST.md");
    let text = std::fs::read_to_string(manifest).unwrap();
    let number_before = |marker: &str| -> u64 {
        let at = text
            .find(marker)
            .unwrap_or_else(|| panic!("MANIFEST says `{marker}`"));
        let digits: String = text[..at]
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    (number_before(" good records"), number_before(" errors)"))
}

fn read(path: &Path, per_unit: u64) -> (usize, Vec<i64>, u64, u64) {
    let opts = ReadOptions {
        evtx_chunks_per_unit: per_unit,
        ..ReadOptions::default()
    };
    let schema = Schema::qradar();
    let (units, early) = plan(&[path.to_path_buf()], &opts);
    assert!(early.is_empty());
    let mut ids_seen = Vec::new();
    let mut skipped = 0;
    let mut records = 0;
    for u in &units {
        for r in read_unit(u, &schema, &opts, &mut |_, rec| {
            ids_seen.push(rec.get(ids::RECORD_NUMBER).to_i64().unwrap())
        }) {
            skipped += r.skipped_total();
            records += r.records;
        }
    }
    (units.len(), ids_seen, skipped, records)
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn chunk_ranges_read_what_the_whole_file_reads() {
    let Some(p) = baseline() else { return };
    let (one_unit, whole, skipped_whole, n_whole) = read(&p, 1 << 20);
    let (units, split, skipped_split, n_split) = read(&p, 1);
    assert_eq!(one_unit, 1);
    assert!(units > 10, "one unit per chunk: {units}");
    assert_eq!(whole, split);
    let (good, bad) = manifest_gotcha_9(&p);
    assert_eq!(whole.len() as u64, good);
    assert_eq!((skipped_whole, skipped_split), (bad, bad));
    assert_eq!((n_whole, n_split), (good, good));
}
