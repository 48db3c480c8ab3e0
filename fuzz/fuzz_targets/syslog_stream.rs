//! A TCP syslog stream cut into reads at fuzzer-chosen places: framing and
//! each message's parsing (header, LEEF/JSON/Snare payload) never panic, and
//! the frames do not depend on where the reads were cut.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portent_core::Schema;
use portent_io::{message::read_message, FileReport, ReadOptions};
use portent_serve::framing::Deframer;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else { return };
    let frames = |step: usize| {
        let mut d = Deframer::new();
        let mut out = Vec::new();
        for piece in stream.chunks(step.max(1)) {
            d.feed(piece);
            while let Some(f) = d.next_frame() {
                out.push(f.to_vec());
            }
        }
        if let Some(f) = d.finish() {
            out.push(f.to_vec());
        }
        out
    };
    let whole = frames(stream.len().max(1));
    assert_eq!(whole, frames(cut as usize % 7 + 1));
    let schema = Schema::qradar();
    let mut report = FileReport::new("fuzz");
    for f in &whole {
        read_message(f, &|| "fuzz".to_owned(), &schema, &ReadOptions::default(), &mut report, &mut |_, _| {});
    }
});
