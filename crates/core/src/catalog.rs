//! Lookup tables behind AQL's data-retrieval functions: log source types
//! (`LOGSOURCETYPENAME`), categories (`CATEGORYNAME`), QIDs (`QIDNAME`),
//! protocols (`PROTOCOLNAME`) and log sources (`LOGSOURCENAME`).
//!
//! Built-in rows come from `catalog_data`; a CSV file of `table,id,name` rows
//! overrides or extends them, because only a live QRadar knows its full tables.

use crate::catalog_data;
use std::collections::HashMap;
use std::fmt;

/// One of the lookup tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// `devicetype` → log source type name.
    LogSourceType,
    /// `category` / `highlevelcategory` → category name.
    Category,
    /// `qid` → event name.
    Qid,
    /// `protocolid` → protocol name.
    Protocol,
    /// `logsourceid` → log source name.
    LogSource,
    /// A custom rule's id (the ids of `creeventlist`) → its name.
    Rule,
}

impl Table {
    fn parse(s: &str) -> Option<Table> {
        match s.trim().to_ascii_lowercase().as_str() {
            "logsourcetype" | "devicetype" | "log_source_type" => Some(Table::LogSourceType),
            "category" => Some(Table::Category),
            "qid" => Some(Table::Qid),
            "protocol" | "protocolid" => Some(Table::Protocol),
            "logsource" | "logsourceid" | "log_source" => Some(Table::LogSource),
            "rule" | "rulename" | "cre" => Some(Table::Rule),
            _ => None,
        }
    }
}

/// The lookup tables.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    tables: HashMap<Table, HashMap<i64, String>>,
    /// Rules named by text ids (the pack's, Sigma's UUIDs), lower case.
    rule_titles: HashMap<String, String>,
}

/// A bad row in a catalog CSV.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for CatalogError {}

impl Catalog {
    /// The built-in tables.
    pub fn builtin() -> Catalog {
        let mut c = Catalog::default();
        let sets: [(Table, &[(i64, &str)]); 4] = [
            (Table::LogSourceType, catalog_data::LOG_SOURCE_TYPES),
            (Table::Category, catalog_data::CATEGORIES),
            (Table::Qid, catalog_data::QIDS),
            (Table::Protocol, catalog_data::PROTOCOLS),
        ];
        for (table, rows) in sets {
            for (id, name) in rows {
                c.insert(table, *id, (*name).to_owned());
            }
        }
        c
    }

    /// Adds or replaces one row.
    pub fn insert(&mut self, table: Table, id: i64, name: String) {
        self.tables.entry(table).or_default().insert(id, name);
    }

    /// The name of `id` in `table`.
    pub fn name(&self, table: Table, id: i64) -> Option<&str> {
        self.tables.get(&table)?.get(&id).map(String::as_str)
    }

    /// Names a rule whose id is text (a pack rule's id, a Sigma UUID).
    pub fn add_rule_title(&mut self, id: &str, title: &str) {
        self.rule_titles
            .insert(id.trim().to_lowercase(), title.to_owned());
    }

    /// RULENAME: the names of the rules a value lists (`creeventlist` is a
    /// list of ids: `100045, 100234`, `[100045]`; one id also does), joined
    /// by `, ` in the list's order; ids not known are left out, and a list
    /// with none known has no name (None).
    pub fn rule_names(&self, list: &str) -> Option<String> {
        let names: Vec<&str> = list
            .split(|c: char| {
                c == ','
                    || c == ';'
                    || c == '['
                    || c == ']'
                    || c == '"'
                    || c == '\''
                    || c.is_whitespace()
            })
            .filter(|t| !t.is_empty())
            .filter_map(|t| match crate::value::parse_int(t) {
                Some(id) => self.name(Table::Rule, id),
                None => self.rule_titles.get(&t.to_lowercase()).map(String::as_str),
            })
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    /// The id whose name is `name` in `table` (any case); the lowest id when
    /// several share a name (CSV exports show names, queries need ids).
    pub fn id_of(&self, table: Table, name: &str) -> Option<i64> {
        self.tables
            .get(&table)?
            .iter()
            .filter(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .map(|(id, _)| *id)
            .min()
    }

    /// Every row of `table`, sorted by id.
    pub fn rows(&self, table: Table) -> Vec<(i64, &str)> {
        let mut rows: Vec<(i64, &str)> = self
            .tables
            .get(&table)
            .map(|t| t.iter().map(|(k, v)| (*k, v.as_str())).collect())
            .unwrap_or_default();
        rows.sort_unstable();
        rows
    }

    /// Loads override rows from CSV text: `table,id,name` per line, an optional
    /// header line starting with `table`, `#` comments, names optionally quoted
    /// with `"` (a doubled `""` inside is a quote). Returns the number of rows read.
    pub fn load_csv(&mut self, text: &str) -> Result<usize, CatalogError> {
        let mut n = 0;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line).ok_or_else(|| CatalogError {
                line: i + 1,
                message: "unterminated quote".into(),
            })?;
            if i == 0
                && fields
                    .first()
                    .is_some_and(|f| f.eq_ignore_ascii_case("table"))
            {
                continue;
            }
            let [table, id, name] = fields.as_slice() else {
                return Err(CatalogError {
                    line: i + 1,
                    message: format!("expected 3 columns (table,id,name), found {}", fields.len()),
                });
            };
            let table = Table::parse(table).ok_or_else(|| CatalogError {
                line: i + 1,
                message: format!(
                    "unknown table `{table}`; expected logsourcetype, category, qid, protocol, logsource or rule"
                ),
            })?;
            let id = crate::value::parse_int(id).ok_or_else(|| CatalogError {
                line: i + 1,
                message: format!("`{id}` is not an integer id"),
            })?;
            self.insert(table, id, name.clone());
            n += 1;
        }
        Ok(n)
    }
}

fn split_csv(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(if was_quoted {
                    std::mem::take(&mut cur)
                } else {
                    cur.trim().to_owned()
                });
                cur.clear();
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(if was_quoted {
        cur
    } else {
        cur.trim().to_owned()
    });
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rule_names_of_a_list_in_its_order() {
        let mut c = Catalog::builtin();
        c.load_csv("table,id,name\nrule,100045,Suspicious Login\nrule,100234,Port Scan\n")
            .unwrap();
        c.add_rule_title("T1043-Commonly-Used-Port", "Commonly Used Port");
        assert_eq!(
            c.rule_names("100234, 100045").as_deref(),
            Some("Port Scan, Suspicious Login")
        );
        assert_eq!(
            c.rule_names("[100045]").as_deref(),
            Some("Suspicious Login")
        );
        assert_eq!(
            c.rule_names("100045;999").as_deref(),
            Some("Suspicious Login")
        );
        assert_eq!(
            c.rule_names("t1043-commonly-used-port").as_deref(),
            Some("Commonly Used Port")
        );
        assert_eq!(c.rule_names("999, 998"), None);
        assert_eq!(c.rule_names(""), None);
    }

    use super::*;

    #[test]
    fn builtin_rows() {
        let c = Catalog::builtin();
        assert_eq!(
            c.name(Table::LogSourceType, 12),
            Some("Microsoft Windows Security Event Log")
        );
        assert_eq!(
            c.name(Table::LogSourceType, 352),
            Some("Salesforce Security")
        );
        assert_eq!(c.name(Table::Category, 4012), Some("ACL Permit"));
        assert_eq!(c.name(Table::Protocol, 6), Some("TCP.tcp.ip"));
    }

    #[test]
    fn csv_overrides() {
        let mut c = Catalog::builtin();
        let n = c
            .load_csv("table,id,name\n# comment\ncategory,4012,\"ACL, Permit\"\nlogsource,7,WIN-1 Sysmon\n")
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(c.name(Table::Category, 4012), Some("ACL, Permit"));
        assert_eq!(c.name(Table::LogSource, 7), Some("WIN-1 Sysmon"));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let mut c = Catalog::default();
        let e = c.load_csv("category,1\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = c.load_csv("\nfoo,1,x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("unknown table"));
        assert!(c.load_csv("qid,abc,x").is_err());
        assert!(c.load_csv("qid,1,\"x").is_err());
    }
}
