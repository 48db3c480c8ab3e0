//! Property: any event the model can hold (names from the XML name alphabet,
//! any text without NUL, every value type) is written as EVTX and read back
//! by the `evtx` crate with the same values, in any number of chunks; and a
//! record too large for a chunk is an error, not a corrupt file.

use evtx::{EvtxParser, ParserSettings};
use portent_scenario::event::{Val, WinEvent, BITS_CLIENT, SECURITY, SYSMON};
use portent_scenario::layout::evtx_dump;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "Image",
    "CommandLine",
    "User",
    "QueryName",
    "url",
    "ProcessGuid",
    "ProcessId",
    "DestinationPort",
    "Initiated",
    "NewProcessId",
    "jobId",
    "fileLength",
    "Hashes",
    "RuleName",
];

fn value() -> impl Strategy<Value = Val> {
    // Windows strings end at NUL, so the model holds none.
    let text = "[^\u{0}]{0,300}";
    prop_oneof![
        text.prop_map(Val::Str),
        any::<u8>().prop_map(Val::U8),
        any::<u16>().prop_map(Val::U16),
        any::<u32>().prop_map(Val::U32),
        any::<u64>().prop_map(Val::U64),
        any::<bool>().prop_map(Val::Bool),
        any::<u128>().prop_map(|g| {
            let h = format!("{g:032x}");
            Val::Guid(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }),
        any::<u64>().prop_map(Val::HexInt64),
    ]
}

fn event() -> impl Strategy<Value = WinEvent> {
    (
        0usize..3,
        any::<u16>(),
        0i64..4_000_000_000_000_000,
        "[A-Za-z0-9.-]{1,40}",
        proptest::option::of(Just(
            "S-1-5-21-1004336348-1177238915-682003330-1104".to_owned(),
        )),
        proptest::collection::vec((0usize..NAMES.len(), value()), 0..12),
    )
        .prop_map(|(p, event_id, time_us, computer, user_sid, data)| {
            let mut seen = std::collections::HashSet::new();
            WinEvent {
                provider: [&SYSMON, &SECURITY, &BITS_CLIENT][p],
                event_id,
                version: 2,
                level: 4,
                task: 1,
                opcode: 0,
                keywords: 0x8000_0000_0000_0000,
                time_us,
                record_id: 0,
                pid: 4,
                tid: 8,
                computer,
                user_sid,
                // EventData names are unique within an event, as in every manifest.
                data: data
                    .into_iter()
                    .filter(|(n, _)| seen.insert(*n))
                    .map(|(n, v)| (NAMES[n], v))
                    .collect(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn written_events_read_back_identically(mut events in proptest::collection::vec(event(), 1..400)) {
        for (i, e) in events.iter_mut().enumerate() {
            e.record_id = 100 + i as u64;
        }
        let bytes = portent_scenario::evtx::write(&events).unwrap();
        let mut parser = EvtxParser::from_buffer(bytes)
            .unwrap()
            .with_configuration(ParserSettings::new().validate_checksums(true).num_threads(1));
        let back: Vec<serde_json::Value> = parser
            .records_json_value()
            .map(|r| r.expect("record parses").data)
            .collect();
        prop_assert_eq!(back.len(), events.len());
        for (got, ev) in back.iter().zip(&events) {
            prop_assert_eq!(got, &evtx_dump(ev));
        }
    }
}

#[test]
fn a_record_larger_than_a_chunk_is_an_error() {
    let ev = WinEvent {
        provider: &SYSMON,
        event_id: 1,
        version: 5,
        level: 4,
        task: 1,
        opcode: 0,
        keywords: 0,
        time_us: 0,
        record_id: 7,
        pid: 4,
        tid: 8,
        computer: "h".into(),
        user_sid: None,
        data: vec![("CommandLine", Val::Str("x".repeat(40_000)))],
    };
    let err = portent_scenario::evtx::write(&[ev]).unwrap_err();
    assert!(err.to_string().starts_with("record 7 needs"), "{err}");
}
