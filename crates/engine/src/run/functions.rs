//! AQL's function table: names, arity, and the scalar implementations shared by
//! the planned evaluator and the reference evaluator.

use portent_core::{Catalog, Table, Value};
use std::borrow::Cow;

/// Scalar functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    /// LOWER(s)
    Lower,
    /// UPPER(s)
    Upper,
    /// STRLEN(s): characters.
    StrLen,
    /// SUBSTRING(s, start, length): 0-based start.
    Substring,
    /// STRPOS(s, needle[, from]): 0-based index or -1.
    StrPos,
    /// CONCAT(a, ...): NULL arguments are skipped.
    Concat,
    /// STR(x)
    Str,
    /// LONG(x): numbers, numeric text, IPv4 addresses.
    Long,
    /// DOUBLE(x)
    Double,
    /// UTF8(payload)
    Utf8,
    /// BASE64(payload)
    Base64,
    /// NOW(): epoch milliseconds of the run.
    Now,
    /// DATEFORMAT(ms, pattern[, zone])
    DateFormat,
    /// PARSEDATETIME('1 day ago')
    ParseDateTime,
    /// INCIDR('cidr', ip)
    InCidr,
    /// LOGSOURCENAME(logsourceid)
    LogSourceName,
    /// LOGSOURCETYPENAME(devicetype)
    LogSourceTypeName,
    /// LOGSOURCEGROUPNAME(logsourceid): no groups exist offline.
    LogSourceGroupName,
    /// CATEGORYNAME(category)
    CategoryName,
    /// QIDNAME(qid)
    QidName,
    /// QIDDESCRIPTION(qid): the name, as no descriptions are shipped.
    QidDescription,
    /// PROTOCOLNAME(protocolid)
    ProtocolName,
    /// REFERENCESETCONTAINS('set', value)
    RefSetContains,
    /// REFERENCEMAP('map', key)
    RefMap,
    /// REFERENCEMAPSETCONTAINS('map of sets', key, value)
    RefMapSetContains,
    /// REFERENCETABLE('table', 'column', key)
    RefTable,
    /// NETWORKNAME(ip): the network hierarchy's most specific name.
    NetworkName,
    /// ASSETHOSTNAME(ip[, time])
    AssetHostname,
    /// ASSETUSER(ip[, time])
    AssetUser,
    /// ASSETPROPERTY('property', ip[, time])
    AssetProperty,
    /// RULENAME(creeventlist | id): the names of the listed rules.
    RuleName,
    /// GEO::LOOKUP(ip, 'property'[, 'path']): the MaxMind record's part.
    GeoLookup,
    /// GEO::DISTANCE(ip, ip): great-circle kilometres.
    GeoDistance,
}

impl Func {
    /// A lookup in reference data (its first argument names the collection).
    pub fn reference_kind(self) -> Option<crate::refdata::Kind> {
        use crate::refdata::Kind;
        match self {
            Func::RefSetContains => Some(Kind::Set),
            Func::RefMap => Some(Kind::Map),
            Func::RefMapSetContains => Some(Kind::MapOfSets),
            Func::RefTable => Some(Kind::Table),
            _ => None,
        }
    }

    /// Reads what `--reference` loads (collections, networks or assets).
    pub fn reads_reference_data(self) -> bool {
        self.reference_kind().is_some()
            || matches!(
                self,
                Func::NetworkName
                    | Func::AssetHostname
                    | Func::AssetUser
                    | Func::AssetProperty
                    | Func::GeoLookup
                    | Func::GeoDistance
            )
    }
}

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Agg {
    /// COUNT(*) or COUNT(x)
    Count,
    /// SUM(x)
    Sum,
    /// MIN(x)
    Min,
    /// MAX(x)
    Max,
    /// AVG(x)
    Avg,
    /// FIRST(x)
    First,
    /// LAST(x)
    Last,
    /// UNIQUECOUNT(x) / DISTINCTCOUNT(x): exact.
    UniqueCount,
    /// STDEV(x): sample standard deviation.
    Stdev,
    /// STDEVP(x): population standard deviation.
    Stdevp,
}

/// What a name denotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callable {
    /// A scalar function with its arity range.
    Scalar(Func, usize, usize),
    /// An aggregate.
    Aggregate(Agg),
}

const TABLE: &[(&str, Callable)] = &[
    ("assethostname", Callable::Scalar(Func::AssetHostname, 1, 2)),
    ("assetproperty", Callable::Scalar(Func::AssetProperty, 2, 3)),
    ("assetuser", Callable::Scalar(Func::AssetUser, 1, 2)),
    ("avg", Callable::Aggregate(Agg::Avg)),
    ("base64", Callable::Scalar(Func::Base64, 1, 1)),
    ("categoryname", Callable::Scalar(Func::CategoryName, 1, 1)),
    ("concat", Callable::Scalar(Func::Concat, 1, usize::MAX)),
    ("count", Callable::Aggregate(Agg::Count)),
    ("dateformat", Callable::Scalar(Func::DateFormat, 2, 3)),
    ("distinctcount", Callable::Aggregate(Agg::UniqueCount)),
    ("double", Callable::Scalar(Func::Double, 1, 1)),
    ("first", Callable::Aggregate(Agg::First)),
    ("geo::distance", Callable::Scalar(Func::GeoDistance, 2, 2)),
    ("geo::lookup", Callable::Scalar(Func::GeoLookup, 2, 3)),
    ("incidr", Callable::Scalar(Func::InCidr, 2, 2)),
    ("last", Callable::Aggregate(Agg::Last)),
    (
        "logsourcegroupname",
        Callable::Scalar(Func::LogSourceGroupName, 1, 1),
    ),
    ("logsourcename", Callable::Scalar(Func::LogSourceName, 1, 1)),
    (
        "logsourcetypename",
        Callable::Scalar(Func::LogSourceTypeName, 1, 1),
    ),
    ("long", Callable::Scalar(Func::Long, 1, 1)),
    ("lower", Callable::Scalar(Func::Lower, 1, 1)),
    ("max", Callable::Aggregate(Agg::Max)),
    ("min", Callable::Aggregate(Agg::Min)),
    ("networkname", Callable::Scalar(Func::NetworkName, 1, 1)),
    ("now", Callable::Scalar(Func::Now, 0, 0)),
    ("parsedatetime", Callable::Scalar(Func::ParseDateTime, 1, 1)),
    ("protocolname", Callable::Scalar(Func::ProtocolName, 1, 1)),
    (
        "qiddescription",
        Callable::Scalar(Func::QidDescription, 1, 1),
    ),
    (
        "qidescription",
        Callable::Scalar(Func::QidDescription, 1, 1),
    ),
    ("qidname", Callable::Scalar(Func::QidName, 1, 1)),
    ("referencemap", Callable::Scalar(Func::RefMap, 2, 2)),
    (
        "referencemapofsetscontains",
        Callable::Scalar(Func::RefMapSetContains, 3, 3),
    ),
    (
        "referencemapsetcontains",
        Callable::Scalar(Func::RefMapSetContains, 3, 3),
    ),
    (
        "referencesetcontains",
        Callable::Scalar(Func::RefSetContains, 2, 2),
    ),
    ("referencetable", Callable::Scalar(Func::RefTable, 3, 3)),
    ("rulename", Callable::Scalar(Func::RuleName, 1, 1)),
    ("stdev", Callable::Aggregate(Agg::Stdev)),
    ("stdevp", Callable::Aggregate(Agg::Stdevp)),
    ("str", Callable::Scalar(Func::Str, 1, 1)),
    ("strlen", Callable::Scalar(Func::StrLen, 1, 1)),
    ("strpos", Callable::Scalar(Func::StrPos, 2, 3)),
    ("substring", Callable::Scalar(Func::Substring, 2, 3)),
    ("sum", Callable::Aggregate(Agg::Sum)),
    ("uniquecount", Callable::Aggregate(Agg::UniqueCount)),
    ("upper", Callable::Scalar(Func::Upper, 1, 1)),
    ("utf8", Callable::Scalar(Func::Utf8, 1, 1)),
];

/// Every function name (lower case) and what it denotes.
pub fn all() -> impl Iterator<Item = (&'static str, Callable)> {
    TABLE.iter().copied()
}

/// Looks a function name up, case-insensitively.
pub fn lookup(name: &str) -> Option<Callable> {
    let lower = name.to_ascii_lowercase();
    TABLE
        .binary_search_by(|(n, _)| n.cmp(&lower.as_str()))
        .ok()
        .map(|i| TABLE[i].1)
}

/// The known name closest to `name`, for "did you mean".
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    TABLE
        .iter()
        .map(|(n, _)| (edit_distance(n, &lower), *n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance, for suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Agg {
    /// Upper-case name, for implicit column names (`COUNT_sourceip`).
    pub fn name(self) -> &'static str {
        match self {
            Agg::Count => "COUNT",
            Agg::Sum => "SUM",
            Agg::Min => "MIN",
            Agg::Max => "MAX",
            Agg::Avg => "AVG",
            Agg::First => "FIRST",
            Agg::Last => "LAST",
            Agg::UniqueCount => "UNIQUECOUNT",
            Agg::Stdev => "STDEV",
            Agg::Stdevp => "STDEVP",
        }
    }
}

/// Lower-cases like AQL's LOWER: full Unicode, with an ASCII fast path.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| !b.is_ascii_uppercase()) && s.is_ascii() {
        Cow::Borrowed(s)
    } else if s.is_ascii() {
        Cow::Owned(s.to_ascii_lowercase())
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// Runs a scalar function whose arguments are already evaluated. NOW, DATEFORMAT,
/// PARSEDATETIME and INCIDR are handled by the callers (they need context or
/// compiled arguments); here they return NULL.
pub fn call_scalar<'a>(f: Func, args: &mut [Value<'a>], catalog: &Catalog) -> Value<'a> {
    let text = |v: &Value<'_>| v.to_text().map(Cow::into_owned);
    let lookup = |table: Table, v: &Value<'_>| match v.to_i64() {
        Some(id) => catalog
            .name(table, id)
            .map_or(Value::Null, |n| Value::string(n.to_owned())),
        None => Value::Null,
    };
    match f {
        Func::Lower => match args.first_mut().map(take) {
            Some(Value::Str(Cow::Borrowed(s))) => Value::Str(lower(s)),
            Some(Value::Str(Cow::Owned(s))) => Value::string(lower(&s).into_owned()),
            Some(v) => text(&v).map_or(Value::Null, |s| Value::string(s.to_lowercase())),
            None => Value::Null,
        },
        Func::Upper => args
            .first()
            .and_then(text)
            .map_or(Value::Null, |s| Value::string(s.to_uppercase())),
        Func::StrLen => args
            .first()
            .and_then(text)
            .map_or(Value::Null, |s| Value::Int(s.chars().count() as i64)),
        Func::Substring => {
            let (Some(s), Some(start)) = (
                args.first().and_then(text),
                args.get(1).and_then(Value::to_i64),
            ) else {
                return Value::Null;
            };
            let len = match args.get(2) {
                Some(v) => match v.to_i64() {
                    Some(l) => l,
                    None => return Value::Null,
                },
                None => i64::MAX,
            };
            if start < 0 || len < 0 {
                return Value::Null;
            }
            Value::string(
                s.chars()
                    .skip(start as usize)
                    .take(usize::try_from(len).unwrap_or(usize::MAX))
                    .collect(),
            )
        }
        Func::StrPos => {
            let (Some(s), Some(n)) = (args.first().and_then(text), args.get(1).and_then(text))
            else {
                return Value::Null;
            };
            let from = args.get(2).and_then(Value::to_i64).unwrap_or(0).max(0) as usize;
            let offset: usize = s.chars().take(from).map(char::len_utf8).sum();
            match s.get(offset..).and_then(|rest| rest.find(&n)) {
                Some(b) => Value::Int((from + s[offset..offset + b].chars().count()) as i64),
                None => Value::Int(-1),
            }
        }
        Func::Concat => {
            let mut out = String::new();
            for a in args.iter() {
                if let Some(t) = a.to_text() {
                    out.push_str(&t);
                }
            }
            Value::string(out)
        }
        Func::Str | Func::Utf8 => match args.first_mut().map(take) {
            Some(Value::Null) | None => Value::Null,
            Some(v @ Value::Str(_)) => v,
            Some(v) => Value::string(v.to_string()),
        },
        Func::Base64 => args
            .first()
            .and_then(text)
            .map_or(Value::Null, |s| Value::string(base64(s.as_bytes()))),
        Func::Long => match args.first() {
            Some(Value::Ip(std::net::IpAddr::V4(v4))) => Value::Int(i64::from(u32::from(*v4))),
            Some(Value::Float(f)) if f.is_finite() => Value::Int(f.trunc() as i64),
            Some(v) => v
                .to_i64()
                .or_else(|| {
                    v.to_f64()
                        .filter(|f| f.is_finite())
                        .map(|f| f.trunc() as i64)
                })
                .map_or(Value::Null, Value::Int),
            None => Value::Null,
        },
        Func::Double => args
            .first()
            .and_then(Value::to_f64)
            .map_or(Value::Null, Value::Float),
        Func::LogSourceName => args
            .first()
            .map_or(Value::Null, |v| lookup(Table::LogSource, v)),
        Func::LogSourceTypeName => args
            .first()
            .map_or(Value::Null, |v| lookup(Table::LogSourceType, v)),
        Func::LogSourceGroupName => Value::Null,
        Func::CategoryName => args
            .first()
            .map_or(Value::Null, |v| lookup(Table::Category, v)),
        Func::QidName | Func::QidDescription => {
            args.first().map_or(Value::Null, |v| lookup(Table::Qid, v))
        }
        Func::ProtocolName => args
            .first()
            .map_or(Value::Null, |v| lookup(Table::Protocol, v)),
        Func::RuleName => args
            .first()
            .and_then(|v| v.to_text())
            .and_then(|list| catalog.rule_names(&list))
            .map_or(Value::Null, Value::string),
        // The evaluators answer these: they need NOW(), the zone or reference data.
        Func::Now
        | Func::DateFormat
        | Func::ParseDateTime
        | Func::InCidr
        | Func::RefSetContains
        | Func::RefMap
        | Func::RefMapSetContains
        | Func::RefTable
        | Func::NetworkName
        | Func::AssetHostname
        | Func::AssetUser
        | Func::AssetProperty
        | Func::GeoLookup
        | Func::GeoDistance => Value::Null,
    }
}

/// Moves a value out of an argument slot, leaving NULL.
fn take<'a>(v: &mut Value<'a>) -> Value<'a> {
    std::mem::replace(v, Value::Null)
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(f: Func, args: Vec<Value<'static>>) -> Value<'static> {
        let mut args = args;
        call_scalar(f, &mut args, &Catalog::builtin()).into_owned()
    }

    #[test]
    fn table_is_sorted() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(lookup("LoWeR"), Some(Callable::Scalar(Func::Lower, 1, 1)));
        assert_eq!(suggest("lowr"), Some("lower"));
        assert_eq!(suggest("zzzzzz"), None);
    }

    #[test]
    fn string_functions() {
        assert_eq!(
            call(Func::Lower, vec![Value::str("CMD.EXE")]),
            Value::str("cmd.exe")
        );
        assert_eq!(call(Func::Lower, vec![Value::str("ÄB")]), Value::str("äb"));
        assert_eq!(call(Func::Upper, vec![Value::str("ab")]), Value::str("AB"));
        assert_eq!(call(Func::StrLen, vec![Value::str("héllo")]), Value::Int(5));
        assert_eq!(
            call(
                Func::Substring,
                vec![Value::str("administrator"), Value::Int(0), Value::Int(5)]
            ),
            Value::str("admin")
        );
        assert_eq!(
            call(Func::StrPos, vec![Value::str("a.b.c"), Value::str(".")]),
            Value::Int(1)
        );
        assert_eq!(
            call(
                Func::StrPos,
                vec![Value::str("a.b.c"), Value::str("."), Value::Int(2)]
            ),
            Value::Int(3)
        );
        assert_eq!(
            call(
                Func::Concat,
                vec![Value::str("a"), Value::Null, Value::Int(1)]
            ),
            Value::str("a1")
        );
        assert_eq!(call(Func::Lower, vec![Value::Null]), Value::Null);
    }

    #[test]
    fn conversions() {
        assert_eq!(
            call(Func::Long, vec![Value::Ip("10.0.0.1".parse().unwrap())]),
            Value::Int(167_772_161)
        );
        assert_eq!(call(Func::Long, vec![Value::str("42")]), Value::Int(42));
        assert_eq!(
            call(Func::Double, vec![Value::str("1234")]),
            Value::Float(1234.0)
        );
        assert_eq!(call(Func::Str, vec![Value::Int(7)]), Value::str("7"));
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
    }

    #[test]
    fn lookups() {
        assert_eq!(
            call(Func::LogSourceTypeName, vec![Value::Int(12)]),
            Value::str("Microsoft Windows Security Event Log")
        );
        assert_eq!(
            call(Func::CategoryName, vec![Value::str("4012")]),
            Value::str("ACL Permit")
        );
        assert_eq!(
            call(Func::CategoryName, vec![Value::Int(99999)]),
            Value::Null
        );
    }
}
