// Portent's hunt report: draws the page from the two data blocks above it
// (`hits`: one JSON object per line; `meta`: the run). No network, no
// libraries. Every value from the evidence reaches the page as text nodes,
// never as markup: log fields are attacker-controlled.
"use strict";
(function () {
  var errors = [];
  function fail(msg) {
    errors.push(String(msg));
    document.body.setAttribute("data-errors", String(errors.length));
    var box = document.getElementById("report-errors");
    if (!box) {
      box = el("div", { id: "report-errors", "class": "errors" });
      document.body.insertBefore(box, document.body.firstChild);
    }
    box.appendChild(el("div", null, "Report error: " + msg));
  }
  window.addEventListener("error", function (e) { fail(e.message); });
  document.body.setAttribute("data-errors", "0");

  // ---- small DOM helpers -------------------------------------------------
  function el(tag, attrs) {
    var n = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] != null) n.setAttribute(k, attrs[k]);
    for (var i = 2; i < arguments.length; i++) add(n, arguments[i]);
    return n;
  }
  function add(n, c) {
    if (c == null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(n, x); }); return; }
    n.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  var SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var n = document.createElementNS(SVG, tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (text != null) n.appendChild(document.createTextNode(String(text)));
    return n;
  }
  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function str(v) {
    if (v == null) return "";
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  // ---- data ----------------------------------------------------------------
  var meta = JSON.parse(document.getElementById("meta").textContent);
  var hits = [];
  document.getElementById("hits").textContent.split("\n").forEach(function (line, i) {
    if (!line) return;
    try { hits.push(JSON.parse(line)); } catch (e) { fail("hit line " + (i + 1) + ": " + e.message); }
  });
  var summary = meta.summary || {};
  var rules = meta.rules || [];
  var report = meta.report || {};
  var LEVELS = ["critical", "high", "medium", "low", "informational", "unknown"];
  var levelRank = {};
  LEVELS.forEach(function (l, i) { levelRank[l] = i; });

  // Field synonyms across the rule pack, Sigma rules and raw EVTX names.
  var F = {
    time: ["time"],
    severity: ["severity"],
    rule: ["rule_title", "rule_id"],
    host: ["host", "Computer"],
    user: ["username", "User", "SubjectUserName", "TargetUserName"],
    process: ["process_name", "Process Name", "Image", "NewProcessName", "Application"],
    command: ["command_line", "CommandLine", "Command", "ProcessCommandLine"],
    parent: ["parent_process", "ParentImage", "Parent Process Name", "ParentProcessName"],
    parentCommand: ["ParentCommandLine", "parent_command_line"],
    guid: ["ProcessGuid", "process_guid"],
    pid: ["ProcessId", "process_id", "NewProcessId"],
    dip: ["destinationip", "DestinationIp", "DestAddress"],
    dport: ["destinationport", "DestinationPort", "DestPort"],
    label: ["suspicion_label"],
    file: ["source_file"],
  };
  function pick(h, key) {
    var names = F[key];
    for (var i = 0; i < names.length; i++) {
      var v = h[names[i]];
      if (v != null && v !== "") return v;
    }
    return null;
  }
  function sev(h) {
    var s = String(pick(h, "severity") || "unknown").toLowerCase();
    return levelRank[s] == null ? "unknown" : s;
  }
  function sevBadge(s) { return el("span", { "class": "sev " + s }, s); }
  function destination(h) {
    var ip = pick(h, "dip"), port = pick(h, "dport");
    if (ip == null && port == null) return "";
    return (ip == null ? "" : String(ip)) + (port == null ? "" : ":" + port);
  }
  function processKey(h) {
    var host = str(pick(h, "host"));
    var guid = pick(h, "guid");
    if (guid) return host + "|g|" + guid;
    var pid = pick(h, "pid");
    var image = str(pick(h, "process")).toLowerCase();
    if (pid != null && image) return host + "|p|" + pid + "|" + image;
    if (!image) return null;
    return host + "|c|" + image + "|" + str(pick(h, "command"));
  }

  // Indexes for each hit's context (over the hits in the page).
  var byProcess = {}, firstSeen = {};
  hits.forEach(function (h, i) {
    h.__i = i;
    var k = processKey(h);
    if (k) (byProcess[k] = byProcess[k] || []).push(i);
    var d = pick(h, "dip");
    var t = pick(h, "time");
    if (d != null && t) {
      var fk = str(pick(h, "host")) + "|" + d;
      var f = firstSeen[fk];
      if (!f || t < hits[f].time) firstSeen[fk] = i;
    }
  });

  // ---- page frame ----------------------------------------------------------
  var app = document.getElementById("app");
  var inputs = (summary.inputs || []);
  var hosts = {};
  inputs.forEach(function (i) { (i.hosts || []).forEach(function (h) { hosts[h] = 1; }); });
  var totalHits = (summary.rules || []).reduce(function (a, r) { return a + (r.rows || 0); }, 0);
  document.body.insertBefore(el("header", null,
    el("h1", null, "Portent hunt report"),
    el("div", { "class": "sub" }, "generated " + (meta.generated || "") + " by portent " +
      (meta.version || "") + (meta.inputs ? " \u2014 " + meta.inputs.join(", ") : ""))), app);
  document.body.insertBefore(el("nav", null,
    el("a", { href: "#run" }, "Run"), el("a", { href: "#charts" }, "Charts"),
    el("a", { href: "#rules" }, "Rules"), el("a", { href: "#beacons" }, "Beacons"), el("a", { href: "#table" }, "Hits")), app);
  var main = el("main");
  app.appendChild(main);

  // ---- run summary ---------------------------------------------------------
  function card(n, l) { return el("div", { "class": "card" }, el("div", { "class": "n" }, n), el("div", { "class": "l" }, l)); }
  var skippedTotal = 0;
  for (var reason in (summary.skipped || {})) skippedTotal += summary.skipped[reason];
  var span = summary.time_span ? summary.time_span[0] + " \u2026 " + summary.time_span[1] : "no times";
  var run = el("section", { id: "run" }, el("h2", null, "Run"));
  if (report.left_out > 0) {
    run.appendChild(el("div", { "class": "note" }, fmt(report.left_out) +
      " hit(s) beyond the first " + fmt(report.embedded) + " are counted in the charts and rule table " +
      "but not listed below (raise --html-max-rows, or read them with --format jsonl)."));
  }
  run.appendChild(el("div", { "class": "cards" },
    card(fmt(totalHits), "hits"),
    card(fmt((summary.rules || []).filter(function (r) { return r.rows > 0; }).length) + " / " +
      fmt((summary.rules || []).length), "rules that fired / run"),
    card(fmt(summary.events_read || 0), "events read"),
    card(fmt(inputs.length), "inputs (" + fmt(summary.inputs_not_read || 0) + " not read, " +
      fmt(summary.files_ignored || 0) + " not telemetry)"),
    card(fmt(Object.keys(hosts).length), "hosts"),
    card(fmt(skippedTotal), "records skipped"),
    card(((summary.bytes_read || 0) / 1048576).toFixed(1) + " MiB", "read in " + (summary.seconds || 0).toFixed(1) + " s")));
  run.appendChild(el("p", { "class": "count" }, "Time span: " + span));
  var runGrid = el("div", { "class": "grid2" });
  run.appendChild(runGrid);
  main.appendChild(run);

  var skipRows = Object.keys(summary.skipped || {}).map(function (k) {
    return el("tr", null, el("td", null, k), el("td", { "class": "num" }, fmt(summary.skipped[k])));
  });
  runGrid.appendChild(el("div", { "class": "panel" }, el("h3", null, "Skipped, by reason"),
    skipRows.length ? el("table", null, el("tbody", null, skipRows)) : el("p", { "class": "empty" }, "nothing skipped")));

  var e = summary.enrichment, rs = summary.rule_set;
  var facts = [];
  if (e) facts.push(["process creations joined", fmt(e.found)], ["without a creation in the input", fmt(e.missing)],
    ["index entries evicted", fmt(e.evicted)]);
  if (rs && (rs.sigma_loaded || (rs.sigma_rejected || []).length || rs.correlations)) {
    facts.push(["Sigma rules loaded", fmt(rs.sigma_loaded)], ["Sigma rules inert on this input", fmt((rs.sigma_inert || []).length)],
      ["Sigma rules that failed to load", fmt((rs.sigma_rejected || []).length)], ["correlation rules", fmt(rs.correlations)]);
  }
  if (rs && rs.min_level) {
    facts.push(["below --min-level " + rs.min_level, fmt(rs.below_min_level)]);
  }
  (summary.suppressed || []).forEach(function (s) {
    facts.push(["suppressed by " + s.exception + " (" + s.rule + ")", fmt(s.hits) + " \u2014 " + s.reason]);
  });
  runGrid.appendChild(el("div", { "class": "panel" }, el("h3", null, "Enrichment, rule set, tuning"),
    facts.length ? el("table", { "class": "kv" }, el("tbody", null, facts.map(function (f) {
      return el("tr", null, el("td", null, f[0]), el("td", null, f[1]));
    }))) : el("p", { "class": "empty" }, "none")));

  // Files passed over (not telemetry) go below the table, one line each:
  // their reasons are long, and the inputs that were read come first.
  var passed = inputs.filter(function (i) { return i.ignored && !i.events; });
  var inputRows = inputs.filter(function (i) { return passed.indexOf(i) < 0; }).map(function (i) {
    var sk = Object.keys(i.skipped || {}).map(function (k) { return k + ": " + i.skipped[k].count; }).join("; ");
    return el("tr", null, el("td", { "class": "mono" }, i.name), el("td", null, i.format),
      el("td", { "class": "num" }, fmt(i.events)), el("td", { "class": "hosts" }, (i.hosts || []).join(", ")),
      el("td", { "class": "span" }, i.time_span ? i.time_span[0] + " \u2026 " + i.time_span[1] : ""),
      el("td", { "class": "why" }, [sk, i.error || ""].filter(Boolean).join("; ")));
  });
  var inputsPanel = el("div", { "class": "panel", style: "margin-top:14px;max-height:420px" },
    el("h3", null, "Inputs"),
    el("table", { id: "inputs" }, el("thead", null, el("tr", null, ["input", "format", "events", "hosts", "time span", "skipped / not read"].map(function (c) {
      return el("th", c === "events" ? { "class": "num" } : null, c);
    }))), el("tbody", null, inputRows)));
  if (passed.length) {
    inputsPanel.appendChild(el("details", { style: "margin-top:8px" },
      el("summary", null, fmt(passed.length) + " file(s) found in the folders and passed over (not telemetry)"),
      el("ul", null, passed.map(function (i) {
        return el("li", null, el("span", { "class": "mono" }, i.name), " \u2014 " + i.ignored);
      }))));
  }
  run.appendChild(inputsPanel);

  // ---- charts --------------------------------------------------------------
  var charts = el("section", { id: "charts" }, el("h2", null, "Hits"));
  var chartGrid = el("div", { "class": "grid2" });
  charts.appendChild(chartGrid);
  main.appendChild(charts);

  function barChart(title, entries, color) {
    entries = entries.filter(function (x) { return x[1] > 0; }).sort(function (a, b) { return b[1] - a[1]; });
    var shown = entries.slice(0, 15);
    var panel = el("div", { "class": "panel chart", "data-chart": title }, el("h3", null, title));
    if (!shown.length) { panel.appendChild(el("p", { "class": "empty" }, "no hits")); return panel; }
    var max = shown[0][1], rowH = 20, w = 560, labelW = 250;
    var s = svg("svg", { width: "100%", viewBox: "0 0 " + w + " " + (shown.length * rowH + 4), role: "img" });
    shown.forEach(function (x, i) {
      var y = i * rowH + 2, bw = Math.max(2, (w - labelW - 60) * x[1] / max);
      var name = x[0].length > 36 ? x[0].slice(0, 35) + "\u2026" : x[0];
      var t = svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end", "class": "bar-label" }, name);
      t.appendChild(svg("title", {}, x[0]));
      s.appendChild(t);
      s.appendChild(svg("rect", { x: labelW, y: y + 3, width: bw, height: rowH - 6, rx: 2,
        fill: typeof color === "function" ? color(x[0]) : color }));
      s.appendChild(svg("text", { x: labelW + bw + 5, y: y + 14, "class": "axis" }, fmt(x[1])));
    });
    panel.appendChild(s);
    if (entries.length > shown.length) panel.appendChild(el("p", { "class": "count" }, (entries.length - shown.length) + " more not drawn"));
    return panel;
  }
  function levelColor(l) { return getComputedStyle(document.documentElement).getPropertyValue("--" + l).trim() || "#888"; }

  var ruleTitle = {}, ruleMeta = {};
  rules.forEach(function (m) { ruleTitle[m.id] = m.title || m.id; ruleMeta[m.id] = m; });
  var perRule = (summary.rules || []).map(function (r) { return [r.title || r.id, r.rows || 0]; });
  var perLevel = {}, perTactic = {};
  (summary.rules || []).forEach(function (r) {
    var l = String(r.level || "unknown").toLowerCase();
    if (levelRank[l] == null) l = "unknown";
    perLevel[l] = (perLevel[l] || 0) + (r.rows || 0);
    var m = ruleMeta[r.id];
    var tactics = m && m.tactic ? m.tactic.split(/,\s*/) : ["(no tactic)"];
    tactics.forEach(function (t) { perTactic[t] = (perTactic[t] || 0) + (r.rows || 0); });
  });
  chartGrid.appendChild(timeChart());
  chartGrid.appendChild(barChart("By rule", perRule, "#2457c5"));
  chartGrid.appendChild(barChart("By level", Object.keys(perLevel).map(function (k) { return [k, perLevel[k]]; }), levelColor));
  chartGrid.appendChild(barChart("By ATT&CK tactic", Object.keys(perTactic).map(function (k) { return [k, perTactic[k]]; }), "#6a4fc2"));
  var perHost = summary.hits_per_host || {};
  chartGrid.appendChild(barChart("By host", Object.keys(perHost).map(function (k) { return [k || "(no host)", perHost[k]]; }), "#2f8f6b"));
  var perLabel = summary.hits_per_label || {};
  if (Object.keys(perLabel).length) chartGrid.appendChild(barChart("By suspicion label (T1043)", Object.keys(perLabel).map(function (k) { return [k, perLabel[k]]; }), "#b0562a"));

  function timeChart() {
    var panel = el("div", { "class": "panel chart", "data-chart": "over time" }, el("h3", null, "Over time (stacked by level)"));
    var hours = report.by_hour || [];
    if (!hours.length) { panel.appendChild(el("p", { "class": "empty" }, "no timed hits")); return panel; }
    // Hours as "YYYY-MM-DDTHH" in the hunt's zone: bucket them so at most 90 columns are drawn.
    function ms(h) { return Date.parse(h + ":00:00Z"); }
    function spanText(hours) {
      if (hours % 8760 === 0) return hours / 8760 + " year(s)";
      if (hours % 168 === 0) return hours / 168 + " week(s)";
      if (hours % 24 === 0) return hours / 24 + " day(s)";
      return hours + " hour(s)";
    }
    var t0 = ms(hours[0][0]), t1 = ms(hours[hours.length - 1][0]);
    var hour = 3600000, steps = [1, 2, 3, 6, 12, 24, 48, 168, 336, 720, 2160, 8760, 87600];
    var step = steps.filter(function (s) { return (t1 - t0) / (s * hour) < 90; })[0] || 87600;
    var n = Math.floor((t1 - t0) / (step * hour)) + 1;
    var buckets = [];
    for (var i = 0; i < n; i++) buckets.push({});
    hours.forEach(function (x) {
      var b = buckets[Math.floor((ms(x[0]) - t0) / (step * hour))];
      for (var l in x[1]) { var k = levelRank[l] == null ? "unknown" : l; b[k] = (b[k] || 0) + x[1][l]; }
    });
    var max = 1;
    buckets.forEach(function (b) { var s = 0; for (var l in b) s += b[l]; if (s > max) max = s; });
    var w = 560, h = 170, left = 40, bw = (w - left - 4) / n;
    var s = svg("svg", { width: "100%", viewBox: "0 0 " + w + " " + (h + 34), role: "img" });
    s.appendChild(svg("text", { x: left - 4, y: 12, "text-anchor": "end", "class": "axis" }, fmt(max)));
    s.appendChild(svg("text", { x: left - 4, y: h, "text-anchor": "end", "class": "axis" }, "0"));
    buckets.forEach(function (b, i) {
      var y = h, total = 0;
      LEVELS.slice().reverse().forEach(function (l) {
        if (!b[l]) return;
        var bh = h * b[l] / max;
        y -= bh; total += b[l];
        s.appendChild(svg("rect", { x: left + i * bw, y: y, width: Math.max(1, bw - 1), height: bh, fill: levelColor(l) }));
      });
      if (total) {
        var from = new Date(t0 + i * step * hour).toISOString().slice(0, 13).replace("T", " ") + "h";
        var tip = svg("rect", { x: left + i * bw, y: 0, width: Math.max(1, bw), height: h, fill: "transparent" });
        tip.appendChild(svg("title", {}, from + " (+" + spanText(step) + "): " + total + " hit(s)"));
        s.appendChild(tip);
      }
    });
    s.appendChild(svg("text", { x: left, y: h + 16, "class": "axis" }, hours[0][0].replace("T", " ") + "h"));
    s.appendChild(svg("text", { x: w - 4, y: h + 16, "text-anchor": "end", "class": "axis" }, hours[hours.length - 1][0].replace("T", " ") + "h"));
    s.appendChild(svg("text", { x: left, y: h + 30, "class": "axis" }, "one column = " + spanText(step) +
      (report.untimed ? "; " + fmt(report.untimed) + " hit(s) without a time not drawn" : "")));
    panel.appendChild(s);
    panel.appendChild(el("div", { "class": "legend" }, LEVELS.filter(function (l) { return perLevel[l]; }).map(function (l) {
      return el("span", null, el("i", { style: "background:" + levelColor(l) }), l);
    })));
    return panel;
  }

  // ---- rules -------------------------------------------------------------
  var ruleRows = (summary.rules || []).slice().sort(function (a, b) { return (b.rows || 0) - (a.rows || 0); })
    .filter(function (r) { return r.rows > 0 || r.suppressed > 0 || (r.notes || []).length; })
    .map(function (r) {
      var m = ruleMeta[r.id] || {};
      return el("tr", null, el("td", null, r.title || r.id), el("td", null, sevBadge(String(r.level || "unknown").toLowerCase())),
        el("td", { "class": "mono" }, (r.attack || []).join(" ")), el("td", null, m.tactic || ""),
        el("td", { "class": "num" }, fmt(r.rows)), el("td", { "class": "num" }, fmt(r.suppressed || 0)),
        el("td", null, (r.notes || []).join("; ")));
    });
  main.appendChild(el("section", { id: "rules" }, el("h2", null, "Rules that fired or left something out"),
    el("div", { "class": "panel", style: "max-height:420px" }, ruleRows.length ? el("table", null,
      el("thead", null, el("tr", null, ["rule", "level", "ATT&CK", "tactic", "hits", "suppressed", "notes"].map(function (c) {
        return el("th", c === "hits" || c === "suppressed" ? { "class": "num" } : null, c);
      }))), el("tbody", null, ruleRows)) : el("p", { "class": "empty" }, "no rule fired"))));

  // ---- beacons -------------------------------------------------------------
  // Per host, process and destination: how many connections and how regular
  // (computed by portent over the hits listed, as `--format beacons` does).
  var beacons = report.beacons || [];
  var beaconSection = el("section", { id: "beacons" }, el("h2", null, "Beacon view"));
  if (!beacons.length) {
    beaconSection.appendChild(el("p", { "class": "empty" }, "no hit with a time and a destination"));
  } else {
    var bcols = [["periodicity", "periodicity"], ["connections", "connections"], ["host", "host"],
      ["process_name", "process"], ["destinationip", "destination"], ["destinationport", "port"],
      ["first_seen", "first seen"], ["last_seen", "last seen"], ["mean_interval_s", "mean interval s"],
      ["stddev_interval_s", "deviation s"], ["rules", "rules"]];
    var numeric = { periodicity: 1, connections: 1, destinationport: 1, mean_interval_s: 1, stddev_interval_s: 1 };
    beaconSection.appendChild(el("p", { "class": "count" }, fmt(report.beacon_hits || 0) + " hit(s) with a time and a destination, in " +
      fmt(report.beacon_groups || beacons.length) + " group(s)" + (beacons.length < report.beacon_groups ? ", the " + fmt(beacons.length) + " most regular shown" : "") +
      ". Periodicity is 1 \u2212 the coefficient of variation of the intervals (1: a timer); none under three connections."));
    beaconSection.appendChild(el("div", { "class": "panel", style: "max-height:420px" }, el("table", { id: "beacon-table" },
      el("thead", null, el("tr", null, bcols.map(function (c) { return el("th", numeric[c[0]] ? { "class": "num" } : null, c[1]); }))),
      el("tbody", null, beacons.map(function (b) {
        return el("tr", null, bcols.map(function (c) {
          var v = b[c[0]];
          return el("td", { "class": (numeric[c[0]] ? "num" : "") + (c[0] === "process_name" ? " mono" : "") || null },
            v == null ? "\u2014" : c[0] === "periodicity" ? Number(v).toFixed(3) : str(v));
        }));
      })))));
  }
  main.appendChild(beaconSection);

  // ---- hit table -----------------------------------------------------------
  var COLS = [
    ["time", "time", function (h) { return pick(h, "time") || ""; }],
    ["severity", "severity", function (h) { return sev(h); }],
    ["rule", "rule", function (h) { return str(pick(h, "rule")); }],
    ["host", "host", function (h) { return str(pick(h, "host")); }],
    ["user", "user", function (h) { return str(pick(h, "user")); }],
    ["process", "process", function (h) { return str(pick(h, "process")); }],
    ["command", "command line", function (h) { return str(pick(h, "command")); }],
    ["destination", "destination", destination],
    ["label", "label", function (h) { return str(pick(h, "label")); }],
  ];
  var PAGE = 50;
  var state = { q: "", level: "", rule: "", host: "", sort: "time", dir: "asc", page: 0, open: -1 };
  var view = hits;
  var search = el("input", { type: "search", id: "filter", placeholder: "Filter: words in any field (all must match)", "aria-label": "filter" });
  function options(id, label, values) {
    var s = el("select", { id: id, "aria-label": label }, el("option", { value: "" }, "every " + label));
    values.forEach(function (v) { s.appendChild(el("option", { value: v }, v)); });
    return s;
  }
  function distinct(f) { var seen = {}; hits.forEach(function (h) { seen[f(h)] = 1; }); return Object.keys(seen).filter(Boolean).sort(); }
  var levelSel = options("level", "level", LEVELS.filter(function (l) { return distinct(sev).indexOf(l) >= 0; }));
  var ruleSel = options("rule", "rule", distinct(function (h) { return str(pick(h, "rule")); }));
  var hostSel = options("hostsel", "host", distinct(function (h) { return str(pick(h, "host")); }));
  var prev = el("button", { id: "prev" }, "\u2190 previous"), next = el("button", { id: "next" }, "next \u2192");
  var count = el("span", { "class": "count", id: "count" });
  var thead = el("tr");
  COLS.forEach(function (c) {
    var th = el("th", { "data-col": c[0] }, c[1]);
    th.addEventListener("click", function () {
      state.dir = state.sort === c[0] && state.dir === "asc" ? "desc" : "asc";
      state.sort = c[0]; state.page = 0; apply();
    });
    thead.appendChild(th);
  });
  var tbody = el("tbody");
  main.appendChild(el("section", { id: "table" }, el("h2", null, "Hit table"),
    el("div", { "class": "controls" }, search, levelSel, ruleSel, hostSel, prev, next, count),
    el("div", { "class": "panel" }, el("table", { id: "hits" }, el("thead", null, thead), tbody))));

  var haystack = hits.map(function (h) {
    var parts = [];
    for (var k in h) if (k !== "__i") parts.push(str(h[k]));
    return parts.join("\u0001").toLowerCase();
  });
  function apply() {
    var words = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    view = hits.filter(function (h, i) {
      if (state.level && sev(h) !== state.level) return false;
      if (state.rule && str(pick(h, "rule")) !== state.rule) return false;
      if (state.host && str(pick(h, "host")) !== state.host) return false;
      for (var w = 0; w < words.length; w++) if (haystack[i].indexOf(words[w]) < 0) return false;
      return true;
    });
    var col = COLS.filter(function (c) { return c[0] === state.sort; })[0] || COLS[0];
    var sign = state.dir === "asc" ? 1 : -1;
    view = view.slice().sort(function (a, b) {
      var x = col[2](a), y = col[2](b);
      if (col[0] === "severity") return sign * (levelRank[x] - levelRank[y]) || a.__i - b.__i;
      return sign * (x < y ? -1 : x > y ? 1 : 0) || a.__i - b.__i;
    });
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    draw(pages);
    saveHash();
  }
  function draw(pages) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    var from = state.page * PAGE, rows = view.slice(from, from + PAGE);
    rows.forEach(function (h) {
      var tr = el("tr", { "class": "hit" + (state.open === h.__i ? " open" : ""), "data-i": h.__i });
      COLS.forEach(function (c) {
        var v = c[2](h);
        tr.appendChild(c[0] === "severity" ? el("td", null, sevBadge(v)) : el("td", { title: v, "class": c[0] === "command" || c[0] === "process" ? "mono" : null }, v));
      });
      tr.addEventListener("click", function () { state.open = state.open === h.__i ? -1 : h.__i; draw(pages); saveHash(); });
      tbody.appendChild(tr);
      if (state.open === h.__i) tbody.appendChild(el("tr", { "class": "detail" }, el("td", { colspan: COLS.length }, detail(h))));
    });
    if (!rows.length) tbody.appendChild(el("tr", null, el("td", { colspan: COLS.length, "class": "empty" },
      hits.length ? "no hit matches the filter" : "no hits")));
    THS().forEach(function (th) { th.removeAttribute("data-dir"); if (th.getAttribute("data-col") === state.sort) th.setAttribute("data-dir", state.dir); });
    count.textContent = view.length ? (from + 1) + "\u2013" + (from + rows.length) + " of " + fmt(view.length) +
      (view.length !== hits.length ? " matching (" + fmt(hits.length) + " in the page)" : "") : "0 of " + fmt(hits.length);
    prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
    document.body.setAttribute("data-shown", String(view.length));
  }
  function THS() { return Array.prototype.slice.call(thead.children); }

  function detail(h) {
    var fields = el("table", { "class": "kv" }, el("tbody", null, Object.keys(h).filter(function (k) { return k !== "__i"; }).map(function (k) {
      return el("tr", null, el("td", null, k), el("td", { "class": "mono" }, str(h[k])));
    })));
    var ctx = el("div");
    // The process tree, as far as the hit and its joined creation tell it.
    var tree = el("ul", { "class": "tree" });
    var parent = pick(h, "parent"), pcmd = pick(h, "parentCommand");
    if (parent || pcmd) tree.appendChild(el("li", null, el("b", null, "parent "), el("span", { "class": "mono" }, str(parent || "?")),
      pcmd ? el("span", { "class": "cmd mono" }, str(pcmd)) : null));
    var proc = pick(h, "process"), cmd = pick(h, "command");
    var procLi = el("li", { style: parent ? "margin-left:16px" : null }, el("b", null, "process "), el("span", { "class": "mono" }, str(proc || "?")),
      pick(h, "user") ? " as " + pick(h, "user") : "", cmd ? el("span", { "class": "cmd mono" }, str(cmd)) : null);
    tree.appendChild(procLi);
    var dest = destination(h);
    if (dest) tree.appendChild(el("li", { style: "margin-left:" + (parent ? 32 : 16) + "px" }, el("b", null, "connected to "), el("span", { "class": "mono" }, dest)));
    ctx.appendChild(el("h3", null, "Process tree"));
    ctx.appendChild(tree);
    var label = pick(h, "label");
    if (label) ctx.appendChild(el("p", null, "Suspicion label: ", el("span", { "class": "badge" }, str(label))));
    // First sight of the destination from this host, among the hits.
    var dip = pick(h, "dip");
    if (dip != null) {
      var f = firstSeen[str(pick(h, "host")) + "|" + dip];
      if (f === h.__i) ctx.appendChild(el("p", null, el("span", { "class": "badge" }, "first seen"), " this host's first hit to " + dip));
      else if (f != null) ctx.appendChild(el("p", null, "This host first reached " + dip + " at " + hits[f].time + " (" + str(pick(hits[f], "process")) + ")"));
    }
    // Other hits of the same process (same GUID, or pid and image, on the host).
    var k = processKey(h), others = k ? byProcess[k].filter(function (i) { return i !== h.__i; }) : [];
    ctx.appendChild(el("h3", { style: "margin-top:10px" }, "Other hits of this process (" + others.length + ")"));
    if (others.length) ctx.appendChild(el("table", null, el("tbody", null, others.slice(0, 25).map(function (i) {
      var o = hits[i];
      return el("tr", null, el("td", null, o.time || ""), el("td", null, str(pick(o, "rule"))), el("td", { "class": "mono" }, destination(o)));
    }))));
    if (others.length > 25) ctx.appendChild(el("p", { "class": "count" }, (others.length - 25) + " more"));
    var m = ruleMeta[h.rule_id];
    if (m && m.description) ctx.appendChild(el("div", { style: "margin-top:10px" }, el("h3", null, "Rule"), el("p", null, m.description)));
    if (m && m.false_positives && m.false_positives.length) ctx.appendChild(el("p", null, "Known benign causes: " + m.false_positives.join("; ")));
    return el("div", { "class": "cols" }, ctx, el("div", null, el("h3", null, "Every field"), fields));
  }

  // The table's state lives in the address (#q=...&level=...), so a view can be shared.
  function saveHash() {
    var parts = [];
    ["q", "level", "rule", "host"].forEach(function (k) { if (state[k]) parts.push(k + "=" + encodeURIComponent(state[k])); });
    if (state.page) parts.push("page=" + (state.page + 1));
    if (state.open >= 0) parts.push("open=" + state.open);
    if (state.sort !== "time" || state.dir !== "asc") parts.push("sort=" + state.sort + "," + state.dir);
    var h = parts.join("&");
    if (location.hash.slice(1) !== h && history.replaceState) history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }
  function loadHash() {
    location.hash.slice(1).split("&").forEach(function (p) {
      var i = p.indexOf("="); if (i < 0) return;
      var k = p.slice(0, i), v = decodeURIComponent(p.slice(i + 1));
      if (k === "page") state.page = (parseInt(v, 10) || 1) - 1;
      else if (k === "open") state.open = parseInt(v, 10);
      else if (k === "sort") { var s = v.split(","); state.sort = s[0]; state.dir = s[1] === "desc" ? "desc" : "asc"; }
      else if (k in state) state[k] = v;
    });
    search.value = state.q; levelSel.value = state.level; ruleSel.value = state.rule; hostSel.value = state.host;
  }
  search.addEventListener("input", function () { state.q = search.value; state.page = 0; apply(); });
  levelSel.addEventListener("change", function () { state.level = levelSel.value; state.page = 0; apply(); });
  ruleSel.addEventListener("change", function () { state.rule = ruleSel.value; state.page = 0; apply(); });
  hostSel.addEventListener("change", function () { state.host = hostSel.value; state.page = 0; apply(); });
  prev.addEventListener("click", function () { state.page--; apply(); });
  next.addEventListener("click", function () { state.page++; apply(); });
  loadHash();
  apply();
  // A shared link to one hit opens on it.
  var opened = tbody.querySelector("tr.open");
  if (opened) opened.scrollIntoView();
  document.body.setAttribute("data-hits", String(hits.length));
  document.body.setAttribute("data-ready", "1");
})();
