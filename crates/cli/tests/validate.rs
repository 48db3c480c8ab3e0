//! End-to-end tests of `portent validate` and `portent rules test`: the seed's
//! scenarios generated, written as JSON and EVTX, read back, judged; the
//! seed rule's real coverage and the pack's; regressions, tuning that would
//! silence a true positive, and broken fixtures failing with their place.

mod common;
use common::{portent, scratch};

use serde_json::Value;

fn report(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["validate", "--format", "json", "--background", "100"];
    all.extend_from_slice(args);
    let (code, out, err) = portent(&all);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v, err)
}

/// (scenario id, variant) -> fired count of `rule`.
fn fired(v: &Value, rule: &str) -> Vec<(String, String, u64)> {
    v["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = s["rules"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == rule)
                .map_or(0, |r| r["fired"].as_u64().unwrap());
            (
                s["id"].as_str().unwrap().to_owned(),
                s["variant"].as_str().unwrap().to_owned(),
                n,
            )
        })
        .collect()
}

#[test]
fn the_seed_rule_misses_what_research_says_and_the_pack_covers_all() {
    let (code, v, err) = report(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        v["coverage"]["of"], 6,
        "4 scenarios, 2 with a realistic variant"
    );
    assert_eq!(v["coverage"]["pack"], 6);
    let seed: Vec<(String, String)> = fired(&v, "t1043-commonly-used-port")
        .into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(s, var, _)| (s, var))
        .collect();
    assert_eq!(
        seed,
        [
            ("s1-powershell-tcpclient".into(), "as-described".into()),
            ("s2-certutil-download".into(), "as-described".into()),
            ("s4-bitsadmin-download".into(), "as-described".into()),
        ],
        "nslookup is in none of the seed's lists, and real BITS traffic is svchost's"
    );
    for s in v["scenarios"].as_array().unwrap() {
        assert_eq!(s["covered"], true, "{}", s["id"]);
        assert_eq!(
            s["layout_disagreements"].as_array().unwrap().len(),
            0,
            "{s}"
        );
        assert!(s["background_hits"].as_object().unwrap().is_empty(), "{s}");
        let seed = s["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == "t1043-commonly-used-port")
            .unwrap();
        let why = seed["why_not"].to_string();
        match (s["id"].as_str().unwrap(), s["variant"].as_str().unwrap()) {
            ("s3-nslookup-dns-tunnel", _) => assert!(why.contains("nslookup.exe"), "{why}"),
            ("s4-bitsadmin-download", "realistic") => assert!(why.contains("svchost.exe"), "{why}"),
            _ => {}
        }
    }
    let dns = fired(&v, "t1071-004-dns-tunnelling");
    assert!(
        dns.iter().all(|(s, _, n)| (*n > 0) == s.starts_with("s3")),
        "{dns:?}"
    );
    let bits = fired(&v, "t1197-bits-transfer");
    assert!(
        bits.iter().all(|(s, _, n)| (*n > 0) == s.starts_with("s4")),
        "{bits:?}"
    );
}

#[test]
fn gaps_fail_and_regressions_against_a_saved_report_fail() {
    let d = scratch("regress");
    let saved = d.join("pack.json");
    let (code, _, err) = portent(&[
        "validate",
        "--background",
        "50",
        "--format",
        "json",
        "-o",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let (code, text, _) = portent(&[
        "validate",
        "--background",
        "50",
        "--rule",
        "t1043-commonly-used-port",
    ]);
    assert_eq!(code, 1, "the seed rule alone leaves gaps");
    assert!(
        text.contains("FAIL s3-nslookup-dns-tunnel as-described: no rule fired"),
        "{text}"
    );
    assert!(text.contains("the seed's rule alone 3 of 6;"), "{text}");

    let (code, text, _) = portent(&[
        "validate",
        "--background",
        "50",
        "--rule",
        "t1043-commonly-used-port",
        "--allow-gaps",
        "--expect",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        text.contains("regression: s3-nslookup-dns-tunnel realistic was covered and is not now"),
        "{text}"
    );
    assert!(
        text.contains("regression: s4-bitsadmin-download realistic: t1197-bits-transfer fired before and was not run now"),
        "{text}"
    );
    let (code, _, err) = portent(&[
        "validate",
        "--background",
        "50",
        "--expect",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "the same pack is no regression: {err}");
}

#[test]
fn reports_for_ci_and_navigator_and_the_telemetry_on_disk() {
    let d = scratch("ci");
    let junit = d.join("validate.xml");
    let layer = d.join("layer.json");
    let out = d.join("telemetry");
    let (code, _, err) = portent(&[
        "validate",
        "--scenario",
        "3",
        "--format",
        "junit",
        "-o",
        junit.to_str().unwrap(),
        "--navigator",
        layer.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<testcase ").count(), 2, "{xml}");
    assert!(
        xml.contains("<testsuite name=\"s3-nslookup-dns-tunnel\" tests=\"2\" failures=\"0\">"),
        "{xml}"
    );
    let nav: Value = serde_json::from_str(&std::fs::read_to_string(&layer).unwrap()).unwrap();
    let t: Vec<&str> = nav["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["techniqueID"].as_str().unwrap())
        .collect();
    assert_eq!(t, ["T1048", "T1071.004"]);
    assert_eq!(nav["techniques"][0]["score"], 1.0);
    // The EVTX files are real: a hunt over them finds the DNS tunnel.
    let evtx = out.join("s3-nslookup-dns-tunnel/realistic/evtx");
    let sysmon = evtx.join("Microsoft-Windows-Sysmon%4Operational.evtx");
    assert!(sysmon.exists());
    let (code, rows, err) = portent(&[
        "hunt",
        evtx.to_str().unwrap(),
        "--rule",
        "t1071-004-dns-tunnelling",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        rows.lines().count(),
        40,
        "10 × (Sysmon 1, 4688, Sysmon 3, 5156): {err}"
    );
    assert!(err.contains("0 skipped"), "{err}");
}

#[test]
fn tuning_that_silences_a_true_positive_fails_validate_and_rules_test() {
    let d = scratch("guard");
    let tuning = d.join("tuning.toml");
    std::fs::write(
        &tuning,
        r#"
[[exception]]
id = "too-broad-powershell"
reason = "someone quieted all PowerShell on 443"
owner = "soc@example.com"
created = "2026-11-01"
expires = "2099-01-01"
[exception.match]
"Process Name" = { wildcard = ['*\powershell.exe'] }
destinationport = 443
"#,
    )
    .unwrap();
    let (code, text, err) = portent(&[
        "validate",
        "--scenario",
        "1",
        "--tuning",
        tuning.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        text.contains("tuning exception `too-broad-powershell` would suppress t1043-commonly-used-port's true positive on Sysmon 3: powershell.exe -> 93.184.216.34:443/tcp"),
        "{text}"
    );
    let (code, text, _) = portent(&["rules", "test", "--tuning", tuning.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        text.contains(
            "tuning exception `too-broad-powershell` would suppress this known true positive"
        ),
        "{text}"
    );
}

#[test]
fn the_pack_passes_its_fixtures_and_broken_fixtures_fail_with_their_place() {
    let (code, text, err) = portent(&["rules", "test"]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(err.contains(" passed, 0 failed"), "{err}");
    for id in [
        "t1043-commonly-used-port",
        "t1043-strict-basename",
        "t1071-004-dns-tunnelling",
        "t1197-bits-transfer",
        "t1036-renamed-binary-network",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(id) && l.trim_end().ends_with(" 0")),
            "{id}: {text}"
        );
    }

    let d = scratch("fixtures");
    std::fs::write(
        d.join("r.toml"),
        "id = \"r\"\ntitle = \"R\"\nquery = \"r.aql\"\nlabel_column = \"l\"\nfixtures = [\"f.jsonl\"]\n",
    )
    .unwrap();
    std::fs::write(
        d.join("r.aql"),
        "SELECT 'big' AS l FROM events WHERE destinationport = 443",
    )
    .unwrap();
    let lines = [
        r#"{"destinationport": 443, "expect": "big", "note": "fires"}"#,
        r#"{"destinationport": 443, "expect": "small", "note": "wrong label"}"#,
        r#"{"destinationport": 80, "expect": "big", "note": "should fire"}"#,
        r#"{"destinationport": 443, "expect": "none", "note": "should not fire"}"#,
        r#"{"destinationport": 80, "expect": "none"}"#,
    ];
    std::fs::write(d.join("f.jsonl"), lines.join("\n")).unwrap();
    let (code, text, err) = portent(&[
        "rules",
        "test",
        "--rules",
        d.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(3))
    );
    let failures: Vec<String> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| {
            format!(
                "{} {}",
                c["fixture"].as_str().unwrap(),
                c["failure"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        failures[0].ends_with("f.jsonl:2 fired with label big instead of small"),
        "{failures:?}"
    );
    assert!(
        failures[1].ends_with(
            "f.jsonl:3 did not fire: `destinationport = 443` is false for destinationport = 80"
        ),
        "{failures:?}"
    );
    assert!(
        failures[2].ends_with("f.jsonl:4 fired (big) on an event that must not match"),
        "{failures:?}"
    );

    // A fixture file that is not one event per line fails as a whole.
    std::fs::write(
        d.join("f.jsonl"),
        "{\"destinationport\": 443, \"expect\": \"big\"}\nnot json\n",
    )
    .unwrap();
    let (code, text, _) = portent(&["rules", "test", "--rules", d.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        text.contains("2 fixture line(s) gave 1 event(s) (1 skipped)"),
        "{text}"
    );
}
