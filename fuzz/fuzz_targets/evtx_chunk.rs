//! The EVTX template reader never panics on a chunk, however damaged: it
//! reads it or says it cannot (and the crate then gets the chunk).
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
});
