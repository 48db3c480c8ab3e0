//! Candidates that wait for a process creation read later, kept on disk
//! past a few thousand, so that memory does not grow with how many wait. The
//! file is anonymous (gone when the run ends, however it ends) and holds a
//! compact binary form of each candidate, read back in the order written.

use crate::scan::Candidate;
use portent_core::event::FieldRef;
use portent_core::{Event, FieldId, Record, Value};
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::net::IpAddr;

/// Candidates written to disk, in order.
#[derive(Default)]
pub struct Spill {
    file: Option<BufWriter<std::fs::File>>,
    /// How many were written.
    pub count: u64,
}

impl Spill {
    /// Writes `c` after the ones before it.
    pub fn push(&mut self, c: &Candidate) -> std::io::Result<()> {
        let out = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(BufWriter::with_capacity(1 << 20, tempfile::tempfile()?)),
        };
        let mut buf = Vec::with_capacity(512);
        encode(c, &mut buf);
        out.write_all(&(buf.len() as u32).to_le_bytes())?;
        out.write_all(&buf)?;
        self.count += 1;
        Ok(())
    }

    /// Reads every candidate back, in the order written, into `f`.
    pub fn drain(self, f: &mut dyn FnMut(Candidate)) -> std::io::Result<()> {
        let Some(out) = self.file else {
            return Ok(());
        };
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        for _ in 0..self.count {
            let mut len = [0u8; 4];
            input.read_exact(&mut len)?;
            let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
            input.read_exact(&mut buf)?;
            f(decode(&buf).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a spilled candidate is damaged",
                )
            })?);
        }
        Ok(())
    }
}

fn encode(c: &Candidate, out: &mut Vec<u8>) {
    out.extend(c.seq.to_le_bytes());
    out.extend((c.queries.len() as u32).to_le_bytes());
    for q in c.queries.iter() {
        out.extend(q.to_le_bytes());
    }
    out.push(u8::from(c.record.is_flow()));
    c.record.for_each(&mut |f: FieldRef<'_>, v: &Value<'_>| {
        match f {
            FieldRef::Id(id) => {
                out.push(0);
                out.extend(id.0.to_le_bytes());
            }
            FieldRef::Name(n) => {
                out.push(1);
                text(out, n);
            }
        }
        value(out, v);
    });
}

fn text(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u32).to_le_bytes());
    out.extend(s.as_bytes());
}

fn value(out: &mut Vec<u8>, v: &Value<'_>) {
    match v {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend([1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(2);
            out.extend(i.to_le_bytes());
        }
        Value::Float(x) => {
            out.push(3);
            out.extend(x.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(4);
            text(out, s);
        }
        Value::Ip(IpAddr::V4(a)) => {
            out.push(5);
            out.extend(a.octets());
        }
        Value::Ip(IpAddr::V6(a)) => {
            out.push(6);
            out.extend(a.octets());
        }
    }
}

/// Reads what [`encode`] wrote; `None` when it is not that.
fn decode(buf: &[u8]) -> Option<Candidate> {
    let mut r = Reader { buf, at: 0 };
    let seq = u64::from_le_bytes(r.take()?);
    let n = u32::from_le_bytes(r.take()?) as usize;
    let queries = (0..n)
        .map(|_| r.take().map(u32::from_le_bytes))
        .collect::<Option<Box<[u32]>>>()?;
    let mut record = Record::new();
    record.set_flow(r.byte()? == 1);
    while r.at < buf.len() {
        match r.byte()? {
            0 => {
                let id = FieldId(u32::from_le_bytes(r.take()?));
                let v = r.value()?;
                record.set(id, v);
            }
            1 => {
                let name = r.text()?;
                let v = r.value()?;
                record.set_extra(name, v);
            }
            _ => return None,
        }
    }
    record.compact(portent_core::schema::ids::SUPPRESSED_BY.index() + 1);
    Some(Candidate {
        record,
        seq,
        queries,
    })
}

struct Reader<'b> {
    buf: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.buf.get(self.at..self.at.checked_add(N)?)?;
        self.at += N;
        bytes.try_into().ok()
    }

    fn byte(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn text(&mut self) -> Option<String> {
        let n = u32::from_le_bytes(self.take()?) as usize;
        let bytes = self.buf.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        String::from_utf8(bytes.to_vec()).ok()
    }

    fn value(&mut self) -> Option<Value<'static>> {
        Some(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(self.byte()? == 1),
            2 => Value::Int(i64::from_le_bytes(self.take()?)),
            3 => Value::Float(f64::from_bits(u64::from_le_bytes(self.take()?))),
            4 => Value::string(self.text()?),
            5 => Value::Ip(IpAddr::from(self.take::<4>()?)),
            6 => Value::Ip(IpAddr::from(self.take::<16>()?)),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(n: u64) -> Candidate {
        let mut r = Record::new();
        r.set(FieldId(3), Value::Int(-(n as i64)));
        r.set(
            FieldId(7),
            Value::string(format!("C:\\tmp\\ПРОЦЕСС {n}.exe")),
        );
        r.set(FieldId(900), Value::Float(0.5));
        r.set(FieldId(901), Value::Bool(true));
        r.set(FieldId(902), Value::Ip("10.1.2.3".parse().unwrap()));
        r.set(FieldId(903), Value::Ip("2001:db8::1".parse().unwrap()));
        r.set_extra("Custom Name", Value::str("x"));
        r.set_flow(n % 2 == 1);
        Candidate {
            record: r,
            seq: (n << 32) | 7,
            queries: vec![0, n as u32, 2_399].into(),
        }
    }

    fn fields(r: &Record<'_>) -> Vec<String> {
        let mut out = Vec::new();
        r.for_each(&mut |f, v| out.push(format!("{f:?}={v:?}")));
        out.sort();
        out
    }

    #[test]
    fn candidates_come_back_in_order_and_whole() {
        let mut spill = Spill::default();
        for n in 0..1_000 {
            spill.push(&candidate(n)).unwrap();
        }
        let mut back = Vec::new();
        spill.drain(&mut |c| back.push(c)).unwrap();
        assert_eq!(back.len(), 1_000);
        for (n, got) in back.iter().enumerate() {
            let want = candidate(n as u64);
            assert_eq!((got.seq, &got.queries), (want.seq, &want.queries));
            assert_eq!(got.record.is_flow(), want.record.is_flow());
            assert_eq!(fields(&got.record), fields(&want.record));
        }
    }

    #[test]
    fn damaged_bytes_are_refused_not_misread() {
        let mut buf = Vec::new();
        encode(&candidate(1), &mut buf);
        for cut in 0..buf.len() {
            // A cut can still parse when it falls between two fields; it
            // must never panic, and the whole candidate always parses.
            let _ = decode(&buf[..cut]);
        }
        assert!(decode(&buf).is_some());
        // After the sequence number, three query ids and the flow flag comes
        // the first field's kind: an unknown one is refused.
        let mut bad = buf.clone();
        bad[8 + 4 + 3 * 4 + 1] = 9;
        assert!(decode(&bad).is_none());
    }
}
