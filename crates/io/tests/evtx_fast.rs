//! The template reader (`binxml`) against the `evtx` crate's rendering: every
//! record of every EVTX file in the corpus, and of the generated scenario
//! logs, normalises to the same fields either way; and the template reader
//! handles nearly every chunk itself (the rest go to the crate).

use portent_core::event::FieldRef;
use portent_core::{Event, Record, Schema};
use portent_io::binxml::ChunkReader;
use portent_io::{plan, read_unit, ReadOptions};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    portent_core::testdata::corpus()
}

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    out.extend(portent_core::testdata::files(dir, "evtx"));
}

/// Every field of a record, in a comparable form.
fn fields(r: &Record<'static>) -> Vec<String> {
    let mut v = Vec::new();
    r.for_each(&mut |f, val| {
        let name = match f {
            FieldRef::Id(id) => format!("#{}", id.index()),
            FieldRef::Name(n) => n.to_owned(),
        };
        v.push(format!("{name}={val:?}"));
    });
    v.sort();
    v
}

fn read(path: &Path, fast: bool) -> (Vec<Vec<String>>, u64) {
    let opts = ReadOptions {
        evtx_fast: fast,
        ..ReadOptions::default()
    };
    let schema = Schema::qradar();
    let (units, _) = plan(&[path.to_path_buf()], &opts);
    let mut out = Vec::new();
    let mut skipped = 0;
    for u in &units {
        for r in read_unit(u, &schema, &opts, &mut |_, rec| out.push(fields(&rec))) {
            skipped += r.skipped_total();
        }
    }
    (out, skipped)
}

fn compare(path: &Path) -> usize {
    let (fast, fs) = read(path, true);
    let (slow, ss) = read(path, false);
    assert_eq!((fast.len(), fs), (slow.len(), ss), "{}", path.display());
    for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
        assert_eq!(a, b, "{} record #{i}", path.display());
    }
    fast.len()
}

/// (chunks the template reader read, chunks with a chunk header)
fn coverage(path: &Path) -> (usize, usize) {
    let data = std::fs::read(path).unwrap();
    let chunks = data
        .get(4096..)
        .unwrap_or(&[])
        .chunks_exact(65536)
        .filter(|c| c.starts_with(b"ElfChnk\0"));
    let all = chunks.clone().count();
    let mut ok = 0;
    for c in chunks {
        match ChunkReader::new(c).records(&all_names()) {
            Ok(_) => ok += 1,
            Err(e) => {
                if std::env::var_os("PORTENT_WHY").is_some() {
                    eprintln!("{}: {e:?}", path.display())
                }
            }
        }
    }
    (ok, all)
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS)"]
fn template_reader_matches_the_crate_on_the_corpus() {
    let Some(dir) = corpus() else { return };
    let mut files = Vec::new();
    evtx_files(&dir, &mut files);
    assert!(files.len() > 20, "{files:?}");
    let (mut records, mut ok, mut all) = (0, 0, 0);
    for f in &files {
        records += compare(f);
        let (o, a) = coverage(f);
        ok += o;
        all += a;
    }
    eprintln!(
        "{} files, {records} records, template reader read {ok} of {all} chunks",
        files.len()
    );
    assert!(records > 900, "{records}");
    // Every real chunk of the corpus is read through its templates; only
    // blank or damaged chunks (no chunk header) go to the crate.
    assert_eq!(ok, all, "the fast path reads {ok} of {all} chunks");
}

/// Every scenario's logs, written as Windows writes live logs (template
/// instances) and as some exports hold them (each record its own element
/// tree, values as text): the template reader reads every chunk of both
/// itself, and gives what the crate gives.
#[test]
fn template_reader_matches_the_crate_on_generated_logs() {
    use portent_scenario::evtx::Layout;
    use portent_scenario::{all, generate, Options};
    let dir = std::env::temp_dir().join(format!("portent-evtx-fast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for s in all() {
        for v in s.variants() {
            let g = generate(
                s,
                v,
                &Options {
                    seed: 5,
                    start_us: 1_764_580_000_000_000,
                    background: 400,
                },
            );
            for (c, events) in portent_scenario::evtx::by_channel(&g.events) {
                for layout in [Layout::Templates, Layout::Elements] {
                    let p = dir.join(format!(
                        "{}-{}-{}-{layout:?}.evtx",
                        s.id,
                        v.name(),
                        c.replace('/', "_")
                    ));
                    let log = portent_scenario::evtx::write_as(&events, layout).unwrap();
                    std::fs::write(&p, log).unwrap();
                    assert_eq!(compare(&p), events.len());
                    let (ok, all) = coverage(&p);
                    assert_eq!(ok, all, "{}", p.display());
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// One scenario event with `extra` data fields added, written as `layout`
/// into a log of its own, read both ways and held to the crate (the template
/// reader reading its only chunk itself); its fields as the fast path reads
/// them.
fn one_event_with(
    extra: Vec<(&'static str, portent_scenario::Val)>,
    layout: portent_scenario::evtx::Layout,
) -> Vec<String> {
    use portent_scenario::{all, generate, Options};
    let s = &all()[0];
    let options = Options {
        seed: 5,
        start_us: 1_764_580_000_000_000,
        background: 0,
    };
    let mut ev = generate(s, s.variants()[0], &options).events[0].clone();
    ev.data.extend(extra);
    let p = std::env::temp_dir().join(format!(
        "portent-one-{layout:?}-{}-{:?}.evtx",
        std::process::id(),
        std::thread::current().id()
    ));
    let log = portent_scenario::evtx::write_as(&[ev], layout).unwrap();
    std::fs::write(&p, log).unwrap();
    assert_eq!(compare(&p), 1);
    assert_eq!(coverage(&p), (1, 1), "the template reader reads the chunk");
    let (mut records, _) = read(&p, true);
    let _ = std::fs::remove_file(&p);
    records.remove(0)
}

/// A record written without a template whose named `Data` has no text: the
/// field is there with the empty text (as the crate has it), and the fast
/// path reads it rather than handing the chunk to the crate.
#[test]
fn an_empty_named_field_of_a_record_without_template_is_the_empty_text() {
    use portent_scenario::{evtx::Layout, Val};
    let extra = vec![("Unused", Val::s("")), ("Product Name", Val::s("%%827"))];
    let fields = one_event_with(extra, Layout::Elements);
    assert!(
        fields.contains(&r#"Unused=Str("")"#.to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&r#"Product Name=Str("%%827")"#.to_owned()));
}

/// A UInt64 above the signed range (BITS writes such byte counts) is read by
/// the template reader, to the value the crate gives (it went whole to the
/// crate before).
#[test]
fn a_uint64_above_the_signed_range_is_read_as_the_crate_reads_it() {
    use portent_scenario::{evtx::Layout, Val};
    let fields = one_event_with(vec![("bytesTotal", Val::U64(u64::MAX))], Layout::Templates);
    // Present with its number (the record keeps integers as i64, so this
    // one is a float on both paths).
    let want = format!("bytesTotal=Float({:?})", u64::MAX as f64);
    assert!(fields.contains(&want), "{want} in {fields:?}");
}

mod damaged {
    use super::all_names;
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The chunks of a generated Sysmon log.
    fn chunks() -> &'static Vec<Vec<u8>> {
        static CHUNKS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        CHUNKS.get_or_init(|| {
            use portent_scenario::{all, generate, Options, Variant};
            let g = generate(
                &all()[0],
                Variant::AsDescribed,
                &Options {
                    seed: 3,
                    start_us: 1_764_580_000_000_000,
                    background: 600,
                },
            );
            let bytes = portent_scenario::evtx::write(&g.events).unwrap();
            bytes[4096..]
                .chunks_exact(65536)
                .map(<[u8]>::to_vec)
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Damage anywhere in a chunk: the reader reads it or declines it, and
        /// the whole reader (with its fallback to the crate) goes on.
        #[test]
        fn damaged_chunks_never_panic(which in 0usize..4, flips in proptest::collection::vec((512usize..65536, any::<u8>()), 1..20)) {
            let all = chunks();
            let mut c = all[which % all.len()].clone();
            for (at, x) in flips {
                c[at] ^= x | 1;
            }
            let _ = ChunkReader::new(&c).records(&all_names());
            let mut file = b"ElfFile\0".to_vec();
            file.resize(4096, 0);
            file.extend_from_slice(&c);
            let mut report = portent_io::FileReport::new("damaged");
            portent_io::evtx::read_bytes(&file, &Schema::qradar(), &ReadOptions::default(), &mut report, &mut |_, _| {});
        }
    }
}

/// Every field kept.
fn all_names() -> portent_io::binxml::Names<'static> {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    portent_io::binxml::Names {
        schema: SCHEMA.get_or_init(Schema::qradar),
        keep_unknown: true,
        wanted: None,
    }
}

/// Records of channels and event ids no one wants keep their System part
/// (the same time, host, channel, provider and ids as read whole) and lose
/// their data; wanted records are read whole; the report counts those passed
/// over. Over the generated logs of every scenario (Sysmon and Security).
#[test]
fn records_not_wanted_keep_their_system_part_only() {
    use portent_core::schema::ids;
    use portent_scenario::{all, generate, Options, Variant};
    let mut wanted = portent_io::Wanted::new();
    wanted.add("Security", "", &[4688]);
    wanted.add("Microsoft-Windows-Sysmon/Operational", "", &[3]);
    let skim = ReadOptions {
        wanted: Some(std::sync::Arc::new(wanted.clone())),
        ..ReadOptions::default()
    };
    let schema = Schema::qradar();
    let system = [
        ids::STARTTIME,
        ids::HOSTNAME,
        ids::CHANNEL,
        ids::PROVIDER,
        ids::EVENT_ID,
        ids::RECORD_NUMBER,
    ];
    let (mut kept, mut passed) = (0, 0);
    for s in all() {
        let g = generate(
            s,
            Variant::AsDescribed,
            &Options {
                seed: 7,
                start_us: 1_764_580_000_000_000,
                background: 300,
            },
        );
        for (_, events) in portent_scenario::evtx::by_channel(&g.events) {
            let bytes = portent_scenario::evtx::write(&events).unwrap();
            let read = |opts: &ReadOptions| {
                let mut out = Vec::new();
                let mut report = portent_io::FileReport::new("generated");
                portent_io::evtx::read_bytes(&bytes, &schema, opts, &mut report, &mut |_, r| {
                    out.push(r)
                });
                (out, report.passed_over)
            };
            let (whole, none) = read(&ReadOptions::default());
            let (skimmed, over) = read(&skim);
            assert_eq!(none, 0);
            assert_eq!(whole.len(), skimmed.len());
            let mut over_here = 0;
            for (w, k) in whole.iter().zip(&skimmed) {
                for f in system {
                    assert_eq!(w.get(f), k.get(f), "{}", schema.name(f));
                }
                let (c, p) = (w.get(ids::CHANNEL), w.get(ids::PROVIDER));
                if wanted.wants(c.as_str(), p.as_str(), w.get(ids::EVENT_ID).to_i64()) {
                    assert_eq!(fields(w), fields(k));
                    kept += 1;
                } else {
                    assert!(fields(k).len() < fields(w).len(), "{:?}", fields(k));
                    over_here += 1;
                }
            }
            assert_eq!(over, over_here);
            passed += over_here;
        }
    }
    assert!(
        kept > 10 && passed > 100,
        "{kept} kept, {passed} passed over"
    );
}
