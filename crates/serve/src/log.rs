//! Structured logs on standard error: one JSON object per line (the default,
//! for log shippers) or `key=value` text for people.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static TEXT: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// Text logs instead of JSON.
pub fn set_text(text: bool) {
    TEXT.store(text, Ordering::Relaxed);
}

/// Only warnings and errors.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Logs at `info`.
pub fn info(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    if !QUIET.load(Ordering::Relaxed) {
        write("info", msg, fields);
    }
}

/// Logs at `warn`.
pub fn warn(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    write("warn", msg, fields);
}

/// Logs at `error`.
pub fn error(msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    write("error", msg, fields);
}

fn write(level: &str, msg: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let line = if TEXT.load(Ordering::Relaxed) {
        let mut s = format!("{ts} {level:5} {msg}");
        for (k, v) in fields {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    } else {
        let mut o = serde_json::Map::new();
        o.insert("ts".into(), ts.to_string().into());
        o.insert("level".into(), level.into());
        o.insert("msg".into(), msg.into());
        for (k, v) in fields {
            o.insert((*k).to_owned(), v.to_string().into());
        }
        serde_json::Value::Object(o).to_string()
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
