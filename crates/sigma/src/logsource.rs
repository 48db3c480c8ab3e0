//! Sigma log sources as the Windows channels and event ids Portent reads, and
//! Sigma's field names (Sysmon's) as the fields that hold the same values
//! whichever log an event came from.

/// What a log source becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The AQL condition that selects its events (`None`: every event).
    pub condition: Option<String>,
    /// For people: which logs these are.
    pub description: String,
    /// Sigma field name -> Portent field, for this log source.
    pub fields: Vec<(&'static str, &'static str)>,
    /// The channels and event ids an event must have for `condition` to
    /// hold (or more: never fewer), so that a rule set can be indexed by
    /// them; `None` when the condition is not of that shape.
    pub dispatch: Option<Dispatch>,
}

pub use portent_engine::dispatch::Dispatch;

const SYSMON: (&str, &str) = (
    "microsoft-windows-sysmon/operational",
    "microsoft-windows-sysmon",
);
const SECURITY: (&str, &str) = ("security", "microsoft-windows-security-auditing");

/// Sysmon's names for the values Portent normalises: the same value under
/// the normalised name for Sysmon, Security 4688 and 5156 (`Image` is 4688's
/// `NewProcessName` and 5156's `Application`), and what enrichment adds to
/// connections (their process's command line and parent).
const WINDOWS_FIELDS: &[(&str, &str)] = &[
    ("Image", "Process Name"),
    ("CommandLine", "Command"),
    ("ParentImage", "Parent Process Name"),
    ("ParentCommandLine", "Parent Command"),
    ("OriginalFileName", "Original File Name"),
    ("User", "username"),
    ("SourceIp", "sourceip"),
    ("SourcePort", "sourceport"),
    ("DestinationIp", "destinationip"),
    ("DestinationPort", "destinationport"),
    ("DestinationHostname", "Destination Hostname"),
    ("TargetFilename", "Filename"),
    ("ProcessId", "Process ID"),
    ("ParentProcessId", "Parent Process ID"),
];

/// Why a log source cannot be mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmapped {
    /// A sound log source that no log Portent reads carries: the rule is
    /// listed as inert, with this reason.
    Inert(String),
    /// A log source that is wrong as written.
    Invalid(String),
}

/// The Windows event log channels of each Sigma service, as SigmaHQ's own
/// log source configurations name them, with the provider that writes them
/// (for layouts that carry a provider but no channel; empty where there is
/// no single one).
const SERVICES: &[(&str, &[(&str, &str)])] = &[
    ("security", &[SECURITY]),
    ("system", &[("system", "")]),
    ("application", &[("application", "")]),
    ("sysmon", &[SYSMON]),
    (
        "powershell",
        &[POWERSHELL, ("powershellcore/operational", "powershellcore")],
    ),
    ("powershell-classic", &[POWERSHELL_CLASSIC]),
    (
        "taskscheduler",
        &[(
            "microsoft-windows-taskscheduler/operational",
            "microsoft-windows-taskscheduler",
        )],
    ),
    (
        "wmi",
        &[(
            "microsoft-windows-wmi-activity/operational",
            "microsoft-windows-wmi-activity",
        )],
    ),
    (
        "dns-server",
        &[("dns server", "microsoft-windows-dns-server-service")],
    ),
    (
        "dns-server-audit",
        &[(
            "microsoft-windows-dns-server/audit",
            "microsoft-windows-dns-server",
        )],
    ),
    (
        "dns-server-analytic",
        &[(
            "microsoft-windows-dns-server/analytical",
            "microsoft-windows-dns-server",
        )],
    ),
    // The channel's real name; SigmaHQ's configuration also gives the
    // display name "DNS Client Events".
    (
        "dns-client",
        &[
            (
                "microsoft-windows-dns-client/operational",
                "microsoft-windows-dns-client",
            ),
            ("microsoft-windows-dns client events/operational", ""),
        ],
    ),
    (
        "driver-framework",
        &[(
            "microsoft-windows-driverframeworks-usermode/operational",
            "microsoft-windows-driverframeworks-usermode",
        )],
    ),
    (
        "ntlm",
        &[(
            "microsoft-windows-ntlm/operational",
            "microsoft-windows-ntlm",
        )],
    ),
    (
        "dhcp",
        &[(
            "microsoft-windows-dhcp-server/operational",
            "microsoft-windows-dhcp-server",
        )],
    ),
    (
        "msexchange-management",
        &[("msexchange management", "msexchange cmdlet logs")],
    ),
    (
        "applocker",
        &[
            ("microsoft-windows-applocker/msi and script", ""),
            ("microsoft-windows-applocker/exe and dll", ""),
            ("microsoft-windows-applocker/packaged app-deployment", ""),
            ("microsoft-windows-applocker/packaged app-execution", ""),
        ],
    ),
    (
        "printservice-admin",
        &[("microsoft-windows-printservice/admin", "")],
    ),
    (
        "printservice-operational",
        &[("microsoft-windows-printservice/operational", "")],
    ),
    (
        "codeintegrity-operational",
        &[(
            "microsoft-windows-codeintegrity/operational",
            "microsoft-windows-codeintegrity",
        )],
    ),
    (
        "smbclient-security",
        &[("microsoft-windows-smbclient/security", "")],
    ),
    (
        "smbclient-connectivity",
        &[("microsoft-windows-smbclient/connectivity", "")],
    ),
    (
        "smbserver-connectivity",
        &[("microsoft-windows-smbserver/connectivity", "")],
    ),
    (
        "firewall-as",
        &[(
            "microsoft-windows-windows firewall with advanced security/firewall",
            "microsoft-windows-windows firewall with advanced security",
        )],
    ),
    (
        "bits-client",
        &[(
            "microsoft-windows-bits-client/operational",
            "microsoft-windows-bits-client",
        )],
    ),
    (
        "windefend",
        &[(
            "microsoft-windows-windows defender/operational",
            "microsoft-windows-windows defender",
        )],
    ),
    (
        "terminalservices-localsessionmanager",
        &[(
            "microsoft-windows-terminalservices-localsessionmanager/operational",
            "microsoft-windows-terminalservices-localsessionmanager",
        )],
    ),
    (
        "microsoft-servicebus-client",
        &[
            ("microsoft-servicebus-client", ""),
            ("microsoft-servicebus-client/admin", ""),
            ("microsoft-servicebus-client/operational", ""),
        ],
    ),
    (
        "servicebus-client",
        &[
            ("microsoft-servicebus-client/admin", ""),
            ("microsoft-servicebus-client/operational", ""),
        ],
    ),
    (
        "ldap",
        &[(
            "microsoft-windows-ldap-client/debug",
            "microsoft-windows-ldap-client",
        )],
    ),
    (
        "ldap_debug",
        &[(
            "microsoft-windows-ldap-client/debug",
            "microsoft-windows-ldap-client",
        )],
    ),
    (
        "security-mitigations",
        &[
            ("microsoft-windows-security-mitigations/kernel mode", ""),
            ("microsoft-windows-security-mitigations/user mode", ""),
        ],
    ),
    (
        "diagnosis-scripted",
        &[(
            "microsoft-windows-diagnosis-scripted/operational",
            "microsoft-windows-diagnosis-scripted",
        )],
    ),
    (
        "shell-core",
        &[(
            "microsoft-windows-shell-core/operational",
            "microsoft-windows-shell-core",
        )],
    ),
    ("openssh", &[("openssh/operational", "openssh")]),
    (
        "bitlocker",
        &[("microsoft-windows-bitlocker/bitlocker management", "")],
    ),
    (
        "vhdmp",
        &[(
            "microsoft-windows-vhdmp/operational",
            "microsoft-windows-vhdmp",
        )],
    ),
    (
        "appxdeployment-server",
        &[(
            "microsoft-windows-appxdeploymentserver/operational",
            "microsoft-windows-appxdeployment-server",
        )],
    ),
    (
        "lsa-server",
        &[("microsoft-windows-lsa/operational", "microsoft-windows-lsa")],
    ),
    (
        "appxpackaging-om",
        &[(
            "microsoft-windows-appxpackaging/operational",
            "microsoft-windows-appxpackagingom",
        )],
    ),
    (
        "appmodel-runtime",
        &[(
            "microsoft-windows-appmodel-runtime/admin",
            "microsoft-windows-appmodel-runtime",
        )],
    ),
    (
        "capi2",
        &[(
            "microsoft-windows-capi2/operational",
            "microsoft-windows-capi2",
        )],
    ),
    (
        "certificateservicesclient-lifecycle-system",
        &[(
            "microsoft-windows-certificateservicesclient-lifecycle-system/operational",
            "microsoft-windows-certificateservicesclient-lifecycle-system",
        )],
    ),
    (
        "kernel-shimengine",
        &[
            ("microsoft-windows-kernel-shimengine/operational", ""),
            ("microsoft-windows-kernel-shimengine/diagnostic", ""),
        ],
    ),
    (
        "application-experience",
        &[
            (
                "microsoft-windows-application-experience/program-telemetry",
                "",
            ),
            (
                "microsoft-windows-application-experience/program-compatibility-assistant",
                "",
            ),
        ],
    ),
    (
        "ntfs",
        &[(
            "microsoft-windows-ntfs/operational",
            "microsoft-windows-ntfs",
        )],
    ),
    (
        "hyper-v-worker",
        &[(
            "microsoft-windows-hyper-v-worker-admin",
            "microsoft-windows-hyper-v-worker",
        )],
    ),
    (
        "kernel-event-tracing",
        &[(
            "microsoft-windows-kernel-eventtracing/admin",
            "microsoft-windows-kernel-eventtracing",
        )],
    ),
    (
        "sense",
        &[(
            "microsoft-windows-sense/operational",
            "microsoft-windows-sense",
        )],
    ),
    (
        "iis-configuration",
        &[(
            "microsoft-iis-configuration/operational",
            "microsoft-iis-configuration",
        )],
    ),
];

const POWERSHELL: (&str, &str) = (
    "microsoft-windows-powershell/operational",
    "microsoft-windows-powershell",
);
const POWERSHELL_CLASSIC: (&str, &str) = ("windows powershell", "powershell");
const PWSH_CORE: (&str, &str) = ("powershellcore/operational", "powershellcore");

/// The channels of a Sigma Windows service.
pub fn service_channels(service: &str) -> Option<&'static [(&'static str, &'static str)]> {
    SERVICES
        .iter()
        .find(|(s, _)| *s == service)
        .map(|(_, c)| *c)
}

fn channel(c: (&str, &str), ids: &[u32]) -> String {
    channels(&[c], ids)
}

/// Events of any of these channels (or, where an event carries no channel,
/// of the channel's provider), with one of these event ids (any when empty).
fn channels(cs: &[(&str, &str)], ids: &[u32]) -> String {
    let ids = match ids {
        [] => String::new(),
        [one] => format!(" AND \"Event ID\" = {one}"),
        many => format!(
            " AND \"Event ID\" IN ({})",
            many.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let names: Vec<String> = cs.iter().map(|(c, _)| format!("'{c}'")).collect();
    let by_channel = match names.as_slice() {
        [one] => format!("LOWER(\"Channel\") = {one}"),
        _ => format!("LOWER(\"Channel\") IN ({})", names.join(", ")),
    };
    let providers: Vec<String> = cs
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(_, p)| format!("'{p}'"))
        .collect();
    let by_provider = match providers.as_slice() {
        [] => String::new(),
        [one] => format!(" OR (\"Channel\" IS NULL AND LOWER(\"Provider\") = {one})"),
        _ => format!(
            " OR (\"Channel\" IS NULL AND LOWER(\"Provider\") IN ({}))",
            providers.join(", ")
        ),
    };
    format!("(({by_channel}{by_provider}){ids})")
}

fn sysmon(ids: &[u32]) -> String {
    channel(SYSMON, ids)
}

/// Categories whose events no Windows event log records: they come from ETW
/// providers that only an EDR or an ETW collector turns into events.
const ETW_ONLY: &[(&str, &str)] = &[
    ("file_access", "file access is recorded by the Microsoft-Windows-Kernel-File ETW provider, not by Sysmon or an event log channel"),
    ("file_rename", "file renames are recorded by the Microsoft-Windows-Kernel-File ETW provider, not by Sysmon or an event log channel"),
    ("registry_rename", "Sysmon 14 (registry key and value rename) is mapped as registry_event"),
];

/// The log source of `product`, `category` and `service` (lower case, as
/// Sigma writes them); an error says why none fits.
pub fn map(
    product: Option<&str>,
    category: Option<&str>,
    service: Option<&str>,
) -> Result<Source, Unmapped> {
    let fields = WINDOWS_FIELDS.to_vec();
    let windows = |condition: String, description: &str, dispatch: Dispatch| Source {
        condition: Some(condition),
        description: description.to_owned(),
        fields: fields.clone(),
        dispatch: Some(dispatch),
    };
    let sy = |ids: &[u32]| Dispatch::of(&[SYSMON], ids);
    let inert = |m: String| Err(Unmapped::Inert(m));
    match (product, category, service) {
        (Some("windows") | None, Some(cat), None) => {
            let (cond, desc, dispatch) = match cat {
                "process_creation" => (
                    format!("({} OR {})", sysmon(&[1]), channel(SECURITY, &[4688])),
                    "Sysmon 1 and Security 4688",
                    sy(&[1]).or(Dispatch::of(&[SECURITY], &[4688])),
                ),
                // SigmaHQ writes these rules for Sysmon 3. Security 5156 names
                // the program as `\device\harddiskvolumeN\...`, where
                // exclusions written for `C:\...` do not apply (11 false
                // positives of lsass.exe on the attack samples), so a 5156 is
                // read only when its path is a drive-letter one.
                "network_connection" => (
                    format!(
                        "({} OR ({} AND \"Process Name\" IMATCHES '[a-z]:\\\\.*'))",
                        sysmon(&[3]),
                        channel(SECURITY, &[5156])
                    ),
                    "Sysmon 3, and Security 5156 where the program has a drive-letter path",
                    sy(&[3]).or(Dispatch::of(&[SECURITY], &[5156])),
                ),
                "process_termination" => (
                    format!("({} OR {})", sysmon(&[5]), channel(SECURITY, &[4689])),
                    "Sysmon 5 and Security 4689",
                    sy(&[5]).or(Dispatch::of(&[SECURITY], &[4689])),
                ),
                "file_change" => (sysmon(&[2]), "Sysmon 2", sy(&[2])),
                "sysmon_status" => (sysmon(&[4, 16]), "Sysmon 4 and 16", sy(&[4, 16])),
                "driver_load" => (sysmon(&[6]), "Sysmon 6", sy(&[6])),
                "image_load" => (sysmon(&[7]), "Sysmon 7", sy(&[7])),
                "create_remote_thread" => (sysmon(&[8]), "Sysmon 8", sy(&[8])),
                "raw_access_thread" => (sysmon(&[9]), "Sysmon 9", sy(&[9])),
                "process_access" => (sysmon(&[10]), "Sysmon 10", sy(&[10])),
                "file_event" | "file_create" => (sysmon(&[11]), "Sysmon 11", sy(&[11])),
                "registry_add" | "registry_delete" => (sysmon(&[12]), "Sysmon 12", sy(&[12])),
                "registry_set" => (sysmon(&[13]), "Sysmon 13", sy(&[13])),
                "registry_event" => (sysmon(&[12, 13, 14]), "Sysmon 12, 13 and 14", sy(&[12, 13, 14])),
                "create_stream_hash" => (sysmon(&[15]), "Sysmon 15", sy(&[15])),
                "pipe_created" => (sysmon(&[17, 18]), "Sysmon 17 and 18", sy(&[17, 18])),
                "wmi_event" => (sysmon(&[19, 20, 21]), "Sysmon 19, 20 and 21", sy(&[19, 20, 21])),
                "dns_query" => (sysmon(&[22]), "Sysmon 22", sy(&[22])),
                "file_delete" => (sysmon(&[23, 26]), "Sysmon 23 and 26", sy(&[23, 26])),
                "clipboard_change" => (sysmon(&[24]), "Sysmon 24", sy(&[24])),
                "process_tampering" => (sysmon(&[25]), "Sysmon 25", sy(&[25])),
                "file_delete_detected" => (sysmon(&[26]), "Sysmon 26", sy(&[26])),
                "file_block_executable" => (sysmon(&[27]), "Sysmon 27", sy(&[27])),
                "file_block_shredding" => (sysmon(&[28]), "Sysmon 28", sy(&[28])),
                "file_executable_detected" => (sysmon(&[29]), "Sysmon 29", sy(&[29])),
                "sysmon_error" => (sysmon(&[255]), "Sysmon 255", sy(&[255])),
                "ps_script" => (channels(&[POWERSHELL, PWSH_CORE], &[4104]), "PowerShell 4104", Dispatch::of(&[POWERSHELL, PWSH_CORE], &[4104])),
                "ps_module" => (channels(&[POWERSHELL, PWSH_CORE], &[4103]), "PowerShell 4103", Dispatch::of(&[POWERSHELL, PWSH_CORE], &[4103])),
                "ps_classic_start" => (channel(POWERSHELL_CLASSIC, &[400]), "Windows PowerShell 400", Dispatch::of(&[POWERSHELL_CLASSIC], &[400])),
                "ps_classic_provider_start" => (channel(POWERSHELL_CLASSIC, &[600]), "Windows PowerShell 600", Dispatch::of(&[POWERSHELL_CLASSIC], &[600])),
                "ps_classic_script" => (channel(POWERSHELL_CLASSIC, &[800]), "Windows PowerShell 800", Dispatch::of(&[POWERSHELL_CLASSIC], &[800])),
                "dns" if product.is_none() => {
                    let mut s = windows(sysmon(&[22]), "Sysmon 22 (DNS queries by Windows processes)", sy(&[22]));
                    s.fields.push(("query", "QueryName"));
                    return Ok(s);
                }
                other => {
                    if let Some((_, why)) = ETW_ONLY.iter().find(|(c, _)| *c == other) {
                        return inert(format!("category `{other}`: {why}"));
                    }
                    return inert(format!(
                        "no log Portent reads carries the `{other}` category{}",
                        if product.is_none() { " (and no product is named)" } else { " for Windows" }
                    ));
                }
            };
            Ok(windows(cond, desc, dispatch))
        }
        (Some("windows"), None, Some(svc)) => match service_channels(svc) {
            Some(cs) => {
                let names: Vec<&str> = cs.iter().map(|(c, _)| *c).collect();
                Ok(windows(
                    channels(cs, &[]),
                    &format!("the {} channel", names.join(" / ")),
                    Dispatch::of(cs, &[]),
                ))
            }
            None => inert(format!("no channel is known for the Windows service `{svc}`")),
        },
        (Some("windows"), None, None) => Ok(Source {
            condition: Some("devicetype = 12".into()),
            description: "every Windows event".into(),
            fields: fields.clone(),
            dispatch: None,
        }),
        (Some("windows"), Some(cat), Some(svc)) => Err(Unmapped::Invalid(format!(
            "a Windows log source names both category `{cat}` and service `{svc}`; Portent maps one or the other"
        ))),
        (Some(p), _, _) => inert(format!(
            "product `{p}`: Portent reads Windows event logs, QRadar exports, LEEF and Zeek, and has no mapping for it"
        )),
        (None, None, _) => Err(Unmapped::Invalid("the log source names neither a product nor a category".into())),
        (None, Some(_), Some(_)) => Err(Unmapped::Invalid("a log source with a category and a service but no product".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_categories_map_to_channels_and_ids() {
        let s = map(Some("windows"), Some("network_connection"), None).unwrap();
        assert_eq!(
            s.description,
            "Sysmon 3, and Security 5156 where the program has a drive-letter path"
        );
        let c = s.condition.unwrap();
        assert!(
            c.contains("\"Event ID\" = 3") && c.contains("\"Event ID\" = 5156"),
            "{c}"
        );
        let inert = |e: Unmapped| match e {
            Unmapped::Inert(m) => m,
            Unmapped::Invalid(m) => panic!("not inert: {m}"),
        };
        assert!(
            inert(map(Some("linux"), Some("process_creation"), None).unwrap_err())
                .contains("linux")
        );
        assert!(inert(map(Some("windows"), Some("bogus"), None).unwrap_err()).contains("bogus"));
        assert!(
            inert(map(Some("windows"), Some("file_access"), None).unwrap_err())
                .contains("Kernel-File")
        );
        assert!(matches!(
            map(Some("windows"), Some("process_creation"), Some("sysmon")),
            Err(Unmapped::Invalid(_))
        ));
        let dns = map(None, Some("dns"), None).unwrap();
        assert!(dns.fields.contains(&("query", "QueryName")));
    }
}
