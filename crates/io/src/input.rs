//! Finding and opening inputs: directories are walked, archives (zip, tar, gzip,
//! tar.gz) opened, and each stream's format recognised from its first bytes.
//! Large EVTX files are split into chunk ranges so they parse in parallel.

use crate::report::FileReport;
use crate::ReadOptions;
use crate::{csvfile, evtx, jsonfile, leef, zeek};
use portent_core::{Record, Schema};
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

/// Archives inside archives are opened up to this depth.
const MAX_DEPTH: usize = 4;
/// Bytes looked at to recognise a format.
const SNIFF: usize = 1024;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Windows EVTX.
    Evtx,
    /// JSON lines, JSON arrays, or one JSON document (Ariel `{"events": [...]}`).
    Json,
    /// LEEF 1.0/2.0 lines, with or without a syslog header.
    Leef,
    /// QRadar Log Activity CSV export.
    Csv,
    /// Zeek `conn.log` in TSV form (Zeek JSON is recognised inside `Json`).
    Zeek,
}

impl Format {
    /// Parses a `--format` value.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "evtx" => Format::Evtx,
            "json" | "jsonl" | "ndjson" => Format::Json,
            "leef" | "syslog" => Format::Leef,
            "csv" => Format::Csv,
            "zeek" | "bro" => Format::Zeek,
            _ => return None,
        })
    }
}

/// What the first bytes of a stream say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sniffed {
    Format(Format),
    Zip,
    Gzip,
    Tar,
    Utf16Le,
    Utf16Be,
    Unknown,
}

fn sniff(prefix: &[u8], name: &str) -> Sniffed {
    if evtx::is_evtx(prefix) {
        return Sniffed::Format(Format::Evtx);
    }
    if prefix.starts_with(b"PK\x03\x04") || prefix.starts_with(b"PK\x05\x06") {
        return Sniffed::Zip;
    }
    if prefix.starts_with(&[0x1f, 0x8b]) {
        return Sniffed::Gzip;
    }
    if prefix.len() >= 262 && &prefix[257..262] == b"ustar" {
        return Sniffed::Tar;
    }
    if prefix.starts_with(&[0xff, 0xfe]) {
        return Sniffed::Utf16Le;
    }
    if prefix.starts_with(&[0xfe, 0xff]) {
        return Sniffed::Utf16Be;
    }
    // A file named .evtx whose signature is damaged is still an event log:
    // its chunks carry their own signatures and are read one by one.
    if name.to_ascii_lowercase().ends_with(".evtx") {
        return Sniffed::Format(Format::Evtx);
    }
    let text = prefix.strip_prefix(b"\xef\xbb\xbf").unwrap_or(prefix);
    let text = String::from_utf8_lossy(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Sniffed::Format(Format::Json);
    }
    // `evtx_dump -o json`: "Record 1" then a pretty-printed object.
    if trimmed.starts_with("Record ")
        && trimmed
            .lines()
            .nth(1)
            .is_some_and(|l| l.trim_start().starts_with('{'))
    {
        return Sniffed::Format(Format::Json);
    }
    if trimmed.starts_with("#separator") {
        return Sniffed::Format(Format::Zeek);
    }
    let first_line = trimmed.lines().next().unwrap_or("");
    if first_line.contains("LEEF:") {
        return Sniffed::Format(Format::Leef);
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".csv") || csvfile::looks_like_header(first_line) {
        return Sniffed::Format(Format::Csv);
    }
    if lower.ends_with(".json") || lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        return Sniffed::Format(Format::Json);
    }
    if lower.ends_with(".leef")
        || lower.ends_with(".syslog")
        || lower.ends_with(".log") && trimmed.contains("LEEF:")
    {
        return Sniffed::Format(Format::Leef);
    }
    Sniffed::Unknown
}

/// One unit of reading work: a whole file, or a range of an EVTX file's chunks.
#[derive(Clone, Debug)]
pub struct Unit {
    /// The file.
    pub path: PathBuf,
    /// For EVTX ranges: first chunk and number of chunks.
    pub chunks: Option<(u64, u64)>,
    /// Found by walking a directory (not named by the user): a file that is
    /// not telemetry is ignored rather than an error.
    pub found_in_dir: bool,
}

impl Unit {
    /// The name reports and rows use for this unit's file.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Turns the user's paths into units of work, in a stable order (directories
/// sorted by name). Paths that cannot be used get a report saying why.
///
/// Symbolic links found inside a folder are followed only when they stay in
/// the tree the user named (or with [`ReadOptions::follow_links`]); a folder
/// or file reached a second time (a link loop such as `ln -s . self`, or two
/// links to one place) is read once and the second path is reported as
/// passed over, so no event is counted twice and a loop cannot hang the run.
pub fn plan(paths: &[PathBuf], opts: &ReadOptions) -> (Vec<Unit>, Vec<FileReport>) {
    let mut walker = Walker {
        opts,
        units: Vec::new(),
        reports: Vec::new(),
        seen: std::collections::HashMap::new(),
        root: None,
    };
    for p in paths {
        walker.root = std::fs::canonicalize(p).ok().filter(|r| r.is_dir());
        walker.walk(p, false);
    }
    (walker.units, walker.reports)
}

/// What identifies a file or folder whatever the path it is reached by.
#[cfg(unix)]
fn identity(_p: &Path, meta: &std::fs::Metadata) -> Option<(u64, u64, PathBuf)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino(), PathBuf::new()))
}

#[cfg(not(unix))]
fn identity(p: &Path, _meta: &std::fs::Metadata) -> Option<(u64, u64, PathBuf)> {
    std::fs::canonicalize(p).ok().map(|c| (0, 0, c))
}

struct Walker<'o> {
    opts: &'o ReadOptions,
    units: Vec<Unit>,
    reports: Vec<FileReport>,
    /// Files and folders already planned, with the path they were reached by.
    seen: std::collections::HashMap<(u64, u64, PathBuf), PathBuf>,
    /// The folder the user named, resolved, while walking it.
    root: Option<PathBuf>,
}

impl Walker<'_> {
    fn fail(&mut self, p: &Path, why: String) {
        let mut r = FileReport::new(p.display().to_string());
        r.fatal = Some(why);
        self.reports.push(r);
    }

    fn pass_over(&mut self, p: &Path, why: String) {
        let mut r = FileReport::new(p.display().to_string());
        r.ignored = Some(why);
        self.reports.push(r);
    }

    fn walk(&mut self, p: &Path, in_dir: bool) {
        // What is not a link is what it says it is: asked once, not twice.
        let mut own = None;
        if in_dir {
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {
                    let target = match std::fs::canonicalize(p) {
                        Ok(t) => t,
                        Err(e) => return self.pass_over(p, format!("broken symbolic link: {e}")),
                    };
                    let inside = self.root.as_ref().is_some_and(|r| target.starts_with(r));
                    if !inside && !self.opts.follow_links {
                        return self.pass_over(
                            p,
                            format!(
                                "symbolic link out of the folder (to {}); --follow-links reads it",
                                target.display()
                            ),
                        );
                    }
                }
                Ok(m) => own = Some(m),
                Err(e) => return self.fail(p, e.to_string()),
            }
        }
        let meta = match own.map_or_else(|| std::fs::metadata(p), Ok) {
            Ok(m) => m,
            Err(e) => return self.fail(p, e.to_string()),
        };
        if let Some(id) = identity(p, &meta) {
            if let Some(first) = self.seen.get(&id) {
                let what = if meta.is_dir() { "folder" } else { "file" };
                let why = format!(
                    "{}{what} as {} (read once)",
                    crate::report::SECOND_PATH,
                    first.display()
                );
                return self.pass_over(p, why);
            }
            self.seen.insert(id, p.to_path_buf());
        }
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) => return self.fail(p, e.to_string()),
            };
            entries.sort();
            for e in entries {
                if is_resource_fork(&e.to_string_lossy()) {
                    self.pass_over(&e, "macOS resource fork".into());
                    continue;
                }
                self.walk(&e, true);
            }
            return;
        }
        let opts = self.opts;
        let per_unit = opts.evtx_chunks_per_unit.max(1);
        let slots = evtx::chunk_slots(meta.len());
        let evtx_file = matches!(opts.format, None | Some(Format::Evtx)) && slots > per_unit && {
            let mut head = [0u8; 8];
            let named = p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"));
            named
                || File::open(p)
                    .and_then(|mut f| f.read_exact(&mut head))
                    .is_ok()
                    && evtx::is_evtx(&head)
        };
        if evtx_file {
            let mut first = 0;
            while first < slots {
                let count = per_unit.min(slots - first);
                self.units.push(Unit {
                    path: p.to_path_buf(),
                    chunks: Some((first, count)),
                    found_in_dir: in_dir,
                });
                first += count;
            }
        } else {
            self.units.push(Unit {
                path: p.to_path_buf(),
                chunks: None,
                found_in_dir: in_dir,
            });
        }
    }
}

/// Runs one reader over one input so that a bug in it (a panic) costs that
/// input only: the events it already handed on stay, the report says how far
/// it got, and the run goes on with every other input.
pub(crate) fn guarded(r: &mut FileReport, read: impl FnOnce(&mut FileReport)) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&mut *r)));
    if let Err(panic) = outcome {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        r.fatal = Some(format!(
            "reader failed after {} events (a bug in Portent, please report it): {what}",
            r.records
        ));
    }
}

fn is_resource_fork(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.starts_with("._") || name.contains("__MACOSX/")
}

/// Reads one unit, handing every event to `emit`. Returns one report per stream
/// read (an archive gives one per member, plus one for the archive itself).
pub fn read_unit(
    unit: &Unit,
    schema: &Schema,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(&str, Record<'static>),
) -> Vec<FileReport> {
    let name = unit.name();
    let mut reports = Vec::new();
    let file = match File::open(&unit.path) {
        Ok(f) => f,
        Err(e) => {
            let mut r = FileReport::new(name);
            r.fatal = Some(e.to_string());
            return vec![r];
        }
    };
    let mut ctx = Ctx {
        schema,
        opts,
        emit,
        reports: &mut reports,
        lenient: unit.found_in_dir,
        raw: None,
    };
    match unit.chunks {
        Some((first, count)) => {
            let mut r = FileReport::new(name);
            r.format = "EVTX".into();
            guarded(&mut r, |r| {
                evtx::read_chunks(file, first, count, None, schema, opts, r, ctx.emit)
            });
            ctx.reports.push(r);
        }
        None => ctx.stream(name, Source::File(file), 0),
    }
    reports
}

/// Reads a stream held in memory (a fuzz input, a network upload) as if it were
/// a file called `name`: archives are opened and formats recognised as for files.
pub fn read_bytes(
    name: &str,
    data: Vec<u8>,
    schema: &Schema,
    opts: &ReadOptions,
    emit: &mut dyn FnMut(&str, Record<'static>),
) -> Vec<FileReport> {
    let mut reports = Vec::new();
    let mut ctx = Ctx {
        schema,
        opts,
        emit,
        reports: &mut reports,
        lenient: false,
        raw: None,
    };
    ctx.stream(
        name.to_owned(),
        Source::Stream(Box::new(Cursor::new(data))),
        0,
    );
    reports
}

/// Reads `paths` like [`read_unit`] but hands over each event's own text, as
/// a forwarder would send it: a JSON line as it is, a LEEF line as it is, an
/// EVTX record rendered to JSON (the `evtx_dump -o jsonl` form). For `portent
/// replay`, which sends evidence to a live watcher.
pub fn read_raw(
    paths: &[PathBuf],
    opts: &ReadOptions,
    raw: &mut dyn FnMut(&str, &[u8]),
) -> Vec<FileReport> {
    let schema = Schema::qradar();
    let (units, mut reports) = plan(paths, opts);
    let mut done = std::collections::HashSet::new();
    let mut nothing = |_: &str, _: Record<'static>| {};
    for unit in units {
        // Large EVTX files are planned as chunk ranges: read each file once.
        if !done.insert(unit.path.clone()) {
            continue;
        }
        let name = unit.path.display().to_string();
        let file = match File::open(&unit.path) {
            Ok(f) => f,
            Err(e) => {
                let mut r = FileReport::new(name);
                r.fatal = Some(e.to_string());
                reports.push(r);
                continue;
            }
        };
        let mut ctx = Ctx {
            schema: &schema,
            opts,
            emit: &mut nothing,
            reports: &mut reports,
            lenient: unit.found_in_dir,
            raw: Some(&mut *raw),
        };
        ctx.stream(name, Source::File(file), 0);
    }
    reports
}

/// An input: a file (which can seek), or a stream that may borrow what it
/// comes from (a zip or tar member is read straight out of its archive,
/// never held whole).
enum Source<'r> {
    File(File),
    Stream(Box<dyn Read + 'r>),
}

struct Ctx<'a, 'e> {
    schema: &'a Schema,
    opts: &'a ReadOptions,
    emit: &'e mut dyn FnMut(&str, Record<'static>),
    reports: &'e mut Vec<FileReport>,
    /// Unrecognised files are ignored, not errors (they were found in a folder).
    lenient: bool,
    /// Hand over each event's own text instead of reading it ([`read_raw`]).
    raw: Option<&'e mut RawEmit<'e>>,
}

/// Takes a stream's name and one event's own text.
type RawEmit<'e> = dyn FnMut(&str, &[u8]) + 'e;

impl Ctx<'_, '_> {
    fn fatal(&mut self, name: String, msg: String) {
        let mut r = FileReport::new(name);
        r.fatal = Some(msg);
        self.reports.push(r);
    }

    fn stream<'r>(&mut self, name: String, src: Source<'r>, depth: usize) {
        let (prefix, reader): (Vec<u8>, Box<dyn Read + 'r>) = match src {
            Source::File(mut f) => {
                let prefix = match read_prefix(&mut f) {
                    Ok(p) => p,
                    Err(e) => return self.fatal(name, e.to_string()),
                };
                // EVTX and zip want to seek: hand them the file itself.
                let kind = self.kind(&prefix, &name);
                match kind {
                    Sniffed::Format(Format::Evtx) => {
                        let mut r = FileReport::new(name);
                        r.format = "EVTX".into();
                        if let Some(raw) = self.raw.as_mut() {
                            use std::io::Seek;
                            if let Err(e) = f.seek(std::io::SeekFrom::Start(0)) {
                                return self.fatal(r.name, e.to_string());
                            }
                            guarded(&mut r, |r| crate::raw::evtx(f, r, *raw));
                            self.reports.push(r);
                            return;
                        }
                        let len = f.metadata().map(|m| m.len()).ok();
                        let slots = evtx::chunk_slots(len.unwrap_or(0));
                        let (schema, opts, emit) = (self.schema, self.opts, &mut *self.emit);
                        guarded(&mut r, |r| {
                            evtx::read_chunks(f, 0, slots, len, schema, opts, r, emit)
                        });
                        self.reports.push(r);
                        return;
                    }
                    Sniffed::Zip => return self.zip(name, f, depth),
                    _ => (prefix.clone(), Box::new(Cursor::new(prefix).chain(f))),
                }
            }
            Source::Stream(mut s) => match read_prefix(&mut s) {
                Ok(p) => (p.clone(), Box::new(Cursor::new(p).chain(s))),
                Err(e) => return self.fatal(name, e.to_string()),
            },
        };
        let kind = self.kind(&prefix, &name);
        if depth > MAX_DEPTH && matches!(kind, Sniffed::Zip | Sniffed::Gzip | Sniffed::Tar) {
            return self.fatal(
                name,
                format!("archive nested deeper than {MAX_DEPTH} levels"),
            );
        }
        match kind {
            Sniffed::Format(Format::Evtx) => {
                let mut data = Vec::new();
                let mut reader = reader;
                let mut r = FileReport::new(name);
                r.format = "EVTX".into();
                if let Err(e) = reader.read_to_end(&mut data) {
                    r.skip(format!("read error: {e}"), format!("byte {}", data.len()));
                }
                if let Some(raw) = self.raw.as_mut() {
                    guarded(&mut r, |r| crate::raw::evtx(Cursor::new(data), r, *raw));
                    self.reports.push(r);
                    return;
                }
                let (schema, opts, emit) = (self.schema, self.opts, &mut *self.emit);
                guarded(&mut r, |r| evtx::read_bytes(&data, schema, opts, r, emit));
                self.reports.push(r);
            }
            Sniffed::Zip => {
                let mut data = Vec::new();
                let mut reader = reader;
                if let Err(e) = reader.read_to_end(&mut data) {
                    return self.fatal(name, e.to_string());
                }
                self.zip(name, Cursor::new(data), depth)
            }
            Sniffed::Gzip => {
                // The decompressed stream keeps the file's name: `a.json.gz`, or
                // `a.tar.gz!member` for the members of a compressed tar.
                let packed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
                let counted = Counted {
                    inner: reader,
                    bytes: packed.clone(),
                };
                let dec = Bounded {
                    inner: flate2::read::MultiGzDecoder::new(counted),
                    packed,
                    unpacked: 0,
                };
                self.stream(name, Source::Stream(Box::new(dec)), depth + 1)
            }
            Sniffed::Tar => self.tar(name, reader, depth),
            Sniffed::Utf16Le | Sniffed::Utf16Be => {
                let mut data = Vec::new();
                let mut reader = reader;
                if let Err(e) = reader.read_to_end(&mut data) {
                    return self.fatal(name, e.to_string());
                }
                let text = decode_utf16(&data[2..], kind == Sniffed::Utf16Le);
                self.stream(
                    name,
                    Source::Stream(Box::new(Cursor::new(text.into_bytes()))),
                    depth,
                )
            }
            Sniffed::Format(f) => {
                let mut r = FileReport::new(name);
                let buf = BufReader::with_capacity(1 << 16, reader);
                if let Some(raw) = self.raw.as_mut() {
                    guarded(&mut r, |r| crate::raw::text(f, buf, r, *raw));
                    self.reports.push(r);
                    return;
                }
                let (schema, opts, emit) = (self.schema, self.opts, &mut *self.emit);
                let lenient = self.lenient && depth == 0;
                guarded(&mut r, |r| match f {
                    Format::Json => {
                        jsonfile::read(buf, schema, opts, r, emit);
                        // JSON found in a folder with no event in it (a
                        // tool's manifest, a config) is not telemetry.
                        let only = r.skipped.keys().all(|k| k == jsonfile::NOT_AN_EVENT);
                        if lenient && r.records == 0 && only && !r.skipped.is_empty() {
                            r.skipped.clear();
                            r.ignored = Some("JSON with no event in it (no object has a field of a known layout)".into());
                        }
                    }
                    Format::Leef => leef::read(buf, schema, opts, r, emit),
                    Format::Csv => csvfile::read(buf, schema, opts, r, emit),
                    Format::Zeek => zeek::read_tsv(buf, schema, opts, r, emit),
                    Format::Evtx => {}
                });
                self.reports.push(r);
            }
            Sniffed::Unknown => {
                let shown: String = String::from_utf8_lossy(&prefix[..prefix.len().min(16)])
                    .chars()
                    .map(|c| if c.is_control() { '.' } else { c })
                    .collect();
                if self.lenient && depth == 0 {
                    let mut r = FileReport::new(name);
                    r.ignored = Some(format!("not a telemetry format (starts with {shown:?})"));
                    self.reports.push(r);
                    return;
                }
                self.fatal(
                    name,
                    format!("format not recognised (starts with {shown:?}); use --input-format to say what it is"),
                )
            }
        }
    }

    /// The sniffed kind, unless the user forced a format (archives are always opened).
    fn kind(&self, prefix: &[u8], name: &str) -> Sniffed {
        let found = sniff(prefix, name);
        match (self.opts.format, found) {
            (
                _,
                Sniffed::Zip | Sniffed::Gzip | Sniffed::Tar | Sniffed::Utf16Le | Sniffed::Utf16Be,
            ) => found,
            (Some(f), _) => Sniffed::Format(f),
            (None, s) => s,
        }
    }

    fn zip<R: Read + std::io::Seek>(&mut self, name: String, r: R, depth: usize) {
        let mut archive = match zip::ZipArchive::new(r) {
            Ok(a) => a,
            Err(e) => return self.fatal(name, format!("not a readable zip archive: {e}")),
        };
        let mut own = FileReport::new(name.clone());
        own.format = format!("zip archive, {} members", archive.len());
        for i in 0..archive.len() {
            let member = match archive.by_index(i) {
                Ok(m) => m,
                Err(e) => {
                    own.skip(
                        format!("member cannot be opened: {e}"),
                        format!("member {i}"),
                    );
                    continue;
                }
            };
            if member.is_dir() {
                continue;
            }
            let mname = member
                .name()
                .map(|n| n.into_owned())
                .unwrap_or_else(|_| format!("member {i}"));
            if is_resource_fork(&mname) {
                own.skip("macOS resource fork member", mname);
                continue;
            }
            let size = member.size() as usize;
            let packed = member.compressed_size();
            if too_inflated(packed, size as u64) {
                own.skip(
                    format!("member inflates more than {MAX_RATIO}:1 (a decompression bomb?)"),
                    format!("{mname} ({packed} bytes to {size})"),
                );
                continue;
            }
            // Read straight out of the archive: a damaged member's read
            // error is reported by the reader at the place it happens.
            let full = format!("{name}!{mname}");
            self.stream(full, Source::Stream(Box::new(member)), depth + 1);
        }
        self.reports.push(own);
    }

    fn tar(&mut self, name: String, reader: Box<dyn Read + '_>, depth: usize) {
        let archive_name = name;
        let mut own = FileReport::new(archive_name.clone());
        own.format = "tar archive".into();
        let mut archive = tar::Archive::new(reader);
        let entries = match archive.entries() {
            Ok(e) => e,
            Err(e) => return self.fatal(archive_name, format!("not a readable tar archive: {e}")),
        };
        let mut members = 0;
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    // GNU tar's "unexpected end of file" on trailing bytes lands here,
                    // after every complete member has been read.
                    own.skip(
                        format!("archive ends in damaged or trailing data: {e}"),
                        format!("after member {members}"),
                    );
                    break;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let mname = entry
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if is_resource_fork(&mname) {
                own.skip("macOS resource fork member", mname);
                continue;
            }
            members += 1;
            let full = format!("{archive_name}!{mname}");
            self.stream(full, Source::Stream(Box::new(entry)), depth + 1);
        }
        own.format = format!("tar archive, {members} members");
        self.reports.push(own);
    }
}

/// How much a compressed stream may inflate once it is past
/// [`RATIO_FLOOR`]: real logs compress 10 to 150 times; deflate at most
/// about 1030 times a stream of one repeated byte; a nested bomb, millions.
pub const MAX_RATIO: u64 = 500;
/// Output below this size is never stopped, whatever the ratio.
const RATIO_FLOOR: u64 = 256 << 20;

fn too_inflated(packed: u64, unpacked: u64) -> bool {
    unpacked > RATIO_FLOOR && unpacked > packed.saturating_mul(MAX_RATIO)
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// A decompressed stream that stops, with an error the reader reports at
/// its place, once it inflates beyond [`MAX_RATIO`].
struct Bounded<R> {
    inner: R,
    packed: std::sync::Arc<std::sync::atomic::AtomicU64>,
    unpacked: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unpacked += n as u64;
        let packed = self.packed.load(std::sync::atomic::Ordering::Relaxed);
        if too_inflated(packed, self.unpacked) {
            return Err(std::io::Error::other(format!(
                "decompression stopped after {} MiB: more than {MAX_RATIO} times the {packed} compressed bytes (a decompression bomb?)",
                self.unpacked >> 20
            )));
        }
        Ok(n)
    }
}

fn read_prefix<R: Read>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; SNIFF];
    let mut got = 0;
    while got < SNIFF {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(got);
    Ok(buf)
}

fn decode_utf16(data: &[u8], little: bool) -> String {
    let units = data.chunks_exact(2).map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_first() {
        assert_eq!(
            sniff(b"ElfFile\0xxxx", "a.json"),
            Sniffed::Format(Format::Evtx)
        );
        assert_eq!(sniff(b"PK\x03\x04", "a"), Sniffed::Zip);
        assert_eq!(sniff(b"\x1f\x8b\x08", "a"), Sniffed::Gzip);
        assert_eq!(
            sniff(b"\xef\xbb\xbf {\"a\":1}", "a.txt"),
            Sniffed::Format(Format::Json)
        );
        assert_eq!(
            sniff(b"<13>Jan 18 11:07:53 host LEEF:1.0|a|b|c|d|", "x"),
            Sniffed::Format(Format::Leef)
        );
        assert_eq!(
            sniff(b"#separator \\x09\n#fields\tts", "conn.log"),
            Sniffed::Format(Format::Zeek)
        );
        assert_eq!(sniff(b"just some words", "notes.txt"), Sniffed::Unknown);
        assert_eq!(sniff(b"\xff\xfe{\0", "a"), Sniffed::Utf16Le);
    }

    #[test]
    fn resource_forks_are_recognised() {
        assert!(is_resource_fork("__MACOSX/x/._a.json"));
        assert!(is_resource_fork("dir/._a.json"));
        assert!(!is_resource_fork("dir/a._json"));
    }

    #[test]
    fn utf16_decodes() {
        let bytes: Vec<u8> = "{\"a\":1}"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(decode_utf16(&bytes, true), "{\"a\":1}");
    }
}
