//! Joining connections to the creation of their process. A Sysmon event carries
//! its process's `ProcessGuid`; the creation (EID 1) has the command line and
//! the parent. Security 5156 has only a PID, which Windows reuses, so it joins
//! the latest 4688 of the same host and PID at or before the connection.
//! The index is built from every input before rows are produced, so file order
//! does not matter; its size is bounded, and evictions are counted.

use crate::windows::Kind;
use portent_core::schema::ids;
use portent_core::{Event, Record, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What the creation of a process tells about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Its command line.
    pub command: Option<String>,
    /// Its parent's image path.
    pub parent_path: Option<String>,
    /// Its parent's command line.
    pub parent_command: Option<String>,
    /// The name compiled into its image (Sysmon's `OriginalFileName`): a
    /// renamed binary keeps it, so rules on connections can see through renames.
    pub original_file_name: Option<String>,
    /// Which event it came from (`Sysmon 1`, `Security 4688`).
    pub from: &'static str,
}

/// A process creation found in the input.
#[derive(Clone, Debug)]
pub enum Creation {
    /// Sysmon EID 1, by normalised process GUID.
    Guid(String, ProcessInfo),
    /// Security 4688, by host, PID and time.
    Pid {
        /// Host, lower case.
        host: String,
        /// New process id.
        pid: i64,
        /// Creation time (epoch ms).
        time: i64,
        /// The facts.
        info: ProcessInfo,
    },
}

/// The Windows kind of a normalised record (no copies: this runs on every event).
pub fn kind_of(rec: &Record<'_>) -> Kind {
    let (channel, provider) = (rec.get(ids::CHANNEL), rec.get(ids::PROVIDER));
    crate::windows::kind(
        rec.get(ids::EVENT_ID).to_i64(),
        channel.as_str(),
        provider.as_str(),
    )
}

fn text(rec: &Record<'_>, id: portent_core::FieldId) -> Option<String> {
    rec.get(id).as_str().map(str::to_owned)
}

/// The creation a record describes, if it is one.
pub fn creation_of(rec: &Record<'_>) -> Option<Creation> {
    match kind_of(rec) {
        Kind::Sysmon(1) => {
            let guid = text(rec, ids::PROCESS_GUID)?;
            Some(Creation::Guid(
                guid,
                ProcessInfo {
                    command: text(rec, ids::COMMAND),
                    parent_path: text(rec, ids::PARENT_PROCESS_PATH),
                    parent_command: text(rec, ids::PARENT_COMMAND),
                    original_file_name: text(rec, ids::ORIGINAL_FILE_NAME),
                    from: "Sysmon 1",
                },
            ))
        }
        Kind::Security(4688) => Some(Creation::Pid {
            host: text(rec, ids::HOSTNAME)?.to_lowercase(),
            pid: rec.get(ids::PROCESS_ID).to_i64()?,
            time: rec.get(ids::STARTTIME).to_i64()?,
            info: ProcessInfo {
                command: text(rec, ids::COMMAND),
                parent_path: text(rec, ids::PARENT_PROCESS_PATH),
                parent_command: None,
                original_file_name: None,
                from: "Security 4688",
            },
        }),
        _ => None,
    }
}

/// How a record would be enriched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// By process GUID.
    Guid(String),
    /// By host, PID and time.
    Pid(String, i64, i64),
}

/// Every field [`key_of`] and [`ProcessIndex::enrich`] read: a copy of an
/// event with these (and the fields enrichment fills) joins like the event.
pub const KEY_FIELDS: &[portent_core::FieldId] = &[
    ids::EVENT_ID,
    ids::CHANNEL,
    ids::PROVIDER,
    ids::PROCESS_GUID,
    ids::HOSTNAME,
    ids::PROCESS_ID,
    ids::STARTTIME,
];

/// The key to enrich `rec` by: Sysmon events other than process creation that
/// name a process, and WFP events (5031, 5150-5159) with a PID.
pub fn key_of(rec: &Record<'_>) -> Option<Key> {
    match kind_of(rec) {
        Kind::Sysmon(1) => None,
        Kind::Sysmon(_) => text(rec, ids::PROCESS_GUID).map(Key::Guid),
        Kind::Security(5031 | 5150..=5159) => Some(Key::Pid(
            text(rec, ids::HOSTNAME)?.to_lowercase(),
            rec.get(ids::PROCESS_ID).to_i64()?,
            rec.get(ids::STARTTIME).to_i64()?,
        )),
        _ => None,
    }
}

/// The creations of one (host, PID), oldest first.
type Timeline = Vec<(i64, Arc<ProcessInfo>)>;

/// The creation index.
#[derive(Debug)]
pub struct ProcessIndex {
    guids: HashMap<String, Arc<ProcessInfo>>,
    pids: HashMap<(String, i64), Timeline>,
    order: VecDeque<EntryKey>,
    capacity: usize,
    /// Bytes held (an estimate: text and keys, plus bookkeeping).
    bytes: usize,
    max_bytes: usize,
    /// Entries dropped to stay within capacity (oldest first).
    pub evicted: u64,
}

/// About what an entry costs besides its text: the map slots, the `Arc`, the
/// order queue.
const ENTRY_OVERHEAD: usize = 160;

fn size_of(info: &ProcessInfo) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    ENTRY_OVERHEAD
        + text(&info.command)
        + text(&info.parent_path)
        + text(&info.parent_command)
        + text(&info.original_file_name)
}

#[derive(Debug)]
enum EntryKey {
    Guid(String),
    Pid(String, i64),
}

/// What enrichment did for one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not an event that names a process to look up.
    NotApplicable,
    /// The creation was found.
    Found,
    /// No creation of that process is in the input.
    Missing,
}

impl ProcessIndex {
    /// An empty index holding at most `capacity` processes.
    pub fn new(capacity: usize) -> ProcessIndex {
        ProcessIndex::with_budget(capacity, usize::MAX)
    }

    /// An empty index holding at most `capacity` processes and about
    /// `max_bytes` of them: memory stays bounded however many processes the
    /// input creates (the oldest go first, counted in `evicted`).
    pub fn with_budget(capacity: usize, max_bytes: usize) -> ProcessIndex {
        ProcessIndex {
            guids: HashMap::new(),
            pids: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            bytes: 0,
            max_bytes,
            evicted: 0,
        }
    }

    /// About how many bytes the index holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of processes held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Adds a creation, evicting the oldest entry when full.
    pub fn insert(&mut self, c: Creation) {
        if self.order.len() >= self.capacity {
            self.evict_one();
        }
        match c {
            Creation::Guid(g, info) => {
                self.bytes += size_of(&info) + g.len();
                match self.guids.insert(g.clone(), Arc::new(info)) {
                    None => self.order.push_back(EntryKey::Guid(g)),
                    Some(old) => self.bytes -= size_of(&old) + g.len(),
                }
            }
            Creation::Pid {
                host,
                pid,
                time,
                info,
            } => {
                self.bytes += size_of(&info) + host.len();
                let list = self.pids.entry((host.clone(), pid)).or_default();
                let at = list.partition_point(|(t, _)| *t <= time);
                // The same creation read again (a log collected twice, a
                // copy in a backup folder) is one process: it replaces the
                // entry rather than holding a second.
                match at.checked_sub(1).filter(|&i| list[i].0 == time) {
                    Some(i) => {
                        let old = std::mem::replace(&mut list[i].1, Arc::new(info));
                        self.bytes -= size_of(&old) + host.len();
                    }
                    None => {
                        list.insert(at, (time, Arc::new(info)));
                        self.order.push_back(EntryKey::Pid(host, pid));
                    }
                }
            }
        }
        while self.bytes > self.max_bytes && self.order.len() > 1 {
            self.evict_one();
        }
    }

    fn evict_one(&mut self) {
        let Some(k) = self.order.pop_front() else {
            return;
        };
        self.evicted += 1;
        match k {
            EntryKey::Guid(g) => {
                if let Some(old) = self.guids.remove(&g) {
                    self.bytes = self.bytes.saturating_sub(size_of(&old) + g.len());
                }
            }
            EntryKey::Pid(h, p) => {
                let host_len = h.len();
                let key = (h, p);
                let empty = match self.pids.get_mut(&key) {
                    Some(list) => {
                        if !list.is_empty() {
                            let (_, old) = list.remove(0);
                            self.bytes = self.bytes.saturating_sub(size_of(&old) + host_len);
                        }
                        list.is_empty()
                    }
                    None => false,
                };
                if empty {
                    self.pids.remove(&key);
                }
            }
        }
    }

    /// The creation `key` refers to.
    pub fn lookup(&self, key: &Key) -> Option<&ProcessInfo> {
        match key {
            Key::Guid(g) => self.guids.get(g).map(|a| &**a),
            Key::Pid(h, p, t) => {
                let list = self.pids.get(&(h.clone(), *p))?;
                let at = list.partition_point(|(ct, _)| *ct <= *t);
                at.checked_sub(1).map(|i| &*list[i].1)
            }
        }
    }

    /// Fills the command, parent and parent command of `rec` from its process's
    /// creation (fields the event itself has are kept), and says in `Enrichment`
    /// whether the creation was found.
    pub fn enrich(&self, rec: &mut Record<'static>) -> Outcome {
        let Some(key) = key_of(rec) else {
            return Outcome::NotApplicable;
        };
        match self.lookup(&key) {
            Some(info) => {
                let fill = |rec: &mut Record<'static>, id, v: &Option<String>| {
                    if let (Some(v), true) = (v, rec.get(id).is_null()) {
                        rec.set(id, Value::string(v.clone()));
                    }
                };
                fill(rec, ids::COMMAND, &info.command);
                fill(rec, ids::PARENT_PROCESS_NAME, &info.parent_path);
                fill(rec, ids::PARENT_PROCESS_PATH, &info.parent_path);
                fill(rec, ids::PARENT_COMMAND, &info.parent_command);
                fill(rec, ids::ORIGINAL_FILE_NAME, &info.original_file_name);
                rec.set(
                    ids::ENRICHMENT,
                    Value::string(format!("found: {}", info.from)),
                );
                Outcome::Found
            }
            None => {
                rec.set(ids::ENRICHMENT, Value::str("no process creation in input"));
                Outcome::Missing
            }
        }
    }
}

/// Fields enrichment fills: a query reading any of them needs the index.
pub const ENRICHED_FIELDS: &[portent_core::FieldId] = &[
    ids::COMMAND,
    ids::PARENT_PROCESS_NAME,
    ids::PARENT_PROCESS_PATH,
    ids::PARENT_COMMAND,
    ids::ORIGINAL_FILE_NAME,
    ids::ENRICHMENT,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn security(eid: i64, host: &str, pid: i64, time: i64) -> Record<'static> {
        let mut r = Record::new();
        r.set(ids::EVENT_ID, Value::Int(eid));
        r.set(ids::CHANNEL, Value::str("Security"));
        r.set(ids::HOSTNAME, Value::string(host.to_owned()));
        r.set(ids::PROCESS_ID, Value::Int(pid));
        r.set(ids::STARTTIME, Value::Int(time));
        r
    }

    #[test]
    fn pid_reuse_picks_the_latest_creation_before_the_connection() {
        let mut idx = ProcessIndex::new(100);
        for (t, cmd) in [(100, "first"), (300, "second")] {
            let mut c = security(4688, "PC", 42, t);
            c.set(ids::COMMAND, Value::str(cmd));
            idx.insert(creation_of(&c).unwrap());
        }
        let mut conn = security(5156, "pc", 42, 200);
        assert_eq!(idx.enrich(&mut conn), Outcome::Found);
        assert_eq!(conn.get(ids::COMMAND), Value::str("first"));
        let mut conn = security(5156, "pc", 42, 400);
        idx.enrich(&mut conn);
        assert_eq!(conn.get(ids::COMMAND), Value::str("second"));
        let mut early = security(5156, "pc", 42, 50);
        assert_eq!(idx.enrich(&mut early), Outcome::Missing);
        assert_eq!(
            early.get(ids::ENRICHMENT),
            Value::str("no process creation in input")
        );
    }

    #[test]
    fn the_same_creation_read_twice_is_one_process() {
        let mut idx = ProcessIndex::new(100);
        let mut c = security(4688, "PC", 42, 100);
        c.set(ids::COMMAND, Value::str("a.exe"));
        idx.insert(creation_of(&c).unwrap());
        let once = (idx.len(), idx.bytes());
        c.set(ids::COMMAND, Value::str("a.exe --again"));
        idx.insert(creation_of(&c).unwrap());
        assert_eq!(idx.len(), once.0);
        assert_eq!(idx.bytes(), once.1 + "--again ".len());
        let mut conn = security(5156, "pc", 42, 200);
        assert_eq!(idx.enrich(&mut conn), Outcome::Found);
        assert_eq!(conn.get(ids::COMMAND), Value::str("a.exe --again"));
        // Another creation of PID 42, later: a second process.
        idx.insert(creation_of(&security(4688, "PC", 42, 150)).unwrap());
        assert_eq!(idx.len(), once.0 + 1);
    }

    #[test]
    fn a_copy_with_the_key_fields_joins_like_the_event() {
        let mut sysmon3 = Record::new();
        sysmon3.set(ids::EVENT_ID, Value::Int(3));
        sysmon3.set(
            ids::CHANNEL,
            Value::str("Microsoft-Windows-Sysmon/Operational"),
        );
        sysmon3.set(ids::PROVIDER, Value::str("Microsoft-Windows-Sysmon"));
        sysmon3.set(ids::PROCESS_GUID, Value::str("{g}"));
        sysmon3.set(ids::DESTINATIONPORT, Value::Int(443));
        let mut security = security(5156, "PC", 42, 200);
        security.set(
            ids::PROVIDER,
            Value::str("Microsoft-Windows-Security-Auditing"),
        );
        let mut keys = KEY_FIELDS.to_vec();
        keys.extend(ENRICHED_FIELDS);
        keys.sort_unstable();
        for rec in [sysmon3, security] {
            let want = key_of(&rec);
            assert!(want.is_some());
            let mut copy = rec.clone();
            copy.retain(&keys, 8);
            assert_eq!(format!("{:?}", key_of(&copy)), format!("{want:?}"));
        }
    }

    #[test]
    fn the_byte_budget_evicts_the_oldest_and_replacing_costs_nothing_more() {
        // Each creation: the overhead, a 1,000-byte command line, its host.
        let mut idx = ProcessIndex::with_budget(1_000_000, 3 * (ENTRY_OVERHEAD + 1_002));
        let long = "x".repeat(1_000);
        for pid in 1..=5 {
            let mut c = security(4688, "PC", pid, pid * 10);
            c.set(ids::COMMAND, Value::string(long.clone()));
            idx.insert(creation_of(&c).unwrap());
            assert!(
                idx.bytes() <= 3 * (ENTRY_OVERHEAD + 1_002),
                "{}",
                idx.bytes()
            );
        }
        assert_eq!((idx.len(), idx.evicted), (3, 2));
        assert_eq!(
            idx.enrich(&mut security(5156, "pc", 1, 100)),
            Outcome::Missing
        );
        assert_eq!(
            idx.enrich(&mut security(5156, "pc", 5, 100)),
            Outcome::Found
        );
        // The same GUID again replaces its entry: the bytes do not grow.
        let mut g = ProcessIndex::with_budget(10, usize::MAX);
        let sysmon1 = |cmd: &str| {
            let mut r = Record::new();
            r.set(ids::EVENT_ID, Value::Int(1));
            r.set(
                ids::CHANNEL,
                Value::str("Microsoft-Windows-Sysmon/Operational"),
            );
            r.set(ids::PROCESS_GUID, Value::str("{g}"));
            r.set(ids::COMMAND, Value::string(cmd.to_owned()));
            r
        };
        g.insert(creation_of(&sysmon1("a")).unwrap());
        let once = g.bytes();
        for _ in 0..10 {
            g.insert(creation_of(&sysmon1("b")).unwrap());
        }
        assert_eq!((g.bytes(), g.len()), (once, 1));
    }

    #[test]
    fn sysmon_by_guid_and_eviction() {
        let mut idx = ProcessIndex::new(1);
        let sysmon = |eid: i64, guid: &str| {
            let mut r = Record::new();
            r.set(ids::EVENT_ID, Value::Int(eid));
            r.set(
                ids::CHANNEL,
                Value::str("Microsoft-Windows-Sysmon/Operational"),
            );
            r.set(ids::PROCESS_GUID, Value::string(guid.to_owned()));
            r
        };
        let mut one = sysmon(1, "a");
        one.set(ids::COMMAND, Value::str("powershell -enc"));
        one.set(ids::PARENT_PROCESS_PATH, Value::str("C:\\cmd.exe"));
        idx.insert(creation_of(&one).unwrap());
        let mut three = sysmon(3, "a");
        assert_eq!(idx.enrich(&mut three), Outcome::Found);
        assert_eq!(
            three.get(ids::PARENT_PROCESS_NAME),
            Value::str("C:\\cmd.exe")
        );
        idx.insert(creation_of(&sysmon(1, "b")).unwrap());
        assert_eq!(idx.evicted, 1);
        assert_eq!(idx.enrich(&mut sysmon(3, "a")), Outcome::Missing);
        assert_eq!(idx.enrich(&mut sysmon(11, "b")), Outcome::Found);
    }
}
