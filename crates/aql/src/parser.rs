//! Recursive descent for statements, precedence climbing for expressions.
//!
//! The parser collects every error it can find: after an error in a clause it
//! skips to the next clause keyword and carries on. Nesting is limited (default
//! 128 levels) so hostile input cannot overflow the stack.

use crate::ast::*;
use crate::error::{Error, ErrorKind};
use crate::lexer::tokenize;
use crate::token::{Keyword, Token, TokenKind};
use portent_core::Span;

/// Default nesting limit.
pub const DEFAULT_NEST_LIMIT: usize = 128;

/// Parser settings.
#[derive(Clone, Debug)]
pub struct ParserOptions {
    /// Deepest expression nesting accepted.
    pub nest_limit: usize,
}

impl Default for ParserOptions {
    fn default() -> Self {
        ParserOptions {
            nest_limit: DEFAULT_NEST_LIMIT,
        }
    }
}

/// Parses one AQL statement, returning every error found.
pub fn parse(src: &str) -> Result<Query, Vec<Error>> {
    parse_with(src, &ParserOptions::default())
}

/// Parses one AQL statement with explicit options.
pub fn parse_with(src: &str, options: &ParserOptions) -> Result<Query, Vec<Error>> {
    let (mut p, mut errors) = Parser::new(src, options);
    let query = p.parse_statement();
    errors.append(&mut p.errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    errors.dedup_by(|a, b| a.span == b.span && a.kind == b.kind);
    match query {
        Some(q) if errors.is_empty() => Ok(q),
        _ => Err(errors),
    }
}

/// Parses a standalone expression (used by tests and by tools that take a
/// condition rather than a statement).
pub fn parse_expr(src: &str) -> Result<Expr, Vec<Error>> {
    let options = ParserOptions::default();
    let (mut p, mut errors) = Parser::new(src, &options);
    let e = p.expr(0);
    if e.is_some() && !p.at_eof() {
        p.error_expected("the end of the expression");
    }
    errors.append(&mut p.errors);
    match e {
        Some(e) if errors.is_empty() => Ok(e),
        _ => Err(errors),
    }
}

/// Builds a predicate node around its operand.
type Builder = Box<dyn FnOnce(Box<Expr>) -> ExprKind>;

/// What followed an operand at comparison level.
enum Postfix {
    /// A predicate was parsed around the operand.
    Done(Expr),
    /// None follows; the operand is handed back.
    NotPredicate(Expr),
    /// A predicate started but had an error (already recorded).
    Failed,
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    errors: Vec<Error>,
    depth: usize,
    options: &'a ParserOptions,
    /// Set by the nesting limit: stop at once rather than cascade.
    fatal: bool,
    /// The last `next_token` moved forward (at the end it stays put).
    advanced: bool,
}

/// Clause keywords: where recovery resumes.
const CLAUSES: &[Keyword] = &[
    Keyword::From,
    Keyword::Where,
    Keyword::Group,
    Keyword::Having,
    Keyword::Order,
    Keyword::Limit,
    Keyword::Last,
    Keyword::Start,
    Keyword::Parameters,
    Keyword::Into,
];

impl<'a> Parser<'a> {
    /// A parser over `src`'s tokens, with the lexer's errors.
    fn new(src: &'a str, options: &'a ParserOptions) -> (Parser<'a>, Vec<Error>) {
        let (tokens, errors) = tokenize(src);
        (
            Parser {
                src,
                tokens,
                pos: 0,
                errors: Vec::new(),
                depth: 0,
                options,
                fatal: false,
                advanced: false,
            },
            errors,
        )
    }

    // ---- token helpers -------------------------------------------------

    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.tokens[(self.pos + n).min(self.tokens.len() - 1)]
    }

    fn next_token(&mut self) -> Token {
        let t = self.peek().clone();
        self.advanced = self.pos < self.tokens.len() - 1;
        if self.advanced {
            self.pos += 1;
        }
        t
    }

    /// Puts back the token `next_token` just took. At the end of input it
    /// took nothing: stepping back there would re-read the token before,
    /// and a clause keyword re-read is a loop (found by fuzzing).
    fn unread(&mut self) {
        if self.advanced {
            self.pos -= 1;
            self.advanced = false;
        }
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }

    fn at_eof(&self) -> bool {
        matches!(self.peek().kind, TokenKind::Eof)
    }

    fn keyword(&self) -> Option<Keyword> {
        match self.peek().kind {
            TokenKind::Word(k) => k,
            _ => None,
        }
    }

    fn keyword_at(&self, n: usize) -> Option<Keyword> {
        match self.peek_at(n).kind {
            TokenKind::Word(k) => k,
            _ => None,
        }
    }

    fn at_keyword(&self, k: Keyword) -> bool {
        self.keyword() == Some(k)
    }

    fn eat_keyword(&mut self, k: Keyword) -> bool {
        if self.at_keyword(k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, k: Keyword) -> Option<Span> {
        if self.at_keyword(k) {
            Some(self.next_token().span)
        } else {
            self.error_expected(&format!("`{}`", k.as_str()));
            None
        }
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if &self.peek().kind == kind {
            self.next_token();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, kind: &TokenKind) -> Option<Span> {
        if &self.peek().kind == kind {
            Some(self.next_token().span)
        } else {
            self.error_expected(&format!("`{}`", kind.symbol()));
            None
        }
    }

    fn text(&self, span: Span) -> &'a str {
        &self.src[span.range()]
    }

    fn error_expected(&mut self, expected: &str) {
        let t = self.peek().clone();
        let found = match &t.kind {
            TokenKind::Word(None) => format!("`{}`", self.text(t.span)),
            other => other.describe(),
        };
        let mut e = Error::new(
            ErrorKind::Expected {
                expected: expected.to_owned(),
                found,
            },
            t.span,
        );
        let wants_name = expected.contains("expression") || expected.contains("name");
        if let Some(h) = self
            .hint_for(&t)
            .filter(|_| wants_name || t.kind == TokenKind::Eof)
        {
            e = e.with_help(h);
        }
        self.errors.push(e);
    }

    fn hint_for(&self, t: &Token) -> Option<String> {
        match &t.kind {
            TokenKind::Word(Some(k)) if k.is_reserved() => Some(format!(
                "`{}` is a keyword; to use it as a name, quote it: \"{}\"",
                k.as_str(),
                self.text(t.span)
            )),
            TokenKind::Eof => Some("the query ends too early".to_owned()),
            _ => None,
        }
    }

    /// Skips to the next clause keyword (or the end) after an error.
    fn recover_to_clause(&mut self) {
        let mut depth = 0usize;
        while !self.at_eof() {
            match self.peek().kind {
                TokenKind::LParen => depth += 1,
                TokenKind::RParen => depth = depth.saturating_sub(1),
                // `LAST(` is the aggregate, not the time clause.
                TokenKind::Word(Some(k))
                    if depth == 0
                        && CLAUSES.contains(&k)
                        && !(k == Keyword::Last && self.peek_at(1).kind == TokenKind::LParen) =>
                {
                    return;
                }
                _ => {}
            }
            self.pos += 1;
        }
    }

    // ---- statement -----------------------------------------------------

    fn parse_statement(&mut self) -> Option<Query> {
        let start = self.peek().span;
        self.expect_keyword(Keyword::Select)?;
        let select = self.select_list();
        if self.fatal {
            return None;
        }
        let from = self.parse_from();
        let mut q = Query {
            select,
            from: from.unwrap_or(From {
                table: TableName::Events,
                span: start,
            }),
            into: None,
            filter: None,
            group_by: Vec::new(),
            having: None,
            order_by: Vec::new(),
            limit: None,
            time: None,
            parameters: Vec::new(),
            span: start,
        };
        self.clauses(&mut q);
        if self.fatal {
            return None;
        }
        self.eat(&TokenKind::Semicolon);
        if !self.at_eof() {
            self.error_expected("a clause (WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, LAST, START, PARAMETERS) or the end");
        }
        q.span = start.to(self.prev_span());
        Some(q)
    }

    fn select_list(&mut self) -> Vec<SelectItem> {
        let mut items = Vec::new();
        loop {
            if self.fatal {
                return items;
            }
            if self.peek().kind == TokenKind::Star {
                items.push(SelectItem::Wildcard(self.next_token().span));
            } else {
                match self.expr(0) {
                    Some(expr) => {
                        let alias = if self.eat_keyword(Keyword::As) {
                            self.alias()
                        } else {
                            None
                        };
                        items.push(SelectItem::Expr { expr, alias });
                    }
                    None => {
                        // Skip to the next comma or FROM.
                        while !self.at_eof()
                            && self.peek().kind != TokenKind::Comma
                            && !self.at_keyword(Keyword::From)
                        {
                            self.pos += 1;
                        }
                    }
                }
            }
            if !self.eat(&TokenKind::Comma) {
                return items;
            }
        }
    }

    fn alias(&mut self) -> Option<Alias> {
        let t = self.peek().clone();
        let (name, quote) = match &t.kind {
            TokenKind::Word(_) => (self.text(t.span).to_owned(), Quote::Bare),
            TokenKind::Str(s) => (s.clone(), Quote::Single),
            TokenKind::QuotedIdent(s) => (s.clone(), Quote::Double),
            _ => {
                self.error_expected("an alias name");
                return None;
            }
        };
        self.next_token();
        Some(Alias {
            name,
            quote,
            span: t.span,
        })
    }

    fn parse_from(&mut self) -> Option<From> {
        if self.expect_keyword(Keyword::From).is_none() {
            self.recover_to_clause();
            if !self.eat_keyword(Keyword::From) {
                return None;
            }
        }
        let t = self.peek().clone();
        let name = match &t.kind {
            TokenKind::Word(None) => self.text(t.span).to_ascii_lowercase(),
            TokenKind::QuotedIdent(s) => s.to_ascii_lowercase(),
            _ => String::new(),
        };
        let table = match name.as_str() {
            "events" => TableName::Events,
            "flows" => TableName::Flows,
            _ => {
                let e = Error::new(
                    ErrorKind::Expected {
                        expected: "`events` or `flows`".into(),
                        found: t.kind.describe(),
                    },
                    t.span,
                );
                let e = if name == "simarc" || name == "globalview" {
                    e.with_help(format!(
                        "`{name}` exists in QRadar but Portent reads only events and flows"
                    ))
                } else {
                    e
                };
                self.errors.push(e);
                self.recover_to_clause();
                return None;
            }
        };
        self.next_token();
        Some(From {
            table,
            span: t.span,
        })
    }

    fn clauses(&mut self, q: &mut Query) {
        let mut at = usize::MAX;
        loop {
            if self.fatal {
                return;
            }
            // Every clause takes at least its keyword: no progress means a
            // recovery went back to where it started, and would loop.
            if self.pos == at {
                return;
            }
            at = self.pos;
            let Some(k) = self.keyword() else { return };
            let span = self.peek().span;
            match k {
                Keyword::Into => {
                    self.next_token();
                    if q.into.is_some() {
                        self.duplicate("INTO", span);
                    }
                    let t = self.next_token();
                    q.into = Some(Ident {
                        name: self.ident_text(&t),
                        span: t.span,
                    });
                }
                Keyword::Where => {
                    self.next_token();
                    if q.filter.is_some() {
                        self.duplicate("WHERE", span);
                    }
                    q.filter = self.expr_or_recover();
                }
                Keyword::Group => {
                    self.next_token();
                    if !q.group_by.is_empty() {
                        self.duplicate("GROUP BY", span);
                    }
                    if self.expect_keyword(Keyword::By).is_some() {
                        q.group_by = self.expr_list();
                    } else {
                        self.recover_to_clause();
                    }
                }
                Keyword::Having => {
                    self.next_token();
                    if q.having.is_some() {
                        self.duplicate("HAVING", span);
                    }
                    q.having = self.expr_or_recover();
                }
                Keyword::Order => {
                    self.next_token();
                    if !q.order_by.is_empty() {
                        self.duplicate("ORDER BY", span);
                    }
                    if self.expect_keyword(Keyword::By).is_some() {
                        q.order_by = self.order_list();
                    } else {
                        self.recover_to_clause();
                    }
                }
                Keyword::Limit => {
                    self.next_token();
                    if q.limit.is_some() {
                        self.duplicate("LIMIT", span);
                    }
                    q.limit = self.limit();
                }
                Keyword::Last if self.peek_at(1).kind != TokenKind::LParen => {
                    self.next_token();
                    if q.time.is_some() {
                        self.duplicate("time", span);
                    }
                    q.time = self.last(span);
                }
                Keyword::Start => {
                    self.next_token();
                    if q.time.is_some() {
                        self.duplicate("time", span);
                    }
                    q.time = self.start_stop(span);
                }
                Keyword::Parameters => {
                    self.next_token();
                    q.parameters = self.parameters();
                }
                _ => return,
            }
        }
    }

    fn duplicate(&mut self, clause: &'static str, span: Span) {
        self.errors
            .push(Error::new(ErrorKind::DuplicateClause(clause), span));
    }

    fn ident_text(&mut self, t: &Token) -> String {
        match &t.kind {
            TokenKind::QuotedIdent(s) | TokenKind::Str(s) => s.clone(),
            TokenKind::Word(_) => self.text(t.span).to_owned(),
            _ => {
                self.errors.push(Error::new(
                    ErrorKind::Expected {
                        expected: "a name".into(),
                        found: t.kind.describe(),
                    },
                    t.span,
                ));
                String::new()
            }
        }
    }

    fn expr_or_recover(&mut self) -> Option<Expr> {
        let e = self.expr(0);
        if e.is_none() {
            self.recover_to_clause();
        }
        e
    }

    fn expr_list(&mut self) -> Vec<Expr> {
        let mut out = Vec::new();
        loop {
            match self.expr(0) {
                Some(e) => out.push(e),
                None => {
                    self.recover_to_clause();
                    return out;
                }
            }
            if !self.eat(&TokenKind::Comma) {
                return out;
            }
        }
    }

    fn order_list(&mut self) -> Vec<OrderItem> {
        let mut out = Vec::new();
        loop {
            let Some(expr) = self.expr(0) else {
                self.recover_to_clause();
                return out;
            };
            let (descending, explicit) = if self.eat_keyword(Keyword::Desc) {
                (true, true)
            } else if self.eat_keyword(Keyword::Asc) {
                (false, true)
            } else {
                (false, false)
            };
            let collate = if self.eat_keyword(Keyword::Collate) {
                match self.next_token().kind {
                    TokenKind::Str(s) => Some(s),
                    _ => {
                        self.unread();
                        self.error_expected("a collation tag string such as 'de-CH'");
                        None
                    }
                }
            } else {
                None
            };
            out.push(OrderItem {
                expr,
                descending,
                explicit,
                collate,
            });
            if !self.eat(&TokenKind::Comma) {
                return out;
            }
        }
    }

    fn limit(&mut self) -> Option<Limit> {
        let t = self.peek().clone();
        match t.kind {
            TokenKind::Int(n) if n >= 0 => {
                self.next_token();
                Some(Limit {
                    value: n as u64,
                    span: t.span,
                })
            }
            _ => {
                self.error_expected("a non-negative whole number");
                self.recover_to_clause();
                None
            }
        }
    }

    fn last(&mut self, start: Span) -> Option<TimeClause> {
        let t = self.peek().clone();
        let TokenKind::Int(count) = t.kind else {
            self.error_expected("a number of MINUTES, HOURS or DAYS");
            self.recover_to_clause();
            return None;
        };
        if count < 0 {
            self.errors.push(Error::new(
                ErrorKind::OutOfRange("LAST needs a positive count".into()),
                t.span,
            ));
        }
        self.next_token();
        match self.keyword().and_then(Keyword::time_unit) {
            Some(unit) => {
                self.next_token();
                Some(TimeClause::Last {
                    count: count.max(0) as u64,
                    unit,
                    span: start.to(self.prev_span()),
                })
            }
            None => {
                self.error_expected("MINUTES, HOURS or DAYS");
                self.recover_to_clause();
                None
            }
        }
    }

    fn start_stop(&mut self, start: Span) -> Option<TimeClause> {
        let begin = self.time_bound()?;
        let stop = if self.eat_keyword(Keyword::Stop) {
            Some(self.time_bound()?)
        } else {
            None
        };
        Some(TimeClause::Range {
            start: begin,
            stop,
            span: start.to(self.prev_span()),
        })
    }

    fn time_bound(&mut self) -> Option<TimeBound> {
        let t = self.peek().clone();
        let kind = match &t.kind {
            TokenKind::Str(s) => {
                self.next_token();
                TimeBoundKind::Text(s.clone())
            }
            TokenKind::Int(ms) => {
                self.next_token();
                TimeBoundKind::Epoch(*ms)
            }
            TokenKind::Word(None)
                if self.text(t.span).eq_ignore_ascii_case("parsedatetime")
                    && self.peek_at(1).kind == TokenKind::LParen =>
            {
                self.next_token();
                self.next_token();
                let arg = match self.next_token().kind {
                    TokenKind::Str(s) => s,
                    _ => {
                        self.unread();
                        self.error_expected("a time reference such as '1 day ago'");
                        self.recover_to_clause();
                        return None;
                    }
                };
                self.expect(&TokenKind::RParen)?;
                TimeBoundKind::ParseDateTime(arg)
            }
            _ => {
                self.error_expected(
                    "a time: 'yyyy-MM-dd HH:mm[:ss]', epoch milliseconds or PARSEDATETIME('...')",
                );
                self.recover_to_clause();
                return None;
            }
        };
        Some(TimeBound {
            kind,
            span: t.span.to(self.prev_span()),
        })
    }

    fn parameters(&mut self) -> Vec<Parameter> {
        let mut out = Vec::new();
        loop {
            let t = self.next_token();
            let name = match &t.kind {
                TokenKind::Word(_) | TokenKind::QuotedIdent(_) => self.ident_text(&t),
                _ => {
                    self.unread();
                    self.error_expected("a parameter name");
                    self.recover_to_clause();
                    return out;
                }
            };
            if self.expect(&TokenKind::Eq).is_none() {
                self.recover_to_clause();
                return out;
            }
            let Some(value) = self.expr(PREC_COMPARE) else {
                self.recover_to_clause();
                return out;
            };
            out.push(Parameter {
                name: Ident { name, span: t.span },
                value,
            });
            if !self.eat(&TokenKind::Comma) {
                return out;
            }
        }
    }

    // ---- expressions ---------------------------------------------------

    /// Parses an expression whose operators all bind more tightly than `min`.
    fn expr(&mut self, min: u8) -> Option<Expr> {
        if self.fatal {
            return None;
        }
        if !self.deeper() {
            self.depth -= 1;
            return None;
        }
        let result = self.expr_inner(min);
        self.depth -= 1;
        result
    }

    fn expr_inner(&mut self, min: u8) -> Option<Expr> {
        // Each operator applied in this loop deepens the tree by one level, so
        // it counts against the nesting limit like a recursive call does.
        let entered = self.depth;
        let result = self.operator_chain(min);
        self.depth = entered;
        result
    }

    fn deeper(&mut self) -> bool {
        self.depth += 1;
        if self.depth > self.options.nest_limit && !self.fatal {
            let span = self.peek().span;
            self.errors.push(
                Error::new(ErrorKind::NestTooDeep(self.options.nest_limit), span)
                    .with_help("split the expression or remove redundant parentheses"),
            );
            self.fatal = true;
        }
        !self.fatal
    }

    fn operator_chain(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.prefix()?;
        loop {
            if self.fatal {
                return None;
            }
            let t = self.peek().clone();
            // Comparison-level postfix forms: [NOT] IN / BETWEEN / LIKE ..., IS [NOT] NULL.
            if PREC_COMPARE > min && self.starts_predicate() {
                if !self.deeper() {
                    return None;
                }
                match self.predicate(lhs) {
                    Postfix::Done(e) => {
                        lhs = e;
                        continue;
                    }
                    Postfix::NotPredicate(e) => lhs = e,
                    Postfix::Failed => return None,
                }
            }
            let logical = match &t.kind {
                TokenKind::Word(Some(Keyword::Or)) => Some(LogicalOp::Or),
                TokenKind::Word(Some(Keyword::And)) => Some(LogicalOp::And),
                _ => None,
            };
            if let Some(op) = logical {
                if op.precedence() <= min {
                    return Some(lhs);
                }
                self.next_token();
                let rhs = self.expr(op.precedence())?;
                let span = lhs.span.to(rhs.span);
                lhs = match lhs.kind {
                    ExprKind::Logical { op: o, mut terms } if o == op => {
                        terms.push(rhs);
                        Expr::new(ExprKind::Logical { op, terms }, span)
                    }
                    kind => {
                        let first = Expr {
                            kind,
                            span: lhs.span,
                        };
                        Expr::new(
                            ExprKind::Logical {
                                op,
                                terms: vec![first, rhs],
                            },
                            span,
                        )
                    }
                };
                continue;
            }
            let op = match &t.kind {
                TokenKind::Eq => BinaryOp::Eq,
                TokenKind::EqEq => BinaryOp::EqEq,
                TokenKind::NotEq => BinaryOp::NotEq,
                TokenKind::LtGt => BinaryOp::LtGt,
                TokenKind::Lt => BinaryOp::Lt,
                TokenKind::LtEq => BinaryOp::LtEq,
                TokenKind::Gt => BinaryOp::Gt,
                TokenKind::GtEq => BinaryOp::GtEq,
                TokenKind::Amp => BinaryOp::BitAnd,
                TokenKind::Plus => BinaryOp::Add,
                TokenKind::Minus => BinaryOp::Sub,
                TokenKind::Star => BinaryOp::Mul,
                TokenKind::Slash => BinaryOp::Div,
                TokenKind::Percent => BinaryOp::Mod,
                TokenKind::Caret => BinaryOp::Pow,
                _ => return Some(lhs),
            };
            let p = op.precedence();
            if p <= min {
                return Some(lhs);
            }
            if !self.deeper() {
                return None;
            }
            self.next_token();
            let rhs = self.expr(p)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr::new(
                ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            );
        }
    }

    fn starts_predicate(&self) -> bool {
        use Keyword::*;
        match self.keyword() {
            Some(In | Between | Like | Ilike | Matches | Imatches | Similar | Is) => true,
            Some(Not) => matches!(
                self.keyword_at(1),
                Some(In | Between | Like | Ilike | Matches | Imatches | Similar)
            ),
            _ => false,
        }
    }

    /// `[NOT] IN|BETWEEN|LIKE|ILIKE|MATCHES|IMATCHES|SIMILAR TO`, `IS [NOT] NULL`
    /// after `lhs`, which is moved, never copied (chains stay linear).
    fn predicate(&mut self, lhs: Expr) -> Postfix {
        match self.predicate_kind(&lhs) {
            Some(Some(build)) => {
                let span = lhs.span.to(self.prev_span());
                Postfix::Done(Expr::new(build(Box::new(lhs)), span))
            }
            Some(None) => Postfix::NotPredicate(lhs),
            None => Postfix::Failed,
        }
    }

    /// Parses the part after the operand and returns how to build the node.
    fn predicate_kind(&mut self, _lhs: &Expr) -> Option<Option<Builder>> {
        let negated = self.at_keyword(Keyword::Not)
            && matches!(
                self.keyword_at(1),
                Some(
                    Keyword::In
                        | Keyword::Between
                        | Keyword::Like
                        | Keyword::Ilike
                        | Keyword::Matches
                        | Keyword::Imatches
                        | Keyword::Similar
                )
            );
        let k = if negated {
            self.keyword_at(1)
        } else {
            self.keyword()
        };
        let kind: Builder = match k {
            Some(Keyword::In) => {
                self.pos += 1 + usize::from(negated);
                self.expect(&TokenKind::LParen)?;
                let mut list = Vec::new();
                if self.peek().kind != TokenKind::RParen {
                    loop {
                        list.push(self.expr(0)?);
                        if !self.eat(&TokenKind::Comma) {
                            break;
                        }
                    }
                }
                self.expect(&TokenKind::RParen)?;
                Box::new(move |expr| ExprKind::InList {
                    expr,
                    list,
                    negated,
                })
            }
            Some(Keyword::Between) => {
                self.pos += 1 + usize::from(negated);
                let low = self.expr(PREC_COMPARE)?;
                self.expect_keyword(Keyword::And)?;
                let high = self.expr(PREC_COMPARE)?;
                Box::new(move |expr| ExprKind::Between {
                    expr,
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                })
            }
            Some(
                kw @ (Keyword::Like
                | Keyword::Ilike
                | Keyword::Matches
                | Keyword::Imatches
                | Keyword::Similar),
            ) => {
                self.pos += 1 + usize::from(negated);
                let op = match kw {
                    Keyword::Like => MatchOp::Like,
                    Keyword::Ilike => MatchOp::ILike,
                    Keyword::Matches => MatchOp::Matches,
                    Keyword::Imatches => MatchOp::IMatches,
                    _ => {
                        self.expect_keyword(Keyword::To)?;
                        MatchOp::SimilarTo
                    }
                };
                let pattern = self.expr(PREC_COMPARE)?;
                let escape = if self.eat_keyword(Keyword::Escape) {
                    Some(Box::new(self.expr(PREC_COMPARE)?))
                } else {
                    None
                };
                Box::new(move |expr| ExprKind::Match {
                    expr,
                    op,
                    pattern: Box::new(pattern),
                    escape,
                    negated,
                })
            }
            Some(Keyword::Is) if !negated => {
                self.pos += 1;
                let negated = self.eat_keyword(Keyword::Not);
                self.expect_keyword(Keyword::Null)?;
                Box::new(move |expr| ExprKind::IsNull { expr, negated })
            }
            _ => return Some(None),
        };
        Some(Some(kind))
    }

    fn prefix(&mut self) -> Option<Expr> {
        let t = self.peek().clone();
        let start = t.span;
        let kind = match &t.kind {
            TokenKind::Str(s) => {
                self.next_token();
                ExprKind::Literal(Literal::Str(s.clone()))
            }
            TokenKind::Int(n) => {
                self.next_token();
                if let Some(unit) = self.keyword().and_then(Keyword::time_unit) {
                    self.next_token();
                    ExprKind::Interval { count: *n, unit }
                } else {
                    ExprKind::Literal(Literal::Int(*n))
                }
            }
            TokenKind::HexInt(n) => {
                self.next_token();
                ExprKind::Literal(Literal::Hex(*n))
            }
            TokenKind::Float(x) => {
                self.next_token();
                ExprKind::Literal(Literal::Float(*x))
            }
            TokenKind::QuotedIdent(s) => {
                self.next_token();
                ExprKind::Field {
                    name: s.clone(),
                    quoted: true,
                }
            }
            TokenKind::LParen => {
                self.next_token();
                let inner = self.expr(0)?;
                self.expect(&TokenKind::RParen)?;
                ExprKind::Nested(Box::new(inner))
            }
            TokenKind::Minus | TokenKind::Plus => {
                self.next_token();
                let op = if t.kind == TokenKind::Minus {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Plus
                };
                let e = self.expr(PREC_UNARY)?;
                ExprKind::Unary {
                    op,
                    expr: Box::new(e),
                }
            }
            TokenKind::Word(Some(Keyword::Not)) => {
                self.next_token();
                let e = self.expr(PREC_NOT)?;
                ExprKind::Unary {
                    op: UnaryOp::Not,
                    expr: Box::new(e),
                }
            }
            TokenKind::Word(Some(Keyword::True)) => {
                self.next_token();
                ExprKind::Literal(Literal::Bool(true))
            }
            TokenKind::Word(Some(Keyword::False)) => {
                self.next_token();
                ExprKind::Literal(Literal::Bool(false))
            }
            TokenKind::Word(Some(Keyword::Null)) => {
                self.next_token();
                ExprKind::Literal(Literal::Null)
            }
            TokenKind::Word(Some(Keyword::Case)) => {
                self.next_token();
                self.case()?
            }
            TokenKind::Word(Some(Keyword::If)) => {
                self.next_token();
                let cond = self.expr(0)?;
                self.expect_keyword(Keyword::Then)?;
                let then = self.expr(0)?;
                let otherwise = if self.eat_keyword(Keyword::Else) {
                    Some(Box::new(self.expr(0)?))
                } else {
                    None
                };
                ExprKind::If {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise,
                }
            }
            TokenKind::Word(Some(Keyword::Text)) if self.keyword_at(1) == Some(Keyword::Search) => {
                self.next_token();
                self.next_token();
                let with_eq = self.eat(&TokenKind::Eq);
                match self.next_token().kind {
                    TokenKind::Str(s) => ExprKind::TextSearch { terms: s, with_eq },
                    _ => {
                        self.unread();
                        self.error_expected("the search terms as a string");
                        return None;
                    }
                }
            }
            TokenKind::Word(kw) if kw.is_none_or(|k| !k.is_reserved()) => {
                self.next_token();
                let name = self.text(t.span).to_owned();
                if self.peek().kind == TokenKind::LParen {
                    self.next_token();
                    let args = self.call_args()?;
                    ExprKind::Call {
                        name: Ident { name, span: t.span },
                        args,
                    }
                } else {
                    ExprKind::Field {
                        name,
                        quoted: false,
                    }
                }
            }
            _ => {
                self.error_expected("an expression");
                return None;
            }
        };
        Some(Expr::new(kind, start.to(self.prev_span())))
    }

    fn call_args(&mut self) -> Option<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat(&TokenKind::RParen) {
            return Some(args);
        }
        loop {
            if self.peek().kind == TokenKind::Star
                && matches!(self.peek_at(1).kind, TokenKind::RParen | TokenKind::Comma)
            {
                let s = self.next_token().span;
                args.push(Expr::new(ExprKind::Star, s));
            } else {
                args.push(self.expr(0)?);
            }
            if !self.eat(&TokenKind::Comma) {
                break;
            }
        }
        self.expect(&TokenKind::RParen)?;
        Some(args)
    }

    fn case(&mut self) -> Option<ExprKind> {
        let operand = if self.at_keyword(Keyword::When) {
            None
        } else {
            Some(Box::new(self.expr(0)?))
        };
        let mut arms = Vec::new();
        while self.eat_keyword(Keyword::When) {
            let w = self.expr(0)?;
            self.expect_keyword(Keyword::Then)?;
            let t = self.expr(0)?;
            arms.push((w, t));
        }
        if arms.is_empty() {
            self.error_expected("WHEN");
            return None;
        }
        let otherwise = if self.eat_keyword(Keyword::Else) {
            Some(Box::new(self.expr(0)?))
        } else {
            None
        };
        self.expect_keyword(Keyword::End)?;
        Some(ExprKind::Case {
            operand,
            arms,
            otherwise,
        })
    }
}
