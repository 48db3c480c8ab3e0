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
}

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

fn channel(c: (&str, &str), ids: &[u32]) -> String {
    let (channel, provider) = c;
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
    format!(
        "((LOWER(\"Channel\") = '{channel}' OR (\"Channel\" IS NULL AND LOWER(\"Provider\") = '{provider}')){ids})"
    )
}

fn sysmon(ids: &[u32]) -> String {
    channel(SYSMON, ids)
}

/// The log source of `product`, `category` and `service` (lower case, as
/// Sigma writes them); an error says why none fits.
pub fn map(
    product: Option<&str>,
    category: Option<&str>,
    service: Option<&str>,
) -> Result<Source, String> {
    let fields = WINDOWS_FIELDS.to_vec();
    let windows = |condition: String, description: &str| Source {
        condition: Some(condition),
        description: description.to_owned(),
        fields: fields.clone(),
    };
    match (product, category, service) {
        (Some("windows") | None, Some(cat), None) => {
            let (cond, desc) = match cat {
                "process_creation" => (
                    format!("({} OR {})", sysmon(&[1]), channel(SECURITY, &[4688])),
                    "Sysmon 1 and Security 4688",
                ),
                "network_connection" => (
                    format!("({} OR {})", sysmon(&[3]), channel(SECURITY, &[5156])),
                    "Sysmon 3 and Security 5156",
                ),
                "process_termination" => (
                    format!("({} OR {})", sysmon(&[5]), channel(SECURITY, &[4689])),
                    "Sysmon 5 and Security 4689",
                ),
                "file_change" => (sysmon(&[2]), "Sysmon 2"),
                "sysmon_status" => (sysmon(&[4, 16]), "Sysmon 4 and 16"),
                "driver_load" => (sysmon(&[6]), "Sysmon 6"),
                "image_load" => (sysmon(&[7]), "Sysmon 7"),
                "create_remote_thread" => (sysmon(&[8]), "Sysmon 8"),
                "raw_access_thread" => (sysmon(&[9]), "Sysmon 9"),
                "process_access" => (sysmon(&[10]), "Sysmon 10"),
                "file_event" | "file_create" => (sysmon(&[11]), "Sysmon 11"),
                "registry_add" | "registry_delete" => (sysmon(&[12]), "Sysmon 12"),
                "registry_set" => (sysmon(&[13]), "Sysmon 13"),
                "registry_rename" => (sysmon(&[14]), "Sysmon 14"),
                "registry_event" => (sysmon(&[12, 13, 14]), "Sysmon 12, 13 and 14"),
                "create_stream_hash" => (sysmon(&[15]), "Sysmon 15"),
                "pipe_created" => (sysmon(&[17, 18]), "Sysmon 17 and 18"),
                "wmi_event" => (sysmon(&[19, 20, 21]), "Sysmon 19, 20 and 21"),
                "dns_query" => (sysmon(&[22]), "Sysmon 22"),
                "file_delete" => (sysmon(&[23, 26]), "Sysmon 23 and 26"),
                "clipboard_change" => (sysmon(&[24]), "Sysmon 24"),
                "process_tampering" => (sysmon(&[25]), "Sysmon 25"),
                "file_block_executable" => (sysmon(&[27]), "Sysmon 27"),
                "file_block_shredding" => (sysmon(&[28]), "Sysmon 28"),
                "file_executable_detected" => (sysmon(&[29]), "Sysmon 29"),
                "ps_script" => (
                    channel(("microsoft-windows-powershell/operational", "microsoft-windows-powershell"), &[4104]),
                    "PowerShell 4104",
                ),
                "ps_module" => (
                    channel(("microsoft-windows-powershell/operational", "microsoft-windows-powershell"), &[4103]),
                    "PowerShell 4103",
                ),
                "ps_classic_start" => (channel(("windows powershell", "powershell"), &[400]), "Windows PowerShell 400"),
                "dns" if product.is_none() => {
                    let mut s = windows(sysmon(&[22]), "Sysmon 22 (DNS queries by Windows processes)");
                    s.fields.push(("query", "QueryName"));
                    return Ok(s);
                }
                other => {
                    return Err(format!(
                        "no log Portent reads carries the `{other}` category{}",
                        if product.is_none() { " (and no product is named)" } else { " for Windows" }
                    ))
                }
            };
            Ok(windows(cond, desc))
        }
        (Some("windows"), None, Some(svc)) => {
            let c = match svc {
                "security" => SECURITY,
                "sysmon" => SYSMON,
                "system" => ("system", ""),
                "application" => ("application", ""),
                "powershell" => ("microsoft-windows-powershell/operational", "microsoft-windows-powershell"),
                "powershell-classic" => ("windows powershell", "powershell"),
                "bits-client" => ("microsoft-windows-bits-client/operational", "microsoft-windows-bits-client"),
                "dns-client" => ("microsoft-windows-dns-client/operational", "microsoft-windows-dns-client"),
                "taskscheduler" => ("microsoft-windows-taskscheduler/operational", "microsoft-windows-taskscheduler"),
                "windefend" => ("microsoft-windows-windows defender/operational", "microsoft-windows-windows defender"),
                "wmi" => ("microsoft-windows-wmi-activity/operational", "microsoft-windows-wmi-activity"),
                "firewall-as" => (
                    "microsoft-windows-windows firewall with advanced security/firewall",
                    "microsoft-windows-windows firewall with advanced security",
                ),
                other => return Err(format!("no channel is known for the Windows service `{other}`")),
            };
            Ok(windows(channel(c, &[]), &format!("the {} channel", c.0)))
        }
        (Some("windows"), None, None) => Ok(Source {
            condition: Some("devicetype = 12".into()),
            description: "every Windows event".into(),
            fields: fields.clone(),
        }),
        (Some("windows"), Some(cat), Some(svc)) => Err(format!(
            "a Windows log source names both category `{cat}` and service `{svc}`; Portent maps one or the other"
        )),
        (Some(p), _, _) => Err(format!(
            "product `{p}`: Portent reads Windows event logs, QRadar exports, LEEF and Zeek, and has no mapping for it"
        )),
        (None, None, _) => Err("the log source names neither a product nor a category".into()),
        (None, Some(_), Some(_)) => Err("a log source with a category and a service but no product".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_categories_map_to_channels_and_ids() {
        let s = map(Some("windows"), Some("network_connection"), None).unwrap();
        assert_eq!(s.description, "Sysmon 3 and Security 5156");
        let c = s.condition.unwrap();
        assert!(
            c.contains("\"Event ID\" = 3") && c.contains("\"Event ID\" = 5156"),
            "{c}"
        );
        assert!(map(Some("linux"), Some("process_creation"), None)
            .unwrap_err()
            .contains("linux"));
        assert!(map(Some("windows"), Some("bogus"), None)
            .unwrap_err()
            .contains("bogus"));
        let dns = map(None, Some("dns"), None).unwrap();
        assert!(dns.fields.contains(&("query", "QueryName")));
    }
}
