//! One module per subcommand.

pub mod baseline;
pub mod convert;
pub mod explain;
pub mod hunt;
pub mod lint;
pub mod query;
pub mod replay;
pub mod rules;
pub mod sigma;
pub mod validate;
pub mod watch;

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Where the query text comes from.
#[derive(clap::Args, Clone, Debug)]
pub struct QuerySource {
    /// The AQL text (or use --file).
    #[arg(value_name = "AQL", required_unless_present = "file")]
    pub aql: Option<String>,
    /// Read the query from a file.
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl QuerySource {
    /// The query text and a name for messages.
    pub fn load(&self) -> Result<(String, String)> {
        match (&self.aql, &self.file) {
            (_, Some(f)) => {
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read query file {}", f.display()))?;
                Ok((text, f.display().to_string()))
            }
            (Some(q), None) => Ok((q.clone(), "<query>".into())),
            (None, None) => bail!("give a query, or --file"),
        }
    }
}

/// Prints query errors as code frames and fails.
pub fn report_errors(errors: &portent_engine::Errors, origin: &str, source: &str) -> anyhow::Error {
    for e in &errors.0 {
        eprint!("{}", e.to_diagnostic().render(origin, source));
    }
    anyhow::anyhow!("{} error(s) in {origin}", errors.0.len())
}

/// Where events come from, and how they are read.
#[derive(clap::Args, Clone, Debug)]
pub struct InputArgs {
    /// Input files or directories: EVTX, JSON (evtx_dump, Winlogbeat, NXLog, Mordor,
    /// Azure, Ariel), QRadar CSV, LEEF, Zeek conn.log; zip/tar.gz/gz opened.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// More inputs (the same as PATH arguments).
    #[arg(short, long = "input", value_name = "PATH", num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Read every input as this format instead of recognising it
    /// (evtx, json, leef, csv, zeek).
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// Zone of zone-less local times in the input (NXLog EventTime, some Mordor TimeCreated).
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub input_tz: String,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long)]
    pub threads: Option<usize>,
    /// Print a report for every input, not only for those with problems.
    #[arg(long)]
    pub report: bool,
    /// No progress display.
    #[arg(short, long)]
    pub quiet: bool,
    /// Follow symbolic links that lead out of the folders named (links
    /// inside them are followed anyway; every file and folder is read once).
    #[arg(long)]
    pub follow_links: bool,
    /// Memory for the process creations that enrichment joins events to,
    /// in MiB: past it the oldest are dropped (counted in the summary), so
    /// memory does not grow with the input.
    #[arg(long, value_name = "MIB", default_value = "128")]
    pub process_index_mb: usize,
}

impl InputArgs {
    /// Every input path, positional ones first.
    pub fn all(&self) -> Result<Vec<PathBuf>> {
        let all: Vec<PathBuf> = self.paths.iter().chain(&self.inputs).cloned().collect();
        if all.is_empty() {
            bail!("no input: give files or directories to read");
        }
        // A path the user typed that is not there is a usage error, said
        // before any work (a folder's own unreadable entries are reported
        // per file instead, and the run goes on).
        for p in &all {
            if let Err(e) = std::fs::metadata(p) {
                bail!("input {}: {e}", p.display());
            }
        }
        Ok(all)
    }

    /// Scan settings from the flags.
    pub fn scan_options(&self, keep_unknown: bool) -> Result<portent_detect::scan::ScanOptions> {
        let format = match &self.input_format {
            Some(f) => Some(portent_io::Format::parse(f).with_context(|| {
                format!("--input-format: `{f}` is not one of evtx, json, leef, csv, zeek")
            })?),
            None => None,
        };
        let input_zone = portent_core::Zone::parse(&self.input_tz)
            .map_err(|e| anyhow::anyhow!("--input-tz: {e}"))?;
        Ok(portent_detect::scan::ScanOptions {
            quiet: self.quiet,
            threads: self
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            read: portent_io::ReadOptions {
                input_zone,
                keep_unknown,
                format,
                follow_links: self.follow_links,
                ..portent_io::ReadOptions::default()
            },
            index_capacity: 4_000_000,
            index_bytes: self.process_index_mb.saturating_mul(1 << 20),
            keep: None,
            dispatch: Vec::new(),
            list_inputs: self.report,
            read_all: false,
        })
    }
}

/// Parses `--window`: `as-written`, `ignore`, or `last:DURATION` (`last:7d`, `last:12h`).
pub fn parse_window(s: &str) -> Result<portent_engine::WindowPolicy> {
    use portent_engine::WindowPolicy;
    Ok(match s {
        "as-written" => WindowPolicy::AsWritten,
        "ignore" => WindowPolicy::Ignore,
        other => match other.strip_prefix("last:").and_then(parse_duration) {
            Some(ms) => WindowPolicy::Last(ms),
            None => bail!("--window takes as-written, ignore or last:DURATION (last:7d, last:12h, last:30m), not `{other}`"),
        },
    })
}

/// `7d`, `12h`, `30m`, `90s` in milliseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let ms = match unit {
        "d" => 86_400_000,
        "h" => 3_600_000,
        "m" => 60_000,
        "s" => 1000,
        _ => return None,
    };
    n.checked_mul(ms)
}

/// Resolves `--now`: `wall-clock`, `latest` (the newest event read), epoch ms or RFC 3339.
pub fn resolve_now(now: &str, latest: Option<i64>) -> Result<i64> {
    Ok(match now {
        "wall-clock" => chrono::Utc::now().timestamp_millis(),
        "latest" => latest.unwrap_or(0),
        t => match portent_core::value::parse_int(t) {
            Some(ms) => ms,
            None => chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| {
                    format!("--now: `{t}` is not epoch ms, RFC 3339, `latest` or `wall-clock`")
                })?
                .timestamp_millis(),
        },
    })
}

/// The window of a run, in words.
pub fn describe_window(
    q: &portent_engine::Query,
    w: Option<portent_engine::Window>,
    now: i64,
    zone: &portent_core::Zone,
) -> String {
    let t = |ms: Option<i64>| ms.map(|m| crate::summary::rfc3339(m, zone));
    if !q.window_conjuncts.is_empty() {
        let texts: Vec<&str> = q
            .window_conjuncts
            .iter()
            .filter_map(|(_, span)| q.source.get(span.start as usize..span.end as usize))
            .collect();
        return format!(
            "{} with NOW() = {}",
            texts.join(" AND "),
            crate::summary::rfc3339(now, zone)
        );
    }
    match w {
        Some(w) => match (t(w.start), t(w.end)) {
            (Some(a), Some(b)) => format!("{a} .. {b}"),
            (Some(a), None) => format!("after {a}"),
            (None, Some(b)) => format!("before {b}"),
            (None, None) => "none".into(),
        },
        None => "none (every event)".into(),
    }
}

/// `catalog` with the rules' titles, for RULENAME of their ids.
pub fn with_rule_titles<'r>(
    catalog: std::sync::Arc<portent_core::Catalog>,
    rules: impl Iterator<Item = &'r crate::pack::Meta>,
) -> std::sync::Arc<portent_core::Catalog> {
    let mut c = (*catalog).clone();
    for m in rules {
        c.add_rule_title(&m.id, &m.title);
    }
    std::sync::Arc::new(c)
}

/// Loads `--catalog` over the built-in tables: `table,id,name` CSV, or the
/// JSON QRadar's API returns for its low- and high-level categories, QID
/// records and rules (see [`catalog_json`]).
pub fn load_catalog(
    path: Option<&std::path::Path>,
) -> Result<std::sync::Arc<portent_core::Catalog>> {
    let mut catalog = portent_core::Catalog::builtin();
    if let Some(path) = path {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read catalog {}", path.display()))?;
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('[') || t.starts_with('{') {
            catalog_json(&mut catalog, t)
                .map_err(|e| anyhow::anyhow!("catalog {}: {e}", path.display()))?;
            return Ok(std::sync::Arc::new(catalog));
        }
        catalog
            .load_csv(&text)
            .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    }
    Ok(std::sync::Arc::new(catalog))
}

/// Rows from QRadar's API JSON (an array, or one object): QID records
/// (`qid`, `name`: `/api/data_classification/qid_records`), low-level
/// categories (`high_level_category_id`: `.../low_level_categories`), rules
/// (`origin` or `type` EVENT/FLOW/COMMON/OFFENSE: `/api/analytics/rules`),
/// and high-level categories (`id` a multiple of 1000 with `name` and
/// `description`: `.../high_level_categories`). Anything else is refused by
/// its place: a lookup table read half right would name events wrongly.
pub fn catalog_json(catalog: &mut portent_core::Catalog, text: &str) -> Result<usize> {
    use portent_core::catalog::Table;
    let doc: serde_json::Value = serde_json::from_str(text)?;
    let items = match doc {
        serde_json::Value::Array(items) => items,
        one => vec![one],
    };
    for (i, item) in items.iter().enumerate() {
        let place = || format!("element {}", i + 1);
        let int = |k: &str| item.get(k).and_then(serde_json::Value::as_i64);
        let name = item
            .get("name")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("{}: no `name`", place()))?;
        let rule_type = item
            .get("type")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|t| ["EVENT", "FLOW", "COMMON", "OFFENSE", "USER"].contains(&t));
        let (table, id) = if let Some(qid) = int("qid") {
            (Table::Qid, qid)
        } else if item.get("high_level_category_id").is_some() {
            (
                Table::Category,
                int("id").ok_or_else(|| anyhow::anyhow!("{}: no `id`", place()))?,
            )
        } else if rule_type || item.get("origin").is_some() {
            (
                Table::Rule,
                int("id").ok_or_else(|| anyhow::anyhow!("{}: no `id`", place()))?,
            )
        } else if let Some(id) = int("id").filter(|id| id % 1000 == 0 && *id > 0) {
            (Table::Category, id)
        } else {
            bail!(
                "{}: not a QID record, category or rule of QRadar's API (expected `qid`, `high_level_category_id`, a rule `type`, or a high-level category id)",
                place()
            );
        };
        catalog.insert(table, id, name.to_owned());
    }
    Ok(items.len())
}

/// Reference data for REFERENCESETCONTAINS, REFERENCEMAP, ... from files and
/// folders (`*.csv`, `*.json`; a CSV's collection is named after the file;
/// one `*.mmdb`, the MaxMind database of the GEO functions);
/// says on stderr what it loaded. Any bad file stops the run (exit 2) with
/// its name and place: a rule reading a half-loaded set would miss silently.
pub fn load_reference(
    paths: &[PathBuf],
) -> Result<std::sync::Arc<portent_engine::refdata::ReferenceData>> {
    let mut data = portent_engine::refdata::ReferenceData::default();
    if paths.is_empty() {
        return Ok(std::sync::Arc::new(data));
    }
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for ext in ["csv", "json", "mmdb"] {
                files.extend(portent_core::testdata::files(p, ext));
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            bail!("--reference {}: no such file or folder", p.display());
        }
    }
    files.sort();
    let mut n = 0;
    let mut geo = None;
    for f in &files {
        if f.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mmdb"))
        {
            let bytes = std::fs::read(f)
                .with_context(|| format!("cannot read GeoIP database {}", f.display()))?;
            let db = portent_engine::geo::GeoDb::from_bytes(bytes, &f.display().to_string())
                .map_err(|e| anyhow::anyhow!("reference data: {e}"))?;
            if let Some(first) = geo.replace(db.origin.clone()) {
                bail!(
                    "reference data: two GeoIP databases, {first} and {}: give one",
                    db.origin
                );
            }
            data.set_geo(db);
            continue;
        }
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read reference data {}", f.display()))?;
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        n += data
            .load(&text, &name, &f.display().to_string())
            .map_err(|e| anyhow::anyhow!("reference data: {e}"))?;
    }
    let (networks, assets) = data.counts();
    let n = n - usize::from(networks > 0) - usize::from(assets > 0);
    eprintln!(
        "portent: reference data: {n} collection(s) from {} file(s): {}{}{}{}",
        files.len(),
        data.names().join(", "),
        if networks > 0 {
            format!("; {networks} network(s)")
        } else {
            String::new()
        },
        if assets > 0 {
            format!("; {assets} asset(s)")
        } else {
            String::new()
        },
        geo.map(|g| format!("; GeoIP {g}")).unwrap_or_default(),
    );
    Ok(std::sync::Arc::new(data))
}

/// Which rules run (hunt and watch).
#[derive(clap::Args, Clone, Debug)]
pub struct RuleArgs {
    /// A rule directory (`*.toml` metadata beside `*.aql` queries) instead of the bundled pack.
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
    /// Run only these rules (by id; also runs rules that are off by default).
    #[arg(long = "rule", value_name = "ID")]
    pub rule: Vec<String>,
    /// Sigma rules (files or folders of .yml) to run beside the pack; each
    /// alert carries the rule's title, id, level, tags and author.
    #[arg(long, value_name = "PATH")]
    pub sigma: Vec<PathBuf>,
    /// Run only the Sigma rules, not the AQL pack.
    #[arg(long, requires = "sigma")]
    pub sigma_only: bool,
    /// Run the Sigma rules that load even when others fail to (without it,
    /// a rule that fails to load stops the run with exit 2). Either way the
    /// failures are listed.
    #[arg(long)]
    pub skip_bad_rules: bool,
    /// Run only rules of this level or above: informational, low, medium,
    /// high, critical (Sigma's `level`, the pack's severity). How many were
    /// left out is reported.
    #[arg(long, value_name = "LEVEL")]
    pub min_level: Option<String>,
    /// Reference sets, maps, maps of sets and tables the rules look up
    /// (files or folders: CSV, or the JSON of QRadar's reference data API).
    #[arg(long, value_name = "DIR|FILE")]
    pub reference: Vec<PathBuf>,
}

/// Tuning options shared by hunt and query.
#[derive(clap::Args, Clone, Debug)]
pub struct TuneArgs {
    /// Exceptions that suppress known false positives (TOML; see docs/TUNING.md).
    #[arg(long, value_name = "FILE")]
    pub tuning: Option<PathBuf>,
    /// Also output the hits that exceptions suppressed, with the exception's id.
    #[arg(long)]
    pub show_suppressed: bool,
}

impl TuneArgs {
    /// Loads the tuning file: every error shown as a code frame; expired
    /// exceptions announced (they no longer suppress).
    pub fn load(
        &self,
        schema: &portent_core::Schema,
    ) -> Result<Option<portent_engine::tuning::Tuning>> {
        let Some(path) = &self.tuning else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read tuning file {}", path.display()))?;
        let today = chrono::Utc::now().date_naive();
        match portent_engine::tuning::Tuning::parse(&text, schema, today) {
            Ok(t) => {
                for e in t.exceptions.iter().filter(|e| e.expired) {
                    eprintln!(
                        "portent: warning: tuning exception `{}` expired on {} (owner {}); it no longer suppresses anything",
                        e.id,
                        e.expires.map_or(String::new(), |d| d.to_string()),
                        e.owner
                    );
                }
                Ok(Some(t))
            }
            Err(errors) => {
                let origin = path.display().to_string();
                for d in &errors {
                    eprint!("{}", d.render(&origin, &text));
                }
                bail!("{} error(s) in {origin}", errors.len())
            }
        }
    }
}

/// Where and how rows are written (hunt and query).
#[derive(clap::Args, Clone, Debug)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::output::Format,
    /// Write rows to this file (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Start CSV output with a byte order mark (for Excel).
    #[arg(long)]
    pub csv_bom: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

impl OutputArgs {
    /// The run's summary is written where it lists every input (a JSON
    /// document's `summary`, `--summary-json`), so the scan keeps every
    /// input's report, not only those with trouble.
    pub fn lists_inputs(&self) -> bool {
        self.format == crate::output::Format::Json || self.summary_json.is_some()
    }

    /// Makes sure every output file can be written before any work: its
    /// folder is created (as watch creates its state folder), and a probe
    /// file is written there and removed. A hunt of an hour must not end in
    /// "cannot write". Nothing is left behind either way.
    pub fn check(&self) -> Result<()> {
        for (flag, p) in [("-o", &self.output), ("--summary-json", &self.summary_json)] {
            if let Some(p) = p {
                check_output(flag, p)?;
            }
        }
        Ok(())
    }
}

/// Fails unless `p` (given with `flag`) can be written: not a folder, its
/// folder made if missing and writable. Run before reading any input, so a
/// long hunt does not end on a typo.
pub fn check_output(flag: &str, p: &std::path::Path) -> Result<()> {
    if p.is_dir() {
        bail!("{flag} {}: is a folder; give a file name", p.display());
    }
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{flag} {}: cannot create its folder", p.display()))?;
    let probe = dir.join(format!(".portent-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{flag} {}: cannot write in {}", p.display(), dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
