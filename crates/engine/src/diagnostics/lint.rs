//! `portent lint`: what real QRadar would reject, and what is probably a mistake.

use crate::lower::dialect_of;
use crate::pattern::{Pattern, Shape};
use crate::similar::{to_regex, Escape};
use portent_aql::ast::{self, ExprKind, Literal, MatchOp, SelectItem};
use portent_core::{Catalog, Diagnostic, Schema, Severity, Table};

/// Windows programs whose names end in another listed name: real over-matches.
const KNOWN_BINARIES: &[&str] = &[
    "dsregcmd.exe",
    "wecutil.exe",
    "netsh.exe",
    "ssh.exe",
    "sshd.exe",
    "cmdkey.exe",
    "rcmd.exe",
    "conhost.exe",
    "dllhost.exe",
    "sihost.exe",
    "taskhost.exe",
    "wsqmcons.exe",
    "mcbuilder.exe",
];

/// Lints a parsed query. `source` is its text (for quoting), `catalog` names log source types.
pub fn lint(q: &ast::Query, schema: &Schema, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut exprs: Vec<&ast::Expr> = Vec::new();
    for s in &q.select {
        if let SelectItem::Expr { expr, .. } = s {
            exprs.push(expr);
        }
    }
    exprs.extend(q.filter.iter());
    exprs.extend(q.having.iter());
    exprs.extend(q.group_by.iter());
    exprs.extend(q.order_by.iter().map(|o| &o.expr));
    let mut seen_patterns = Vec::new();
    for root in &exprs {
        root.walk(&mut |e| lint_expr(e, schema, catalog, &mut out, &mut seen_patterns));
    }
    // ORDER BY must name a SELECT column in QRadar.
    let selected: Vec<String> = q
        .select
        .iter()
        .filter_map(|s| match s {
            SelectItem::Expr { expr, alias } => Some(
                alias
                    .as_ref()
                    .map(|a| a.name.to_lowercase())
                    .unwrap_or_else(|| expr.to_string().to_lowercase()),
            ),
            SelectItem::Wildcard(_) => None,
        })
        .collect();
    let wildcard = q
        .select
        .iter()
        .any(|s| matches!(s, SelectItem::Wildcard(_)));
    for o in &q.order_by {
        let text = match &o.expr.kind {
            ExprKind::Field { name, .. } => name.to_lowercase(),
            _ => o.expr.to_string().to_lowercase(),
        };
        let plain_field_selected = q.select.iter().any(|s| {
            matches!(s, SelectItem::Expr { expr, alias: None } if matches!(&expr.kind, ExprKind::Field { name, .. } if name.to_lowercase() == text))
        });
        if !wildcard && !selected.contains(&text) && !plain_field_selected {
            out.push(
                Diagnostic::warning("L0005", o.expr.span, format!("ORDER BY `{}` is not a column of the SELECT list", o.expr))
                    .with_label("not selected")
                    .with_help("QRadar only lets ORDER BY and GROUP BY name SELECT columns; select it (or its alias) too"),
            );
        }
    }
    let mut conds = Vec::new();
    for root in q.filter.iter().chain(q.having.iter()) {
        conditions(root, &mut conds);
    }
    for c in conds {
        if let Some(d) = not_a_condition(c, q.time.is_some()) {
            out.push(d);
        }
    }
    if q.time.is_none() && !has_starttime_bound(q) {
        out.push(
            Diagnostic::new(Severity::Note, "L0011", q.span, "no time clause: QRadar would search only the last few minutes")
                .with_help("add LAST n HOURS/DAYS or START/STOP; Portent searches all input when there is none"),
        );
    }
    out.sort_by_key(|d| (d.span.start, d.code));
    out
}

/// The places a truth value is expected: the operands of AND, OR and NOT.
fn conditions<'e>(e: &'e ast::Expr, out: &mut Vec<&'e ast::Expr>) {
    match &e.kind {
        ExprKind::Nested(inner) => conditions(inner, out),
        ExprKind::Logical { terms, .. } => terms.iter().for_each(|t| conditions(t, out)),
        ExprKind::Unary {
            op: ast::UnaryOp::Not,
            expr,
        } => conditions(expr, out),
        _ => out.push(e),
    }
}

/// A field, a number, a string or arithmetic where a condition belongs: it
/// is neither true nor false, so no event passes there (in Portent; QRadar
/// documents nothing), which is never what was meant.
fn not_a_condition(e: &ast::Expr, has_time_clause: bool) -> Option<Diagnostic> {
    use ast::BinaryOp::*;
    let what = match &e.kind {
        ExprKind::Field { name, .. } => format!("the field `{name}`"),
        ExprKind::Literal(
            Literal::Str(_) | Literal::Int(_) | Literal::Hex(_) | Literal::Float(_),
        ) => "a constant".to_owned(),
        ExprKind::Binary {
            op: Add | Sub | Mul | Div | Mod | Pow | BitAnd,
            ..
        } => "arithmetic".to_owned(),
        _ => return None,
    };
    let starttime =
        matches!(&e.kind, ExprKind::Field { name, .. } if name.eq_ignore_ascii_case("starttime"));
    let d = Diagnostic::warning("L0013", e.span, format!("{what} is not a condition"))
        .with_label("no comparison here");
    Some(if starttime && has_time_clause {
        d.with_help("`WHERE starttime LAST 30 MINUTES` reads as the condition `starttime` plus the LAST clause; a bare value is neither true nor false, so no event passes: drop `starttime`, LAST alone sets the window")
    } else {
        d.with_help("compare it (`= value`, `IS NOT NULL`, ...): a bare value is neither true nor false, so no event passes here")
    })
}

fn has_starttime_bound(q: &ast::Query) -> bool {
    let mut found = false;
    if let Some(f) = &q.filter {
        f.walk(&mut |e| {
            if let ExprKind::Field { name, .. } = &e.kind {
                if name.eq_ignore_ascii_case("starttime") {
                    found = true;
                }
            }
        });
    }
    found
}

fn lint_expr(
    e: &ast::Expr,
    schema: &Schema,
    catalog: &Catalog,
    out: &mut Vec<Diagnostic>,
    seen: &mut Vec<String>,
) {
    match &e.kind {
        ExprKind::Field { name, .. } if name.eq_ignore_ascii_case("logsourcetypeid") => {
            out.push(
                Diagnostic::warning("L0003", e.span, "`LOGSOURCETYPEID` is not an AQL field")
                    .with_label("read here as devicetype")
                    .with_help(
                        "QRadar names the log source type `devicetype`; write devicetype IN (12)",
                    ),
            );
        }
        ExprKind::Field { name, .. } if schema.resolve(name).is_none() => {
            out.push(
                Diagnostic::new(
                    Severity::Note,
                    "L0012",
                    e.span,
                    format!("`{name}` is not a known QRadar field or Portent property"),
                )
                .with_label("read as a custom property")
                .with_help("check the spelling; events without it give NULL here"),
            );
        }
        ExprKind::Interval { count, unit } => {
            out.push(
                Diagnostic::warning(
                    "L0002",
                    e.span,
                    format!(
                        "`{count} {}` is not AQL: intervals exist only in LAST n {}",
                        unit.as_str(),
                        unit.as_str()
                    ),
                )
                .with_label("read as milliseconds")
                .with_help(format!(
                    "write `NOW() - {}` or a LAST {count} {} clause",
                    count.saturating_mul(unit.millis()),
                    unit.as_str()
                )),
            );
        }
        ExprKind::Case { operand: None, .. } => {
            out.push(
                Diagnostic::warning(
                    "L0004",
                    e.span.to(portent_core::Span::new(
                        e.span.start as usize,
                        e.span.start as usize + 4,
                    )),
                    "searched CASE (`CASE WHEN cond`) is not documented for QRadar",
                )
                .with_label("IBM documents only `CASE x WHEN value`")
                .with_help("if QRadar rejects it, use nested IF cond THEN a ELSE b"),
            );
        }
        ExprKind::InList {
            expr,
            list,
            negated: false,
        } => {
            if let ExprKind::Field { name, .. } = &expr.kind {
                if schema.resolve(name) == Some(portent_core::schema::ids::DEVICETYPE) {
                    for item in list {
                        if let ExprKind::Literal(Literal::Int(id)) = item.kind {
                            if id != 12 {
                                let tname = catalog
                                    .name(Table::LogSourceType, id)
                                    .unwrap_or("an unknown log source type");
                                out.push(
                                    Diagnostic::warning("L0006", item.span, format!("log source type {id} is {tname}: it carries no Windows process names"))
                                        .with_label("cannot match the intent")
                                        .with_help("Windows Security and Sysmon events (via WinCollect) are type 12"),
                                );
                            }
                        }
                    }
                }
            }
        }
        ExprKind::Match {
            op,
            pattern,
            escape,
            negated,
            expr,
        } => {
            if *op == MatchOp::SimilarTo {
                out.push(
                    Diagnostic::warning("L0001", e.span, "SIMILAR TO is not AQL: QRadar rejects it")
                        .with_label("evaluated with PostgreSQL semantics")
                        .with_help("use IMATCHES with a regex, e.g. \"Process Name\" IMATCHES '.*(cmd|powershell)\\.exe'"),
                );
            }
            if *negated {
                out.push(
                    Diagnostic::new(
                        Severity::Note,
                        "L0009",
                        e.span,
                        format!(
                            "NOT {} is NULL, not TRUE, when `{}` is missing",
                            op.as_str(),
                            expr
                        ),
                    )
                    .with_label("rows without the field are dropped")
                    .with_help("add `OR <field> IS NULL` if such rows should pass"),
                );
            }
            if let (ExprKind::Literal(Literal::Str(p)), None) = (&pattern.kind, escape) {
                lint_pattern(p, *op, pattern.span, out, seen);
            }
        }
        _ => {}
    }
}

fn lint_pattern(
    p: &str,
    op: MatchOp,
    span: portent_core::Span,
    out: &mut Vec<Diagnostic>,
    seen: &mut Vec<String>,
) {
    if op == MatchOp::Matches || op == MatchOp::IMatches {
        if !p.starts_with(".*") && !p.starts_with('^') {
            out.push(
                Diagnostic::new(Severity::Note, "L0008", span, "MATCHES must match the whole value")
                    .with_label("anchored at both ends")
                    .with_help("Portent follows Java's String.matches(); wrap the regex in .* ... .* to search inside the value"),
            );
        }
        return;
    }
    if op == MatchOp::Like && (p.contains("\\%") || p.contains("\\_")) {
        out.push(
            Diagnostic::warning(
                "L0010",
                span,
                "a backslash does not escape % or _ in LIKE without an ESCAPE clause",
            )
            .with_help("add ESCAPE '\\' if a literal % or _ is meant"),
        );
    }
    let (dialect, ci) = dialect_of(op);
    let Ok(source) = to_regex(p, dialect, Escape::Default, ci) else {
        return;
    };
    let Ok(pat) = Pattern::new(&source, ci) else {
        return;
    };
    let Some(l) = pat.literals else { return };
    if l.shape != Shape::Contains || seen.contains(&source) {
        return;
    }
    seen.push(source);
    let mut examples = Vec::new();
    for n in &l.needles {
        let starts_name = n.chars().next().is_some_and(|c| c.is_alphanumeric());
        if !starts_name || !n.contains('.') {
            continue;
        }
        let real = KNOWN_BINARIES
            .iter()
            .find(|b| b.len() > n.len() && b.ends_with(n.as_str()));
        examples.push(match real {
            Some(b) => format!("`{b}` (contains `{n}`)"),
            None => format!("`x{n}`"),
        });
    }
    if !examples.is_empty() {
        examples.truncate(3);
        out.push(
            Diagnostic::warning("L0007", span, "substring pattern over-matches file names")
                .with_label(format!("also matches {}", examples.join(", ")))
                .with_help("anchor at a path separator ('%\\\\(cmd|pwsh)\\.exe') or compare the file name exactly"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l0013(aql: &str) -> Vec<String> {
        let q = portent_aql::parse(aql).unwrap();
        lint(&q, &Schema::qradar(), &Catalog::builtin())
            .into_iter()
            .filter(|d| d.code == "L0013")
            .map(|d| aql[d.span.start as usize..d.span.end as usize].to_owned())
            .collect()
    }

    #[test]
    fn a_bare_value_where_a_condition_belongs_is_flagged() {
        assert_eq!(
            l0013("SELECT * FROM events WHERE starttime LAST 30 MINUTES"),
            ["starttime"]
        );
        assert_eq!(
            l0013("SELECT * FROM events WHERE username AND (destinationport = 443 OR NOT destinationport + 1) LAST 1 HOURS"),
            ["username", "destinationport + 1"]
        );
        assert_eq!(
            l0013("SELECT username, COUNT(*) AS n FROM events GROUP BY username HAVING n LAST 1 HOURS"),
            ["n"]
        );
        for fine in [
            "SELECT * FROM events WHERE username IS NOT NULL LAST 1 HOURS",
            "SELECT * FROM events WHERE destinationport = 443 AND TEXT SEARCH 'x' LAST 1 HOURS",
            "SELECT * FROM events WHERE IF devicetype = 12 THEN destinationport = 443 ELSE username IS NULL LAST 1 HOURS",
            "SELECT * FROM events WHERE INCIDR('10.0.0.0/8', sourceip) LAST 1 HOURS",
        ] {
            assert!(l0013(fine).is_empty(), "{fine}");
        }
    }
}
