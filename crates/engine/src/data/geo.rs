//! GEO::LOOKUP and GEO::DISTANCE over a MaxMind database the user gives
//! (GeoLite2 or GeoIP2 City/Country, `.mmdb`): QRadar answers them from the
//! MaxMind data it ships; offline, Portent reads the same format with the
//! `maxminddb` crate. Nothing is bundled: location data has its own licence
//! and goes stale.

use portent_core::Value;
use serde_json::Value as J;
use std::net::IpAddr;

/// Mean Earth radius (IUGG), km: GEO::DISTANCE is great-circle kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A loaded database.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
    /// Where it came from, and its type (`GeoLite2-City`), for messages.
    pub origin: String,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GeoDb({})", self.origin)
    }
}

impl GeoDb {
    /// Reads a database from its bytes; `origin` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<GeoDb, String> {
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| format!("{origin}: not a MaxMind database: {e}"))?;
        let kind = reader.metadata().database_type.clone();
        Ok(GeoDb {
            reader,
            origin: format!("{origin} ({kind})"),
        })
    }

    /// The whole record for `ip` as JSON, or None (not an address, not in
    /// the database, or a record that cannot be read).
    fn record(&self, ip: &Value<'_>) -> Option<J> {
        let ip = address(ip)?;
        self.reader.lookup(ip).ok()?.decode::<J>().ok()?
    }

    /// `GEO::LOOKUP(ip, 'property'[, 'path'])`: the record's part for
    /// `property` (`city`, `country`, `continent`, `location`, `postal`,
    /// `subdivisions`, `registered_country`, `represented_country`,
    /// `traits`; `physical_country` is QRadar's name for `country`), and
    /// within it the dotted `path` (`names.en`, `iso_code`, `latitude`;
    /// `name` is short for `names.en`). Text and numbers come back as
    /// themselves, objects and lists as JSON text; NULL where the database
    /// has nothing.
    pub fn lookup(&self, ip: &Value<'_>, property: &str, path: Option<&str>) -> Value<'static> {
        let Some(record) = self.record(ip) else {
            return Value::Null;
        };
        let property = property.trim().to_ascii_lowercase();
        let property = match property.as_str() {
            "physical_country" => "country",
            "subdivision" => "subdivisions",
            p => p,
        };
        let mut at = record.get(property);
        if let Some(path) = path {
            for step in path.split('.').filter(|s| !s.is_empty()) {
                let step = step.trim();
                at = at.and_then(|v| match v {
                    J::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ if step.eq_ignore_ascii_case("name") => {
                        v.get("names").and_then(|n| n.get("en"))
                    }
                    _ => v.get(step),
                });
            }
        }
        match at {
            None | Some(J::Null) => Value::Null,
            Some(J::String(s)) => Value::string(s.clone()),
            Some(J::Bool(b)) => Value::Bool(*b),
            Some(J::Number(n)) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n.as_f64().map_or(Value::Null, Value::Float),
            },
            Some(other) => Value::string(other.to_string()),
        }
    }

    /// The latitude and longitude the database gives `ip`.
    fn point(&self, ip: &Value<'_>) -> Option<(f64, f64)> {
        let record = self.record(ip)?;
        let location = record.get("location")?;
        Some((
            location.get("latitude")?.as_f64()?,
            location.get("longitude")?.as_f64()?,
        ))
    }

    /// `GEO::DISTANCE(ip, ip)`: great-circle kilometres between the two
    /// addresses' locations, NULL when either has none.
    pub fn distance(&self, a: &Value<'_>, b: &Value<'_>) -> Value<'static> {
        match (self.point(a), self.point(b)) {
            (Some(p), Some(q)) => Value::Float(haversine_km(p, q)),
            _ => Value::Null,
        }
    }
}

fn address(v: &Value<'_>) -> Option<IpAddr> {
    match v {
        Value::Ip(ip) => Some(*ip),
        other => other.to_text()?.trim().parse().ok(),
    }
}

/// Great-circle distance between two (latitude, longitude) points in degrees.
pub fn haversine_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_worked_by_hand() {
        // A quarter of a meridian: pi/2 * R.
        let quarter = haversine_km((0.0, 0.0), (90.0, 0.0));
        assert!((quarter - std::f64::consts::FRAC_PI_2 * EARTH_RADIUS_KM).abs() < 1e-6);
        // Antipodes on the equator: pi * R.
        let half = haversine_km((0.0, 0.0), (0.0, 180.0));
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1e-6);
        assert_eq!(haversine_km((51.5, -0.12), (51.5, -0.12)), 0.0);
        // Paris to London is about 344 km.
        let pl = haversine_km((48.8566, 2.3522), (51.5074, -0.1278));
        assert!((pl - 343.9).abs() < 1.0, "{pl}");
    }
}
