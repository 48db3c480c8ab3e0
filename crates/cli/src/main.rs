//! `portent`: run QRadar AQL detections over telemetry outside QRadar.

mod alloc;
mod baseline;
mod beacons;
mod check;
mod cmd;
mod correlations;
mod hits;
mod navigator;
mod output;
mod pack;
mod progress;
mod report;
mod sigma;
mod summary;
mod tuned;
mod writer;

use clap::{Parser, Subcommand};

use std::process::ExitCode;

/// Run QRadar AQL detections over Windows telemetry, outside QRadar.
#[derive(Parser)]
#[command(name = "portent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the rule pack (the seed's T1043 rule and any others) over evidence.
    Hunt(cmd::hunt::Args),
    /// Run one AQL query over files, archives and folders of telemetry.
    Query(cmd::query::Args),
    /// Tuning helpers.
    #[command(subcommand)]
    Tune(Tune),
    /// A learned process-to-port baseline.
    #[command(subcommand)]
    Baseline(BaselineCmd),
    /// The rule pack: list it, or test every rule against its fixtures.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// A rule in another language: Sigma, QRadar-valid AQL, SPL, KQL, ES|QL, SQL.
    Convert(cmd::convert::Args),
    /// Sigma rules: check that they load, or show the AQL they become.
    #[command(subcommand)]
    Sigma(SigmaCmd),
    /// Generate the seed's four test scenarios as telemetry (JSON and EVTX),
    /// run the rule pack over them, and report coverage.
    Validate(cmd::validate::Args),
    /// Report what real QRadar would reject and what is probably a mistake.
    Lint(cmd::lint::Args),
    /// Show how a query is planned: fields, time window, matchers.
    Explain(cmd::explain::Args),
    /// Run the rules continuously on live feeds: syslog (TCP/UDP), followed
    /// files, stdin, NetFlow/IPFIX, NATS JetStream; alerts to files, stdout,
    /// webhooks, LEEF syslog or NATS.
    Watch(Box<cmd::watch::Args>),
    /// Load generator: send evidence to a watcher as syslog (TCP/UDP) or to
    /// NATS JetStream, at a given rate.
    Replay(cmd::replay::Args),
}

/// `portent tune ...`.
#[derive(Subcommand)]
enum Tune {
    /// Propose exceptions from the largest recurring groups of hits, for review.
    Suggest(cmd::hunt::SuggestArgs),
}

/// `portent sigma ...`.
#[derive(Subcommand)]
enum SigmaCmd {
    /// Load Sigma rules and report each: loaded, or rejected with file, line and reason.
    Check(cmd::sigma::CheckArgs),
    /// Print the AQL each Sigma rule compiles to.
    Convert(cmd::sigma::ConvertArgs),
}

/// `portent rules ...`.
#[derive(Subcommand)]
enum RulesCmd {
    /// Run every rule's positive and negative fixture events (exit 1 on a failure).
    Test(cmd::rules::TestArgs),
    /// List the rules with their ATT&CK ids and severity.
    List(cmd::rules::ListArgs),
}

/// `portent baseline ...`.
#[derive(Subcommand)]
enum BaselineCmd {
    /// Record which process images talk to which ports and destination classes.
    Learn(cmd::baseline::LearnArgs),
}

/// Documented exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// `--fail-on-hits` and rows were found; a failed check (`rules test`, `validate`).
    Hits = 1,
    /// Usage, query or rule error.
    Error = 2,
    /// Some input could not be read (the rest was).
    PartialInput = 3,
}

fn main() -> ExitCode {
    alloc::return_freed_memory_promptly();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(a) => cmd::hunt::run(a),
        Command::Query(a) => cmd::query::run(a),
        Command::Tune(Tune::Suggest(a)) => cmd::hunt::suggest(a),
        Command::Baseline(BaselineCmd::Learn(a)) => cmd::baseline::learn(a),
        Command::Rules(RulesCmd::Test(a)) => cmd::rules::test(a),
        Command::Rules(RulesCmd::List(a)) => cmd::rules::list(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::Convert(a) => cmd::convert::run(a),
        Command::Sigma(SigmaCmd::Check(a)) => cmd::sigma::check(a),
        Command::Sigma(SigmaCmd::Convert(a)) => cmd::sigma::convert(a),
        Command::Lint(a) => cmd::lint::run(a),
        Command::Explain(a) => cmd::explain::run(a),
        Command::Watch(a) => cmd::watch::run(*a),
        Command::Replay(a) => cmd::replay::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("portent: {e:#}");
            ExitCode::from(Exit::Error as u8)
        }
    }
}
