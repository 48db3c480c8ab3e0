//! The AST: faithful to the source (spans, quoting, parentheses), printed back
//! by `Display` in `print.rs`. The engine lowers it to an IR; nothing here is
//! resolved or typed.

use portent_core::Span;

/// A whole AQL statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The SELECT list.
    pub select: Vec<SelectItem>,
    /// The table after FROM.
    pub from: From,
    /// `INTO cursor` (IBM example syntax), kept and ignored.
    pub into: Option<Ident>,
    /// The WHERE condition.
    pub filter: Option<Expr>,
    /// GROUP BY keys.
    pub group_by: Vec<Expr>,
    /// The HAVING condition.
    pub having: Option<Expr>,
    /// ORDER BY keys.
    pub order_by: Vec<OrderItem>,
    /// LIMIT n.
    pub limit: Option<Limit>,
    /// LAST / START ... STOP.
    pub time: Option<TimeClause>,
    /// Trailing `PARAMETERS name=value, ...`.
    pub parameters: Vec<Parameter>,
    /// The whole statement.
    pub span: Span,
}

/// The FROM table.
#[derive(Clone, Debug, PartialEq)]
pub struct From {
    /// Which table.
    pub table: TableName,
    /// The table name's span.
    pub span: Span,
}

/// Tables a query can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableName {
    /// `events`
    Events,
    /// `flows`
    Flows,
}

/// A name with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The text as written (unescaped for quoted names).
    pub name: String,
    /// Where.
    pub span: Span,
}

/// One SELECT list entry.
#[derive(Clone, Debug, PartialEq)]
pub enum SelectItem {
    /// `*`
    Wildcard(Span),
    /// An expression with an optional alias.
    Expr {
        /// The expression.
        expr: Expr,
        /// `AS alias`.
        alias: Option<Alias>,
    },
}

/// An alias after AS.
#[derive(Clone, Debug, PartialEq)]
pub struct Alias {
    /// The alias text.
    pub name: String,
    /// How it was quoted.
    pub quote: Quote,
    /// Where.
    pub span: Span,
}

/// How an alias or name was quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    /// Not quoted.
    Bare,
    /// `'single'`
    Single,
    /// `"double"`
    Double,
}

/// One ORDER BY key.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderItem {
    /// The key.
    pub expr: Expr,
    /// True for DESC.
    pub descending: bool,
    /// True when ASC or DESC was written.
    pub explicit: bool,
    /// `COLLATE 'tag'`.
    pub collate: Option<String>,
}

/// LIMIT n.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    /// n.
    pub value: u64,
    /// Where.
    pub span: Span,
}

/// The time clause.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeClause {
    /// `LAST n unit`
    Last {
        /// n.
        count: u64,
        /// The unit.
        unit: TimeUnit,
        /// Where.
        span: Span,
    },
    /// `START x [STOP y]`
    Range {
        /// Start bound.
        start: TimeBound,
        /// Optional stop bound (defaults to now).
        stop: Option<TimeBound>,
        /// Where.
        span: Span,
    },
}

impl TimeClause {
    /// The clause's span.
    pub fn span(&self) -> Span {
        match self {
            TimeClause::Last { span, .. } | TimeClause::Range { span, .. } => *span,
        }
    }
}

/// A START or STOP bound.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeBound {
    /// The bound's form.
    pub kind: TimeBoundKind,
    /// Where.
    pub span: Span,
}

/// Forms of START/STOP bounds.
#[derive(Clone, Debug, PartialEq)]
pub enum TimeBoundKind {
    /// `'2024-01-02 10:00'` in one of IBM's formats.
    Text(String),
    /// Epoch milliseconds.
    Epoch(i64),
    /// `PARSEDATETIME('1 day ago')`.
    ParseDateTime(String),
}

/// Units of `LAST n unit` and interval literals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// SECONDS (an extension).
    Seconds,
    /// MINUTES
    Minutes,
    /// HOURS
    Hours,
    /// DAYS
    Days,
    /// WEEKS (an extension).
    Weeks,
}

impl TimeUnit {
    /// Milliseconds in one unit.
    pub fn millis(self) -> i64 {
        match self {
            TimeUnit::Seconds => 1_000,
            TimeUnit::Minutes => 60_000,
            TimeUnit::Hours => 3_600_000,
            TimeUnit::Days => 86_400_000,
            TimeUnit::Weeks => 7 * 86_400_000,
        }
    }

    /// Plural upper-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
            TimeUnit::Weeks => "WEEKS",
        }
    }
}

/// `PARAMETERS name=value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// The name.
    pub name: Ident,
    /// The value.
    pub value: Expr,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Its form.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Expression forms.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A field, bare (`sourceip`) or quoted (`"Process Name"`).
    Field {
        /// The name as written.
        name: String,
        /// True when double-quoted.
        quoted: bool,
    },
    /// A literal.
    Literal(Literal),
    /// `1 DAYS`: an interval, the seed query's extension.
    Interval {
        /// How many.
        count: i64,
        /// Of what.
        unit: TimeUnit,
    },
    /// A prefix operator.
    Unary {
        /// Which.
        op: UnaryOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// `a AND b AND c` or `a OR b OR c`: a flat chain, so long Sigma-style
    /// disjunctions do not become deep trees.
    Logical {
        /// AND or OR.
        op: LogicalOp,
        /// Two or more operands, in source order.
        terms: Vec<Expr>,
    },
    /// A binary operator.
    Binary {
        /// Which.
        op: BinaryOp,
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
    /// `x [NOT] IN (a, b)`
    InList {
        /// Tested value.
        expr: Box<Expr>,
        /// Candidates.
        list: Vec<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `x [NOT] BETWEEN a AND b`
    Between {
        /// Tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// NOT BETWEEN.
        negated: bool,
    },
    /// `x [NOT] LIKE|ILIKE|MATCHES|IMATCHES|SIMILAR TO p [ESCAPE e]`
    Match {
        /// Tested value.
        expr: Box<Expr>,
        /// Operator.
        op: MatchOp,
        /// Pattern.
        pattern: Box<Expr>,
        /// ESCAPE clause (LIKE, ILIKE, SIMILAR TO).
        escape: Option<Box<Expr>>,
        /// NOT form.
        negated: bool,
    },
    /// `x IS [NOT] NULL`
    IsNull {
        /// Tested value.
        expr: Box<Expr>,
        /// IS NOT NULL.
        negated: bool,
    },
    /// `TEXT SEARCH 'terms'` (or the older `TEXT SEARCH = 'terms'`).
    TextSearch {
        /// Search terms.
        terms: String,
        /// True for the `=` form.
        with_eq: bool,
    },
    /// A function call.
    Call {
        /// Function name as written.
        name: Ident,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `*` as the argument of COUNT(*).
    Star,
    /// CASE, simple (`CASE x WHEN v`) or searched (`CASE WHEN cond`).
    Case {
        /// The operand of the simple form.
        operand: Option<Box<Expr>>,
        /// WHEN ... THEN ... arms.
        arms: Vec<(Expr, Expr)>,
        /// ELSE.
        otherwise: Option<Box<Expr>>,
    },
    /// `IF c THEN a ELSE b` (no END).
    If {
        /// Condition.
        cond: Box<Expr>,
        /// Value when true.
        then: Box<Expr>,
        /// Value otherwise.
        otherwise: Option<Box<Expr>>,
    },
    /// A parenthesised expression, kept so printing is faithful.
    Nested(Box<Expr>),
}

/// Literal values.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `'text'`
    Str(String),
    /// `42`
    Int(i64),
    /// `0x2a`
    Hex(i64),
    /// `1.5`
    Float(f64),
    /// TRUE / FALSE
    Bool(bool),
    /// NULL
    Null,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// NOT
    Not,
    /// `-`
    Neg,
    /// `+`
    Plus,
}

/// AND and OR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogicalOp {
    /// OR
    Or,
    /// AND
    And,
}

impl LogicalOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalOp::Or => "OR",
            LogicalOp::And => "AND",
        }
    }

    /// Binding power (see [`BinaryOp::precedence`]).
    pub fn precedence(self) -> u8 {
        match self {
            LogicalOp::Or => 1,
            LogicalOp::And => 2,
        }
    }
}

/// Binary operators other than AND and OR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `=`
    Eq,
    /// `==`
    EqEq,
    /// `!=`
    NotEq,
    /// `<>`
    LtGt,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `&` (bitwise and)
    BitAnd,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^` (power)
    Pow,
}

impl BinaryOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Eq => "=",
            BinaryOp::EqEq => "==",
            BinaryOp::NotEq => "!=",
            BinaryOp::LtGt => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::BitAnd => "&",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
        }
    }

    /// Binding power: higher binds tighter. The one precedence table.
    ///
    /// OR (1) < AND (2) < NOT < comparisons and predicates < `&` < `+ -` < `* / %` < `^`.
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Eq
            | BinaryOp::EqEq
            | BinaryOp::NotEq
            | BinaryOp::LtGt
            | BinaryOp::Lt
            | BinaryOp::LtEq
            | BinaryOp::Gt
            | BinaryOp::GtEq => PREC_COMPARE,
            BinaryOp::BitAnd => 5,
            BinaryOp::Add | BinaryOp::Sub => 6,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 7,
            BinaryOp::Pow => 8,
        }
    }

    /// True for `= == != <> < <= > >=`.
    pub fn is_comparison(self) -> bool {
        self.precedence() == PREC_COMPARE
    }
}

/// Precedence of NOT: binds looser than comparisons, tighter than AND.
pub const PREC_NOT: u8 = 3;
/// Precedence of comparisons, IN, BETWEEN, LIKE and IS NULL.
pub const PREC_COMPARE: u8 = 4;
/// Precedence of unary minus and plus.
pub const PREC_UNARY: u8 = 9;

/// Pattern-matching operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// LIKE (case-sensitive)
    Like,
    /// ILIKE (case-insensitive)
    ILike,
    /// MATCHES (regex, case-sensitive)
    Matches,
    /// IMATCHES (regex, case-insensitive)
    IMatches,
    /// SIMILAR TO (SQL regex, PostgreSQL semantics)
    SimilarTo,
}

impl MatchOp {
    /// The operator's text.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Like => "LIKE",
            MatchOp::ILike => "ILIKE",
            MatchOp::Matches => "MATCHES",
            MatchOp::IMatches => "IMATCHES",
            MatchOp::SimilarTo => "SIMILAR TO",
        }
    }
}

impl Expr {
    /// A new expression.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Field { .. }
            | ExprKind::Literal(_)
            | ExprKind::Interval { .. }
            | ExprKind::TextSearch { .. }
            | ExprKind::Star => {}
            ExprKind::Unary { expr, .. }
            | ExprKind::IsNull { expr, .. }
            | ExprKind::Nested(expr) => expr.walk(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            ExprKind::Logical { terms, .. } => terms.iter().for_each(|e| e.walk(f)),
            ExprKind::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            ExprKind::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            ExprKind::Match {
                expr,
                pattern,
                escape,
                ..
            } => {
                expr.walk(f);
                pattern.walk(f);
                if let Some(e) = escape {
                    e.walk(f);
                }
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|e| e.walk(f)),
            ExprKind::Case {
                operand,
                arms,
                otherwise,
            } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in arms {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
            ExprKind::If {
                cond,
                then,
                otherwise,
            } => {
                cond.walk(f);
                then.walk(f);
                if let Some(o) = otherwise {
                    o.walk(f);
                }
            }
        }
    }

    /// The expression without redundant parentheses around it.
    pub fn unnested(&self) -> &Expr {
        match &self.kind {
            ExprKind::Nested(inner) => inner.unnested(),
            _ => self,
        }
    }
}
