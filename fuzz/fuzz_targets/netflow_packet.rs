//! NetFlow v5/v9 and IPFIX packets: decoding (templates kept across packets)
//! never panics, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portent_core::Schema;
use portent_io::netflow::{decode, Templates};

fuzz_target!(|data: &[u8]| {
    let schema = Schema::qradar();
    let mut templates = Templates::default();
    let exporter = "192.0.2.1".parse().unwrap();
    // The input is a sequence of packets, each prefixed by a length byte.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (packet, next) = tail.split_at((len as usize * 4).min(tail.len()));
        let _ = decode(packet, exporter, &mut templates, &schema, &mut |_| {});
        rest = next;
    }
});
