//! No input makes a reader panic, and every byte of damage is accounted for:
//! arbitrary bytes, and real-looking inputs cut or corrupted anywhere.

use portent_core::Schema;
use portent_io::{read_bytes, ReadOptions};
use proptest::prelude::*;

fn read_all(name: &str, data: Vec<u8>) -> usize {
    let schema = Schema::qradar();
    let mut n = 0;
    let reports = read_bytes(name, data, &schema, &ReadOptions::default(), &mut |_, _| {
        n += 1
    });
    assert!(!reports.is_empty(), "every input gets a report");
    let counted: u64 = reports.iter().map(|r| r.records).sum();
    assert_eq!(counted, n as u64, "reports count every event handed on");
    n
}

const SAMPLES: &[(&str, &[u8])] = &[
    ("a.jsonl", b"{\"EventID\":3,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Hostname\":\"h\",\"Image\":\"C:\\\\p.exe\",\"DestinationPort\":\"443\",\"TimeCreated\":\"2020-01-01 00:00:00.000\"}\n{\"sourceip\":\"1.2.3.4\"}\n"),
    ("b.leef", b"<13>Jan 18 11:07:53 h LEEF:2.0|V|P|1|e|^|src=10.0.0.1^dstPort=443^devTime=Jan 18 2019 11:07:53\nLEEF:1.0|Microsoft|Windows|1|4688|EventID=4688\tNewProcessId=0x10\n"),
    ("c.csv", b"Event Name,Start Time,Source IP,Low Level Category\nx,\"Jan 18, 2019, 11:07:53 AM\",1.2.3.4,ACL Permit\n"),
    ("conn.log", b"#separator \\x09\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n1.5\t1.1.1.1\t1\t2.2.2.2\t443\ttcp\n"),
    ("d.json", b"{\"events\": [{\"qid\": 1}, {\"qid\": 2}]}"),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        read_all("x", data);
    }

    #[test]
    fn damaged_samples_never_panic(which in 0..SAMPLES.len(), cut in 0usize..400, flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..4)) {
        let (name, sample) = SAMPLES[which];
        let mut data = sample.to_vec();
        for (at, b) in flips {
            if at < data.len() {
                data[at] = b;
            }
        }
        data.truncate(cut.min(data.len()));
        read_all(name, data);
    }
}

#[test]
fn intact_samples_read_every_event() {
    let want = [2, 2, 1, 1, 2];
    for ((name, data), n) in SAMPLES.iter().zip(want) {
        assert_eq!(read_all(name, data.to_vec()), n, "{name}");
    }
}

#[test]
fn archives_in_memory() {
    use std::io::Write;
    let mut zip_bytes = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("__MACOSX/._a.json", o).unwrap();
        w.write_all(b"\x00\x05\x16\x07junk").unwrap();
        w.start_file("a.json", o).unwrap();
        w.write_all(SAMPLES[0].1).unwrap();
        w.finish().unwrap();
    }
    let schema = Schema::qradar();
    let mut names = Vec::new();
    let reports = read_bytes(
        "z.zip",
        zip_bytes.clone(),
        &schema,
        &ReadOptions::default(),
        &mut |n, _| names.push(n.to_owned()),
    );
    assert_eq!(names, vec!["z.zip!a.json", "z.zip!a.json"]);
    let archive = reports.iter().find(|r| r.name == "z.zip").unwrap();
    assert_eq!(archive.skipped["macOS resource fork member"].0, 1);

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&zip_bytes).unwrap();
    let gz = gz.finish().unwrap();
    assert_eq!(read_all("z.zip.gz", gz), 2, "gzip around zip");
}

/// Reads `data` as `name`: events, and every skip reason with its count.
fn skips(name: &str, data: Vec<u8>) -> (usize, Vec<(String, u64)>) {
    let schema = Schema::qradar();
    let mut n = 0;
    let reports = read_bytes(name, data, &schema, &ReadOptions::default(), &mut |_, _| {
        n += 1
    });
    let why = reports
        .iter()
        .flat_map(|r| r.skipped.iter().map(|(k, (c, _))| (k.clone(), *c)))
        .collect();
    (n, why)
}

/// Issue 13 item 5: one line longer than the cap costs a counted skip, not
/// its size in memory, and the lines around it are read.
#[test]
fn a_line_over_the_cap_is_skipped_and_counted_and_its_neighbours_read() {
    let ev = "{\"EventID\":3,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"Image\":\"C:\\\\x.exe\"}";
    let huge = format!(
        "{{\"EventID\":3,\"Channel\":\"c\",\"CommandLine\":\"{}\"}}",
        "A".repeat(portent_io::jsonfile::MAX_LINE)
    );
    let data = format!("{ev}\n{huge}\n{ev}\n").into_bytes();
    let (n, why) = skips("long.jsonl", data);
    assert_eq!(n, 2);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].0.starts_with("line longer than"), "{why:?}");
}

/// Issue 13 item 5: a small .gz that inflates without end is stopped at a
/// bounded size and the stop is reported.
#[test]
fn a_decompression_bomb_is_stopped_and_reported() {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(b"{\"EventID\":1,\"Channel\":\"c\",\"CommandLine\":\"")
        .unwrap();
    let block = vec![b'A'; 1 << 20];
    for _ in 0..400 {
        gz.write_all(&block).unwrap();
    }
    gz.write_all(b"\"}\n").unwrap();
    let packed = gz.finish().unwrap();
    assert!(packed.len() < 1 << 20);
    let (n, why) = skips("bomb.json.gz", packed);
    assert_eq!(n, 0);
    assert!(
        why.iter().any(|(k, _)| k.contains("decompression stopped")),
        "{why:?}"
    );
}
