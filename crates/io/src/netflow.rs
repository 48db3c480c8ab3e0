//! NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export packets into
//! rows of the `flows` table. v9 and IPFIX describe their records with
//! templates sent from time to time; [`Templates`] keeps them per exporter,
//! and data that arrives before its template is counted, not guessed at.

use portent_core::schema::ids;
use portent_core::{FieldId, Record, Schema, Value};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a packet, or part of one, was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Not NetFlow v5/v9 or IPFIX, or cut short.
    Malformed(String),
    /// Data records whose template has not been seen (yet).
    NoTemplate {
        /// The template id.
        template: u16,
        /// Records skipped (sets: the set counts as one).
        records: u64,
    },
}

/// Templates per exporter (address and source id / observation domain).
#[derive(Debug, Default)]
pub struct Templates {
    map: HashMap<(IpAddr, u32, u16), Vec<FieldSpec>>,
}

#[derive(Clone, Copy, Debug)]
struct FieldSpec {
    id: u16,
    enterprise: bool,
    /// 65535: variable length (IPFIX).
    len: u16,
}

/// Decodes one export packet from `exporter`, handing each flow to `emit`.
/// Returns what had to be skipped; decoding stops at the first malformed set.
pub fn decode(
    packet: &[u8],
    exporter: IpAddr,
    templates: &mut Templates,
    schema: &Schema,
    emit: &mut dyn FnMut(Record<'static>),
) -> Vec<Skip> {
    let mut skips = Vec::new();
    let result = match be16(packet, 0) {
        Some(5) => v5(packet, schema, emit),
        Some(9) => v9(packet, exporter, templates, schema, emit, &mut skips),
        Some(10) => ipfix(packet, exporter, templates, schema, emit, &mut skips),
        Some(v) => Err(format!("version {v} is not NetFlow v5/v9 or IPFIX")),
        None => Err("packet shorter than a header".into()),
    };
    if let Err(m) = result {
        skips.push(Skip::Malformed(m));
    }
    skips
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn short(what: &str) -> String {
    format!("{what} cut short")
}

fn new_flow(schema: &Schema) -> Record<'static> {
    let mut rec = Record::with_capacity(schema.len());
    rec.set_flow(true);
    rec.set(ids::EVENTCOUNT, Value::Int(1));
    rec
}

fn v5(p: &[u8], schema: &Schema, emit: &mut dyn FnMut(Record<'static>)) -> Result<(), String> {
    let count = be16(p, 2).ok_or_else(|| short("v5 header"))? as usize;
    let uptime = be32(p, 4).ok_or_else(|| short("v5 header"))? as i64;
    let secs = be32(p, 8).ok_or_else(|| short("v5 header"))? as i64;
    let nsecs = be32(p, 12).ok_or_else(|| short("v5 header"))? as i64;
    if p.len() < 24 + count * 48 {
        return Err(format!(
            "v5 packet says {count} records but holds {} bytes",
            p.len()
        ));
    }
    let export_ms = secs * 1000 + nsecs / 1_000_000;
    for i in 0..count {
        let r = &p[24 + i * 48..24 + (i + 1) * 48];
        let u32_at = |o: usize| u32::from_be_bytes([r[o], r[o + 1], r[o + 2], r[o + 3]]);
        let u16_at = |o: usize| u16::from_be_bytes([r[o], r[o + 1]]);
        let mut rec = new_flow(schema);
        rec.set(
            ids::SOURCEIP,
            Value::Ip(IpAddr::V4(Ipv4Addr::from(u32_at(0)))),
        );
        rec.set(
            ids::DESTINATIONIP,
            Value::Ip(IpAddr::V4(Ipv4Addr::from(u32_at(4)))),
        );
        rec.set(ids::SOURCEPACKETS, Value::Int(u32_at(16) as i64));
        rec.set(ids::SOURCEBYTES, Value::Int(u32_at(20) as i64));
        let first = export_ms - (uptime - u32_at(24) as i64);
        let last = export_ms - (uptime - u32_at(28) as i64);
        set_times(&mut rec, first, last);
        rec.set(ids::SOURCEPORT, Value::Int(u16_at(32) as i64));
        rec.set(ids::DESTINATIONPORT, Value::Int(u16_at(34) as i64));
        rec.set(ids::PROTOCOLID, Value::Int(r[38] as i64));
        emit(rec);
    }
    Ok(())
}

fn set_times(rec: &mut Record<'static>, first: i64, last: i64) {
    rec.set(ids::STARTTIME, Value::Int(first));
    rec.set(ids::FIRSTPACKETTIME, Value::Int(first));
    rec.set(ids::ENDTIME, Value::Int(last));
    rec.set(ids::LASTPACKETTIME, Value::Int(last));
}

/// Packet-level clock for relative (uptime) times.
#[derive(Clone, Copy)]
struct Clock {
    export_ms: i64,
    uptime_ms: Option<i64>,
}

fn v9(
    p: &[u8],
    exporter: IpAddr,
    templates: &mut Templates,
    schema: &Schema,
    emit: &mut dyn FnMut(Record<'static>),
    skips: &mut Vec<Skip>,
) -> Result<(), String> {
    let uptime = be32(p, 4).ok_or_else(|| short("v9 header"))? as i64;
    let secs = be32(p, 8).ok_or_else(|| short("v9 header"))? as i64;
    let source = be32(p, 16).ok_or_else(|| short("v9 header"))?;
    let clock = Clock {
        export_ms: secs * 1000,
        uptime_ms: Some(uptime),
    };
    sets(
        p,
        20,
        (0, 1),
        exporter,
        source,
        clock,
        templates,
        schema,
        emit,
        skips,
    )
}

fn ipfix(
    p: &[u8],
    exporter: IpAddr,
    templates: &mut Templates,
    schema: &Schema,
    emit: &mut dyn FnMut(Record<'static>),
    skips: &mut Vec<Skip>,
) -> Result<(), String> {
    let len = be16(p, 2).ok_or_else(|| short("IPFIX header"))? as usize;
    let secs = be32(p, 4).ok_or_else(|| short("IPFIX header"))? as i64;
    let domain = be32(p, 12).ok_or_else(|| short("IPFIX header"))?;
    if len > p.len() || len < 16 {
        return Err(format!("IPFIX length {len} but {} bytes received", p.len()));
    }
    let clock = Clock {
        export_ms: secs * 1000,
        uptime_ms: None,
    };
    sets(
        &p[..len],
        16,
        (2, 3),
        exporter,
        domain,
        clock,
        templates,
        schema,
        emit,
        skips,
    )
}

/// Walks the (flow)sets of a v9 or IPFIX packet. `ids.0` is the template set
/// id, `ids.1` the options template set id (read past, not used).
#[allow(clippy::too_many_arguments)]
fn sets(
    p: &[u8],
    mut at: usize,
    set_ids: (u16, u16),
    exporter: IpAddr,
    domain: u32,
    clock: Clock,
    templates: &mut Templates,
    schema: &Schema,
    emit: &mut dyn FnMut(Record<'static>),
    skips: &mut Vec<Skip>,
) -> Result<(), String> {
    let ipfix = set_ids.0 == 2;
    while at + 4 <= p.len() {
        let id = be16(p, at).ok_or_else(|| short("set header"))?;
        let len = be16(p, at + 2).ok_or_else(|| short("set header"))? as usize;
        if len < 4 || at + len > p.len() {
            return Err(format!(
                "set at byte {at} has length {len}, {} bytes left",
                p.len() - at
            ));
        }
        let body = &p[at + 4..at + len];
        if id == set_ids.0 {
            read_templates(body, ipfix, exporter, domain, templates)?;
        } else if id >= 256 {
            match templates.map.get(&(exporter, domain, id)) {
                Some(spec) => data_set(body, spec, clock, schema, emit)?,
                None => skips.push(Skip::NoTemplate {
                    template: id,
                    records: 1,
                }),
            }
        } else if id != set_ids.1 {
            return Err(format!("unknown set id {id} at byte {at}"));
        }
        at += len;
    }
    Ok(())
}

fn read_templates(
    mut b: &[u8],
    ipfix: bool,
    exporter: IpAddr,
    domain: u32,
    templates: &mut Templates,
) -> Result<(), String> {
    while b.len() >= 4 {
        let id = be16(b, 0).ok_or_else(|| short("template"))?;
        let count = be16(b, 2).ok_or_else(|| short("template"))? as usize;
        let mut at = 4;
        let mut spec = Vec::with_capacity(count);
        for _ in 0..count {
            let raw = be16(b, at).ok_or_else(|| short("template field"))?;
            let len = be16(b, at + 2).ok_or_else(|| short("template field"))?;
            at += 4;
            let enterprise = ipfix && raw & 0x8000 != 0;
            if enterprise {
                at += 4;
            }
            spec.push(FieldSpec {
                id: if ipfix { raw & 0x7fff } else { raw },
                enterprise,
                len,
            });
        }
        if at > b.len() {
            return Err(short("template"));
        }
        if id < 256 {
            return Err(format!("template id {id} is below 256"));
        }
        templates.map.insert((exporter, domain, id), spec);
        b = &b[at..];
    }
    Ok(())
}

fn data_set(
    body: &[u8],
    spec: &[FieldSpec],
    clock: Clock,
    schema: &Schema,
    emit: &mut dyn FnMut(Record<'static>),
) -> Result<(), String> {
    let min_len: usize = spec
        .iter()
        .map(|f| if f.len == 65535 { 1 } else { f.len as usize })
        .sum();
    if min_len == 0 {
        return Err("template with no bytes per record".into());
    }
    let mut at = 0;
    // What is left after the last whole record is padding.
    while body.len() - at >= min_len {
        let mut rec = new_flow(schema);
        let (mut first, mut last) = (None, None);
        for f in spec {
            let len = if f.len == 65535 {
                let l = *body.get(at).ok_or_else(|| short("variable-length field"))? as usize;
                at += 1;
                if l == 255 {
                    let l2 = be16(body, at).ok_or_else(|| short("variable-length field"))?;
                    at += 2;
                    l2 as usize
                } else {
                    l
                }
            } else {
                f.len as usize
            };
            let v = body.get(at..at + len).ok_or_else(|| short("data record"))?;
            at += len;
            if !f.enterprise {
                field(&mut rec, f.id, v, clock, &mut first, &mut last);
            }
        }
        if let Some(f) = first {
            set_times(&mut rec, f, last.unwrap_or(f));
        } else {
            rec.set(ids::STARTTIME, Value::Int(clock.export_ms));
        }
        emit(rec);
    }
    Ok(())
}

fn uint(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    Some(v.iter().fold(0u64, |a, b| (a << 8) | *b as u64) as i64)
}

/// Information elements (the same numbers in v9 and IPFIX) and where they go.
fn field(
    rec: &mut Record<'static>,
    id: u16,
    v: &[u8],
    clock: Clock,
    first: &mut Option<i64>,
    last: &mut Option<i64>,
) {
    let int = |rec: &mut Record<'static>, f: FieldId| {
        if let Some(n) = uint(v) {
            rec.set(f, Value::Int(n));
        }
    };
    let ip = |rec: &mut Record<'static>, f: FieldId| {
        let addr = match v.len() {
            4 => IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
            16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(v);
                IpAddr::V6(Ipv6Addr::from(o))
            }
            _ => return,
        };
        rec.set(f, Value::Ip(addr));
    };
    // Field values are attacker-controlled: arithmetic on them is checked
    // (an overflow was found by fuzzing).
    let uptime_time = |v: &[u8]| {
        let up = clock.uptime_ms?;
        clock.export_ms.checked_sub(up.checked_sub(uint(v)?)?)
    };
    match id {
        1 | 85 => int(rec, ids::SOURCEBYTES),
        2 | 86 => int(rec, ids::SOURCEPACKETS),
        23 => int(rec, ids::DESTINATIONBYTES),
        24 => int(rec, ids::DESTINATIONPACKETS),
        4 => int(rec, ids::PROTOCOLID),
        7 => int(rec, ids::SOURCEPORT),
        11 => int(rec, ids::DESTINATIONPORT),
        8 | 27 => ip(rec, ids::SOURCEIP),
        12 | 28 => ip(rec, ids::DESTINATIONIP),
        22 => *first = uptime_time(v).or(*first),
        21 => *last = uptime_time(v).or(*last),
        150 => *first = uint(v).and_then(|s| s.checked_mul(1000)),
        151 => *last = uint(v).and_then(|s| s.checked_mul(1000)),
        152 => *first = uint(v),
        153 => *last = uint(v),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Event;

    const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn run(packets: &[Vec<u8>]) -> (Vec<Record<'static>>, Vec<Skip>) {
        let schema = Schema::qradar();
        let mut t = Templates::default();
        let mut out = Vec::new();
        let mut skips = Vec::new();
        for p in packets {
            skips.extend(decode(p, EXPORTER, &mut t, &schema, &mut |r| out.push(r)));
        }
        (out, skips)
    }

    #[test]
    fn v5_records_with_absolute_times() {
        let mut p = vec![0, 5, 0, 1];
        p.extend(10_000u32.to_be_bytes()); // uptime
        p.extend(1_700_000_000u32.to_be_bytes());
        p.extend(0u32.to_be_bytes());
        p.extend([0; 8]);
        let mut r = vec![10, 0, 0, 5, 93, 184, 216, 34, 0, 0, 0, 0, 0, 1, 0, 2];
        r.extend(7u32.to_be_bytes());
        r.extend(900u32.to_be_bytes());
        r.extend(4_000u32.to_be_bytes()); // first
        r.extend(9_000u32.to_be_bytes()); // last
        r.extend(50_000u16.to_be_bytes());
        r.extend(443u16.to_be_bytes());
        r.extend([0, 0x18, 6, 0, 0, 0, 0, 0, 24, 24, 0, 0]);
        p.extend(r);
        let (rows, skips) = run(&[p.clone()]);
        assert!(skips.is_empty());
        let f = &rows[0];
        assert!(f.is_flow());
        assert_eq!(f.get(ids::DESTINATIONPORT), Value::Int(443));
        assert_eq!(f.get(ids::PROTOCOLID), Value::Int(6));
        assert_eq!(f.get(ids::SOURCEBYTES), Value::Int(900));
        assert_eq!(f.get(ids::STARTTIME), Value::Int(1_700_000_000_000 - 6_000));
        assert_eq!(f.get(ids::ENDTIME), Value::Int(1_700_000_000_000 - 1_000));
        // A header that promises more records than it holds is malformed.
        let (rows, skips) = run(&[p[..60].to_vec()]);
        assert!(rows.is_empty());
        assert!(matches!(skips[0], Skip::Malformed(_)));
    }

    fn ipfix_packet(sets: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let body: Vec<u8> = sets
            .iter()
            .flat_map(|(id, b)| {
                let mut s = id.to_be_bytes().to_vec();
                s.extend(((b.len() + 4) as u16).to_be_bytes());
                s.extend(b);
                s
            })
            .collect();
        let mut p = vec![0, 10];
        p.extend(((body.len() + 16) as u16).to_be_bytes());
        p.extend(1_700_000_000u32.to_be_bytes());
        p.extend(1u32.to_be_bytes());
        p.extend(7u32.to_be_bytes());
        p.extend(body);
        p
    }

    #[test]
    fn ipfix_templates_variable_length_and_data_before_template() {
        // Template 300: srcIPv4, dstIPv4, dstPort, proto, an enterprise field of
        // variable length, flowStartMilliseconds.
        let mut t = 300u16.to_be_bytes().to_vec();
        t.extend(6u16.to_be_bytes());
        for (id, len) in [(8u16, 4u16), (12, 4), (11, 2), (4, 1)] {
            t.extend(id.to_be_bytes());
            t.extend(len.to_be_bytes());
        }
        t.extend((0x8000u16 | 5).to_be_bytes());
        t.extend(65535u16.to_be_bytes());
        t.extend(9u32.to_be_bytes());
        t.extend(152u16.to_be_bytes());
        t.extend(8u16.to_be_bytes());
        let mut d = vec![10, 0, 0, 9, 8, 8, 8, 8, 0, 53, 17, 3, b'a', b'b', b'c'];
        d.extend(1_700_000_000_123u64.to_be_bytes());
        d.extend([0, 0, 0]); // padding
        let data_first = ipfix_packet(&[(300, d.clone())]);
        let with_template = ipfix_packet(&[(2, t), (300, d)]);
        let (rows, skips) = run(&[data_first, with_template]);
        assert_eq!(
            skips,
            vec![Skip::NoTemplate {
                template: 300,
                records: 1
            }]
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(53));
        assert_eq!(rows[0].get(ids::PROTOCOLID), Value::Int(17));
        assert_eq!(rows[0].get(ids::STARTTIME), Value::Int(1_700_000_000_123));
    }

    #[test]
    fn v9_uptime_times_and_bad_sets() {
        let mut t = 256u16.to_be_bytes().to_vec();
        t.extend(3u16.to_be_bytes());
        for (id, len) in [(12u16, 4u16), (11, 2), (22, 4)] {
            t.extend(id.to_be_bytes());
            t.extend(len.to_be_bytes());
        }
        let mut d = vec![1, 2, 3, 4, 0, 80];
        d.extend(5_000u32.to_be_bytes());
        let mut p = vec![0, 9, 0, 2];
        p.extend(10_000u32.to_be_bytes());
        p.extend(1_700_000_000u32.to_be_bytes());
        p.extend(1u32.to_be_bytes());
        p.extend(0u32.to_be_bytes());
        for (id, b) in [(0u16, t), (256, d)] {
            p.extend(id.to_be_bytes());
            p.extend(((b.len() + 4) as u16).to_be_bytes());
            p.extend(b);
        }
        let (rows, skips) = run(&[p.clone()]);
        assert!(skips.is_empty(), "{skips:?}");
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(80));
        assert_eq!(
            rows[0].get(ids::STARTTIME),
            Value::Int(1_700_000_000_000 - 5_000)
        );
        let mut bad = p;
        bad.extend([0, 0, 0, 99]);
        let (_, skips) = run(&[bad]);
        assert!(
            matches!(&skips[0], Skip::Malformed(m) if m.contains("length 99")),
            "{skips:?}"
        );
    }

    /// Found by fuzzing: a flowStartSeconds of 2^63 - 1 overflowed when made
    /// milliseconds (a panic in a debug build, a wrong time in release).
    #[test]
    fn times_out_of_range_are_dropped_not_overflowed() {
        let mut t = 256u16.to_be_bytes().to_vec();
        t.extend(3u16.to_be_bytes());
        for (id, len) in [(150u16, 8u16), (11, 2), (22, 8)] {
            t.extend(id.to_be_bytes());
            t.extend(len.to_be_bytes());
        }
        let mut d = i64::MAX.to_be_bytes().to_vec();
        d.extend([0, 80]);
        d.extend(i64::MIN.to_be_bytes());
        let mut p = vec![0, 9, 0, 2];
        p.extend(10_000u32.to_be_bytes());
        p.extend(1_700_000_000u32.to_be_bytes());
        p.extend(1u32.to_be_bytes());
        p.extend(0u32.to_be_bytes());
        for (id, b) in [(0u16, t), (256, d)] {
            p.extend(id.to_be_bytes());
            p.extend(((b.len() + 4) as u16).to_be_bytes());
            p.extend(b);
        }
        let (rows, _) = run(&[p]);
        assert_eq!(rows[0].get(ids::DESTINATIONPORT), Value::Int(80));
        // No usable start time in the record: the export time stands in.
        assert_eq!(rows[0].get(ids::STARTTIME), Value::Int(1_700_000_000_000));
    }
}
