//! The EVTX template reader never panics on a chunk, however damaged: it
//! reads it or says it cannot (and the crate then gets the chunk). The
//! record-by-record reader of damaged and cut chunks takes the same chunk,
//! cut at a place the input picks, and never reads past the cut. Reading
//! only the records of Security 4688 whole, it reads the same records, with
//! the same System parts.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut chunk = b"ElfChnk\0".to_vec();
    chunk.extend_from_slice(data);
    chunk.resize(65536, 0);
    let schema = portent_core::Schema::qradar();
    let names = portent_io::binxml::Names {
        schema: &schema,
        keep_unknown: true,
        wanted: None,
    };
    let whole = portent_io::binxml::ChunkReader::new(&chunk).records(&names);
    let mut wanted = portent_io::Wanted::new();
    wanted.add("Security", "", &[4688]);
    let skim = portent_io::binxml::Names {
        wanted: Some(&wanted),
        ..names
    };
    let skimmed = portent_io::binxml::ChunkReader::new(&chunk).records(&skim);
    // Passing over data can only spare a failure in it, never add one.
    if let (Ok(whole), Ok(skimmed)) = (&whole, &skimmed) {
        assert_eq!(whole.len(), skimmed.len());
        for (w, s) in whole.iter().zip(skimmed) {
            assert_eq!(
                (w.event_id, &w.channel, &w.provider, &w.computer, w.time, w.record_id),
                (s.event_id, &s.channel, &s.provider, &s.computer, s.time, s.record_id)
            );
        }
    } else {
        assert!(whole.is_err(), "passing over data failed a chunk read whole");
    }
    let end = data.first().map_or(65536, |b| 512 + usize::from(*b) * 255);
    for header_ok in [false, true] {
        let mut events = Vec::new();
        portent_io::binxml::ChunkReader::new(&chunk).records_lenient(
            &names,
            end,
            header_ok,
            &mut events,
            &mut |at, _| assert!(at < 65536),
        );
        assert!(events.iter().all(|(at, _)| *at < end));
    }
});
