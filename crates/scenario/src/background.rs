//! Benign background: browsers, OneDrive, Teams, Defender and Windows Update
//! talking to the internet, the DNS client service to the corporate resolver,
//! new processes and file writes, so that detections are validated in a
//! realistic stream and not only on the scenario's own events.

use crate::telemetry::{Builder, Proc};

const SITES: &[(&str, &str)] = &[
    ("www.microsoft.com", "23.45.229.117"),
    ("www.bing.com", "204.79.197.200"),
    ("login.microsoftonline.com", "20.190.151.7"),
    ("outlook.office365.com", "52.97.146.162"),
    ("www.google.com", "142.250.185.68"),
    ("github.com", "140.82.121.4"),
];

/// Adds exactly `n` benign events between `from` and `to` (µs).
pub fn add(b: &mut Builder, from: i64, to: i64, n: usize) {
    if n == 0 {
        return;
    }
    let apps: Vec<Proc> = [
        (
            "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
            "\"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe\"",
            "chrome.exe",
        ),
        (
            "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
            "\"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe\" --profile-directory=Default",
            "msedge.exe",
        ),
        (
            "C:\\Users\\alex\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe",
            "\"C:\\Users\\alex\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe\" /background",
            "OneDrive.exe",
        ),
        (
            "C:\\Users\\alex\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
            "\"C:\\Users\\alex\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe\"",
            "Teams.exe",
        ),
    ]
    .iter()
    .map(|(image, cmd, orig)| b.process(image, cmd, orig, None))
    .collect();
    let services: Vec<Proc> = [
        (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv",
            "svchost.exe",
        ),
        (
            "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe",
            "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe\"",
            "MsMpEng.exe",
        ),
    ]
    .iter()
    .map(|(image, cmd, orig)| b.service(image, cmd, orig))
    .collect();
    let dns = b.service(
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k NetworkService -p -s Dnscache",
        "svchost.exe",
    );
    let span = (to - from).max(1) as u64;
    for _ in 0..n {
        let t = from + b.rng.below(span) as i64;
        match b.rng.below(10) {
            0..=3 => {
                let p = b.rng.pick(&apps).clone();
                let (_, ip) = *b.rng.pick(SITES);
                b.sysmon_connect(&p, t, "tcp", (ip, 443), "-");
            }
            4 => {
                let p = b.rng.pick(&services).clone();
                let (_, ip) = *b.rng.pick(SITES);
                if b.rng.below(2) == 0 {
                    b.sysmon_connect(&p, t, "tcp", (ip, 443), "-");
                } else {
                    b.security_connect(&p, t, 6, (ip, 443));
                }
            }
            5 => {
                b.sysmon_connect(&dns, t, "udp", ("10.20.0.10", 53), "dc01.corp.example");
            }
            6 | 7 => {
                let p = b.rng.pick(&apps).clone();
                let (site, ip) = *b.rng.pick(SITES);
                b.sysmon_dns(&p, t, site, &format!("::ffff:{ip};"));
            }
            8 => {
                let parent = b.rng.pick(&apps).clone();
                let child = b.process(
                    &parent.image,
                    &format!("{} --type=renderer --lang=en-US", parent.command),
                    &parent.original,
                    Some(&parent),
                );
                b.sysmon_process(&child, t);
            }
            _ => {
                let p = b.rng.pick(&apps).clone();
                let name = b.rng.text(b"0123456789abcdef", 16);
                b.sysmon_file(
                    &p,
                    t,
                    &format!("C:\\Users\\alex\\AppData\\Local\\Temp\\{name}.tmp"),
                );
            }
        }
    }
}
