//! Erasing spans, so two ASTs can be compared for structure alone (round trips).

use crate::ast::*;
use portent_core::Span;

/// Sets every span in `q` to the empty span at 0.
pub fn erase_query(q: &mut Query) {
    q.span = Span::default();
    q.from.span = Span::default();
    if let Some(i) = &mut q.into {
        i.span = Span::default();
    }
    for item in &mut q.select {
        match item {
            SelectItem::Wildcard(s) => *s = Span::default(),
            SelectItem::Expr { expr, alias } => {
                erase_expr(expr);
                if let Some(a) = alias {
                    a.span = Span::default();
                    // A bare alias that needed quoting prints quoted; the quote kind is cosmetic.
                    if a.quote == Quote::Bare {
                        a.quote = Quote::Double;
                    }
                }
            }
        }
    }
    q.filter.iter_mut().for_each(erase_expr);
    q.group_by.iter_mut().for_each(erase_expr);
    q.having.iter_mut().for_each(erase_expr);
    for o in &mut q.order_by {
        erase_expr(&mut o.expr);
    }
    if let Some(l) = &mut q.limit {
        l.span = Span::default();
    }
    if let Some(t) = &mut q.time {
        match t {
            TimeClause::Last { span, .. } => *span = Span::default(),
            TimeClause::Range { start, stop, span } => {
                *span = Span::default();
                start.span = Span::default();
                if let Some(s) = stop {
                    s.span = Span::default();
                }
            }
        }
    }
    for p in &mut q.parameters {
        p.name.span = Span::default();
        erase_expr(&mut p.value);
    }
}

/// Sets every span in `e` to the empty span at 0, and drops parentheses
/// (`Nested`): once the tree is built they carry no meaning, and the printer
/// adds its own wherever precedence needs them.
pub fn erase_expr(e: &mut Expr) {
    while let ExprKind::Nested(inner) = &mut e.kind {
        let inner = std::mem::replace(
            &mut **inner,
            Expr {
                kind: ExprKind::Star,
                span: Span::default(),
            },
        );
        *e = inner;
    }
    e.span = Span::default();
    match &mut e.kind {
        // Quoting is presentation too: the printer quotes reserved words.
        ExprKind::Field { quoted, .. } => *quoted = false,
        ExprKind::Literal(_)
        | ExprKind::Interval { .. }
        | ExprKind::TextSearch { .. }
        | ExprKind::Star => {}
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } | ExprKind::Nested(expr) => {
            erase_expr(expr)
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            erase_expr(lhs);
            erase_expr(rhs);
        }
        ExprKind::Logical { terms, .. } => terms.iter_mut().for_each(erase_expr),
        ExprKind::InList { expr, list, .. } => {
            erase_expr(expr);
            list.iter_mut().for_each(erase_expr);
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            erase_expr(expr);
            erase_expr(low);
            erase_expr(high);
        }
        ExprKind::Match {
            expr,
            pattern,
            escape,
            ..
        } => {
            erase_expr(expr);
            erase_expr(pattern);
            if let Some(x) = escape {
                erase_expr(x);
            }
        }
        ExprKind::Call { name, args } => {
            name.span = Span::default();
            args.iter_mut().for_each(erase_expr);
        }
        ExprKind::Case {
            operand,
            arms,
            otherwise,
        } => {
            if let Some(o) = operand {
                erase_expr(o);
            }
            for (w, t) in arms {
                erase_expr(w);
                erase_expr(t);
            }
            if let Some(o) = otherwise {
                erase_expr(o);
            }
        }
        ExprKind::If {
            cond,
            then,
            otherwise,
        } => {
            erase_expr(cond);
            erase_expr(then);
            if let Some(o) = otherwise {
                erase_expr(o);
            }
        }
    }
}
