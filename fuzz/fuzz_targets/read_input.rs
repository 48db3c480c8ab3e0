//! The format detector and every reader behind it (JSON layouts, CSV, LEEF,
//! Zeek, EVTX, zip/gzip/tar) take any bytes without panicking, and the
//! reports account for every event handed on. The first byte picks the file
//! name, since names steer detection when content is ambiguous.
#![no_main]
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &["x", "x.json", "x.csv", "x.leef", "conn.log", "x.evtx", "x.zip", "x.gz"];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else { return };
    let name = NAMES[*first as usize % NAMES.len()];
    let schema = portent_core::Schema::qradar();
    let mut n = 0u64;
    let reports = portent_io::read_bytes(name, rest.to_vec(), &schema, &Default::default(), &mut |_, _| n += 1);
    assert_eq!(reports.iter().map(|r| r.records).sum::<u64>(), n);
});
