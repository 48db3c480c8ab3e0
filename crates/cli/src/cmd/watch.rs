//! `portent watch`: the rule pack over live feeds (see `portent-serve`).

use super::report_errors;
use crate::pack;
use anyhow::{bail, Context, Result};
use portent_core::Schema;
use portent_detect::alert::RuleMeta;
use portent_detect::detector::{Correlations, Rule, RuleSet, PROVENANCE};
use portent_engine::{CompileOptions, WindowPolicy, Zone};
use portent_serve::config::{SinkConfig, SourceConfig, WatchConfig};
use portent_serve::pipeline::Flags;
use portent_serve::source::SchemaCell;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `portent watch`.
#[derive(clap::Args)]
pub struct Args {
    /// A configuration file (TOML); flags add sources and sinks to it and override its settings.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Syslog over TCP on this address (RFC 5424/3164; octet counting or newline framing).
    #[arg(long, value_name = "ADDR")]
    listen_tcp: Vec<String>,
    /// Syslog over UDP on this address.
    #[arg(long, value_name = "ADDR")]
    listen_udp: Vec<String>,
    /// NetFlow v5/v9 and IPFIX over UDP on this address (into the flows table).
    #[arg(long, value_name = "ADDR")]
    netflow: Vec<String>,
    /// Follow this file like `tail -F` (JSON lines, LEEF or syslog lines), with checkpoints.
    #[arg(long, value_name = "FILE")]
    follow: Vec<PathBuf>,
    /// Followed files without a checkpoint start at their end instead of their beginning.
    #[arg(long)]
    from_end: bool,
    /// Read messages from standard input (the watch ends with it).
    #[arg(long)]
    stdin: bool,
    /// Consume a NATS JetStream stream of events as a member of a consumer group.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
    /// Which member of the group this worker is: `i/n` (it takes partitions p with p % n == i).
    #[arg(long, value_name = "I/N", requires = "nats")]
    member: Option<String>,
    /// Partitions of the NATS stream (events are routed by host).
    #[arg(long, value_name = "N", requires = "nats")]
    partitions: Option<u32>,
    /// The NATS stream.
    #[arg(long, value_name = "NAME", requires = "nats")]
    nats_stream: Option<String>,
    /// Append alerts as JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    alerts: Option<PathBuf>,
    /// When the alerts file is synced: always, batch (default), interval:DURATION, never.
    #[arg(long, value_name = "POLICY", requires = "alerts")]
    fsync: Option<String>,
    /// Also write alerts to stdout (the default when no other sink is given).
    #[arg(long)]
    stdout: bool,
    /// POST each alert to this URL (retries with backoff; Idempotency-Key is the alert id).
    #[arg(long, value_name = "URL")]
    webhook: Option<String>,
    /// Forward alerts as LEEF over syslog to HOST:PORT (into QRadar).
    #[arg(long, value_name = "ADDR")]
    leef_to: Option<String>,
    /// udp (default) or tcp for --leef-to.
    #[arg(long, value_name = "PROTO", requires = "leef_to")]
    leef_protocol: Option<String>,
    /// Publish alerts to this NATS server (JetStream dedup by alert id when a stream captures the subject).
    #[arg(long, value_name = "URL")]
    nats_alerts: Option<String>,
    /// Subject for --nats-alerts.
    #[arg(long, value_name = "SUBJECT", requires = "nats_alerts")]
    alerts_subject: Option<String>,
    #[command(flatten)]
    rules: super::RuleArgs,
    /// Tuning exceptions (TOML), reloaded with the rules on SIGHUP.
    #[arg(long, value_name = "FILE")]
    tuning: Option<PathBuf>,
    /// `as-written` (default): the rules' relative windows against the wall
    /// clock; `ignore`: judge every event whatever its time (replayed evidence).
    #[arg(long, value_name = "POLICY")]
    window: Option<String>,
    /// Time zone of the alerts' times.
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Zone of zone-less local times in the input.
    #[arg(long, value_name = "ZONE")]
    input_tz: Option<String>,
    /// Checkpoints and dead letters go here (default .portent-state).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Address of /metrics and /healthz (default 127.0.0.1:9464), or `off`.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// Logs as `json` (default) or `text`.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Fold repeats of an alert within this long into one with a count (5m, 30s).
    #[arg(long, value_name = "DURATION")]
    dedup: Option<String>,
    /// Queue capacity, in batches of up to 512 events.
    #[arg(long, value_name = "N")]
    queue: Option<usize>,
    /// Queue capacity in MiB of messages (default 16): sources wait beyond it
    /// (UDP drops and counts), so memory stays bounded whatever the event size.
    #[arg(long, value_name = "MIB")]
    queue_mb: Option<usize>,
    /// How long an event that may alert waits for its process creation, when
    /// the creation comes later (default 2s; 0s: never wait).
    #[arg(long, value_name = "DURATION")]
    join_wait: Option<String>,
    /// Processes the correlation index holds before it evicts the oldest.
    #[arg(long, value_name = "N")]
    index_capacity: Option<usize>,
}

impl Args {
    /// The configuration file with the flags applied.
    fn config(&self) -> Result<WatchConfig> {
        let mut c = match &self.config {
            Some(p) => WatchConfig::load(p).map_err(anyhow::Error::msg)?,
            None => WatchConfig::default(),
        };
        macro_rules! over {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { c.$f = Some(v.clone()); } )* };
        }
        if let Some(z) = &self.input_tz {
            c.input_zone = Some(z.clone());
        }
        over!(
            join_wait,
            window,
            tz,
            state_dir,
            metrics,
            log_format,
            dedup,
            queue,
            queue_mb,
            index_capacity,
            tuning
        );
        if let Some(dir) = &self.rules.rules {
            c.rules = Some(dir.clone());
        }
        c.rule.extend(self.rules.rule.iter().cloned());
        c.sigma.extend(self.rules.sigma.iter().cloned());
        c.reference.extend(self.rules.reference.iter().cloned());
        if self.rules.skip_bad_rules {
            c.skip_bad_rules = Some(true);
        }
        if let Some(l) = &self.rules.min_level {
            c.min_level = Some(l.clone());
        }
        if self.rules.sigma_only {
            c.sigma_only = Some(true);
        }
        for l in &self.listen_tcp {
            c.source.push(SourceConfig::SyslogTcp {
                listen: l.clone(),
                max_connections: None,
            });
        }
        for l in &self.listen_udp {
            c.source.push(SourceConfig::SyslogUdp { listen: l.clone() });
        }
        for l in &self.netflow {
            c.source.push(SourceConfig::Netflow { listen: l.clone() });
        }
        for p in &self.follow {
            let start = self.from_end.then(|| "end".to_owned());
            c.source.push(SourceConfig::File {
                path: p.clone(),
                start,
            });
        }
        if self.stdin {
            c.source.push(SourceConfig::Stdin);
        }
        if let Some(url) = &self.nats {
            c.source.push(SourceConfig::Nats {
                url: url.clone(),
                stream: self.nats_stream.clone(),
                subject: None,
                partitions: self.partitions,
                member: self.member.clone(),
            });
        }
        if let Some(p) = &self.alerts {
            c.sink.push(SinkConfig::Jsonl {
                path: p.clone(),
                fsync: self.fsync.clone(),
            });
        }
        if self.stdout {
            c.sink.push(SinkConfig::Stdout);
        }
        if let Some(url) = &self.webhook {
            c.sink.push(SinkConfig::Webhook {
                url: url.clone(),
                retries: None,
                backoff: None,
                timeout: None,
            });
        }
        if let Some(a) = &self.leef_to {
            c.sink.push(SinkConfig::Leef {
                address: a.clone(),
                protocol: self.leef_protocol.clone(),
            });
        }
        if let Some(url) = &self.nats_alerts {
            c.sink.push(SinkConfig::Nats {
                url: url.clone(),
                subject: self.alerts_subject.clone(),
            });
        }
        Ok(c)
    }
}

/// What the loader needs to build the rules again.
struct Recipe {
    rules: super::RuleArgs,
    tuning: Option<PathBuf>,
    window: WindowPolicy,
    zone: Zone,
    aggregate_every: std::time::Duration,
}

impl Recipe {
    fn load(&self, schema: &mut Schema) -> Result<RuleSet> {
        let (rules, _, chosen) = pack::choose(&self.rules)?;
        let options = CompileOptions {
            zone: self.zone,
            window: self.window,
            provenance: PROVENANCE.iter().map(|(_, f)| *f).collect(),
            // Read again at every reload (SIGHUP), like the rules.
            reference_data: super::load_reference(&self.rules.reference)?,
            catalog: super::with_rule_titles(
                CompileOptions::default().catalog,
                rules
                    .iter()
                    .map(|r| &r.meta)
                    .chain(chosen.items.iter().map(|i| &i.meta)),
            ),
            ..CompileOptions::default()
        };
        let set = crate::correlations::build(
            &chosen,
            &rules,
            schema,
            PROVENANCE.iter().map(|(_, f)| *f).collect(),
        )
        .map_err(anyhow::Error::msg)?;
        let correlations = (!chosen.items.is_empty()).then(|| Correlations {
            set,
            metas: chosen.items.iter().map(|i| rule_meta(&i.meta)).collect(),
            rule_feeds_only: chosen.rule_feeds_only.clone(),
            correlation_feeds_only: chosen.correlation_feeds_only.clone(),
        });
        let mut out = Vec::new();
        let mut failed = 0;
        for mut r in rules {
            match r.compile(schema, &options) {
                Ok(mut q) => {
                    // Running never reads the syntax tree: with thousands of
                    // rules it is tens of MiB held for nothing.
                    q.shed_syntax();
                    // One schema for the whole set (see share_schema), kept so
                    // while compiling too.
                    if let Some(prev) = out.last() {
                        let prev: &Rule = prev;
                        if prev.query.schema.len() == q.schema.len() {
                            q.schema = prev.query.schema.clone();
                        } else {
                            let newest = q.schema.clone();
                            for r in &mut out {
                                r.query.schema = newest.clone();
                            }
                        }
                    }
                    out.push(Rule::streaming(rule_meta(&r.meta), q, r.dispatch.clone()));
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
        let tuning = super::TuneArgs {
            tuning: self.tuning.clone(),
            show_suppressed: false,
        }
        .load(schema)?;
        Ok(RuleSet {
            rules: out,
            tuning,
            zone: self.zone,
            aggregate_every: self.aggregate_every,
            correlations,
        })
    }
}

pub(crate) fn rule_meta(m: &pack::Meta) -> RuleMeta {
    RuleMeta {
        id: m.id.clone(),
        title: m.title.clone(),
        attack: m.attack.clone(),
        severity: m.severity.clone(),
        author: m.author.clone(),
        tags: m.tags.clone(),
    }
}

/// Runs the watch.
pub fn run(a: Args) -> Result<crate::Exit> {
    let cfg = a.config()?;
    let zone = Zone::parse(cfg.tz.as_deref().unwrap_or("UTC")).map_err(anyhow::Error::msg)?;
    let input_zone = Zone::parse(cfg.input_zone.as_deref().unwrap_or("UTC"))
        .map_err(|e| anyhow::anyhow!("--input-tz: {e}"))?;
    let window = match cfg.window.as_deref().unwrap_or("as-written") {
        "as-written" => WindowPolicy::AsWritten,
        "ignore" => WindowPolicy::Ignore,
        o => bail!("--window takes as-written or ignore, not `{o}`"),
    };
    let recipe = Recipe {
        rules: super::RuleArgs {
            rules: cfg.rules.clone(),
            rule: cfg.rule.clone(),
            sigma: cfg.sigma.clone(),
            sigma_only: cfg.sigma_only.unwrap_or(false),
            skip_bad_rules: cfg.skip_bad_rules.unwrap_or(false),
            min_level: cfg.min_level.clone(),
            reference: cfg.reference.clone(),
        },
        tuning: cfg.tuning.clone(),
        window,
        zone,
        aggregate_every: match &cfg.aggregate_every {
            Some(d) => portent_serve::config::duration(d).map_err(anyhow::Error::msg)?,
            None => std::time::Duration::from_secs(60),
        },
    };
    // Compile once here so a broken pack fails before any socket opens, and
    // so the sources parse with the schema the rules were compiled against.
    let mut schema = Schema::qradar();
    let first = recipe.load(&mut schema).context("loading the rules")?;
    let keep_all = first.rules.iter().any(|r| r.query.reads_all_fields());
    let cell = Arc::new(SchemaCell::new(schema.clone()));
    let loader_cell = cell.clone();
    let mut first = Some(first);
    let mut current = schema.clone();
    let loader = Box::new(move || -> Result<RuleSet, String> {
        if let Some(f) = first.take() {
            return Ok(f);
        }
        // New custom properties get new ids after the old ones, so events
        // parsed before the reload still read right.
        let mut s = current.clone();
        let set = recipe.load(&mut s).map_err(|e| format!("{e:#}"))?;
        loader_cell.set(s.clone());
        current = s;
        Ok(set)
    });
    let watch = portent_serve::watch::Watch {
        config: cfg,
        schema,
        loader,
        read: portent_io::ReadOptions {
            input_zone,
            keep_unknown: keep_all,
            ..portent_io::ReadOptions::default()
        },
        schema_cell: cell,
        flags: Flags::default(),
    };
    portent_serve::watch::run(watch).map_err(anyhow::Error::new)?;
    Ok(crate::Exit::Ok)
}
