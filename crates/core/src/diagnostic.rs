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
            let text = &source[range.clone()];
            let start = (span.start as usize).clamp(range.start, range.end);
            let end = (span.end as usize).clamp(start, range.end);
            let lead = display_width(&source[range.start..start]);
            let carets = display_width(&source[start..end]).max(1);
            let mark = if i == 0 { '^' } else { '-' };
            let _ = writeln!(out, "{line:>width$} | {}", text.replace('\t', " "));
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

    #[test]
    fn span_past_end_is_clamped() {
        let d = Diagnostic::error("X", Span::new(100, 120), "eof");
        let text = d.render("q", "abc");
        assert!(text.contains("1 | abc\n  |    ^"), "{text}");
    }
}
