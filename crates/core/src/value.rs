//! The values events carry and queries compute, with AQL's coercions.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

/// A field or expression value. Strings borrow from the event where they can.
#[derive(Clone, Debug)]
pub enum Value<'a> {
    /// Absent or unknown (SQL NULL).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer: ports, ids, epoch milliseconds.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// Text.
    Str(Cow<'a, str>),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl PartialEq for Value<'_> {
    /// Structural equality (NaN equals NaN), for tests and grouping; query
    /// comparison with coercion is [`Value::compare`].
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Ip(a), Value::Ip(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value<'_> {}

impl std::hash::Hash for Value<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Str(s) => s.hash(state),
            Value::Ip(ip) => ip.hash(state),
        }
    }
}

impl<'a> Value<'a> {
    /// A borrowed string value.
    pub fn str(s: &'a str) -> Value<'a> {
        Value::Str(Cow::Borrowed(s))
    }

    /// An owned string value.
    pub fn string(s: String) -> Value<'static> {
        Value::Str(Cow::Owned(s))
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Detaches the value from the event it borrows from.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Ip(ip) => Value::Ip(ip),
        }
    }

    /// Borrows the value again with a shorter lifetime.
    pub fn reborrow(&self) -> Value<'_> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(i) => Value::Int(*i),
            Value::Float(f) => Value::Float(*f),
            Value::Ip(ip) => Value::Ip(*ip),
        }
    }

    /// The text, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text, as `STR()` and string functions see it; NULL stays `None`.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            other => Some(Cow::Owned(other.to_string())),
        }
    }

    /// The value as an integer: numbers, numeric strings (also `0x` hex), booleans.
    pub fn to_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Str(s) => parse_int(s),
            _ => None,
        }
    }

    /// The value as a float: numbers and numeric strings.
    pub fn to_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Str(s) => {
                let t = s.trim();
                parse_int(t)
                    .map(|i| i as f64)
                    .or_else(|| t.parse::<f64>().ok())
            }
            _ => None,
        }
    }

    /// The value as an IP address: IPs and strings holding one.
    pub fn to_ip(&self) -> Option<IpAddr> {
        match self {
            Value::Ip(ip) => Some(*ip),
            Value::Str(s) => parse_ip(s),
            _ => None,
        }
    }

    /// The value as a boolean: booleans, `true`/`false` strings (any case), 0 and 1.
    pub fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            Value::Str(s) => {
                let t = s.trim();
                if t.eq_ignore_ascii_case("true") || t == "1" {
                    Some(true)
                } else if t.eq_ignore_ascii_case("false") || t == "0" {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Compares two values with AQL's coercions. `None` means the comparison is
    /// unknown: a NULL operand, or values that cannot be brought to one type
    /// (`destinationport = 'abc'`).
    ///
    /// Rules, in order: NULL on either side is unknown; a number against a number
    /// or a numeric string compares numerically (`destinationport = '443'`); an IP
    /// against an IP or an IP-shaped string compares as addresses; a boolean against
    /// a boolean-shaped value compares as booleans; two strings compare byte-wise
    /// (case-sensitive, as AQL's `=` is); anything else is unknown.
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(_) | Float(_), Int(_) | Float(_)) => {
                let (a, b) = (self.to_f64()?, other.to_f64()?);
                a.partial_cmp(&b)
            }
            (Int(a), Str(_)) => match other.to_i64() {
                Some(b) => Some(a.cmp(&b)),
                None => (*a as f64).partial_cmp(&other.to_f64()?),
            },
            (Str(_), Int(b)) => match self.to_i64() {
                Some(a) => Some(a.cmp(b)),
                None => self.to_f64()?.partial_cmp(&(*b as f64)),
            },
            (Float(a), Str(_)) => a.partial_cmp(&other.to_f64()?),
            (Str(_), Float(b)) => self.to_f64()?.partial_cmp(b),
            (Ip(a), _) => Some(ip_key(a).cmp(&ip_key(&other.to_ip()?))),
            (_, Ip(b)) => Some(ip_key(&self.to_ip()?).cmp(&ip_key(b))),
            (Bool(a), _) => Some(a.cmp(&other.to_bool()?)),
            (_, Bool(b)) => Some(self.to_bool()?.cmp(b)),
            (Str(a), Str(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        }
    }

    /// A total order for ORDER BY: NULLs first, then numbers, IPs, booleans, strings.
    pub fn sort_cmp(&self, other: &Value<'_>) -> Ordering {
        fn rank(v: &Value<'_>) -> u8 {
            match v {
                Value::Null => 0,
                Value::Int(_) | Value::Float(_) => 1,
                Value::Ip(_) => 2,
                Value::Bool(_) => 3,
                Value::Str(_) => 4,
            }
        }
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let (a, b) = (self.to_f64().unwrap_or(0.0), other.to_f64().unwrap_or(0.0));
                a.total_cmp(&b)
            }
            (Value::Ip(a), Value::Ip(b)) => ip_key(a).cmp(&ip_key(b)),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// The name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Ip(_) => "IP address",
        }
    }
}

/// Orders IPv4 before IPv6 and each by its numeric value; IPv4-mapped IPv6
/// addresses compare equal to their IPv4 form.
fn ip_key(ip: &IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(v4) => (4, u128::from(u32::from(*v4))),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (4, u128::from(u32::from(v4))),
            None => (6, u128::from(*v6)),
        },
    }
}

/// Parses a decimal or `0x` hexadecimal integer, allowing surrounding spaces.
pub fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    t.parse::<i64>().ok()
}

/// The class of an address, as tuning and rules name it: `loopback`,
/// `link-local`, `metadata` (cloud instance metadata, 169.254.169.254 and
/// fd00:ec2::254), `private` (RFC 1918, RFC 6598 shared, IPv6 ULA), `multicast`,
/// `unspecified`, or `public`.
pub fn ip_class(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                "loopback"
            } else if o == [169, 254, 169, 254] {
                "metadata"
            } else if v4.is_link_local() {
                "link-local"
            } else if v4.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
                "private"
            } else if v4.is_multicast() || v4.is_broadcast() {
                "multicast"
            } else if v4.is_unspecified() {
                "unspecified"
            } else {
                "public"
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if let Some(v4) = v6.to_ipv4_mapped() {
                return ip_class(IpAddr::V4(v4));
            }
            if v6.is_loopback() {
                "loopback"
            } else if seg == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
                "metadata"
            } else if seg[0] & 0xffc0 == 0xfe80 {
                "link-local"
            } else if seg[0] & 0xfe00 == 0xfc00 {
                "private"
            } else if v6.is_multicast() {
                "multicast"
            } else if v6.is_unspecified() {
                "unspecified"
            } else {
                "public"
            }
        }
    }
}

/// Parses an IP address, also in brackets (`[::1]`) or with an IPv6 zone (`fe80::1%4`).
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    let t = t.split_once('%').map_or(t, |(a, _)| a);
    t.parse::<IpAddr>().ok()
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Str(s) => f.write_str(s),
            Value::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::str(v)
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn address_classes() {
        let c = |s: &str| ip_class(s.parse().unwrap());
        assert_eq!(c("127.0.0.1"), "loopback");
        assert_eq!(c("169.254.169.254"), "metadata");
        assert_eq!(c("169.254.10.1"), "link-local");
        assert_eq!(c("10.1.2.3"), "private");
        assert_eq!(c("172.16.0.1"), "private");
        assert_eq!(c("192.168.1.1"), "private");
        assert_eq!(c("100.64.0.1"), "private");
        assert_eq!(c("8.8.8.8"), "public");
        assert_eq!(c("224.0.0.251"), "multicast");
        assert_eq!(c("::1"), "loopback");
        assert_eq!(c("fe80::1"), "link-local");
        assert_eq!(c("fd12::1"), "private");
        assert_eq!(c("fd00:ec2::254"), "metadata");
        assert_eq!(c("::ffff:10.0.0.1"), "private");
        assert_eq!(c("2606:4700::1111"), "public");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn numeric_strings_coerce() {
        assert_eq!(Value::Int(443).compare(&Value::str("443")), Some(Equal));
        assert_eq!(Value::str(" 80 ").compare(&Value::Int(443)), Some(Less));
        assert_eq!(Value::Int(1).compare(&Value::str("1.5")), Some(Less));
        assert_eq!(Value::Int(443).compare(&Value::str("https")), None);
        assert_eq!(Value::Float(2.0).compare(&Value::Int(2)), Some(Equal));
    }

    #[test]
    fn ips_coerce() {
        let ip = Value::Ip("10.0.0.1".parse().unwrap());
        assert_eq!(ip.compare(&Value::str("10.0.0.1")), Some(Equal));
        assert_eq!(ip.compare(&Value::str("::ffff:10.0.0.1")), Some(Equal));
        assert_eq!(ip.compare(&Value::str("10.0.0.2")), Some(Less));
        assert_eq!(ip.compare(&Value::str("host")), None);
    }

    #[test]
    fn null_is_unknown() {
        assert_eq!(Value::Null.compare(&Value::Null), None);
        assert_eq!(Value::Int(1).compare(&Value::Null), None);
    }

    #[test]
    fn strings_are_case_sensitive() {
        assert_eq!(Value::str("A").compare(&Value::str("a")), Some(Less));
        assert_eq!(Value::str("true").compare(&Value::Bool(true)), Some(Equal));
    }

    #[test]
    fn hex_ints() {
        assert_eq!(parse_int("0x1a4"), Some(420));
        assert_eq!(Value::str("0x10").to_i64(), Some(16));
    }
}
