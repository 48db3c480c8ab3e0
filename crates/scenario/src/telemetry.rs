//! Building coherent telemetry: processes with GUIDs, PIDs and parents, and
//! the events Sysmon, the Security log, the DNS client and BITS write about
//! them, with the fields and types those providers use.

use crate::event::{
    sysmon_utc, Provider, Val, WinEvent, BITS_CLIENT, DNS_CLIENT, SECURITY, SYSMON,
};
use crate::rng::Rng;

/// A host and the account working on it.
#[derive(Clone, Debug)]
pub struct Host {
    /// `Computer`.
    pub name: String,
    /// Its address.
    pub ip: String,
    /// `DOMAIN\user`.
    pub user: String,
    /// The user's SID.
    pub user_sid: String,
    /// The volume `C:` is on, as WFP writes paths (`\device\harddiskvolume3`).
    pub volume: String,
}

impl Host {
    /// The lab workstation the scenarios run on.
    pub fn workstation() -> Host {
        Host {
            name: "WS-VAL-01.corp.example".into(),
            ip: "10.20.30.42".into(),
            user: "CORP\\alex".into(),
            user_sid: "S-1-5-21-1004336348-1177238915-682003330-1104".into(),
            volume: "\\device\\harddiskvolume3".into(),
        }
    }

    /// `CORP`, `alex`.
    fn domain_and_name(&self) -> (&str, &str) {
        self.user.split_once('\\').unwrap_or(("", &self.user))
    }
}

/// A process.
#[derive(Clone, Debug)]
pub struct Proc {
    /// Sysmon's ProcessGuid (no braces).
    pub guid: String,
    /// PID.
    pub pid: u32,
    /// Image path.
    pub image: String,
    /// Command line.
    pub command: String,
    /// `OriginalFileName` from the PE header.
    pub original: String,
    /// Account.
    pub user: String,
    /// Integrity level.
    pub integrity: &'static str,
    /// Parent: GUID, PID, image, command line.
    pub parent: (String, u32, String, String),
}

/// Events of one generated set, before record ids are assigned.
pub struct Builder {
    /// Random source.
    pub rng: Rng,
    /// The host.
    pub host: Host,
    /// Events so far, in creation order.
    pub events: Vec<WinEvent>,
}

/// What a data list is built from.
type Data = Vec<(&'static str, Val)>;

/// The fields every Sysmon event about a process starts with.
fn sysmon_head(p: &Proc, t: i64) -> Data {
    vec![
        ("RuleName", Val::s("-")),
        ("UtcTime", Val::s(sysmon_utc(t))),
        ("ProcessGuid", Val::Guid(p.guid.clone())),
        ("ProcessId", Val::U32(p.pid)),
    ]
}

impl Builder {
    /// A builder for `host`.
    pub fn new(seed: u64, host: Host) -> Builder {
        Builder {
            rng: Rng::new(seed),
            host,
            events: Vec::new(),
        }
    }

    /// A new process of `parent` (or of explorer.exe).
    pub fn process(
        &mut self,
        image: &str,
        command: &str,
        original: &str,
        parent: Option<&Proc>,
    ) -> Proc {
        let pid = (self.rng.range(1000, 16000) as u32) & !3;
        let guid = self.rng.guid();
        let parent = match parent {
            Some(p) => (p.guid.clone(), p.pid, p.image.clone(), p.command.clone()),
            None => (
                self.rng.guid(),
                (self.rng.range(1000, 9000) as u32) & !3,
                "C:\\Windows\\explorer.exe".into(),
                "C:\\Windows\\Explorer.EXE".into(),
            ),
        };
        Proc {
            guid,
            pid,
            image: image.into(),
            command: command.into(),
            original: original.into(),
            user: self.host.user.clone(),
            integrity: "Medium",
            parent,
        }
    }

    /// A service process running as SYSTEM, started before the logs begin.
    pub fn service(&mut self, image: &str, command: &str, original: &str) -> Proc {
        let mut p = self.process(image, command, original, None);
        p.user = "NT AUTHORITY\\SYSTEM".into();
        p.integrity = "System";
        p.parent.2 = "C:\\Windows\\System32\\services.exe".into();
        p.parent.3 = "C:\\Windows\\system32\\services.exe".into();
        p
    }

    fn push(
        &mut self,
        provider: &'static Provider,
        event_id: u16,
        version: u8,
        time_us: i64,
        data: Data,
    ) -> usize {
        let (level, task, keywords, sid) = if provider == &SECURITY {
            let task = match event_id {
                4688 => 13312,
                5156 => 12810,
                _ => 0,
            };
            (0, task, 0x8020_0000_0000_0000, None)
        } else if provider == &SYSMON {
            (
                4,
                event_id,
                0x8000_0000_0000_0000,
                Some("S-1-5-18".to_owned()),
            )
        } else {
            (
                4,
                0,
                0x8000_0000_0000_0000,
                Some(self.host.user_sid.clone()),
            )
        };
        let (pid, tid) = (
            (self.rng.range(500, 4000) as u32) & !3,
            (self.rng.range(500, 12000) as u32) & !3,
        );
        self.events.push(WinEvent {
            provider,
            event_id,
            version,
            level,
            task,
            opcode: 0,
            keywords,
            time_us,
            record_id: 0,
            pid,
            tid,
            computer: self.host.name.clone(),
            user_sid: sid,
            data,
        });
        self.events.len() - 1
    }

    fn logon(&self) -> (String, u64) {
        ("a0f5e2d1-61c7-6931-0000-0020b1c20300".into(), 0x3c2b1)
    }

    /// Sysmon 1: process creation.
    pub fn sysmon_process(&mut self, p: &Proc, t: i64) -> usize {
        let (logon_guid, logon_id) = self.logon();
        let hash = format!(
            "SHA256={:016X}{:016X}{:016X}{:016X}",
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64()
        );
        let mut data = sysmon_head(p, t);
        data.extend([
            ("Image", Val::s(&p.image)),
            ("FileVersion", Val::s("10.0.19041.1 (WinBuild.160101.0800)")),
            ("Description", Val::s(description(&p.original))),
            ("Product", Val::s("Microsoft® Windows® Operating System")),
            ("Company", Val::s("Microsoft Corporation")),
            ("OriginalFileName", Val::s(&p.original)),
            ("CommandLine", Val::s(&p.command)),
            ("CurrentDirectory", Val::s("C:\\Users\\alex\\")),
            ("User", Val::s(&p.user)),
            ("LogonGuid", Val::Guid(logon_guid)),
            ("LogonId", Val::HexInt64(logon_id)),
            ("TerminalSessionId", Val::U32(1)),
            ("IntegrityLevel", Val::s(p.integrity)),
            ("Hashes", Val::s(hash)),
            ("ParentProcessGuid", Val::Guid(p.parent.0.clone())),
            ("ParentProcessId", Val::U32(p.parent.1)),
            ("ParentImage", Val::s(&p.parent.2)),
            ("ParentCommandLine", Val::s(&p.parent.3)),
            ("ParentUser", Val::s(&p.user)),
        ]);
        self.push(&SYSMON, 1, 5, t, data)
    }

    /// Security 4688: process creation (with command line auditing on).
    pub fn security_process(&mut self, p: &Proc, t: i64) -> usize {
        let (domain, name) = self.host.domain_and_name();
        let (domain, name) = (domain.to_owned(), name.to_owned());
        let data = vec![
            ("SubjectUserSid", Val::s(&self.host.user_sid)),
            ("SubjectUserName", Val::s(name)),
            ("SubjectDomainName", Val::s(domain)),
            ("SubjectLogonId", Val::HexInt64(0x3c2b1)),
            ("NewProcessId", Val::HexInt64(u64::from(p.pid))),
            ("NewProcessName", Val::s(&p.image)),
            ("TokenElevationType", Val::s("%%1938")),
            ("ProcessId", Val::HexInt64(u64::from(p.parent.1))),
            ("CommandLine", Val::s(&p.command)),
            ("TargetUserSid", Val::s("S-1-0-0")),
            ("TargetUserName", Val::s("-")),
            ("TargetDomainName", Val::s("-")),
            ("TargetLogonId", Val::HexInt64(0)),
            ("ParentProcessName", Val::s(&p.parent.2)),
            ("MandatoryLabel", Val::s("S-1-16-8192")),
        ];
        self.push(&SECURITY, 4688, 2, t, data)
    }

    /// Sysmon 3: a connection the process made (`tcp` or `udp`).
    pub fn sysmon_connect(
        &mut self,
        p: &Proc,
        t: i64,
        proto: &str,
        dst: (&str, u16),
        dst_host: &str,
    ) -> usize {
        let sport = self.rng.range(49152, 65000) as u16;
        let mut data = sysmon_head(p, t);
        data.extend([
            ("Image", Val::s(&p.image)),
            ("User", Val::s(&p.user)),
            ("Protocol", Val::s(proto)),
            ("Initiated", Val::Bool(true)),
            ("SourceIsIpv6", Val::Bool(false)),
            ("SourceIp", Val::s(&self.host.ip)),
            ("SourceHostname", Val::s(&self.host.name)),
            ("SourcePort", Val::U16(sport)),
            ("SourcePortName", Val::s("-")),
            ("DestinationIsIpv6", Val::Bool(false)),
            ("DestinationIp", Val::s(dst.0)),
            ("DestinationHostname", Val::s(dst_host)),
            ("DestinationPort", Val::U16(dst.1)),
            ("DestinationPortName", Val::s(port_name(dst.1))),
        ]);
        self.push(&SYSMON, 3, 5, t, data)
    }

    /// Security 5156: the Windows Filtering Platform permitted a connection.
    pub fn security_connect(&mut self, p: &Proc, t: i64, proto: u32, dst: (&str, u16)) -> usize {
        let app = format!(
            "{}{}",
            self.host.volume,
            p.image.get(2..).unwrap_or("").to_ascii_lowercase()
        );
        let sport = self.rng.range(49152, 65000);
        let data = vec![
            ("ProcessID", Val::U64(u64::from(p.pid))),
            ("Application", Val::s(app)),
            ("Direction", Val::s("%%14593")),
            ("SourceAddress", Val::s(&self.host.ip)),
            ("SourcePort", Val::s(sport.to_string())),
            ("DestAddress", Val::s(dst.0)),
            ("DestPort", Val::s(dst.1.to_string())),
            ("Protocol", Val::U32(proto)),
            ("FilterRTID", Val::U64(72_413)),
            ("LayerName", Val::s("%%14611")),
            ("LayerRTID", Val::U64(48)),
            ("RemoteUserID", Val::s("S-1-0-0")),
            ("RemoteMachineID", Val::s("S-1-0-0")),
        ];
        self.push(&SECURITY, 5156, 1, t, data)
    }

    /// Sysmon 11: a file was created.
    pub fn sysmon_file(&mut self, p: &Proc, t: i64, target: &str) -> usize {
        let mut data = sysmon_head(p, t);
        data.extend([
            ("Image", Val::s(&p.image)),
            ("TargetFilename", Val::s(target)),
            ("CreationUtcTime", Val::s(sysmon_utc(t))),
            ("User", Val::s(&p.user)),
        ]);
        self.push(&SYSMON, 11, 2, t, data)
    }

    /// Sysmon 22: a DNS query made through the Windows resolver.
    pub fn sysmon_dns(&mut self, p: &Proc, t: i64, name: &str, results: &str) -> usize {
        let mut data = sysmon_head(p, t);
        data.extend([
            ("QueryName", Val::s(name)),
            ("QueryStatus", Val::s("0")),
            ("QueryResults", Val::s(results)),
            ("Image", Val::s(&p.image)),
            ("User", Val::s(&p.user)),
        ]);
        self.push(&SYSMON, 22, 5, t, data)
    }

    /// DNS-Client 3020: the resolver's answer to a query.
    pub fn dns_client_response(&mut self, t: i64, name: &str, status: u32, results: &str) -> usize {
        let data = vec![
            ("QueryName", Val::s(name)),
            ("NetworkIndex", Val::U32(0)),
            ("InterfaceIndex", Val::U32(0)),
            ("Status", Val::U32(status)),
            ("QueryResults", Val::s(results)),
        ];
        self.push(&DNS_CLIENT, 3020, 0, t, data)
    }

    /// BITS-Client 3: a job was created; `processPath` is the client that asked.
    pub fn bits_job_created(&mut self, p: &Proc, t: i64, title: &str, job: &str) -> usize {
        let data = vec![
            ("jobTitle", Val::s(title)),
            ("jobId", Val::Guid(job.into())),
            ("jobOwner", Val::s(&p.user)),
            ("processPath", Val::s(&p.image)),
            ("processId", Val::U32(p.pid)),
            ("ClientProcessStartKey", Val::U64(0x0400_0000_0000_1c2d)),
        ];
        self.push(&BITS_CLIENT, 3, 3, t, data)
    }

    /// BITS-Client 59 (started) or 60 (stopped) for the job's URL.
    pub fn bits_transfer(&mut self, t: i64, id: u16, title: &str, job: &str, url: &str) -> usize {
        let transfer = self.rng.guid();
        let mut data = vec![
            ("transferId", Val::Guid(transfer)),
            ("name", Val::s(title)),
            ("Id", Val::Guid(job.into())),
            ("url", Val::s(url)),
            ("peer", Val::s("")),
        ];
        if id == 60 {
            data.push(("hr", Val::U32(0)));
        }
        data.extend([
            ("fileLength", Val::U64(1086)),
            ("bytesTotal", Val::U64(1086)),
            (
                "bytesTransferred",
                Val::U64(if id == 60 { 1086 } else { 0 }),
            ),
            ("bytesTransferredFromPeer", Val::U64(0)),
        ]);
        self.push(&BITS_CLIENT, id, 1, t, data)
    }

    /// BITS-Client 4: the job completed.
    pub fn bits_job_completed(&mut self, p: &Proc, t: i64, title: &str, job: &str) -> usize {
        let data = vec![
            ("User", Val::s(&p.user)),
            ("jobTitle", Val::s(title)),
            ("jobId", Val::Guid(job.into())),
            ("jobOwner", Val::s(&p.user)),
            ("fileCount", Val::U32(1)),
        ];
        self.push(&BITS_CLIENT, 4, 0, t, data)
    }
}

fn description(original: &str) -> &'static str {
    match original.to_ascii_lowercase().as_str() {
        "powershell.exe" => "Windows PowerShell",
        "certutil.exe" => "CertUtil.exe",
        "nslookup.exe" => "nslookup",
        "bitsadmin.exe" => "BITS administration utility",
        "cmd.exe" => "Windows Command Processor",
        _ => "-",
    }
}

fn port_name(port: u16) -> &'static str {
    match port {
        80 => "http",
        443 => "https",
        53 => "domain",
        25 => "smtp",
        _ => "-",
    }
}

/// Sorts events by time and numbers each channel's records from `first`,
/// as a log does; returns where each event of the input order went.
pub fn finish(events: &mut Vec<WinEvent>, first: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].time_us, i));
    let sorted: Vec<WinEvent> = order.iter().map(|&i| events[i].clone()).collect();
    let mut position = vec![0; events.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    *events = sorted;
    let mut next: std::collections::HashMap<&str, u64> = Default::default();
    for ev in events.iter_mut() {
        let n = next.entry(ev.provider.channel).or_insert(first);
        ev.record_id = *n;
        *n += 1;
    }
    position
}
