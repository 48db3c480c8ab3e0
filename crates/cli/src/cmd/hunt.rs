//! `portent hunt`: the rule pack over evidence. Each hit row carries the rule's
//! id, title, ATT&CK ids and severity, the query's own columns, and where the
//! event came from (host, file, record, time).

use super::{
    describe_window, load_catalog, parse_window, report_errors, resolve_now, InputArgs, OutputArgs,
    TuneArgs,
};
use crate::hits::Hits;
use crate::output::{emit, json, Format, Layout, Projection, RowWriter, Sheet, WriteOptions};
use crate::pack::{self, Meta};
use crate::summary::{rfc3339, RuleSummary, Summary};
use crate::Exit;
use anyhow::{bail, Context, Result};
use portent_core::schema::ids;
use portent_core::{Event, FieldId, Record, Schema};
use portent_detect::batch::{BatchRule, BatchRun, Feed, Hit};
use portent_engine::{CompileOptions, Query, Row, Zone};
use serde_json::Value as J;
use std::path::PathBuf;

/// Arguments of `portent hunt`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    tune: TuneArgs,
    #[command(flatten)]
    rules: super::RuleArgs,
    /// The rules' time windows. A hunt reads old evidence, so by default the
    /// rules' relative windows (`starttime > NOW() - 1 DAYS`) are not applied:
    /// `ignore`. `as-written` applies them against --now; `last:DURATION`
    /// (last:7d) replaces them.
    #[arg(long, default_value = "ignore")]
    window: String,
    /// NOW() for the rules: `latest` (the newest event read), `wall-clock`, epoch ms or RFC 3339.
    #[arg(long, default_value = "latest")]
    now: String,
    /// LIMIT: `none` (every hit, the hunt default), `as-written`, or a number of rows per rule.
    #[arg(long, default_value = "none")]
    limit: String,
    /// Time zone for DATEFORMAT and the displayed times.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Extra or replacement lookup rows (`table,id,name` CSV).
    #[arg(long, value_name = "CSV")]
    catalog: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
    /// Exit with 1 when there are hits (for CI).
    #[arg(long)]
    fail_on_hits: bool,
    /// Also write an ATT&CK Navigator layer (format 4.5) of the techniques
    /// that fired, each scored by its hits.
    #[arg(long, value_name = "FILE")]
    navigator: Option<PathBuf>,
    /// Also write an offline HTML report: the run, charts of the hits by
    /// rule, level, ATT&CK tactic, host and time, a filterable table, and
    /// each hit's context (process tree, other hits of the process, first
    /// sight of the destination). One file, no network needed to open it.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Hits listed in the HTML report's table at most (the charts and rule
    /// counts include every hit; the page says how many were not listed).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    html_max_rows: u64,
    /// Columns of the table and CSV: `minimal` (time, severity, rule, host,
    /// process, destination, label), `standard` (also user, command lines,
    /// parent, file: the table's default, to fit a terminal) or `verbose`
    /// (every column: the CSV default). JSON keeps every column.
    #[arg(long, value_name = "PROFILE")]
    profile: Option<Profile>,
    /// Write the beacon view instead of the hits: per host, process and
    /// destination, the connections, first and last seen, and how regular
    /// their intervals are (periodicity 1 = a timer), most regular first.
    #[arg(long)]
    beacons: bool,
    /// Test every rule on every event, instead of only the rules whose log
    /// source (channel, event id) the event belongs to. The results are the
    /// same; this is for checking that, and for measuring the index.
    #[arg(long, hide = true)]
    no_rule_index: bool,
    /// Keep every candidate until the input is read and every hit until the
    /// end, in every format (then hits come out by rule, not in input
    /// order). The hits are the same; this is for checking that.
    #[arg(long, hide = true)]
    no_stream: bool,
    /// A learned baseline (`portent baseline learn`): hits are marked `known` or
    /// `new`, and process/port pairs never seen before are reported as findings.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
}

/// Column sets of the table and CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Time, severity, rule, host, process, destination, label.
    Minimal,
    /// Also the user, the command lines and parent, and the file.
    Standard,
    /// Every column.
    Verbose,
    /// For a timeline tool such as Timeline Explorer: the time first, then
    /// where and what (host, severity, rule, ATT&CK), then the process,
    /// command lines, user and destination, and where the event came from.
    Timeline,
}

impl Profile {
    /// The columns, each with its synonyms across rule packs and Sigma
    /// (`None`: every column).
    fn columns(self) -> Option<&'static [&'static [&'static str]]> {
        const MINIMAL: &[&[&str]] = &[
            &["time"],
            &["severity"],
            &["rule_title", "rule_id"],
            &["host"],
            &["process_name", "Process Name", "Image"],
            &["destinationip", "DestinationIp"],
            &["destinationport", "DestinationPort"],
            &["suspicion_label"],
        ];
        const STANDARD: &[&[&str]] = &[
            &["time"],
            &["severity"],
            &["rule_title", "rule_id"],
            &["host"],
            &["username", "User"],
            &["process_name", "Process Name", "Image"],
            &["command_line", "CommandLine", "Command"],
            &["parent_process", "ParentImage", "Parent Process Name"],
            &["destinationip", "DestinationIp"],
            &["destinationport", "DestinationPort"],
            &["suspicion_label"],
            &["source_file"],
        ];
        const TIMELINE: &[&[&str]] = &[
            &["time"],
            &["host"],
            &["severity"],
            &["rule_title", "rule_id"],
            &["attack"],
            &["process_name", "Process Name", "Image"],
            &["command_line", "CommandLine", "Command"],
            &["parent_process", "ParentImage", "Parent Process Name"],
            &["username", "User"],
            &["destinationip", "DestinationIp"],
            &["destinationport", "DestinationPort"],
            &["suspicion_label"],
            &["source_file"],
            &["record_id"],
        ];
        match self {
            Profile::Minimal => Some(MINIMAL),
            Profile::Standard => Some(STANDARD),
            Profile::Verbose => None,
            Profile::Timeline => Some(TIMELINE),
        }
    }
}

/// Columns every hit has before the rule's own.
const LEAD: [&str; 4] = ["rule_id", "rule_title", "attack", "severity"];
/// Provenance fields, in the order of the trailing columns.
/// Names starting with `_` are read, not written (the baseline's key).
const TRAIL: [(&str, portent_core::FieldId); 8] = [
    ("host", ids::HOSTNAME),
    ("source_file", ids::SOURCE_FILE),
    ("record_id", ids::RECORD_NUMBER),
    ("time", ids::STARTTIME),
    ("suppressed_by", ids::SUPPRESSED_BY),
    ("_process", ids::PROCESS_NAME),
    ("_port", ids::DESTINATIONPORT),
    ("_class", ids::DESTINATION_CLASS),
];

/// Runs the hunt.
pub fn run(a: Args) -> Result<Exit> {
    a.out.check()?;
    if let Some(p) = &a.navigator {
        super::check_output("--navigator", p)?;
    }
    if let Some(p) = &a.html {
        super::check_output("--html", p)?;
    }
    let hunt = prepare(&a)?;
    let metas = hunt.metas();
    let mut hunt = hunt;
    let mut report = match &a.html {
        Some(p) => Some(crate::report::Report::create(p, a.html_max_rows)?),
        None => None,
    };
    let Some((layout, projection)) = hunt.streams(&a) else {
        let mut hits =
            Hits::kept(LEAD.iter().map(|s| (*s).to_owned()).collect()).with_report(report.as_mut());
        let summary = execute(&a, &hunt, &mut hits)?;
        let mut sheet = hits.into_sheet();
        finish_report(&a, report, &metas, &summary)?;
        return emit_hunt(&a, &mut sheet, &summary, &metas);
    };
    hunt.unsort();
    let mut outcome = None;
    let mut projection = projection;
    crate::output::to_path_or_stdout(a.out.output.as_deref(), &mut |out| {
        let mut writer = RowWriter::new(out, layout.clone(), a.out.csv_bom);
        let mut hits = Hits::written(&mut writer, projection.take()).with_report(report.as_mut());
        let summary = execute(&a, &hunt, &mut hits).map_err(std::io::Error::other)?;
        let extra = json_extra(a.out.format, &metas, &summary).map_err(std::io::Error::other)?;
        writer.finish(&extra)?;
        crate::output::untimed_note(writer.untimed);
        outcome = Some(summary);
        Ok(())
    })?;
    match outcome {
        Some(summary) => {
            finish_report(&a, report, &metas, &summary)?;
            finish_hunt(&a, &summary)
        }
        // The output closed early (a pipe): nothing more to say.
        None => Ok(Exit::Ok),
    }
}

/// The inputs as given on the command line.
fn input_names(a: &Args) -> Vec<String> {
    a.input
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// Ends the HTML report with the run's summary and rules.
fn finish_report(
    a: &Args,
    report: Option<crate::report::Report>,
    metas: &[Meta],
    summary: &Summary,
) -> Result<()> {
    let Some(report) = report else { return Ok(()) };
    let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now().timestamp_millis();
    let inputs = input_names(a);
    report.finish(
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "generated": rfc3339(now, &zone),
            "inputs": inputs,
            "summary": summary,
            "rules": metas,
        }),
        &zone,
    )
}

/// The rules of a hunt, compiled, and what they need to run.
struct Hunt {
    zone: Zone,
    rules: Vec<pack::Rule>,
    rule_set: crate::pack::RuleSetReport,
    chosen: crate::correlations::Chosen,
    schema: Schema,
    queries: Vec<Query>,
    /// The baseline's connections (its candidates are the query after the rules).
    connections: Option<Query>,
    tuning: Option<portent_engine::tuning::Tuning>,
    baseline: Option<crate::baseline::Baseline>,
    /// The correlation set, as compiled (each run works on a copy).
    correlations: portent_engine::correlation::Set,
    scan_options: portent_detect::scan::ScanOptions,
}

impl Hunt {
    /// The metadata of every rule and correlation run.
    fn metas(&self) -> Vec<Meta> {
        let rules = self.rules.iter().map(|r| r.meta.clone());
        rules
            .chain(self.chosen.items.iter().map(|i| i.meta.clone()))
            .collect()
    }

    /// How hits are written as they are found, or `None` when this output
    /// needs them all first: the table, the beacon view, CSV whose columns
    /// are not known before the hits (a rule selects `*`), and rules that
    /// read NOW when NOW is the newest event (known only at the end).
    fn streams(&self, a: &Args) -> Option<(Layout, Option<Projection>)> {
        let reads_now = self.queries.iter().any(Query::reads_now);
        if a.no_stream || a.beacons || (a.now == "latest" && reads_now) {
            return None;
        }
        let layout = match a.out.format {
            Format::Jsonl => Layout::Jsonl { version: true },
            Format::Json => Layout::Json,
            Format::Timesketch => Layout::Timesketch,
            Format::Csv => {
                let all = self.columns(a.tune.show_suppressed)?;
                if let Some(wanted) = a.profile.and_then(Profile::columns) {
                    let p = Projection::new(&all, wanted);
                    hidden_note(p.hidden);
                    return Some((Layout::Csv(p.names()), Some(p)));
                }
                Layout::Csv(all)
            }
            Format::Table | Format::Beacons => return None,
        };
        Some((layout, None))
    }

    /// Drops ORDER BY from the rules that have no LIMIT: written as they are
    /// found, hits come in input order, and a sort without a limit would only
    /// hold every row until the end (Sigma rules are `ORDER BY starttime
    /// DESC` for QRadar's result view). With a LIMIT the sort chooses rows,
    /// so it stays.
    fn unsort(&mut self) {
        for q in &mut self.queries {
            if q.limit.is_none() {
                q.order.clear();
            }
        }
    }

    /// Every column a hit of this hunt can have, in a stable order: the
    /// rule's, the rules' own, the correlations', the provenance and the
    /// baseline's. `None` when a rule selects `*` (its columns are the
    /// events' fields).
    fn columns(&self, show_suppressed: bool) -> Option<Vec<String>> {
        let mut cols: Vec<String> = LEAD.iter().map(|s| (*s).to_owned()).collect();
        let metas = self.metas();
        if metas.iter().any(|m| !m.author.is_empty()) {
            cols.push("author".into());
        }
        if metas.iter().any(|m| !m.tags.is_empty()) {
            cols.push("tags".into());
        }
        for q in &self.queries {
            let names = q.column_names();
            if names.iter().any(|c| c == "*") {
                return None;
            }
            cols.extend(names);
        }
        if !self.chosen.items.is_empty() {
            cols.extend(self.correlations.columns());
        }
        for (name, id) in TRAIL {
            if !name.starts_with('_') && (id != ids::SUPPRESSED_BY || show_suppressed) {
                cols.push(name.to_owned());
            }
        }
        if self.baseline.is_some() {
            cols.push("baseline".into());
            cols.extend(NEW_PAIR_COLUMNS.iter().map(|s| (*s).to_owned()));
        }
        let mut seen = std::collections::HashSet::new();
        cols.retain(|c| seen.insert(c.clone()));
        Some(cols)
    }
}

/// Says how many columns a profile leaves out.
fn hidden_note(hidden: usize) {
    if hidden > 0 {
        eprintln!(
            "portent: {hidden} column(s) not shown (--profile verbose, or --format jsonl, has them all)"
        );
    }
}

/// The JSON document's members after the rows (none for the other formats,
/// which have no place for them: the summary of an evidence folder holds a
/// line per file, not worth building to throw away).
fn json_extra(format: Format, metas: &[Meta], summary: &Summary) -> Result<Vec<(String, J)>> {
    if format != Format::Json {
        return Ok(Vec::new());
    }
    Ok(vec![
        ("rules".into(), serde_json::to_value(metas)?),
        ("summary".into(), serde_json::to_value(summary)?),
    ])
}

/// Compiles the rules, loads tuning, baseline and correlations.
fn prepare(a: &Args) -> Result<Hunt> {
    let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
    // A bad --now is a usage error before anything is read.
    resolve_now(&a.now, None)?;
    let (mut rules, rule_set, chosen) = pack::choose(&a.rules)?;
    let limit = match a.limit.as_str() {
        "none" => None,
        "as-written" => Some(None),
        n => match n.parse::<u64>() {
            Ok(n) => Some(Some(n)),
            Err(_) => bail!("--limit takes none, as-written or a number, not `{n}`"),
        },
    };
    let mut schema = Schema::qradar();
    let options = CompileOptions {
        zone,
        window: parse_window(&a.window)?,
        provenance: TRAIL.iter().map(|(_, f)| *f).collect(),
        catalog: super::with_rule_titles(
            load_catalog(a.catalog.as_deref())?,
            rules
                .iter()
                .map(|r| &r.meta)
                .chain(chosen.items.iter().map(|i| &i.meta)),
        ),
        reference_data: super::load_reference(&a.rules.reference)?,
        ..CompileOptions::default()
    };
    let mut queries = Vec::new();
    let mut failed = 0;
    for r in &mut rules {
        match r.compile(&mut schema, &options) {
            Ok(mut q) => {
                q.shed_syntax();
                match limit {
                    None => q.limit = None,
                    Some(Some(n)) => q.limit = Some(n),
                    Some(None) => {}
                }
                // One schema for the whole set (see share_schema), kept so
                // while compiling too.
                if let Some(prev) = queries.last() {
                    let prev: &Query = prev;
                    if prev.schema.len() == q.schema.len() {
                        q.schema = prev.schema.clone();
                        queries.push(q);
                    } else {
                        queries.push(q);
                        portent_engine::share_schema(&mut queries);
                    }
                } else {
                    queries.push(q);
                }
            }
            Err(e) => {
                let _ = report_errors(&e, &r.origin, &r.text());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} rule(s) do not compile");
    }
    portent_engine::share_schema(&mut queries);
    let tuning = a.tune.load(&schema)?;
    let baseline = match &a.baseline {
        Some(p) => Some(crate::baseline::Baseline::load(p)?),
        None => None,
    };
    let connections = match &baseline {
        Some(_) => Some(
            Query::compile(
                crate::baseline::CONNECTIONS,
                &mut schema,
                &CompileOptions::default(),
            )
            .map_err(|e| report_errors(&e, "<baseline>", crate::baseline::CONNECTIONS))?,
        ),
        None => None,
    };
    let correlations = crate::correlations::build(
        &chosen,
        &rules,
        &mut schema,
        TRAIL.iter().map(|(_, f)| *f).collect(),
    )
    .map_err(anyhow::Error::msg)?;
    let keep_all = queries.iter().any(Query::reads_all_fields);
    let mut scan_options = a.input.scan_options(keep_all)?;
    scan_options.list_inputs |= a.out.lists_inputs() || a.html.is_some();
    if !keep_all {
        // What the rules, tuning, correlations and the baseline read.
        let mut keep: Vec<FieldId> = queries
            .iter()
            .chain(&connections)
            .flat_map(|q| q.fields().into_iter().chain(q.options.provenance.clone()))
            .collect();
        keep.extend(correlations.fields());
        keep.extend(tuning_fields(tuning.as_ref()));
        keep.extend([
            ids::STARTTIME,
            ids::HOSTNAME,
            ids::PROCESS_NAME,
            ids::DESTINATIONPORT,
            ids::DESTINATION_CLASS,
            ids::INITIATED,
        ]);
        keep.sort_unstable();
        keep.dedup();
        scan_options.keep = Some(keep);
    }
    if !a.no_rule_index {
        scan_options.dispatch = rules
            .iter()
            .zip(&queries)
            .map(|(r, q)| r.dispatch.clone().map(|d| d.narrowed(q)))
            .collect();
    }
    Ok(Hunt {
        zone,
        rules,
        rule_set,
        chosen,
        schema,
        queries,
        connections,
        tuning,
        baseline,
        correlations,
        scan_options,
    })
}

/// The fields tuning exceptions test.
pub fn tuning_fields(t: Option<&portent_engine::tuning::Tuning>) -> Vec<FieldId> {
    t.iter()
        .flat_map(|t| &t.exceptions)
        .flat_map(|e| e.conditions.iter().map(|c| c.field))
        .chain([ids::STARTTIME])
        .collect()
}

/// Reads the inputs and runs the rules, pushing each hit into `hits` (as
/// soon as it is found: a rule that neither groups nor sorts gives its rows
/// while the input is read): the summary.
fn execute(a: &Args, h: &Hunt, hits: &mut Hits<'_, '_>) -> Result<Summary> {
    let zone = h.zone;
    let show = a.tune.show_suppressed;
    let mut correlations = h.correlations.clone();
    let mut batch = BatchRun::new(
        h.rules
            .iter()
            .zip(&h.queries)
            .enumerate()
            .map(|(i, (rule, q))| BatchRule {
                query: q,
                id: &rule.meta.id,
                feeds: correlations.feeds(i),
                feeds_only: h.chosen.rule_feeds_only.get(i).copied().unwrap_or(false),
            }),
        h.tuning.as_ref(),
        show,
        correlations.fields(),
        zone,
    );
    let mut refs: Vec<&Query> = h.queries.iter().collect();
    refs.extend(h.connections.as_ref());
    let mut pairs = NewPairs::default();
    let mut tally = Tally::default();
    // NOW: given, or the newest event, which a run that needs it learns
    // before its first candidate (see Hunt::streams).
    let fixed_now = (a.now != "latest").then(|| resolve_now(&a.now, None));
    let fixed_now = fixed_now.transpose()?;
    if let Some(now) = fixed_now {
        batch.set_now(now);
    }
    let latest = std::cell::Cell::new(None);
    let mut latest_known = |l: Option<i64>| latest.set(Some(l.unwrap_or(0)));
    // Candidates go to the rules as they are read (kept hits are put back in
    // input order by their place in the input), unless NOW is the newest
    // event and a rule reads it, or a rule's answer depends on input order
    // and enrichment could reorder its candidates.
    let at_end = a.no_stream
        || (fixed_now.is_none() && h.queries.iter().any(Query::reads_now))
        || h.queries
            .iter()
            .any(portent_detect::scan::needs_input_order);
    let mode = if at_end {
        portent_detect::scan::Mode::AtEnd(&mut latest_known)
    } else {
        portent_detect::scan::Mode::Streaming
    };
    let found = portent_detect::scan::scan_each(
        &a.input.all()?,
        &refs,
        &h.schema,
        &h.scan_options,
        mode,
        &crate::progress::Progress::new(),
        &mut |c| {
            batch.learn_now(latest.get());
            for &q in c.queries.iter() {
                let mut out = |hit: Hit| render(h, show, (hits, &mut tally), hit, c.seq);
                if !batch.push(q as usize, &c.record, c.seq, &mut out) {
                    pairs.observe(&c.record, h.baseline.as_ref());
                }
            }
        },
    );
    let now = fixed_now.unwrap_or_else(|| found.latest.unwrap_or(0));
    let mut summary = Summary::from_scan(&found, &zone);
    summary.rule_set = Some(h.rule_set.clone());
    let (ends, feed) = batch.finish(now, &mut |hit: Hit| {
        render(h, show, (hits, &mut tally), hit, u64::MAX)
    });
    for (i, (rule, end)) in h.rules.iter().zip(ends).enumerate() {
        let window = describe_window(&h.queries[i], end.window, now, &zone);
        let stats = end.stats;
        let feeds_only = end.feeds_only;
        crate::tuned::report(&rule.meta.id, end.held, h.tuning.as_ref(), &mut summary);
        summary.rules.push(RuleSummary {
            id: rule.meta.id.clone(),
            title: rule.meta.title.clone(),
            level: rule.meta.severity.clone(),
            attack: rule.meta.attack.clone(),
            rows: if feeds_only { 0 } else { stats.emitted },
            rows_total: stats.rows_total,
            hidden_by_limit: stats.hidden_by_limit,
            outside_window: stats.outside_window,
            suppressed: stats.suppressed,
            window,
            correlation_only: if feeds_only { stats.emitted } else { 0 },
            notes: Vec::new(),
        });
    }
    correlate(
        &mut correlations,
        &h.chosen,
        feed,
        &zone,
        (hits, &mut tally),
        &mut summary,
        h.baseline.as_ref(),
        h.rules.len(),
    );
    if h.baseline.is_some() {
        let n = pairs.finish(hits, &zone, h.rules.len() + 1);
        summary.rules.push(RuleSummary {
            id: NEW_PAIR.into(),
            title: NEW_PAIR_TITLE.into(),
            level: "low".into(),
            attack: vec!["T1571".into(), "T1071".into()],
            rows: n,
            rows_total: n,
            hidden_by_limit: 0,
            outside_window: 0,
            suppressed: 0,
            window: "none (every event)".into(),
            correlation_only: 0,
            notes: Vec::new(),
        });
    }
    summary.hits_per_host = tally.per_host;
    summary.hits_per_process = tally.per_process;
    summary.hits_per_label = tally.per_label;
    Ok(summary)
}

/// Renders a rule's row as a hit at `seq` (its place in the input; `u64::MAX`
/// for rows a rule gave at the end).
fn render(
    h: &Hunt,
    show_suppressed: bool,
    (hits, tally): (&mut Hits<'_, '_>, &mut Tally),
    hit: Hit,
    seq: u64,
) {
    let meta = &h.rules[hit.rule].meta;
    let cells = self::hit(
        tally,
        meta,
        hit.row,
        &h.zone,
        show_suppressed,
        h.baseline.as_ref(),
    );
    hits.push((hit.rule, u8::from(hit.suppressed), seq), cells);
}

/// The finding id of a process/port pair the baseline has not seen.
const NEW_PAIR: &str = "baseline-new-process-port";

const NEW_PAIR_TITLE: &str = "Process talks on a port it never used in the baseline";

/// The columns of a new-pair finding (besides the rule's).
const NEW_PAIR_COLUMNS: [&str; 7] = [
    "process_name",
    "destinationport",
    "destination_class",
    "connections",
    "first_seen",
    "last_seen",
    "host",
];

/// Host, process, port and destination class of a connection.
type PairKey = (String, String, i64, Option<String>);

/// Outbound connections on process/port pairs the baseline has not seen:
/// per pair, the image path, the connections, and the first and last times
/// (memory grows with the pairs, not the connections).
#[derive(Default)]
struct NewPairs {
    pairs: std::collections::BTreeMap<PairKey, (String, u64, i64, i64)>,
}

impl NewPairs {
    /// Counts `rec` when it is an outbound connection on a new pair.
    fn observe(&mut self, rec: &Record<'static>, b: Option<&crate::baseline::Baseline>) {
        // Outbound only: an inbound connection's "destination port" is the
        // local service's, which says nothing about the process's traffic profile.
        let Some(b) = b else { return };
        if b.knows(rec) != Some(false) || rec.get(ids::INITIATED).to_bool() == Some(false) {
            return;
        }
        let Some((process, port, class)) = crate::baseline::key_of(rec) else {
            return;
        };
        let text = |id| rec.get(id).as_str().unwrap_or("").to_owned();
        let (host, path) = (text(ids::HOSTNAME), text(ids::PROCESS_NAME));
        let t = rec.get(ids::STARTTIME).to_i64().unwrap_or(0);
        let e = self
            .pairs
            .entry((host, process, port, class))
            .or_insert((path, 0, t, t));
        e.1 += 1;
        e.2 = e.2.min(t);
        e.3 = e.3.max(t);
    }

    /// One finding per pair, into `hits` (as rule `rule`): how many.
    fn finish(self, hits: &mut Hits<'_, '_>, zone: &Zone, rule: usize) -> u64 {
        let n = self.pairs.len() as u64;
        for (k, ((host, _, port, class), (path, count, first, last))) in
            self.pairs.into_iter().enumerate()
        {
            let values = [
                J::from(path),
                J::from(port),
                class.map_or(J::Null, J::from),
                J::from(count),
                J::from(rfc3339(first, zone)),
                J::from(rfc3339(last, zone)),
                J::from(host),
            ];
            let mut cells = vec![
                ("rule_id".to_owned(), J::from(NEW_PAIR)),
                ("rule_title".to_owned(), J::from(NEW_PAIR_TITLE)),
                ("attack".to_owned(), J::from("T1571 T1071")),
                ("severity".to_owned(), J::from("low")),
            ];
            cells.extend(NEW_PAIR_COLUMNS.iter().map(|c| (*c).to_owned()).zip(values));
            hits.push((rule, 0, k as u64), cells);
        }
        n
    }
}

/// Writes kept hits (see [`Hunt::streams`]), then the summary.
fn emit_hunt(a: &Args, sheet: &mut Sheet, summary: &Summary, rules: &[Meta]) -> Result<Exit> {
    let write_opts = WriteOptions {
        csv_bom: a.out.csv_bom,
        json_extra: json_extra(a.out.format, rules, summary)?,
        jsonl_version: true,
    };
    if a.beacons || a.out.format == Format::Beacons {
        let zone = Zone::parse(&a.tz).map_err(anyhow::Error::msg)?;
        let b = crate::beacons::beacons(sheet, &zone);
        eprintln!(
            "portent: beacons: {} group(s) from {} hit(s){}",
            b.sheet.rows.len(),
            b.used,
            if b.left_out > 0 {
                format!(
                    "; {} hit(s) without a time or destination left out",
                    b.left_out
                )
            } else {
                String::new()
            }
        );
        *sheet = b.sheet;
    } else if let Some(cols) = a
        .profile
        .or((a.out.format == Format::Table).then_some(Profile::Standard))
        .filter(|_| matches!(a.out.format, Format::Table | Format::Csv))
        .and_then(Profile::columns)
    {
        hidden_note(sheet.select(cols));
    } else if a.out.format == Format::Table {
        // A terminal has no room for the title and ATT&CK ids on every row:
        // the summary names each rule once; the other formats keep them.
        sheet.drop_columns(&["rule_title", "attack"]);
        for m in rules {
            let mut line = format!("portent: rule {}: {}", m.id, m.title);
            if !m.attack.is_empty() {
                line.push_str(&format!(" [{}]", m.attack.join(" ")));
            }
            if !m.severity.is_empty() {
                line.push_str(&format!(" ({} severity)", m.severity));
            }
            eprintln!("{line}");
        }
    }
    emit(sheet, a.out.format, a.out.output.as_deref(), &write_opts)?;
    finish_hunt(a, summary)
}

/// The summary on stderr and in `--summary-json`, the Navigator layer, and
/// the exit code.
fn finish_hunt(a: &Args, summary: &Summary) -> Result<Exit> {
    summary.print(a.input.report);
    if let Some(p) = &a.out.summary_json {
        summary.write_json(p)?;
    }
    if let Some(p) = &a.navigator {
        let inputs = input_names(a);
        let description = format!(
            "{} event(s) from {}; {} rule(s)",
            summary.events_read,
            inputs.join(", "),
            summary.rules.len()
        );
        let text = serde_json::to_string_pretty(&crate::navigator::layer(summary, &description))?;
        std::fs::write(p, text + "\n").with_context(|| format!("cannot write {}", p.display()))?;
    }
    let hits: u64 = summary.rules.iter().map(|r| r.rows).sum();
    // Hits asked about outrank input that was partly unreadable: a CI job
    // running with --fail-on-hits must see a detection as a detection; the
    // summary still lists what could not be read.
    Ok(if a.fail_on_hits && hits > 0 {
        Exit::Hits
    } else if summary.partial() {
        Exit::PartialInput
    } else {
        Exit::Ok
    })
}

/// Feeds the matches to the correlations in time order (input order among
/// equal times) and adds their alerts and summaries.
#[allow(clippy::too_many_arguments)]
fn correlate(
    set: &mut portent_engine::correlation::Set,
    chosen: &crate::correlations::Chosen,
    feed: Vec<Feed>,
    zone: &Zone,
    (hits, tally): (&mut Hits<'_, '_>, &mut Tally),
    summary: &mut Summary,
    baseline: Option<&crate::baseline::Baseline>,
    first: usize,
) {
    if chosen.items.is_empty() {
        return;
    }
    // In the order BatchRun::finish put them: untimed first (they are only
    // counted), then time order, input order among equal times.
    let mut fired = Vec::new();
    for f in &feed {
        set.observe(f.rule, &f.record, &mut fired);
    }
    drop(feed);
    set.flush(None, &mut fired);
    let mut alerts = vec![0u64; chosen.items.len()];
    for (n, f) in fired.iter().enumerate() {
        alerts[f.correlation] += 1;
        if chosen.correlation_feeds_only[f.correlation] {
            continue;
        }
        let row = set.row(f, zone);
        let meta = &chosen.items[f.correlation].meta;
        let cells = hit(tally, meta, row, zone, false, baseline);
        hits.push((first, 0, n as u64), cells);
    }
    for (c, item) in chosen.items.iter().enumerate() {
        let st = set.stats(c);
        let feeds_only = chosen.correlation_feeds_only[c];
        let mut notes = Vec::new();
        if st.untimed > 0 {
            notes.push(format!(
                "{} match(es) without a time were not correlated",
                st.untimed
            ));
        }
        if st.no_value > 0 {
            notes.push(format!(
                "{} match(es) without `{}` were not counted",
                st.no_value,
                item.rule.field.as_deref().unwrap_or("the field")
            ));
        }
        if st.evicted > 0 {
            notes.push(format!(
                "{} group(s) evicted past {} held at once",
                st.evicted,
                crate::correlations::MAX_GROUPS
            ));
        }
        summary.rules.push(RuleSummary {
            id: item.meta.id.clone(),
            title: item.meta.title.clone(),
            level: item.meta.severity.clone(),
            attack: item.meta.attack.clone(),
            rows: if feeds_only { 0 } else { alerts[c] },
            rows_total: alerts[c],
            hidden_by_limit: 0,
            outside_window: 0,
            suppressed: 0,
            window: format!(
                "{} within {} over {} match(es)",
                item.rule.kind.name(),
                crate::correlations::timespan(item.rule.timespan_ms),
                st.observed
            ),
            correlation_only: if feeds_only { alerts[c] } else { 0 },
            notes,
        });
    }
}

/// Hits per host, process and suspicion label, for the summary.
#[derive(Default)]
struct Tally {
    per_host: std::collections::BTreeMap<String, u64>,
    per_process: std::collections::BTreeMap<String, u64>,
    per_label: std::collections::BTreeMap<String, u64>,
}

/// The cells of a hit of rule `m`, counted in `tally` unless tuning held it
/// back (shown for review, it is not a hit).
fn hit(
    tally: &mut Tally,
    m: &crate::pack::Meta,
    row: Row,
    zone: &Zone,
    show_suppressed: bool,
    baseline: Option<&crate::baseline::Baseline>,
) -> Vec<(String, J)> {
    let suppressed = row.provenance.get(4).is_some_and(|v| !v.is_null());
    let mut cells: Vec<(String, J)> = vec![
        ("rule_id".into(), m.id.clone().into()),
        ("rule_title".into(), m.title.clone().into()),
        ("attack".into(), m.attack.join(" ").into()),
        ("severity".into(), m.severity.clone().into()),
    ];
    let label = m
        .label_column
        .as_deref()
        .and_then(|c| row.get(c))
        .and_then(|v| v.to_text().map(|t| t.into_owned()));
    let process = ["process_name", "Process Name"]
        .iter()
        .find_map(|c| row.get(c))
        .and_then(|v| v.to_text().map(|t| t.into_owned()));
    // Alerts from Sigma rules name their authors (Detection Rule License 1.1).
    if !m.author.is_empty() {
        cells.push(("author".into(), m.author.clone().into()));
    }
    if !m.tags.is_empty() {
        cells.push(("tags".into(), m.tags.join(" ").into()));
    }
    cells.extend(
        row.cells
            .iter()
            .map(|c| (c.name.to_string(), json(&c.value))),
    );
    for ((name, id), v) in TRAIL.iter().zip(&row.provenance) {
        if (*id == ids::SUPPRESSED_BY && !show_suppressed) || name.starts_with('_') {
            continue;
        }
        let value = match (*id == ids::STARTTIME, v.to_i64()) {
            (true, Some(ms)) => rfc3339(ms, zone).into(),
            _ => json(v),
        };
        cells.push(((*name).to_owned(), value));
    }
    if let Some(b) = baseline {
        let mut key = portent_core::Record::new();
        for (i, id) in [
            (5, ids::PROCESS_NAME),
            (6, ids::DESTINATIONPORT),
            (7, ids::DESTINATION_CLASS),
        ] {
            if let Some(v) = row.provenance.get(i) {
                key.set(id, v.clone());
            }
        }
        let mark = match b.knows(&key) {
            Some(true) => J::from("known"),
            Some(false) => J::from("new"),
            None => J::Null,
        };
        cells.push(("baseline".into(), mark));
    }
    if suppressed {
        return cells;
    }
    let host = row
        .provenance
        .first()
        .and_then(|v| v.to_text().map(|t| t.into_owned()));
    let bump = |m: &mut std::collections::BTreeMap<String, u64>, k: Option<String>| {
        *m.entry(k.unwrap_or_else(|| "(none)".into())).or_insert(0) += 1;
    };
    if m.label_column.is_some() {
        bump(&mut tally.per_label, label);
    }
    bump(&mut tally.per_host, host);
    bump(&mut tally.per_process, process);
    cells
}

/// Arguments of `portent tune suggest`.
#[derive(clap::Args)]
pub struct SuggestArgs {
    #[command(flatten)]
    hunt: Args,
    /// How many groups to propose.
    #[arg(long, default_value = "10")]
    top: usize,
    /// Groups smaller than this are not proposed.
    #[arg(long, default_value = "2")]
    min_hits: u64,
}

/// Proposes exceptions from the largest recurring groups of hits. It only
/// writes text for a person to review: the proposals have empty `reason` and
/// `owner`, which the tuning loader rejects, so none can be used unreviewed.
pub fn suggest(a: SuggestArgs) -> Result<Exit> {
    let hunt = prepare(&a.hunt)?;
    let mut hits = Hits::kept(LEAD.iter().map(|s| (*s).to_owned()).collect());
    let summary = execute(&a.hunt, &hunt, &mut hits)?;
    let sheet = hits.into_sheet();
    let col = |name: &str| sheet.columns.iter().position(|c| c == name);
    let pick = |names: &[&str]| names.iter().find_map(|n| col(n));
    let (rule, process, parent, dst, port, user) = (
        col("rule_id"),
        pick(&["process_name", "Process Name"]),
        pick(&["parent_process", "Parent Process Name"]),
        pick(&["destinationip"]),
        pick(&["destinationport"]),
        pick(&["username"]),
    );
    let time = col("time");
    let text = |row: &[J], i: Option<usize>| {
        i.and_then(|i| row.get(i)).and_then(|v| match v {
            J::Null => None,
            J::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
    };
    // (rule, process, parent, destination, port, user) -> hits, first, last.
    let mut groups: std::collections::BTreeMap<[Option<String>; 6], (u64, String, String)> =
        Default::default();
    for row in sheet
        .rows
        .iter()
        .filter(|r| text(r, col("suppressed_by")).is_none())
    {
        let key = [
            text(row, rule),
            text(row, process),
            text(row, parent),
            text(row, dst),
            text(row, port),
            text(row, user),
        ];
        let t = text(row, time).unwrap_or_default();
        let g = groups.entry(key).or_insert((0, t.clone(), t.clone()));
        g.0 += 1;
        if t < g.1 {
            g.1 = t.clone();
        }
        if t > g.2 {
            g.2 = t;
        }
    }
    let mut ranked: Vec<_> = groups
        .into_iter()
        .filter(|(_, g)| g.0 >= a.min_hits)
        .collect();
    ranked.sort_by(|x, y| y.1 .0.cmp(&x.1 .0).then(x.0.cmp(&y.0)));
    let total: u64 = summary.rules.iter().map(|r| r.rows).sum();
    let today = chrono::Utc::now().date_naive();
    let mut out = format!(
        "# Proposed by `portent tune suggest` on {today} from {total} hit(s): the {} largest groups\n\
         # of hits by rule, process, parent, destination, port and user.\n\
         # REVIEW each one: an exception should be as narrow as the false positive it quiets.\n\
         # `reason` and `owner` are left empty on purpose: the loader rejects empty ones, so\n\
         # nothing here can be used before a person has filled them in.\n",
        ranked.len().min(a.top)
    );
    let quote = |s: &str| {
        if s.contains('\'') || s.contains('\n') {
            serde_json::to_string(s).unwrap_or_default()
        } else {
            format!("'{s}'")
        }
    };
    for (n, (key, (hits, first, last))) in ranked.iter().take(a.top).enumerate() {
        let [rule, process, parent, dst, port, user] = key;
        let name = process
            .as_deref()
            .and_then(|p| p.rsplit(['\\', '/']).next())
            .unwrap_or("any")
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        out.push_str(&format!(
            "\n[[exception]]\nid = \"suggested-{}-{name}\"\n# would hold back {hits} hit(s), {first} .. {last}\nreason = \"\"\nowner = \"\"\ncreated = \"{today}\"\nexpires = \"{}\"\n",
            n + 1,
            today + chrono::Days::new(90)
        ));
        if let Some(r) = rule {
            out.push_str(&format!(
                "rules = [{}]\n",
                serde_json::to_string(r).unwrap_or_default()
            ));
        }
        out.push_str("[exception.match]\n");
        if let Some(p) = process {
            out.push_str(&format!("\"Process Name\" = {}\n", quote(p)));
        }
        if let Some(p) = parent {
            out.push_str(&format!("\"Parent Process Name\" = {}\n", quote(p)));
        }
        if let Some(d) = dst {
            out.push_str(&format!("destinationip = {{ cidr = \"{d}\" }}\n"));
        }
        if let Some(p) = port {
            out.push_str(&format!("destinationport = {p}\n"));
        }
        if let Some(u) = user {
            out.push_str(&format!("username = {}\n", quote(u)));
        }
    }
    match &a.hunt.out.output {
        Some(p) => {
            std::fs::write(p, out).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => print!("{out}"),
    }
    summary.print(a.hunt.input.report);
    Ok(if summary.partial() {
        Exit::PartialInput
    } else {
        Exit::Ok
    })
}
