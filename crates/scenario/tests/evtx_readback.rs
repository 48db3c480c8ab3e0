//! The EVTX writer's output read back by the `evtx` crate (a third-party
//! parser, with checksum validation on): every record comes back with the
//! same field values as the generator's `evtx_dump` JSON rendering of it.

use evtx::{EvtxParser, ParserSettings};
use portent_scenario::layout::evtx_dump;
use portent_scenario::scenarios::{generate, Options};
use portent_scenario::{all, WinEvent};

fn read_back(bytes: Vec<u8>) -> Vec<serde_json::Value> {
    let mut parser = EvtxParser::from_buffer(bytes).unwrap().with_configuration(
        ParserSettings::new()
            .validate_checksums(true)
            .num_threads(1),
    );
    assert!(parser.header().validate_checksum(), "file header CRC32");
    parser
        .records_json_value()
        .map(|r| r.expect("record parses").data)
        .collect()
}

#[test]
fn every_scenario_reads_back_identically() {
    let opts = Options {
        seed: 7,
        start_us: 1_764_580_000_123_456,
        background: 300,
    };
    let mut total = 0;
    for s in all() {
        for v in s.variants() {
            let g = generate(s, v, &opts);
            for (_, events) in portent_scenario::evtx::by_channel(&g.events) {
                let bytes = portent_scenario::evtx::write(&events).unwrap();
                let back = read_back(bytes);
                assert_eq!(back.len(), events.len(), "{} {v:?}", s.id);
                for (got, ev) in back.iter().zip(&events) {
                    assert_eq!(
                        got,
                        &evtx_dump(ev),
                        "{} {v:?} record {}",
                        s.id,
                        ev.record_id
                    );
                }
                total += events.len();
            }
        }
    }
    assert!(
        total > 6 * 300,
        "{total} events: every variant and its background were written"
    );
}

#[test]
fn many_records_span_chunks_and_share_templates() {
    let opts = Options {
        seed: 9,
        start_us: 1_764_580_000_000_000,
        background: 5000,
    };
    let g = generate(&all()[0], portent_scenario::Variant::AsDescribed, &opts);
    let sysmon: Vec<WinEvent> = g
        .events
        .iter()
        .filter(|e| e.provider.name == "Microsoft-Windows-Sysmon")
        .cloned()
        .collect();
    let bytes = portent_scenario::evtx::write(&sysmon).unwrap();
    let chunks = (bytes.len() - 4096) / 65536;
    assert!(chunks > 3, "{chunks} chunks");
    let back = read_back(bytes);
    assert_eq!(back.len(), sysmon.len());
    for (got, ev) in back.iter().zip(&sysmon) {
        assert_eq!(got, &evtx_dump(ev));
    }
}

#[test]
fn damaged_chunks_are_caught_by_their_checksums() {
    let g = generate(
        &all()[1],
        portent_scenario::Variant::AsDescribed,
        &Options {
            seed: 1,
            start_us: 1_764_580_000_000_000,
            background: 0,
        },
    );
    let mut bytes = portent_scenario::evtx::write(&g.events).unwrap();
    // A byte inside the first record's data.
    bytes[4096 + 512 + 40] ^= 0xff;
    let mut parser = EvtxParser::from_buffer(bytes).unwrap().with_configuration(
        ParserSettings::new()
            .validate_checksums(true)
            .num_threads(1),
    );
    let ok = parser.records_json_value().filter(Result::is_ok).count();
    assert_eq!(ok, 0, "a chunk whose records' CRC32 is wrong is rejected");
}
