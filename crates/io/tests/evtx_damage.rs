//! Damaged EVTX files (issue 13 items 6-8), each test named after the damage:
//! a generated log of several chunks, damaged the way real copies are, read
//! through the normal reader. What is readable is read, what is not is
//! counted at its place, and nothing damaged passes as verified.

use portent_core::{Event, Schema};
use portent_io::{plan, read_unit, FileReport, ReadOptions};
use std::path::{Path, PathBuf};

const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// A clean log of Security events spread over several chunks, and the
/// record ids it holds, in order.
fn clean_log() -> (Vec<u8>, Vec<i64>) {
    use portent_scenario::{all, generate, Options, Variant};
    let g = generate(
        &all()[0],
        Variant::AsDescribed,
        &Options {
            seed: 7,
            start_us: 1_764_580_000_000_000,
            background: 900,
        },
    );
    let (_, events) = portent_scenario::evtx::by_channel(&g.events)
        .into_iter()
        .max_by_key(|(_, e)| e.len())
        .unwrap();
    let bytes = portent_scenario::evtx::write(&events).unwrap();
    let ids = events.iter().map(|e| e.record_id as i64).collect();
    (bytes, ids)
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("portent-evtx-damage-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Reads `path` as a hunt does (found in a folder): record ids, and the
/// merged report.
fn read(path: &Path) -> (Vec<i64>, FileReport) {
    let schema = Schema::qradar();
    let opts = ReadOptions::default();
    let (units, mut reports) = plan(&[path.parent().unwrap().to_path_buf()], &opts);
    let mut ids = Vec::new();
    for u in units.iter().filter(|u| u.path == path) {
        reports.extend(read_unit(u, &schema, &opts, &mut |_, rec| {
            ids.push(
                rec.get(portent_core::schema::ids::RECORD_NUMBER)
                    .to_i64()
                    .unwrap(),
            );
        }));
    }
    let mut all = FileReport::new(path.display().to_string());
    for r in reports
        .into_iter()
        .filter(|r| r.name == path.display().to_string())
    {
        all.merge(r);
    }
    ids.sort_unstable();
    (ids, all)
}

fn chunks_of(bytes: &[u8]) -> usize {
    (bytes.len() - HEADER) / CHUNK
}

fn repaired(r: &FileReport) -> u64 {
    r.repaired.values().map(|(n, _)| n).sum()
}

/// Records in the `n`th chunk of a clean log.
fn records_in(bytes: &[u8], n: usize) -> usize {
    let mut c = Vec::new();
    let names = portent_io::binxml::Names {
        schema: &Schema::qradar(),
        keep_unknown: false,
        wanted: None,
    };
    let at = HEADER + n * CHUNK;
    portent_io::binxml::ChunkReader::new(&bytes[at..at + CHUNK])
        .records_into(&names, &mut c)
        .unwrap();
    c.len()
}

#[test]
fn clean_generated_log_reads_whole_and_verified() {
    let (bytes, ids) = clean_log();
    assert!(chunks_of(&bytes) >= 3, "the test needs several chunks");
    let d = dir("clean");
    let p = d.join("clean.evtx");
    std::fs::write(&p, &bytes).unwrap();
    let (got, report) = read(&p);
    assert_eq!(got, ids);
    assert_eq!(
        (report.skipped_total(), repaired(&report)),
        (0, 0),
        "{report}"
    );
}

#[test]
fn zeroed_file_signature_is_still_evtx_and_every_chunk_is_read() {
    let (mut bytes, ids) = clean_log();
    bytes[..8].fill(0);
    let d = dir("zeroed");
    let p = d.join("damaged.evtx");
    std::fs::write(&p, &bytes).unwrap();
    let (got, report) = read(&p);
    assert!(
        report.ignored.is_none() && report.fatal.is_none(),
        "{report}"
    );
    assert_eq!(got, ids, "{report}");
    assert!(
        report
            .repaired
            .keys()
            .any(|k| k.contains("file header damaged")),
        "{report}"
    );
}

#[test]
fn random_bytes_named_evtx_are_counted_not_ignored() {
    let d = dir("random");
    let p = d.join("random.evtx");
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..HEADER + 3 * CHUNK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&p, noise).unwrap();
    let (got, report) = read(&p);
    assert!(got.is_empty());
    assert!(report.ignored.is_none(), "{report}");
    assert_eq!(report.skipped_total(), 3, "one per chunk: {report}");
}

#[test]
fn ff_bytes_inside_a_record_fail_the_checksum_and_nothing_passes_as_verified() {
    let (clean, ids) = clean_log();
    let mut bytes = clean.clone();
    // Into the values of a record well inside the second chunk (not its
    // header, not its first record, which defines the templates).
    let chunk = HEADER + CHUNK;
    let at = chunk + 40_000;
    bytes[at..at + 64].fill(0xff);
    let d = dir("ff");
    let p = d.join("ff.evtx");
    std::fs::write(&p, &bytes).unwrap();
    let (got, report) = read(&p);
    let damaged: u64 = report
        .skipped
        .iter()
        .filter(|(k, _)| k.contains("damaged chunk"))
        .map(|(_, (n, _))| n)
        .sum();
    let unverified = report
        .repaired
        .iter()
        .filter(|(k, _)| k.contains("records checksum does not match"))
        .map(|(_, (n, _))| *n)
        .sum::<u64>();
    // Every record is accounted for: read (and said to be unverified when it
    // comes from the damaged chunk) or skipped at its place.
    assert!(unverified > 0, "{report}");
    assert_eq!(got.len() as u64 + damaged, ids.len() as u64, "{report}");
    assert!(got.iter().all(|id| ids.contains(id)));
    // Only the damaged chunk's records are unverified.
    assert!(unverified as usize <= records_in(&clean, 1), "{report}");
}

#[test]
fn file_cut_inside_a_chunk_keeps_the_records_before_the_cut_and_counts_the_rest() {
    let (bytes, ids) = clean_log();
    let cut = HEADER + CHUNK + 20_000;
    let d = dir("cut");
    let p = d.join("cut.evtx");
    std::fs::write(&p, &bytes[..cut]).unwrap();
    let (got, report) = read(&p);
    let lost: u64 = report
        .skipped
        .iter()
        .filter(|(k, _)| k.contains("where the file is cut"))
        .map(|(_, (n, _))| n)
        .sum();
    // Every record of the first chunk, some of the second, and the count of
    // the records the cut took from the second chunk (the later chunks are
    // gone entirely: the file does not say how many records they held).
    let complete_chunks = records_in(&bytes, 0);
    assert!(
        got.len() > complete_chunks,
        "records before the cut are read: {report}"
    );
    assert_eq!(got[..], ids[..got.len()]);
    let second = records_in(&bytes, 1);
    assert_eq!(
        got.len() + lost as usize,
        complete_chunks + second,
        "{report}"
    );
}
