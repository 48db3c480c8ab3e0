//! `hunt --html`: the offline report. Its data blocks hold every hit the
//! other outputs have, escaped so that evidence cannot end a block; the
//! page opens in a real browser (Chromium, headless) with no errors, its
//! table filters, and its sections are filled on the corpus.

mod common;

use common::{corpus, portent, root, scratch};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The report's hits (one object per line of its data block) and its meta.
fn parse(report: &Path) -> (Vec<Value>, Value) {
    let page = std::fs::read_to_string(report).unwrap();
    let block = |open: &str| {
        let at = page.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
        let len = page[at..].find("</script>").unwrap();
        page[at..at + len].to_owned()
    };
    let hits = block("<script type=\"application/x-ndjson\" id=\"hits\">")
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let meta =
        serde_json::from_str(&block("<script type=\"application/json\" id=\"meta\">")).unwrap();
    (hits, meta)
}

fn read_jsonl(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A hit with its empty columns left out (as the report writes it).
fn key(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, v| k != "schema_version" && !v.is_null() && v != "");
    }
    v.to_string()
}

fn hunt_with_report(dir: &Path, inputs: &[&str], extra: &[&str]) -> (PathBuf, Vec<Value>, String) {
    let html = dir.join("out/report.html");
    let jsonl = dir.join("hits.jsonl");
    let mut args = vec!["hunt"];
    args.extend(inputs);
    let (h, j) = (html.to_str().unwrap(), jsonl.to_str().unwrap());
    args.extend(["--html", h, "--format", "jsonl", "-o", j]);
    args.extend(extra);
    let (code, _, err) = portent(&args);
    assert!(code == 0 || code == 3, "{err}");
    (html, read_jsonl(&jsonl), err)
}

#[test]
fn the_report_holds_every_hit_of_the_run_and_its_summary() {
    let dir = scratch("all");
    let (html, hits, _) = hunt_with_report(&dir, &["examples/"], &[]);
    let (embedded, meta) = parse(&html);
    assert!(!hits.is_empty());
    let mut want: Vec<String> = hits.iter().map(key).collect();
    let mut got: Vec<String> = embedded.iter().map(key).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let summary = &meta["summary"];
    let rows: u64 = summary["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, hits.len() as u64);
    assert_eq!(meta["report"]["embedded"], hits.len());
    assert_eq!(meta["report"]["left_out"], 0);
    // The hours chart counts every timed hit.
    let charted: u64 = meta["report"]["by_hour"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h[1].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    let timed = hits
        .iter()
        .filter(|h| h.get("time").is_some_and(|t| !t.is_null()))
        .count();
    assert_eq!(
        charted + meta["report"]["untimed"].as_u64().unwrap(),
        hits.len() as u64
    );
    assert_eq!(charted, timed as u64);
    assert!(meta["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == "t1043-commonly-used-port"));
    // Offline: nothing is loaded from anywhere.
    let page = std::fs::read_to_string(&html).unwrap();
    for needle in ["<link", " src=", "@import", "url("] {
        assert!(!page.contains(needle), "the page loads something: {needle}");
    }
    assert!(page.contains("default-src 'none'"));
    let leftovers: Vec<_> = std::fs::read_dir(html.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "only the report, no temporary file");
}

/// The report's beacon view is `--beacons`' view of the same hunt, row for row.
#[test]
fn the_beacon_view_is_the_hunts() {
    let dir = scratch("beacons");
    let (html, _, _) = hunt_with_report(&dir, &["examples/"], &[]);
    let (_, meta) = parse(&html);
    let (code, out, err) = portent(&["hunt", "examples/", "-q", "--beacons", "--format", "jsonl"]);
    assert_eq!(code, 0, "{err}");
    let want: Vec<Value> = out
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("schema_version");
            v
        })
        .collect();
    assert!(want.len() > 3);
    assert_eq!(meta["report"]["beacons"].as_array().unwrap(), &want);
    assert_eq!(meta["report"]["beacon_groups"], want.len());
    let connections: u64 = want
        .iter()
        .map(|b| b["connections"].as_u64().unwrap())
        .sum();
    assert_eq!(meta["report"]["beacon_hits"], connections);
}

#[test]
fn past_the_row_limit_hits_are_counted_and_the_run_says_so() {
    let dir = scratch("limit");
    let (html, hits, err) = hunt_with_report(&dir, &["examples/"], &["--html-max-rows", "5"]);
    let (embedded, meta) = parse(&html);
    assert_eq!(embedded.len(), 5);
    assert_eq!(meta["report"]["left_out"], hits.len() - 5);
    assert!(
        err.contains(&format!(
            "{} more counted in its charts but not listed",
            hits.len() - 5
        )),
        "{err}"
    );
}

/// Evidence that holds markup: a command line that would close the data
/// block and run a script of its own.
fn hostile_examples(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/sysmon-ecs-t1043.jsonl")).unwrap();
    let evil = "</script><script>document.body.setAttribute('data-pwned','1')</script><!-- ";
    let text = text.replacen(
        "\"CommandLine\": \"powershell.exe -NoP",
        &format!("\"CommandLine\": \"{evil}powershell.exe -NoP"),
        1,
    );
    assert!(text.contains(evil));
    let p = dir.join("hostile.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn markup_in_the_evidence_stays_data() {
    let dir = scratch("hostile");
    let input = hostile_examples(&dir);
    let (html, hits, _) = hunt_with_report(&dir, &[input.to_str().unwrap()], &[]);
    assert!(hits
        .iter()
        .any(|h| h.to_string().contains("</script><script>")));
    let page = std::fs::read_to_string(&html).unwrap();
    // Three blocks close: the hits, the meta, the page's script.
    assert_eq!(page.matches("</script>").count(), 3);
    assert!(!page.contains("<!-- "));
    let (embedded, _) = parse(&html);
    assert!(embedded
        .iter()
        .any(|h| h.to_string().contains("</script><script>")));
}

/// Chromium from the OS packages (`PORTENT_CHROMIUM` names another).
fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("PORTENT_CHROMIUM") {
        return p.into();
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("Chromium not found: apt-get install chromium, or set PORTENT_CHROMIUM");
}

/// Opens `page` (with `fragment`, the table's state) headless: the DOM after
/// its script ran, and the console lines.
fn open(page: &Path, fragment: &str, screenshot: Option<&Path>) -> (String, Vec<String>) {
    let url = format!(
        "file://{}{fragment}",
        page.canonicalize().unwrap().display()
    );
    let profile = page.with_extension("profile");
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1400,2600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(p) => cmd.arg(format!("--screenshot={}", p.display())),
        None => cmd.arg("--dump-dom"),
    };
    let out = cmd.arg(url).output().expect("run chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// The value of `attr` on the page's body.
fn body_attr(dom: &str, attr: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let at = body.find(&format!("{attr}=\""))? + attr.len() + 2;
    Some(body[at..at + body[at..].find('"')?].to_owned())
}

/// Hits whose values hold every word of `q` (what the page's filter keeps).
fn matching(hits: &[Value], q: &str) -> usize {
    hits.iter()
        .filter(|h| {
            let text: Vec<String> = h
                .as_object()
                .unwrap()
                .values()
                .map(|v| match v {
                    Value::String(s) => s.to_lowercase(),
                    v => v.to_string().to_lowercase(),
                })
                .collect();
            let text = text.join("\u{1}");
            q.split_whitespace()
                .all(|w| text.contains(&w.to_lowercase()))
        })
        .count()
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI installs it and runs this"]
fn the_report_opens_in_a_browser_and_its_table_filters() {
    let dir = scratch("browser");
    let (html, hits, _) = hunt_with_report(&dir, &["examples/"], &[]);
    let (dom, console) = open(&html, "", None);
    assert!(console.is_empty(), "console: {console:?}");
    assert_eq!(body_attr(&dom, "data-ready").as_deref(), Some("1"), "{dom}");
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-hits"), Some(hits.len().to_string()));
    assert_eq!(body_attr(&dom, "data-shown"), Some(hits.len().to_string()));
    // The table filters: by words, and by level and word together.
    for q in ["certutil", "corp alice", "nslookup"] {
        let want = matching(&hits, q);
        assert!(
            want > 0 && want < hits.len(),
            "{q}: a filter that keeps some"
        );
        let (dom, _) = open(&html, &format!("#q={}", q.replace(' ', "%20")), None);
        assert_eq!(body_attr(&dom, "data-shown"), Some(want.to_string()), "{q}");
    }
    let (_, meta) = parse(&html);
    let beacon_table = &dom[dom.find("id=\"beacon-table\"").expect("a beacon table")..];
    let beacon_table = &beacon_table[..beacon_table.find("</table>").unwrap()];
    assert_eq!(
        beacon_table.matches("<tr>").count() - 1,
        meta["report"]["beacons"].as_array().unwrap().len(),
        "one row per beacon group, under the header"
    );
    let (dom, _) = open(&html, "#q=zzz-no-such-thing", None);
    assert_eq!(body_attr(&dom, "data-shown").as_deref(), Some("0"));
    assert!(dom.contains("no hit matches the filter"));
    // A hit's context opens under its row.
    let (dom, _) = open(&html, "#q=powershell&open=0", None);
    assert!(dom.contains("class=\"detail\""), "{dom}");
    assert!(dom.contains("Process tree") && dom.contains("Every field"));
}

#[test]
#[ignore = "needs Chromium (apt-get install chromium); CI installs it and runs this"]
fn evidence_markup_does_not_run_in_the_browser() {
    let dir = scratch("browser-hostile");
    let input = hostile_examples(&dir);
    let (html, _, _) = hunt_with_report(&dir, &[input.to_str().unwrap()], &[]);
    let (dom, console) = open(&html, "#q=powershell&open=0", None);
    assert!(console.is_empty(), "console: {console:?}");
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("0"));
    assert_eq!(
        body_attr(&dom, "data-pwned"),
        None,
        "the evidence ran as script"
    );
    // Shown as text (escaped by the browser in the DOM it prints).
    assert!(
        dom.contains("&lt;/script&gt;&lt;script&gt;"),
        "the value is on the page as text"
    );
}

#[test]
#[ignore = "needs the corpus (../shared/corpus or PORTENT_CORPUS) and Chromium"]
fn the_corpus_report_has_every_section_filled() {
    let Some(corpus) = corpus() else { return };
    let dir = scratch("corpus");
    let (html, hits, _) = hunt_with_report(&dir, &[corpus.to_str().unwrap()], &[]);
    assert!(hits.len() > 100);
    let (dom, console) = open(&html, "", None);
    assert!(console.is_empty(), "console: {console:?}");
    assert_eq!(body_attr(&dom, "data-errors").as_deref(), Some("0"));
    assert_eq!(body_attr(&dom, "data-hits"), Some(hits.len().to_string()));
    for chart in [
        "over time",
        "By rule",
        "By level",
        "By ATT&amp;CK tactic",
        "By host",
        "By suspicion label (T1043)",
    ] {
        let at = dom
            .find(&format!("data-chart=\"{chart}\""))
            .unwrap_or_else(|| panic!("no chart {chart}"));
        let rest = &dom[at + 12..];
        let end = [rest.find("data-chart=\""), rest.find("id=\"rules\"")]
            .into_iter()
            .flatten()
            .min()
            .unwrap();
        let panel = &rest[..end];
        assert!(!panel.contains("class=\"empty\""), "{chart} is empty");
        assert!(panel.contains("<svg"), "{chart} has no drawing");
    }
    assert!(dom.contains("id=\"inputs\""));
    let input_rows = dom.matches("<td class=\"mono\">").count();
    assert!(input_rows > 10, "inputs and hits listed");
    assert!(dom.contains("Rules that fired"));
    assert!(
        dom.contains("id=\"beacon-table\""),
        "the beacon view is filled"
    );
    // The first page of the table is full.
    let shown = dom.matches("<tr class=\"hit").count();
    assert_eq!(shown, 50.min(hits.len()));
    // The screenshot the README shows, kept as a CI artefact.
    let shots = std::env::var_os("PORTENT_ARTIFACTS").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).to_path_buf(),
        PathBuf::from,
    );
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("report-corpus.png");
    let _ = std::fs::remove_file(&shot);
    open(&html, "#open=0", Some(&shot));
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 50_000,
        "a real picture"
    );
    eprintln!("report screenshot: {}", shot.display());
}

/// `-o`, `--html` and `--summary-json` naming a device or a pipe write into
/// it: a temporary file renamed onto `/dev/null` would replace the device
/// with a regular file (seen: a benchmark's null device became a 6.9 MB file).
#[test]
fn outputs_to_a_pipe_are_written_in_place_not_replaced() {
    let dir = scratch("fifo");
    let mut readers = Vec::new();
    let mut fifos = Vec::new();
    for name in ["hits", "report", "summary"] {
        let fifo = dir.join(name);
        let ok = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkfifo");
        let f = fifo.clone();
        readers.push(std::thread::spawn(move || std::fs::read(f).unwrap()));
        fifos.push(fifo);
    }
    let (code, _, err) = portent(&[
        "hunt",
        "examples/",
        "-q",
        "--format",
        "jsonl",
        "-o",
        fifos[0].to_str().unwrap(),
        "--html",
        fifos[1].to_str().unwrap(),
        "--summary-json",
        fifos[2].to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Checked before the readers are joined: a replaced pipe never gets a
    // writer, and its reader would wait for ever.
    for f in &fifos {
        let kind = std::fs::metadata(f).unwrap().file_type();
        assert!(
            std::os::unix::fs::FileTypeExt::is_fifo(&kind),
            "{} is still a pipe",
            f.display()
        );
    }
    let got: Vec<Vec<u8>> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let (_, plain, _) = portent(&["hunt", "examples/", "-q", "--format", "jsonl"]);
    assert_eq!(String::from_utf8(got[0].clone()).unwrap(), plain);
    assert!(String::from_utf8_lossy(&got[1]).contains("Portent hunt report"));
    assert!(String::from_utf8_lossy(&got[2]).contains("\"events_read\""));
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 3, "no temporary file left");
}
