//! Progress on stderr while inputs are read: bytes done of the total, throughput,
//! ETA and the file being read. Only on a terminal, and never with `-q`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shared progress state, updated by the readers.
pub struct Progress {
    total: AtomicU64,
    done: AtomicU64,
    current: Mutex<String>,
    finished: AtomicBool,
    start: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl portent_detect::scan::Progress for Progress {
    fn total(&self, bytes: u64) {
        self.total.store(bytes, Ordering::Relaxed);
    }
    fn start(&self, unit: &str) {
        Progress::start(self, unit);
    }
    fn add(&self, bytes: u64) {
        Progress::add(self, bytes);
    }
    fn finish(&self) {
        Progress::finish(self);
    }
    fn draw_until_finished(&self) {
        Progress::draw_until_finished(self);
    }
}

impl Progress {
    /// Progress over a total the scan gives.
    pub fn new() -> Progress {
        Progress {
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            current: Mutex::new(String::new()),
            finished: AtomicBool::new(false),
            start: Instant::now(),
        }
    }

    /// A reader starts on `name`.
    pub fn start(&self, name: &str) {
        if let Ok(mut c) = self.current.lock() {
            name.clone_into(&mut c);
        }
    }

    /// A reader finished `bytes` more.
    pub fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Stops the display.
    pub fn finish(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }

    /// Draws until [`Progress::finish`]; call on its own thread. Does nothing
    /// unless stderr is a terminal.
    pub fn draw_until_finished(&self) {
        let mut err = std::io::stderr();
        if !err.is_terminal() {
            return;
        }
        let mut drawn = false;
        while !self.finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let done = self.done.load(Ordering::Relaxed);
            let total = self.total.load(Ordering::Relaxed);
            let secs = self.start.elapsed().as_secs_f64().max(1e-3);
            let rate = done as f64 / secs;
            let eta = if rate > 0.0 {
                (total.saturating_sub(done)) as f64 / rate
            } else {
                0.0
            };
            let current = self.current.lock().map(|c| c.clone()).unwrap_or_default();
            let tail: String = current
                .chars()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let _ = write!(
                err,
                "\r\x1b[2K{:>3}%  {} / {}  {}/s  ETA {:.0}s  {}",
                (done * 100).checked_div(total).unwrap_or(100),
                human(done),
                human(total),
                human(rate as u64),
                eta,
                tail
            );
            drawn = true;
        }
        if drawn {
            let _ = write!(err, "\r\x1b[2K");
        }
    }
}

/// 1536 -> "1.5 KB".
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_sizes() {
        assert_eq!(super::human(10), "10 B");
        assert_eq!(super::human(1536), "1.5 KB");
        assert_eq!(super::human(3 * 1024 * 1024 * 1024), "3.0 GB");
    }
}
