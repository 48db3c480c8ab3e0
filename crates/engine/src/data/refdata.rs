//! QRadar reference data offline: reference sets, maps, maps of sets and
//! tables, loaded from files, for `REFERENCESETCONTAINS`, `REFERENCEMAP`,
//! `REFERENCEMAPSETCONTAINS` and `REFERENCETABLE`.
//!
//! Files: the JSON QRadar's REST API returns for a collection
//! (`GET /api/reference_data/{sets,maps,map_of_sets,tables}/NAME`: `name`,
//! `element_type`, `time_to_live`, `timeout_type`, `data`), one object or an
//! array of them; or CSV named after the collection, whose header says what it
//! is (`value`: a set; `key,value`: a map, or a map of sets when a key repeats;
//! `key,COLUMN,...`: a table), optional `first_seen`/`last_seen` columns (epoch
//! ms) and an optional first line `# element_type=IP time_to_live=7d
//! timeout_type=LAST_SEEN`.
//!
//! Values compare by element type, as QRadar stores them: `ALN` exactly,
//! `ALNIC` without case, `NUM` as numbers, `IP` as addresses, `PORT` as port
//! numbers, `DATE` as epoch ms, `CIDR` (sets) as networks an address falls in.
//! An element past its time to live (from its first or last sighting, as
//! `timeout_type` says) is gone at the query's NOW().

use crate::ir::Cidr;
use portent_core::Value;
use serde_json::Value as J;
use std::collections::HashMap;

/// How a collection's values compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementType {
    /// Alphanumeric, exact.
    Aln,
    /// Alphanumeric, ignoring case.
    Alnic,
    /// Numbers.
    Num,
    /// IP addresses.
    Ip,
    /// Ports.
    Port,
    /// Dates (epoch ms).
    Date,
    /// Networks (an address is in the set when a network holds it).
    Cidr,
}

impl ElementType {
    /// Parses QRadar's name (`ALN`, `ALNIC`, `NUM`, `IP`, `PORT`, `DATE`, `CIDR`).
    pub fn parse(s: &str) -> Option<ElementType> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "ALN" | "" => ElementType::Aln,
            "ALNIC" => ElementType::Alnic,
            "NUM" => ElementType::Num,
            "IP" => ElementType::Ip,
            "PORT" => ElementType::Port,
            "DATE" => ElementType::Date,
            "CIDR" => ElementType::Cidr,
            _ => return None,
        })
    }

    /// `v` as this type stores it, or `None` when it is not one.
    fn key(self, v: &str) -> Option<String> {
        let v = v.trim();
        match self {
            ElementType::Aln => Some(v.to_owned()),
            ElementType::Alnic => Some(v.to_lowercase()),
            ElementType::Num => v.parse::<f64>().ok().map(|n| {
                if n.fract() == 0.0 && n.abs() < 9e15 {
                    (n as i64).to_string()
                } else {
                    n.to_string()
                }
            }),
            ElementType::Ip => portent_core::value::parse_ip(v).map(|ip| ip.to_string()),
            ElementType::Port => v
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= 65_535)
                .map(|p| p.to_string()),
            ElementType::Date => v.parse::<i64>().ok().map(|d| d.to_string()),
            ElementType::Cidr => Cidr::parse(v)
                .ok()
                .map(|c| format!("{}/{}", c.addr, c.prefix)),
        }
    }
}

/// What kind of collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Unique values.
    Set,
    /// Key to one value.
    Map,
    /// Key to a set of values.
    MapOfSets,
    /// Key to named, typed columns.
    Table,
}

impl Kind {
    /// For messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Set => "reference set",
            Kind::Map => "reference map",
            Kind::MapOfSets => "reference map of sets",
            Kind::Table => "reference table",
        }
    }
}

/// When an element was first and last seen (epoch ms), for time to live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Seen {
    first: Option<i64>,
    last: Option<i64>,
}

/// One collection.
#[derive(Clone, Debug)]
pub struct Collection {
    /// Its name as given.
    pub name: String,
    /// Set, map, map of sets or table.
    pub kind: Kind,
    /// How values compare (a table's columns may each have their own).
    pub element_type: ElementType,
    /// Time to live, in ms.
    pub ttl_ms: Option<i64>,
    /// Time to live counts from the first sighting (else the last).
    pub from_first_seen: bool,
    /// The file it came from.
    pub origin: String,
    values: HashMap<String, Seen>,
    networks: Vec<(Cidr, Seen)>,
    /// Map and map of sets: key -> values; table: key -> column -> value.
    entries: HashMap<String, Vec<(String, String, Seen)>>,
    columns: HashMap<String, ElementType>,
}

impl Collection {
    fn new(name: &str, kind: Kind, element_type: ElementType, origin: &str) -> Collection {
        Collection {
            name: name.to_owned(),
            kind,
            element_type,
            ttl_ms: None,
            from_first_seen: false,
            origin: origin.to_owned(),
            values: HashMap::new(),
            networks: Vec::new(),
            entries: HashMap::new(),
            columns: HashMap::new(),
        }
    }

    /// Elements (set) or keys (the others).
    pub fn len(&self) -> usize {
        self.values.len() + self.networks.len() + self.entries.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn alive(&self, s: &Seen, now: i64) -> bool {
        let Some(ttl) = self.ttl_ms else { return true };
        let from = if self.from_first_seen {
            s.first
        } else {
            s.last.or(s.first)
        };
        from.is_none_or(|t| t.saturating_add(ttl) >= now)
    }

    fn column_type(&self, column: &str) -> ElementType {
        self.columns
            .get(column)
            .copied()
            .unwrap_or(self.element_type)
    }

    fn add_value(&mut self, v: &str, seen: Seen) -> Result<(), String> {
        if self.element_type == ElementType::Cidr {
            let c = Cidr::parse(v).map_err(|e| format!("`{v}`: {e}"))?;
            self.networks.push((c, seen));
            return Ok(());
        }
        let k = self
            .element_type
            .key(v)
            .ok_or_else(|| format!("`{v}` is not a {:?} value", self.element_type))?;
        self.values.insert(k, seen);
        Ok(())
    }

    fn add_entry(&mut self, key: &str, column: &str, v: &str, seen: Seen) -> Result<(), String> {
        let ty = self.column_type(column);
        let stored = ty
            .key(v)
            .ok_or_else(|| format!("`{v}` (key `{key}`) is not a {ty:?} value"))?;
        let list = self.entries.entry(key.to_owned()).or_default();
        if self.kind == Kind::Map || self.kind == Kind::Table {
            list.retain(|(c, _, _)| c != column);
        }
        list.push((column.to_owned(), stored, seen));
        Ok(())
    }
}

/// Every collection loaded, by name (without case), and the network
/// hierarchy and assets that NETWORKNAME and the ASSET functions read.
#[derive(Clone, Debug, Default)]
pub struct ReferenceData {
    by_name: HashMap<String, Collection>,
    /// Networks, most specific (longest prefix) first.
    networks: Vec<(Cidr, String)>,
    /// Asset address -> (property, value), properties lower case.
    assets: HashMap<String, Vec<(String, String)>>,
    /// The MaxMind database GEO::LOOKUP and GEO::DISTANCE read.
    geo: Option<std::sync::Arc<crate::geo::GeoDb>>,
}

/// A value as text, for lookups.
fn text(v: &Value<'_>) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Ip(ip) => Some(ip.to_string()),
        other => other.to_text().map(|t| t.into_owned()),
    }
}

impl ReferenceData {
    /// The collection called `name`.
    pub fn get(&self, name: &str) -> Option<&Collection> {
        self.by_name.get(&name.to_lowercase())
    }

    /// True when a network hierarchy is loaded.
    pub fn has_networks(&self) -> bool {
        !self.networks.is_empty()
    }

    /// Networks and assets loaded.
    pub fn counts(&self) -> (usize, usize) {
        (self.networks.len(), self.assets.len())
    }

    /// The GeoIP database, when one is loaded.
    pub fn geo(&self) -> Option<&crate::geo::GeoDb> {
        self.geo.as_deref()
    }

    /// Sets the GeoIP database; false when one was already loaded.
    pub fn set_geo(&mut self, db: crate::geo::GeoDb) -> bool {
        let first = self.geo.is_none();
        self.geo = Some(std::sync::Arc::new(db));
        first
    }

    /// True when assets are loaded.
    pub fn has_assets(&self) -> bool {
        !self.assets.is_empty()
    }

    /// `NETWORKNAME(ip)`: the name of the most specific network holding it, or NULL.
    pub fn network_name(&self, ip: &Value<'_>) -> Value<'static> {
        let Some(ip) = text(ip).and_then(|t| portent_core::value::parse_ip(&t)) else {
            return Value::Null;
        };
        self.networks
            .iter()
            .find(|(n, _)| n.contains(ip))
            .map_or(Value::Null, |(_, name)| Value::string(name.clone()))
    }

    /// An asset's property (`hostname`, `user`, or any column of the assets
    /// file), or NULL.
    pub fn asset(&self, property: &str, ip: &Value<'_>) -> Value<'static> {
        let Some(ip) = text(ip).and_then(|t| portent_core::value::parse_ip(&t)) else {
            return Value::Null;
        };
        let property = property.to_lowercase();
        self.assets
            .get(&ip.to_string())
            .and_then(|props| props.iter().find(|(p, _)| *p == property))
            .map_or(Value::Null, |(_, v)| Value::string(v.clone()))
    }

    /// Names of every collection, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_name.values().map(|c| c.name.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// Adds (or replaces) a collection.
    pub fn insert(&mut self, c: Collection) {
        self.by_name.insert(c.name.to_lowercase(), c);
    }

    /// `REFERENCESETCONTAINS(set, value)`: NULL for a NULL value or an unknown set.
    pub fn set_contains(&self, set: &str, v: &Value<'_>, now: i64) -> Option<bool> {
        let c = self.get(set)?;
        let v = text(v)?;
        if c.element_type == ElementType::Cidr {
            let ip = portent_core::value::parse_ip(&v)?;
            return Some(
                c.networks
                    .iter()
                    .any(|(n, s)| n.contains(ip) && c.alive(s, now)),
            );
        }
        let k = c.element_type.key(&v)?;
        Some(c.values.get(&k).is_some_and(|s| c.alive(s, now)))
    }

    /// `REFERENCEMAP(map, key)`: the value, or NULL.
    pub fn map_value(&self, map: &str, key: &Value<'_>, now: i64) -> Value<'static> {
        let found = self.get(map).zip(text(key)).and_then(|(c, k)| {
            c.entries
                .get(&k)?
                .iter()
                .find(|(_, _, s)| c.alive(s, now))
                .map(|(_, v, _)| v.clone())
        });
        found.map_or(Value::Null, Value::string)
    }

    /// `REFERENCEMAPSETCONTAINS(map, key, value)`.
    pub fn map_set_contains(
        &self,
        map: &str,
        key: &Value<'_>,
        v: &Value<'_>,
        now: i64,
    ) -> Option<bool> {
        let c = self.get(map)?;
        let (k, v) = (text(key)?, text(v)?);
        let v = c.element_type.key(&v)?;
        Some(
            c.entries
                .get(&k)
                .is_some_and(|vs| vs.iter().any(|(_, x, s)| *x == v && c.alive(s, now))),
        )
    }

    /// `REFERENCETABLE(table, column, key)`: the key's value in that column, or NULL.
    pub fn table_value(
        &self,
        table: &str,
        column: &str,
        key: &Value<'_>,
        now: i64,
    ) -> Value<'static> {
        let found = self.get(table).zip(text(key)).and_then(|(c, k)| {
            c.entries
                .get(&k)?
                .iter()
                .find(|(col, _, s)| col.eq_ignore_ascii_case(column) && c.alive(s, now))
                .map(|(_, v, _)| v.clone())
        });
        found.map_or(Value::Null, Value::string)
    }

    /// Loads one file's collections: JSON (QRadar's API layout) when it starts
    /// with `{` or `[`, else CSV named `name` (the file's stem). Returns how
    /// many collections it held.
    pub fn load(&mut self, text: &str, name: &str, origin: &str) -> Result<usize, String> {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        let loaded = if t.starts_with('{') || t.starts_with('[') {
            let doc: J = serde_json::from_str(t).map_err(|e| format!("{origin}: {e}"))?;
            let docs = match doc {
                J::Array(items) => items,
                one => vec![one],
            };
            docs.iter()
                .enumerate()
                .map(|(i, d)| {
                    from_json(d, origin).map_err(|e| format!("{origin}: collection {}: {e}", i + 1))
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let header = t
                .lines()
                .find(|l| !l.trim_start().starts_with('#'))
                .unwrap_or("");
            let first = header
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            match first.as_str() {
                "network" | "cidr" => return self.load_networks(t, origin),
                "ip" => return self.load_assets(t, origin),
                _ => vec![from_csv(t, name, origin)?],
            }
        };
        let n = loaded.len();
        for c in loaded {
            self.insert(c);
        }
        Ok(n)
    }
}

impl ReferenceData {
    /// A network hierarchy: `network,name` rows (`10.0.0.0/8,Corporate`).
    fn load_networks(&mut self, text: &str, origin: &str) -> Result<usize, String> {
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        for (n, r) in rd.records().enumerate() {
            let r = r.map_err(|e| format!("{origin}: {e}"))?;
            let (net, name) = (r.get(0).unwrap_or(""), r.get(1).unwrap_or("").trim());
            let c = Cidr::parse(net).map_err(|e| format!("{origin}: row {}: {e}", n + 2))?;
            if name.is_empty() {
                return Err(format!(
                    "{origin}: row {}: the network {net} has no name",
                    n + 2
                ));
            }
            self.networks.push((c, name.to_owned()));
        }
        // Most specific first: the first network holding an address names it.
        self.networks.sort_by_key(|n| std::cmp::Reverse(n.0.prefix));
        Ok(1)
    }

    /// Assets: an `ip` column and any others (`hostname`, `user`, ...).
    fn load_assets(&mut self, text: &str, origin: &str) -> Result<usize, String> {
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = rd
            .headers()
            .map_err(|e| format!("{origin}: {e}"))?
            .iter()
            .map(|h| h.trim().to_lowercase())
            .collect();
        for (n, r) in rd.records().enumerate() {
            let r = r.map_err(|e| format!("{origin}: {e}"))?;
            let ip = r.get(0).unwrap_or("");
            let ip = portent_core::value::parse_ip(ip.trim())
                .ok_or_else(|| format!("{origin}: row {}: `{ip}` is not an IP address", n + 2))?;
            let props = header
                .iter()
                .zip(r.iter())
                .skip(1)
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(h, v)| (h.clone(), v.trim().to_owned()))
                .collect();
            self.assets.insert(ip.to_string(), props);
        }
        Ok(1)
    }
}

/// `7d`, `12h`, `30m`, `45s`, a number of ms, or QRadar's `7 days 0 hours`.
fn ttl(s: &str) -> Option<i64> {
    let s = s.trim().to_lowercase();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    let mut total = 0i64;
    let mut words = s.split_whitespace().peekable();
    let mut any = false;
    while let Some(w) = words.next() {
        let (num, unit) = match w.find(|c: char| !c.is_ascii_digit()) {
            Some(0) => return None,
            Some(i) => (w[..i].parse::<i64>().ok()?, w[i..].to_owned()),
            None => (w.parse::<i64>().ok()?, words.next()?.to_owned()),
        };
        let unit_ms = match unit.trim_end_matches('s') {
            "" | "sec" | "second" => 1_000,
            "m" | "min" | "minute" | "mins" => 60_000,
            "h" | "hour" | "hr" => 3_600_000,
            "d" | "day" => 86_400_000,
            "w" | "week" => 604_800_000,
            "mon" | "month" => 2_592_000_000,
            "y" | "year" => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(num.checked_mul(unit_ms)?)?;
        any = true;
    }
    any.then_some(total)
}

fn seen_of(o: &serde_json::Map<String, J>) -> Seen {
    Seen {
        first: o.get("first_seen").and_then(J::as_i64),
        last: o.get("last_seen").and_then(J::as_i64),
    }
}

fn value_text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn from_json(d: &J, origin: &str) -> Result<Collection, String> {
    let o = d.as_object().ok_or("a collection must be a JSON object")?;
    let name = o.get("name").and_then(J::as_str).ok_or("no `name`")?;
    let ty = match o.get("element_type").and_then(J::as_str) {
        Some(t) => ElementType::parse(t).ok_or_else(|| format!("unknown element_type `{t}`"))?,
        None => ElementType::Aln,
    };
    let data = o.get("data").unwrap_or(&J::Null);
    let kind = if o.contains_key("key_name_types") {
        Kind::Table
    } else {
        match data {
            J::Array(_) | J::Null => Kind::Set,
            J::Object(m) => match m.values().next() {
                Some(J::Array(_)) => Kind::MapOfSets,
                Some(J::Object(e)) if e.contains_key("value") => Kind::Map,
                Some(J::Object(_)) => Kind::Table,
                _ => Kind::Map,
            },
            _ => return Err("`data` must be a list or an object".into()),
        }
    };
    let mut c = Collection::new(name, kind, ty, origin);
    if let Some(t) = o.get("time_to_live").and_then(J::as_str) {
        c.ttl_ms = Some(ttl(t).ok_or_else(|| format!("time_to_live `{t}` is not a duration"))?);
    }
    c.from_first_seen = o.get("timeout_type").and_then(J::as_str) == Some("FIRST_SEEN");
    if let Some(J::Object(types)) = o.get("key_name_types") {
        for (col, t) in types {
            let t = t.as_str().and_then(ElementType::parse).unwrap_or(ty);
            c.columns.insert(col.clone(), t);
        }
    }
    match (kind, data) {
        (Kind::Set, J::Array(items)) => {
            for item in items {
                let (v, seen) = match item {
                    J::Object(e) => (e.get("value").and_then(value_text), seen_of(e)),
                    other => (value_text(other), Seen::default()),
                };
                c.add_value(&v.ok_or("an element without a value")?, seen)?;
            }
        }
        (Kind::Set, _) => {}
        (_, J::Object(m)) => {
            for (key, v) in m {
                match (kind, v) {
                    (Kind::Map, J::Object(e)) => {
                        let x = e
                            .get("value")
                            .and_then(value_text)
                            .ok_or("an entry without a value")?;
                        c.add_entry(key, "", &x, seen_of(e))?;
                    }
                    (Kind::Map, other) => c.add_entry(
                        key,
                        "",
                        &value_text(other).ok_or("an entry without a value")?,
                        Seen::default(),
                    )?,
                    (Kind::MapOfSets, J::Array(items)) => {
                        for item in items {
                            let (x, seen) = match item {
                                J::Object(e) => (e.get("value").and_then(value_text), seen_of(e)),
                                other => (value_text(other), Seen::default()),
                            };
                            c.add_entry(key, "", &x.ok_or("an element without a value")?, seen)?;
                        }
                    }
                    (Kind::Table, J::Object(cols)) => {
                        for (col, cell) in cols {
                            let (x, seen) = match cell {
                                J::Object(e) => (e.get("value").and_then(value_text), seen_of(e)),
                                other => (value_text(other), Seen::default()),
                            };
                            c.add_entry(key, col, &x.ok_or("a cell without a value")?, seen)?;
                        }
                    }
                    _ => {
                        return Err(format!(
                            "key `{key}` has an entry of the wrong shape for a {}",
                            kind.name()
                        ))
                    }
                }
            }
        }
        _ => return Err(format!("`data` of a {} must be an object", kind.name())),
    }
    Ok(c)
}

fn from_csv(text: &str, name: &str, origin: &str) -> Result<Collection, String> {
    let mut lines = text.lines().enumerate().peekable();
    let mut directives: HashMap<String, String> = HashMap::new();
    while let Some((_, l)) = lines.peek() {
        let Some(d) = l.trim().strip_prefix('#') else {
            break;
        };
        for kv in d.split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                directives.insert(k.to_ascii_lowercase(), v.to_owned());
            }
        }
        lines.next();
    }
    let body: String = lines.map(|(_, l)| format!("{l}\n")).collect();
    let mut rd = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(body.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| format!("{origin}: {e}"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let ty = match directives.get("element_type") {
        Some(t) => {
            ElementType::parse(t).ok_or_else(|| format!("{origin}: unknown element_type `{t}`"))?
        }
        None => ElementType::Aln,
    };
    let pos = |n: &str| header.iter().position(|h| h.eq_ignore_ascii_case(n));
    let (first, last) = (pos("first_seen"), pos("last_seen"));
    let data: Vec<usize> = (0..header.len())
        .filter(|i| Some(*i) != first && Some(*i) != last)
        .collect();
    let rows: Vec<csv::StringRecord> = rd
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{origin}: {e}"))?;
    let kind = match data.iter().map(|i| header[*i].to_ascii_lowercase()).collect::<Vec<_>>().as_slice() {
        [v] if v == "value" => Kind::Set,
        [k, v] if k == "key" && v == "value" => {
            let mut keys = std::collections::HashSet::new();
            if rows.iter().all(|r| keys.insert(r.get(data[0]).unwrap_or("").to_owned())) {
                Kind::Map
            } else {
                Kind::MapOfSets
            }
        }
        [k, _, ..] if k == "key" => Kind::Table,
        _ => {
            return Err(format!(
                "{origin}: the header must be `value` (a set), `key,value` (a map or map of sets) or `key,COLUMN,...` (a table), not `{}`",
                header.join(",")
            ))
        }
    };
    let mut c = Collection::new(name, kind, ty, origin);
    if let Some(t) = directives.get("time_to_live") {
        c.ttl_ms =
            Some(ttl(t).ok_or_else(|| format!("{origin}: time_to_live `{t}` is not a duration"))?);
    }
    c.from_first_seen = directives
        .get("timeout_type")
        .is_some_and(|t| t.eq_ignore_ascii_case("FIRST_SEEN"));
    for (n, r) in rows.iter().enumerate() {
        let line = n + 2 + directives.len().min(1);
        let at = |e: String| format!("{origin}: row {line}: {e}");
        let stamp = |i: Option<usize>| {
            i.and_then(|i| r.get(i))
                .and_then(|s| s.trim().parse::<i64>().ok())
        };
        let seen = Seen {
            first: stamp(first),
            last: stamp(last),
        };
        let cell = |i: usize| r.get(i).unwrap_or("").to_owned();
        match kind {
            Kind::Set => c.add_value(&cell(data[0]), seen).map_err(at)?,
            Kind::Map | Kind::MapOfSets => c
                .add_entry(&cell(data[0]), "", &cell(data[1]), seen)
                .map_err(at)?,
            Kind::Table => {
                for &i in &data[1..] {
                    if !cell(i).is_empty() {
                        c.add_entry(&cell(data[0]), &header[i], &cell(i), seen)
                            .map_err(at)?;
                    }
                }
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
#[path = "refdata_tests.rs"]
mod tests;
