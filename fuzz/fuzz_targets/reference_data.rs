//! The reference data loader (CSV by header, QRadar's API JSON, network
//! hierarchies, assets) never panics, and lookups in what it loaded never do.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portent_core::Value;
use portent_engine::refdata::ReferenceData;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut d = ReferenceData::default();
    if d.load(text, "fuzz", "fuzz.csv").is_ok() {
        let probe = Value::str("10.0.0.1");
        for name in d.names().into_iter().map(str::to_owned).collect::<Vec<_>>() {
            let _ = d.set_contains(&name, &probe, 0);
            let _ = d.map_value(&name, &probe, i64::MAX);
            let _ = d.map_set_contains(&name, &probe, &probe, i64::MIN);
            let _ = d.table_value(&name, "value", &probe, 0);
        }
        let _ = d.network_name(&probe);
        let _ = d.asset("hostname", &probe);
    }
});
