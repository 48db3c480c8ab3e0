//! Where each followed file was read up to. A position is committed only
//! after the alerts of every event before it were flushed to the sinks, so a
//! restart (even after kill -9) resumes exactly there: nothing lost, and the
//! events after it are read again, whose alerts the sinks recognise by id.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// A place in a file, by identity (device, inode) as well as name: a rotated
/// file keeps its identity under a new name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The name it was read under.
    pub path: PathBuf,
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Bytes read and evaluated (always at a line end).
    pub offset: u64,
}

/// The checkpoint file (`checkpoints.json` in the state directory).
#[derive(Debug)]
pub struct Checkpoints {
    path: PathBuf,
    map: Mutex<BTreeMap<String, Position>>,
    sync: bool,
}

impl Checkpoints {
    /// Opens the checkpoints in `dir` (created if missing). `sync`: fsync each commit.
    pub fn open(dir: &Path, sync: bool) -> Result<Checkpoints, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join("checkpoints.json");
        let map = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::config(format!("{}: not a checkpoint file: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Ok(Checkpoints {
            path,
            map: Mutex::new(map),
            sync,
        })
    }

    /// The committed position of `source`.
    pub fn get(&self, source: &str) -> Option<Position> {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
            .cloned()
    }

    /// Commits `pos` for `source`: written to a temporary file and renamed
    /// over the old one, so a crash leaves the old or the new, never half.
    pub fn commit(&self, source: &str, pos: Position) -> Result<(), Error> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(source) == Some(&pos) {
            return Ok(());
        }
        map.insert(source.to_owned(), pos);
        let text = serde_json::to_vec_pretty(&*map).map_err(|e| Error::config(e.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        let io = |e| Error::io(&tmp, e);
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&text).map_err(io)?;
        if self.sync {
            f.sync_data().map_err(io)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let c = Checkpoints::open(dir.path(), false).unwrap();
        assert_eq!(c.get("f"), None);
        let p = Position {
            path: "/x".into(),
            dev: 1,
            ino: 2,
            offset: 30,
        };
        c.commit("f", p.clone()).unwrap();
        drop(c);
        let c = Checkpoints::open(dir.path(), true).unwrap();
        assert_eq!(c.get("f"), Some(p));
        std::fs::write(dir.path().join("checkpoints.json"), "garbage").unwrap();
        let e = Checkpoints::open(dir.path(), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("checkpoints.json: not a checkpoint file"), "{e}");
    }
}
