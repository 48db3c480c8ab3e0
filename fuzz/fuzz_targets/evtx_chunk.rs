//! The EVTX template reader never panics on a chunk, however damaged: it
//! reads it or says it cannot (and the crate then gets the chunk). The
//! record-by-record reader of damaged and cut chunks takes the same chunk,
//! cut at a place the input picks, and never reads past the cut.
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
    };
    let _ = portent_io::binxml::ChunkReader::new(&chunk).records(&names);
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
