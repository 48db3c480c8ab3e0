//! `portent watch`'s configuration file (TOML); command-line flags add to it
//! and override it. Unknown keys are errors, so a typo is never silently ignored.
//!
//! ```toml
//! window = "as-written"        # the rules' relative windows, against the wall clock
//! state_dir = "/var/lib/portent"
//! metrics = "127.0.0.1:9464"   # or "off"
//! dedup = "5m"                 # fold repeats of an alert within 5 minutes
//!
//! [[source]]
//! type = "syslog-tcp"
//! listen = "0.0.0.0:6514"
//!
//! [[source]]
//! type = "file"
//! path = "/var/log/sysmon.jsonl"
//!
//! [[sink]]
//! type = "jsonl"
//! path = "/var/log/portent/alerts.jsonl"
//! fsync = "batch"
//! ```

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// A rule directory instead of the bundled pack.
    pub rules: Option<PathBuf>,
    /// Only these rules (by id).
    #[serde(default)]
    pub rule: Vec<String>,
    /// Sigma rules (files or folders) to run beside the pack.
    #[serde(default)]
    pub sigma: Vec<PathBuf>,
    /// Run only the Sigma rules, not the AQL pack.
    pub sigma_only: Option<bool>,
    /// Run the Sigma rules that load even when others fail to.
    pub skip_bad_rules: Option<bool>,
    /// Run only rules of this level or above.
    pub min_level: Option<String>,
    /// Reference data files or folders (read again at every reload).
    #[serde(default)]
    pub reference: Vec<PathBuf>,
    /// Tuning exceptions.
    pub tuning: Option<PathBuf>,
    /// `as-written` (default): the rules' windows against the wall clock;
    /// `ignore`: every event is judged whatever its time (replays of old data).
    pub window: Option<String>,
    /// Zone for the alerts' times.
    pub tz: Option<String>,
    /// Zone of zone-less times in the input.
    pub input_zone: Option<String>,
    /// Checkpoints and dead letters live here.
    pub state_dir: Option<PathBuf>,
    /// `/metrics` and `/healthz` address, or `off`.
    pub metrics: Option<String>,
    /// `json` (default) or `text`.
    pub log_format: Option<String>,
    /// Fold repeats of an alert within this long (`0s`: off).
    pub dedup: Option<String>,
    /// Queue capacity, in batches of up to 512 events.
    pub queue: Option<usize>,
    /// Queue capacity in MiB of messages (see [`crate::source::Budget`]).
    pub queue_mb: Option<usize>,
    /// Processes the correlation index holds.
    pub index_capacity: Option<usize>,
    /// How long an event that may alert waits for its process creation to
    /// arrive (`0s`: not at all; default 2s).
    pub join_wait: Option<String>,
    /// How often grouped rules report.
    pub aggregate_every: Option<String>,
    /// Sources.
    #[serde(default)]
    pub source: Vec<SourceConfig>,
    /// Sinks.
    #[serde(default)]
    pub sink: Vec<SinkConfig>,
}

/// One source.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SourceConfig {
    /// Syslog over TCP (octet counting or newline framing).
    SyslogTcp {
        /// Address to listen on.
        listen: String,
        /// Connections at once.
        max_connections: Option<usize>,
    },
    /// Syslog over UDP.
    SyslogUdp {
        /// Address to listen on.
        listen: String,
    },
    /// NetFlow v5/v9 and IPFIX over UDP, into the flows table.
    Netflow {
        /// Address to listen on.
        listen: String,
    },
    /// A file followed across rotation.
    File {
        /// The file.
        path: PathBuf,
        /// `beginning` (default) or `end`, when there is no checkpoint.
        start: Option<String>,
    },
    /// Standard input; the watch ends with it.
    Stdin,
    /// A JetStream stream, as one member of a consumer group.
    Nats {
        /// Server URL.
        url: String,
        /// Stream name.
        stream: Option<String>,
        /// Subject prefix: events go to `<prefix>.<partition>.<host>`.
        subject: Option<String>,
        /// Partitions in all.
        partitions: Option<u32>,
        /// `i/n`: this worker is member i of n, and owns partitions p with p % n == i.
        member: Option<String>,
    },
}

/// One sink.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SinkConfig {
    /// JSON lines appended to a file.
    Jsonl {
        /// The file.
        path: PathBuf,
        /// `always`, `batch` (default), `interval:1s`, `never`.
        fsync: Option<String>,
    },
    /// JSON lines on stdout.
    Stdout,
    /// HTTP POST per alert.
    Webhook {
        /// The URL.
        url: String,
        /// Retries after the first attempt.
        retries: Option<u32>,
        /// First backoff (doubles each retry).
        backoff: Option<String>,
        /// Per-request timeout.
        timeout: Option<String>,
    },
    /// LEEF over syslog.
    Leef {
        /// `host:port`.
        address: String,
        /// `udp` (default) or `tcp`.
        protocol: Option<String>,
    },
    /// A NATS subject (JetStream when a stream captures it: exactly once by alert id).
    Nats {
        /// Server URL.
        url: String,
        /// Subject.
        subject: Option<String>,
    },
}

impl WatchConfig {
    /// Reads a configuration file.
    pub fn load(path: &std::path::Path) -> Result<WatchConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// `500ms`, `10s`, `5m`, `2h`, `1d`.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (500ms, 10s, 5m, 2h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h, d)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_a_full_file() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("5m"), Ok(Duration::from_secs(300)));
        assert!(duration("5 parsecs").is_err());
        let c: WatchConfig = toml::from_str(
            r#"
            window = "ignore"
            dedup = "1m"
            [[source]]
            type = "syslog-tcp"
            listen = "127.0.0.1:0"
            [[source]]
            type = "file"
            path = "/tmp/x.log"
            start = "end"
            [[sink]]
            type = "jsonl"
            path = "a.jsonl"
            fsync = "interval:1s"
            [[sink]]
            type = "webhook"
            url = "http://127.0.0.1:1/x"
            retries = 3
            "#,
        )
        .unwrap();
        assert_eq!(c.source.len(), 2);
        assert!(matches!(
            &c.sink[1],
            SinkConfig::Webhook {
                retries: Some(3),
                ..
            }
        ));
        let e =
            toml::from_str::<WatchConfig>("[[source]]\ntype = \"file\"\npaht = \"x\"").unwrap_err();
        assert!(e.to_string().contains("paht"), "{e}");
    }
}
