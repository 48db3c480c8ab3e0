//! The one-pass reader of flat JSON layouts (`layout::fast_flat`) against the
//! general path (parse, classify, convert) on every JSON object of the corpus
//! and the shipped examples: the same normalised events.

use portent_core::event::FieldRef;
use portent_core::{Event, Record, Schema};
use portent_io::layout::{classify, fast_flat, win_event};
use portent_io::{read_raw, ReadOptions};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fields(r: &Record<'static>) -> Vec<String> {
    let mut out = Vec::new();
    r.for_each(&mut |f, v| {
        let name = match f {
            FieldRef::Id(id) => format!("#{}", id.0),
            FieldRef::Name(n) => n.to_string(),
        };
        out.push(format!("{name}={v:?}"));
    });
    out.sort();
    out
}

fn compare(inputs: &[PathBuf]) -> (usize, usize) {
    let schema = Schema::qradar();
    let opts = ReadOptions::default();
    let (mut fast, mut all) = (0, 0);
    let mut checked = |text: &[u8]| {
        all += 1;
        let Some((layout, ev)) = fast_flat(text, &mut |_| true) else {
            return;
        };
        fast += 1;
        let serde_json::Value::Object(obj) = serde_json::from_slice(text).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(classify(&obj), layout, "{}", String::from_utf8_lossy(text));
        let slow = win_event(obj, layout).unwrap();
        let a = portent_io::windows::to_record(ev, &schema, &opts);
        let b = portent_io::windows::to_record(slow, &schema, &opts);
        assert_eq!(fields(&a), fields(&b), "{}", String::from_utf8_lossy(text));
        // Keeping only the fields the record can use changes nothing when
        // unknown fields are not kept.
        let lean = ReadOptions {
            keep_unknown: false,
            ..ReadOptions::default()
        };
        let (_, kept) = fast_flat(text, &mut |n| {
            portent_io::windows::Known::wanted(n, &schema)
        })
        .unwrap();
        let all = fast_flat(text, &mut |_| true).unwrap().1;
        assert_eq!(
            fields(&portent_io::windows::to_record(kept, &schema, &lean)),
            fields(&portent_io::windows::to_record(all, &schema, &lean))
        );
    };
    read_raw(inputs, &opts, &mut |_, m| {
        if m.starts_with(b"{") {
            checked(m)
        }
    });
    (fast, all)
}

#[test]
fn fast_flat_json_matches_the_general_path() {
    let (fast, all) = compare(&[root().join("examples")]);
    assert!(all > 0);
    let corpus = root().join("../shared/corpus");
    if !corpus.join("MANIFEST.md").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("corpus missing and CI requires it");
        }
        eprintln!("SKIPPED (corpus part): ../shared/corpus not found; {fast} of {all} example objects compared");
        return;
    }
    let (fast, all) = compare(&[corpus]);
    eprintln!(
        "{fast} of {all} corpus JSON objects took the one-pass path; all equal to the general path"
    );
    assert!(
        fast > 100_000,
        "the corpus's Mordor files are flat JSON ({fast} of {all})"
    );
}
