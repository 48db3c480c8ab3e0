//! Files followed like `tail -F`: read to the end, then polled for more;
//! when the name moves to a new file (rotation) the old one is read to its
//! end first, and a file cut short (truncation) is read again from the start.
//! Only whole lines are read; the checkpoint (see [`crate::checkpoint`]) is
//! the end of the last line whose alerts are safe.

use crate::checkpoint::{Checkpoints, Position};
use crate::source::{Context, Parser};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a file is read from when there is no checkpoint for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From its first line (the default: nothing already in the file is missed).
    Beginning,
    /// From its current end, like `tail -F`.
    End,
}

/// How a file is followed.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// How often the file is checked for more, or for rotation.
    pub poll: Duration,
    /// Where to start without a checkpoint.
    pub start: Start,
    /// Rebuild correlation state from the part before the checkpoint.
    pub warm_up: bool,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: Duration::from_millis(100),
            start: Start::Beginning,
            warm_up: true,
        }
    }
}

struct Current {
    file: File,
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// Where the next unread byte is.
    read_to: u64,
    /// Bytes after the last newline, waiting for the rest of their line.
    partial: Vec<u8>,
}

impl Current {
    fn open(path: &Path, offset: u64) -> std::io::Result<Current> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Current {
            file,
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
            read_to: offset,
            partial: Vec::new(),
        })
    }

    /// The position of the end of the last whole line read.
    fn line_end(&self) -> u64 {
        self.read_to - self.partial.len() as u64
    }
}

/// Follows `path` on its own thread.
pub fn follow(
    ctx: Context,
    path: PathBuf,
    checkpoints: Arc<Checkpoints>,
    opts: FollowOptions,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("follow {}", path.display()))
        .spawn(move || {
            Follower {
                parser: Parser::new(ctx.clone(), Arc::new(AtomicU64::new(0))),
                ctx,
                path,
                checkpoints,
                opts,
            }
            .run()
        })
        .unwrap_or_else(|e| {
            crate::log::error("cannot start a follower thread", &[("error", &e)]);
            std::thread::spawn(|| {})
        })
}

struct Follower {
    ctx: Context,
    parser: Parser,
    path: PathBuf,
    checkpoints: Arc<Checkpoints>,
    opts: FollowOptions,
}

impl Follower {
    fn key(&self) -> String {
        self.ctx.name.to_string()
    }

    fn run(mut self) {
        let mut current = self.resume();
        let mut buf = vec![0u8; 1 << 20];
        let mut waiting_logged = false;
        while !self.ctx.stop.load(Ordering::Relaxed) {
            let Some(cur) = current.as_mut() else {
                match Current::open(&self.path, self.start_offset()) {
                    Ok(c) => {
                        crate::log::info(
                            "following",
                            &[("file", &self.path.display()), ("from", &c.read_to)],
                        );
                        current = Some(c);
                    }
                    Err(e) => {
                        if !waiting_logged {
                            crate::log::warn(
                                "waiting for file",
                                &[("file", &self.path.display()), ("error", &e)],
                            );
                            waiting_logged = true;
                        }
                        std::thread::sleep(self.opts.poll);
                    }
                }
                continue;
            };
            match cur.file.read(&mut buf) {
                Ok(0) => {}
                Ok(n) => {
                    if !self.lines(cur, &buf[..n]) {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    crate::log::warn(
                        "read failed; reopening",
                        &[("file", &cur.path.display()), ("error", &e)],
                    );
                    current = None;
                    std::thread::sleep(self.opts.poll);
                    continue;
                }
            }
            // At the end: has the name moved on, or the file been cut?
            match std::fs::metadata(&self.path) {
                Ok(m) if (m.dev(), m.ino()) != (cur.dev, cur.ino) => {
                    // Rotated: the old file was read to its end just now.
                    self.unterminated(cur);
                    crate::log::info(
                        "file rotated; following the new one",
                        &[("file", &self.path.display())],
                    );
                    match Current::open(&self.path, 0) {
                        Ok(c) => current = Some(c),
                        Err(_) => current = None,
                    }
                    continue;
                }
                Ok(m) if m.len() < cur.read_to => {
                    crate::log::warn(
                        "file truncated; reading it again from the start",
                        &[
                            ("file", &self.path.display()),
                            ("was", &cur.read_to),
                            ("now", &m.len()),
                        ],
                    );
                    if cur.file.seek(SeekFrom::Start(0)).is_ok() {
                        cur.read_to = 0;
                        cur.partial.clear();
                    }
                }
                _ => {}
            }
            std::thread::sleep(self.opts.poll);
        }
    }

    fn start_offset(&self) -> u64 {
        match self.opts.start {
            Start::Beginning => 0,
            Start::End => std::fs::metadata(&self.path).map_or(0, |m| m.len()),
        }
    }

    /// Opens where the checkpoint says: the same file (found by identity even
    /// if it was renamed by a rotation while we were down), else the
    /// current file from its start.
    fn resume(&mut self) -> Option<Current> {
        let cp = self.checkpoints.get(&self.key())?;
        let same =
            |p: &Path| std::fs::metadata(p).is_ok_and(|m| (m.dev(), m.ino()) == (cp.dev, cp.ino));
        let found = if same(&self.path) {
            Some(self.path.clone())
        } else {
            let dir = self
                .path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            std::fs::read_dir(&dir)
                .ok()?
                .flatten()
                .map(|e| e.path())
                .find(|p| same(p))
        };
        let Some(p) = found else {
            crate::log::warn(
                "the checkpointed file is gone; reading the current one from its start",
                &[("file", &self.path.display())],
            );
            return Current::open(&self.path, 0).ok();
        };
        if self.opts.warm_up && cp.offset > 0 {
            self.warm(&p, cp.offset);
        }
        let c = Current::open(&p, cp.offset).ok()?;
        crate::log::info(
            "resuming at checkpoint",
            &[("file", &p.display()), ("offset", &cp.offset)],
        );
        Some(c)
    }

    /// Re-reads the part before the checkpoint for the correlation state only.
    fn warm(&mut self, path: &Path, upto: u64) {
        let Ok(f) = File::open(path) else { return };
        let mut text = Vec::new();
        if f.take(upto).read_to_end(&mut text).is_err() {
            return;
        }
        let name = self.ctx.name.clone();
        for (i, line) in text.split(|b| *b == b'\n').enumerate() {
            if !line.iter().all(u8::is_ascii_whitespace) {
                self.parser.message_at(
                    line,
                    Instant::now(),
                    &|| format!("{name}, line {} (warm-up)", i + 1),
                    "warm",
                );
            }
            if self.parser.len() >= crate::source::BATCH && !self.parser.send(None, true) {
                return;
            }
        }
        self.parser.send(None, true);
    }

    /// Reads the whole lines of `bytes` (the next bytes of `cur`).
    fn lines(&mut self, cur: &mut Current, bytes: &[u8]) -> bool {
        let received = Instant::now();
        let mut line_start = cur.line_end();
        cur.read_to += bytes.len() as u64;
        let mut rest = bytes;
        let name = self.ctx.name.clone();
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let end = line_start + (cur.partial.len() + nl + 1) as u64;
            let line: std::borrow::Cow<'_, [u8]> = if cur.partial.is_empty() {
                rest[..nl].into()
            } else {
                let mut l = std::mem::take(&mut cur.partial);
                l.extend_from_slice(&rest[..nl]);
                l.into()
            };
            rest = &rest[nl + 1..];
            if !line.iter().all(u8::is_ascii_whitespace) {
                let id = format!("f{}:{}:{end}", cur.dev, cur.ino);
                let path = cur.path.display();
                self.parser.message_at(
                    &line,
                    received,
                    &|| format!("{name} ({path}), bytes {line_start}..{end}"),
                    &id,
                );
            }
            line_start = end;
            if self.parser.len() >= crate::source::BATCH && !self.send_upto(cur, end) {
                return false;
            }
        }
        cur.partial.extend_from_slice(rest);
        self.send_upto(cur, cur.line_end())
    }

    fn send_upto(&mut self, cur: &Current, offset: u64) -> bool {
        let pos = Position {
            path: cur.path.clone(),
            dev: cur.dev,
            ino: cur.ino,
            offset,
        };
        let (cps, key) = (self.checkpoints.clone(), self.key());
        self.parser
            .send(Some(Box::new(move || cps.commit(&key, pos))), false)
    }

    /// A rotated file's last line without a newline is still a line.
    fn unterminated(&mut self, cur: &mut Current) {
        if cur.partial.is_empty() {
            return;
        }
        let line = std::mem::take(&mut cur.partial);
        let end = cur.read_to;
        let id = format!("f{}:{}:{end}", cur.dev, cur.ino);
        let name = self.ctx.name.clone();
        self.parser.message_at(
            &line,
            Instant::now(),
            &|| format!("{name}, last line (no newline)"),
            &id,
        );
        self.send_upto(cur, end);
    }
}
