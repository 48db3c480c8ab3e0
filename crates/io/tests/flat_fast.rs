//! The one-pass reader of flat JSON layouts (`layout::fast_flat`) against the
//! general path (parse, classify, convert) on every JSON object of the corpus
//! and the shipped examples: the same normalised events.

use portent_core::event::FieldRef;
use portent_core::{Event, Record, Schema};
use portent_io::layout::{classify, fast_json, win_event};
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
    let mut texts = Vec::new();
    read_raw(inputs, &ReadOptions::default(), &mut |_, m| {
        if m.starts_with(b"{") {
            texts.push(m.to_vec())
        }
    });
    compare_texts(&texts)
}

fn compare_texts(texts: &[Vec<u8>]) -> (usize, usize) {
    let schema = Schema::qradar();
    let opts = ReadOptions::default();
    let (mut fast, mut all) = (0, 0);
    let mut checked = |text: &[u8]| {
        all += 1;
        let Some((layout, ev)) = fast_json(text, &schema, &opts) else {
            return;
        };
        fast += 1;
        let general = |o: &ReadOptions| {
            let serde_json::Value::Object(obj) = serde_json::from_slice(text).unwrap() else {
                panic!("not an object")
            };
            assert_eq!(classify(&obj), layout, "{}", String::from_utf8_lossy(text));
            portent_io::windows::to_record(win_event(obj, layout).unwrap(), &schema, o)
        };
        let a = portent_io::windows::to_record(ev, &schema, &opts);
        assert_eq!(
            fields(&a),
            fields(&general(&opts)),
            "{}",
            String::from_utf8_lossy(text)
        );
        // Without unknown fields, the one-pass reader keeps only what the
        // record can use: the record is the same.
        let lean = ReadOptions {
            keep_unknown: false,
            ..ReadOptions::default()
        };
        let (_, kept) = fast_json(text, &schema, &lean).unwrap();
        assert_eq!(
            fields(&portent_io::windows::to_record(kept, &schema, &lean)),
            fields(&general(&lean)),
            "{}",
            String::from_utf8_lossy(text)
        );
    };
    for t in texts {
        checked(t);
    }
    (fast, all)
}

#[test]
fn fast_ecs_json_matches_the_general_path() {
    use portent_scenario::{all, generate, layout::Layout, Options, Variant};
    let mut texts = Vec::new();
    for (i, s) in all().iter().enumerate() {
        for v in [Variant::AsDescribed, Variant::Realistic] {
            let g = generate(
                s,
                v,
                &Options {
                    seed: i as u64 + 3,
                    start_us: 1_764_580_000_000_000,
                    background: 400,
                },
            );
            for ev in &g.events {
                texts.push(Layout::Ecs.render(ev).to_string().into_bytes());
            }
        }
    }
    let generated = texts.len();
    // The shipped ECS example, and shapes the one-pass reader must refuse or get right.
    let ex = std::fs::read_to_string(root().join("examples/sysmon-ecs-t1043.jsonl")).unwrap();
    texts.extend(ex.lines().map(|l| l.as_bytes().to_vec()));
    for odd in [
        r##"{"winlog":{"event_data":{"Data":{"#text":"x"}},"event_id":1,"channel":"Security"}}"##,
        r#"{"winlog":{"user_data":{"A":"1"},"event_data":{"B":"2"},"channel":"Security","event_id":"4688"},"@timestamp":"2024-01-01T00:00:00Z"}"#,
        r#"{"winlog":{"channel":"Security"},"event":{"code":"5156"},"host":{"name":"h"}}"#,
        r#"{"winlog":{"event_data":{"X":"1","X":"2"},"channel":"Security","event_id":1}}"#,
        r#"{"winlog":"flat","EventID":1}"#,
    ] {
        texts.push(odd.as_bytes().to_vec());
    }
    let (fast, all) = compare_texts(&texts);
    assert!(fast >= generated, "{fast} of {all} took the one-pass path");
}

#[test]
fn fast_flat_json_matches_the_general_path_on_the_examples() {
    let (_, all) = compare(&[root().join("examples")]);
    assert!(all > 0);
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn fast_flat_json_matches_the_general_path_on_the_corpus() {
    let Some(corpus) = portent_core::testdata::corpus() else {
        return;
    };
    let (fast, all) = compare(&[corpus]);
    eprintln!(
        "{fast} of {all} corpus JSON objects took the one-pass path; all equal to the general path"
    );
    assert!(
        fast > 100_000,
        "the corpus's Mordor files are flat JSON ({fast} of {all})"
    );
}
