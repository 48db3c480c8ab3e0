//! The field catalog: QRadar's normalised event and flow fields, the custom
//! properties Portent's readers fill, their historical aliases, and an interner
//! that turns any other name into a stable [`FieldId`] once, when a query compiles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Readers look up every key of every event: a multiply-and-rotate hash of
/// the name is several times cheaper than SipHash for these short keys. The
/// map is only read with input keys (never grown from them), so colliding
/// names can slow a lookup down no further than the map's own chains.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type NameHash = BuildHasherDefault<NameHasher>;

/// A field's index in a [`Schema`]. Events are looked up by id, never by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

impl FieldId {
    /// The id as an index into dense per-event storage.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a field holds, as far as the catalog knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Epoch milliseconds.
    Time,
    /// An integer (ids, counts, categories).
    Int,
    /// A TCP/UDP port.
    Port,
    /// An IP address.
    Ip,
    /// Text.
    Str,
    /// A boolean.
    Bool,
    /// Raw payload bytes (read with `UTF8()`).
    Payload,
}

/// Where a field comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// One of QRadar's normalised columns (`sourceip`, `devicetype`, ...).
    Standard,
    /// A custom event property Portent's readers fill (`"Process Name"`, ...).
    Property,
    /// Any other name a query or an input used.
    Dynamic,
}

/// One field of the catalog.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Canonical spelling.
    pub name: String,
    /// Known type, if any.
    pub ty: Option<FieldType>,
    /// Origin.
    pub kind: FieldKind,
}

/// Field name to id, case-insensitively, with aliases.
///
/// The standard fields have fixed ids (see the `STANDARD` constants) so that
/// readers can set them without a lookup.
#[derive(Clone, Debug)]
pub struct Schema {
    defs: Vec<FieldDef>,
    by_name: HashMap<String, FieldId, NameHash>,
    /// Changes whenever the schema does; equal stamps mean equal schemas
    /// (a clone keeps it), so readers can cache name lookups by it.
    stamp: u64,
}

/// Hands out schema stamps.
static STAMPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_stamp() -> u64 {
    STAMPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

macro_rules! standard_fields {
    ($( $konst:ident = $name:literal : $ty:ident ),* $(,)?) => {
        /// Fixed ids of QRadar's normalised fields and Portent's custom properties.
        pub mod ids {
            use super::FieldId;
            standard_fields!(@consts 0u32; $( $konst ),*);
        }
        const STANDARD: &[(&str, FieldType)] = &[ $( ($name, FieldType::$ty) ),* ];
    };
    (@consts $n:expr; $first:ident $(, $rest:ident)*) => {
        #[allow(missing_docs)]
        pub const $first: FieldId = FieldId($n);
        standard_fields!(@consts $n + 1u32; $( $rest ),*);
    };
    (@consts $n:expr;) => {};
}

standard_fields! {
    STARTTIME = "starttime": Time,
    ENDTIME = "endtime": Time,
    DEVICETIME = "devicetime": Time,
    SOURCEIP = "sourceip": Ip,
    DESTINATIONIP = "destinationip": Ip,
    SOURCEPORT = "sourceport": Port,
    DESTINATIONPORT = "destinationport": Port,
    PROTOCOLID = "protocolid": Int,
    USERNAME = "username": Str,
    DEVICETYPE = "devicetype": Int,
    LOGSOURCEID = "logsourceid": Int,
    LOGSOURCENAME = "logsourcename": Str,
    CATEGORY = "category": Int,
    HIGHLEVELCATEGORY = "highlevelcategory": Int,
    QID = "qid": Int,
    EVENTCOUNT = "eventcount": Int,
    MAGNITUDE = "magnitude": Int,
    SEVERITY = "severity": Int,
    CREDIBILITY = "credibility": Int,
    RELEVANCE = "relevance": Int,
    PAYLOAD = "payload": Payload,
    EVENTDIRECTION = "eventdirection": Str,
    SOURCEADDRESS = "sourceaddress": Ip,
    DESTINATIONADDRESS = "destinationaddress": Ip,
    SOURCEV6 = "sourcev6": Ip,
    DESTINATIONV6 = "destinationv6": Ip,
    SOURCEMAC = "sourcemac": Str,
    DESTINATIONMAC = "destinationmac": Str,
    HASIDENTITY = "hasidentity": Bool,
    HASOFFENSE = "hasoffense": Bool,
    DOMAINID = "domainid": Int,
    IDENTITYIP = "identityip": Ip,
    IDENTITYHOSTNAME = "identityhostname": Str,
    CREEVENTLIST = "creeventlist": Str,
    PROCESSORID = "processorid": Int,
    DURATION = "duration": Int,
    ISDUPLICATE = "isduplicate": Bool,
    SOURCEBYTES = "sourcebytes": Int,
    DESTINATIONBYTES = "destinationbytes": Int,
    SOURCEPACKETS = "sourcepackets": Int,
    DESTINATIONPACKETS = "destinationpackets": Int,
    FIRSTPACKETTIME = "firstpackettime": Time,
    LASTPACKETTIME = "lastpackettime": Time,
    FLOWTYPE = "flowtype": Int,
    FLOWDIRECTION = "flowdirection": Str,
    APPLICATIONID = "applicationid": Int,
    PROCESS_NAME = "Process Name": Str,
    PROCESS_PATH = "Process Path": Str,
    COMMAND = "Command": Str,
    PARENT_PROCESS_NAME = "Parent Process Name": Str,
    PARENT_PROCESS_PATH = "Parent Process Path": Str,
    PARENT_COMMAND = "Parent Command": Str,
    PROCESS_ID = "Process ID": Int,
    PARENT_PROCESS_ID = "Parent Process ID": Int,
    PROCESS_GUID = "Process Guid": Str,
    PARENT_PROCESS_GUID = "Parent Process Guid": Str,
    EVENT_ID = "Event ID": Int,
    FILENAME = "Filename": Str,
    ORIGINAL_FILE_NAME = "Original File Name": Str,
    DESTINATION_HOSTNAME = "Destination Hostname": Str,
    INITIATED = "Initiated": Bool,
    HOSTNAME = "Hostname": Str,
    CHANNEL = "Channel": Str,
    PROVIDER = "Provider": Str,
    RECORD_NUMBER = "Record Number": Int,
    ENRICHMENT = "Enrichment": Str,
    DIRECTION = "Direction": Str,
    SOURCE_FILE = "Source File": Str,
    DESTINATION_CLASS = "Destination Class": Str,
    SUPPRESSED_BY = "Suppressed By": Str,
}

/// Index of the first custom property in `STANDARD`: the ones before are QRadar columns.
const FIRST_PROPERTY: u32 = ids::PROCESS_NAME.0;

/// Historical and alternative spellings, resolved to the canonical field.
///
/// `LOGSOURCETYPEID` is not an AQL field; the seed query uses it for `devicetype`
/// (AQL-NOTES §0). The property spellings come from IBM's 7.4.3 re-baselining
/// (`Process CommandLine` became `Command`, `Process Id` became `Process ID`) and
/// Cisco AMP's `Parent Filename` (AQL-NOTES §5.1).
const ALIASES: &[(&str, &str)] = &[
    ("logsourcetypeid", "devicetype"),
    ("Process CommandLine", "Command"),
    ("Process Command Line", "Command"),
    ("Parent Filename", "Parent Process Name"),
    ("Parent Process CommandLine", "Parent Command"),
    ("Event ID Code", "Event ID"),
    ("qidEventId", "Event ID"),
    ("Machine Identifier", "Hostname"),
    // The Windows event header as raw EVTX, evtx_dump and Winlogbeat name
    // it, and as Sigma rules (and Hayabusa and Chainsaw) write it: the same
    // values the readers normalise, so a rule's `EventID: 4624` or
    // `Provider_Name: ...` reads them whichever layout the event came in.
    ("EventID", "Event ID"),
    ("EventId", "Event ID"),
    ("event_id", "Event ID"),
    ("Provider_Name", "Provider"),
    ("ProviderName", "Provider"),
    ("provider_name", "Provider"),
    ("SourceName", "Provider"),
    ("Computer", "Hostname"),
    ("ComputerName", "Hostname"),
    ("computer_name", "Hostname"),
    ("EventRecordID", "Record Number"),
    ("EventRecordId", "Record Number"),
    ("record_id", "Record Number"),
    ("RecordNumber", "Record Number"),
];

impl Schema {
    /// The QRadar catalog: standard fields with fixed ids, properties and aliases.
    pub fn qradar() -> Schema {
        let mut schema = Schema {
            defs: Vec::new(),
            by_name: HashMap::default(),
            stamp: next_stamp(),
        };
        for (i, (name, ty)) in STANDARD.iter().enumerate() {
            let kind = if (i as u32) < FIRST_PROPERTY {
                FieldKind::Standard
            } else {
                FieldKind::Property
            };
            schema.push(FieldDef {
                name: (*name).to_owned(),
                ty: Some(*ty),
                kind,
            });
        }
        for (alias, target) in ALIASES {
            if let Some(id) = schema.resolve(target) {
                schema.by_name.insert(fold(alias), id);
            }
        }
        schema
    }

    /// Identifies this schema's content: see the field's documentation.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    fn push(&mut self, def: FieldDef) -> FieldId {
        self.stamp = next_stamp();
        let id = FieldId(self.defs.len() as u32);
        self.by_name.insert(fold(&def.name), id);
        self.defs.push(def);
        id
    }

    /// The id of `name` (any case, or an alias), if the catalog has it.
    pub fn resolve(&self, name: &str) -> Option<FieldId> {
        if let Some(id) = self.by_name.get(name) {
            return Some(*id);
        }
        // Readers resolve every key of every event: fold short ASCII names on
        // the stack instead of allocating.
        let mut buf = [0u8; 64];
        if name.is_ascii() && name.len() <= buf.len() {
            let folded = &mut buf[..name.len()];
            folded.copy_from_slice(name.as_bytes());
            folded.make_ascii_lowercase();
            let key = std::str::from_utf8(folded).ok()?;
            return self.by_name.get(key).copied();
        }
        self.by_name.get(&fold(name)).copied()
    }

    /// The id of `name`, adding it as a dynamic field if it is new.
    pub fn intern(&mut self, name: &str) -> FieldId {
        match self.resolve(name) {
            Some(id) => id,
            None => self.push(FieldDef {
                name: name.to_owned(),
                ty: None,
                kind: FieldKind::Dynamic,
            }),
        }
    }

    /// The definition of `id`.
    pub fn def(&self, id: FieldId) -> Option<&FieldDef> {
        self.defs.get(id.index())
    }

    /// Canonical name of `id` (empty if unknown).
    pub fn name(&self, id: FieldId) -> &str {
        self.def(id).map_or("", |d| d.name.as_str())
    }

    /// Number of ids handed out; dense event storage needs this many slots.
    pub fn len(&self) -> usize {
        self.defs.len()
    }

    /// True when there are no fields (never for [`Schema::qradar`]).
    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    /// True when `name` is a canonical spelling rather than an alias or a new name.
    pub fn is_alias(&self, name: &str) -> bool {
        match self.resolve(name) {
            Some(id) => !self.name(id).eq_ignore_ascii_case(name),
            None => false,
        }
    }

    /// All names the catalog knows (canonical and aliases), for "did you mean".
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|d| d.name.as_str())
    }
}

fn fold(name: &str) -> String {
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        name.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_ids_match_names() {
        let s = Schema::qradar();
        assert_eq!(s.resolve("starttime"), Some(ids::STARTTIME));
        assert_eq!(s.resolve("DestinationPort"), Some(ids::DESTINATIONPORT));
        assert_eq!(s.resolve("process name"), Some(ids::PROCESS_NAME));
        assert_eq!(s.name(ids::ENRICHMENT), "Enrichment");
        assert_eq!(s.def(ids::DEVICETYPE).unwrap().kind, FieldKind::Standard);
        assert_eq!(s.def(ids::COMMAND).unwrap().kind, FieldKind::Property);
    }

    #[test]
    fn aliases_resolve() {
        let s = Schema::qradar();
        assert_eq!(s.resolve("LOGSOURCETYPEID"), Some(ids::DEVICETYPE));
        assert_eq!(s.resolve("Process CommandLine"), Some(ids::COMMAND));
        assert!(s.is_alias("LogSourceTypeId"));
        assert!(!s.is_alias("devicetype"));
    }

    #[test]
    fn intern_is_stable() {
        let mut s = Schema::qradar();
        let a = s.intern("My Property");
        assert_eq!(s.intern("my property"), a);
        assert_eq!(s.len(), a.index() + 1);
    }
}
