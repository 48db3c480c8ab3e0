//! Diagnostics: what a front end or the linter says about a span of source text,
//! and a plain-text code-frame renderer with a caret under the offending text.

use crate::span::{LineIndex, Span};
use std::fmt::Write as _;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// A note: context, nothing wrong.
    Note,
    /// Probably a mistake, or something real QRadar would treat differently.
    Warning,
    /// The text cannot be used.
    Error,
}

impl Severity {
    /// Lower-case name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary span with its own message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One finding about a source text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious.
    pub severity: Severity,
    /// A stable short code such as `P0101` or `L0003`, for filtering and docs.
    pub code: &'static str,
    /// One-line message.
    pub message: String,
    /// The primary span; the caret goes under it.
    pub span: Span,
    /// Text printed beside the caret.
    pub label: Option<String>,
    /// Further spans worth showing.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, span, message)
    }

    /// A warning at `span`.
    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, span, message)
    }

    /// A diagnostic of any severity.
    pub fn new(
        severity: Severity,
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span,
            label: None,
            labels: Vec::new(),
            help: None,
        }
    }

    /// Adds the text shown beside the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Adds a secondary span.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Renders a code frame:
    ///
    /// ```text
    /// error[P0102]: expected an expression, found keyword `FROM`
    ///  --> query.aql:1:14
    ///   |
    /// 1 | SELECT a WHERE FROM
    ///   |                ^^^^ expected an expression
    ///   |
    ///   = help: ...
    /// ```
    pub fn render(&self, origin: &str, source: &str) -> String {
        let index = LineIndex::new(source);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}[{}]: {}",
            self.severity.as_str(),
            self.code,
            self.message
        );
        let (line, col) = index.line_col(source, self.span.start as usize);
        let _ = writeln!(out, " --> {origin}:{line}:{col}");
        let mut frames: Vec<(Span, Option<&str>)> = vec![(self.span, self.label.as_deref())];
        frames.extend(
            self.labels
                .iter()
                .map(|l| (l.span, Some(l.message.as_str()))),
        );
        let width = frames
            .iter()
            .map(|(s, _)| index.line_col(source, s.start as usize).0)
            .max()
            .unwrap_or(1)
            .to_string()
            .len();
        let pad = " ".repeat(width);
        let _ = writeln!(out, "{pad} |");
        for (i, (span, label)) in frames.iter().enumerate() {
            let (line, _) = index.line_col(source, span.start as usize);
            let range = index.line_range(source, line - 1);
            let start = (span.start as usize).clamp(range.start, range.end);
            let end = (span.end as usize).clamp(start, range.end);
            // A long line (a whole query on one line, 100 KB of it) is shown
            // as a window around the span, marked where it is cut, so the
            // frame stays the size of a screen.
            let (from, to) = window(source, range.start, range.end, start, end);
            let cut_left = if from > range.start { "…" } else { "" };
            let cut_right = if to < range.end { "…" } else { "" };
            let text = &source[from..to];
            let end = end.min(to);
            let lead = display_width(cut_left) + display_width(&source[from..start]);
            let carets = display_width(&source[start..end]).max(1);
            let mark = if i == 0 { '^' } else { '-' };
            let _ = writeln!(
                out,
                "{line:>width$} | {cut_left}{}{cut_right}",
                text.replace('\t', " ")
            );
            let _ = write!(
                out,
                "{pad} | {}{}",
                " ".repeat(lead),
                mark.to_string().repeat(carets)
            );
            match label {
                Some(l) => {
                    let _ = writeln!(out, " {l}");
                }
                None => out.push('\n'),
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }
}

/// How many characters of context a frame shows on each side of its span.
const CONTEXT: usize = 60;

/// The part of the line `line_start..line_end` a frame shows around the
/// span `start..end`: up to [`CONTEXT`] characters either side, and at most
/// that many characters of a long span, cut at character boundaries.
fn window(
    source: &str,
    line_start: usize,
    line_end: usize,
    start: usize,
    end: usize,
) -> (usize, usize) {
    let before = &source[line_start..start];
    let from = before
        .char_indices()
        .rev()
        .nth(CONTEXT - 1)
        .map_or(line_start, |(i, _)| line_start + i);
    let after = &source[start..line_end];
    let keep = (end - start).min(CONTEXT * 2) + CONTEXT;
    let to = after
        .char_indices()
        .nth(keep)
        .map_or(line_end, |(i, _)| start + i);
    (from, to.max(start))
}

fn display_width(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_span() {
        let src = "SELECT a\nFROM events WHERE x = ";
        let d = Diagnostic::error("P0102", Span::new(30, 31), "expected an expression")
            .with_label("here")
            .with_help("add a value");
        let text = d.render("q.aql", src);
        assert_eq!(
            text,
            "error[P0102]: expected an expression\n --> q.aql:2:22\n  |\n2 | FROM events WHERE x = \n  |                      ^ here\n  |\n  = help: add a value\n"
        );
    }

    /// Issue 13 item 12: a 100 KB query on one line made a 200 KB frame.
    #[test]
    fn a_long_line_is_windowed_around_the_span() {
        let mut src = "SELECT * FROM events WHERE ".to_owned();
        for i in 0..5000 {
            src.push_str(&format!("x{i} = 1 OR "));
        }
        let at = src.len() / 2;
        let src = format!("{}@{}", &src[..at], &src[at..]);
        let d = Diagnostic::error("L0001", Span::new(at, at + 1), "unexpected `@`");
        let text = d.render("q.aql", &src);
        assert!(
            src.len() > 50_000 && text.len() < 600,
            "{} bytes:\n{text}",
            text.len()
        );
        let lines: Vec<&str> = text.lines().collect();
        let code = lines[3].split_once(" | ").unwrap().1;
        let marks = lines[4].split_once(" | ").unwrap().1;
        assert!(code.starts_with('…') && code.ends_with('…'), "{code}");
        // The caret stands under the `@`.
        let caret = marks.chars().position(|c| c == '^').unwrap();
        assert_eq!(code.chars().nth(caret), Some('@'), "{code}\n{marks}");
    }

    #[test]
    fn span_past_end_is_clamped() {
        let d = Diagnostic::error("X", Span::new(100, 120), "eof");
        let text = d.render("q", "abc");
        assert!(text.contains("1 | abc\n  |    ^"), "{text}");
    }
}
