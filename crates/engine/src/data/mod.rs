//! What queries look up and what tunes them: reference sets, maps and
//! tables, GeoIP databases, tuning exceptions.

pub mod geo;
pub mod refdata;
pub mod tuning;
