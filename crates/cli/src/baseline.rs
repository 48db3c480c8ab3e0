//! A learned process-to-port baseline: which process images talk to which
//! destination ports and destination classes in data known to be good, with
//! counts and first/last seen. A hunt compares against it: hits that fit are
//! marked `known`, and process/port pairs never seen before become findings of
//! their own (the seed's "unexpected processes communicating over well-known
//! ports").

use anyhow::{bail, Context, Result};
use portent_core::schema::ids;
use portent_core::{Event, Record};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The AQL that selects the connections a baseline is about.
pub const CONNECTIONS: &str = "SELECT \"Process Name\" FROM events WHERE destinationport IS NOT NULL AND \"Process Name\" IS NOT NULL";

/// One learned pair.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// Image file name, lower case (`powershell.exe`).
    pub process: String,
    /// Destination port.
    pub port: i64,
    /// Destination class (`private`, `public`, ...), when the address was known.
    pub class: Option<String>,
    /// Connections seen.
    pub count: u64,
    /// First and last seen (epoch ms).
    pub first_seen: Option<i64>,
    /// Last seen.
    pub last_seen: Option<i64>,
}

/// A baseline file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Shape version.
    pub schema_version: u32,
    /// What it was learned from.
    pub learned_from: Vec<String>,
    /// The pairs.
    pub entries: Vec<Entry>,
    #[serde(skip)]
    index: BTreeMap<(String, i64), Vec<usize>>,
}

/// The key of a connection: image file name (lower case), port, class.
pub fn key_of(rec: &Record<'_>) -> Option<(String, i64, Option<String>)> {
    let path = rec.get(ids::PROCESS_NAME);
    let path = path.as_str()?;
    let name = path
        .rsplit(['\\', '/'])
        .next()
        .unwrap_or(path)
        .to_lowercase();
    let port = rec.get(ids::DESTINATIONPORT).to_i64()?;
    let class = rec.get(ids::DESTINATION_CLASS).as_str().map(str::to_owned);
    Some((name, port, class))
}

impl Baseline {
    /// Adds one connection.
    pub fn learn(&mut self, rec: &Record<'_>) {
        let Some((process, port, class)) = key_of(rec) else {
            return;
        };
        let t = rec.get(ids::STARTTIME).to_i64();
        let slots = self.index.entry((process.clone(), port)).or_default();
        let found = slots
            .iter()
            .copied()
            .find(|i| self.entries[*i].class == class);
        let i = match found {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    process,
                    port,
                    class,
                    count: 0,
                    first_seen: None,
                    last_seen: None,
                });
                slots.push(self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[i];
        e.count += 1;
        if let Some(t) = t {
            e.first_seen = Some(e.first_seen.map_or(t, |f| f.min(t)));
            e.last_seen = Some(e.last_seen.map_or(t, |l| l.max(t)));
        }
    }

    /// Whether the pair of `rec` was seen: `Some(true)` with the same class,
    /// `Some(false)` never, `None` when `rec` is not a connection.
    pub fn knows(&self, rec: &Record<'_>) -> Option<bool> {
        let (process, port, class) = key_of(rec)?;
        Some(self.index.get(&(process, port)).is_some_and(|slots| {
            slots.iter().any(|i| {
                class.is_none()
                    || self.entries[*i].class.is_none()
                    || self.entries[*i].class == class
            })
        }))
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.index
                .entry((e.process.clone(), e.port))
                .or_default()
                .push(i);
        }
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        let mut b: Baseline = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}:{}: not a Portent baseline: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if b.schema_version != 1 {
            bail!(
                "{}: baseline schema_version {} is not supported (1 is)",
                path.display(),
                b.schema_version
            );
        }
        b.reindex();
        Ok(b)
    }

    /// Writes the baseline, sorted, atomically.
    pub fn save(&mut self, path: &Path) -> Result<()> {
        self.schema_version = 1;
        self.entries
            .sort_by(|a, b| (&a.process, a.port, &a.class).cmp(&(&b.process, b.port, &b.class)));
        self.reindex();
        let text = serde_json::to_string_pretty(self)? + "\n";
        crate::output::atomic(path, &mut |out| {
            std::io::Write::write_all(out, text.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portent_core::Value;

    fn conn(path: &str, port: i64, class: &str, t: i64) -> Record<'static> {
        let mut r = Record::new();
        r.set(ids::PROCESS_NAME, Value::string(path.to_owned()));
        r.set(ids::DESTINATIONPORT, Value::Int(port));
        r.set(ids::DESTINATION_CLASS, Value::string(class.to_owned()));
        r.set(ids::STARTTIME, Value::Int(t));
        r
    }

    #[test]
    fn learns_pairs_and_recognises_them() {
        let mut b = Baseline::default();
        b.learn(&conn(
            "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.exe",
            443,
            "private",
            5,
        ));
        b.learn(&conn(
            "\\device\\harddiskvolume2\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
            443,
            "private",
            2,
        ));
        assert_eq!(b.entries.len(), 1);
        assert_eq!(
            (
                b.entries[0].count,
                b.entries[0].first_seen,
                b.entries[0].last_seen
            ),
            (2, Some(2), Some(5))
        );
        assert_eq!(
            b.knows(&conn("D:\\x\\powershell.exe", 443, "private", 9)),
            Some(true)
        );
        assert_eq!(
            b.knows(&conn("D:\\x\\powershell.exe", 443, "public", 9)),
            Some(false),
            "new class"
        );
        assert_eq!(
            b.knows(&conn("D:\\x\\powershell.exe", 80, "private", 9)),
            Some(false)
        );
        assert_eq!(b.knows(&Record::new()), None);
        let p = std::env::temp_dir().join(format!("portent-baseline-{}.json", std::process::id()));
        b.save(&p).unwrap();
        let again = Baseline::load(&p).unwrap();
        assert_eq!(again.entries, b.entries);
        assert_eq!(
            again.knows(&conn("x\\powershell.exe", 443, "private", 0)),
            Some(true)
        );
    }
}
