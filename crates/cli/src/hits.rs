//! Where a hunt's hits go: written as they are found, so memory does not
//! grow with their number, or kept when the output needs them all at once
//! (the table's column widths, the beacon view, tuning suggestions).

use crate::output::{Projection, RowWriter, Sheet};
use serde_json::Value as J;

/// Where a hit sorts among the kept ones: its rule (correlations and
/// findings after every rule), then hits before held-back ones shown for
/// review, then input order (rows a rule only gives at its end, grouped or
/// sorted, after its others).
pub type Key = (usize, u8, u64);

/// The hits' destination, and the HTML report that sees every hit too.
pub struct Hits<'w, 'o> {
    dest: Dest<'w, 'o>,
    report: Option<&'w mut crate::report::Report>,
}

enum Dest<'w, 'o> {
    /// Kept, and put in rule order by [`Hits::into_sheet`].
    Kept { sheet: Sheet, keys: Vec<Key> },
    /// Written at once, in the order they are found (only the columns of
    /// `projection`, when there is one).
    Written {
        writer: &'w mut RowWriter<'o>,
        projection: Option<Projection>,
    },
}

impl<'w, 'o> Hits<'w, 'o> {
    /// Kept hits whose first columns are `columns`.
    pub fn kept(columns: Vec<String>) -> Hits<'w, 'o> {
        Hits {
            dest: Dest::Kept {
                sheet: Sheet::new(columns),
                keys: Vec::new(),
            },
            report: None,
        }
    }

    /// Hits written at once by `writer` (only the columns of `projection`,
    /// when there is one).
    pub fn written(writer: &'w mut RowWriter<'o>, projection: Option<Projection>) -> Hits<'w, 'o> {
        Hits {
            dest: Dest::Written { writer, projection },
            report: None,
        }
    }

    /// Also gives every hit, with all its columns, to `report`.
    pub fn with_report(mut self, report: Option<&'w mut crate::report::Report>) -> Hits<'w, 'o> {
        self.report = report;
        self
    }

    /// Adds a hit. False when the output can take no more (a write failed).
    pub fn push(&mut self, key: Key, cells: Vec<(String, J)>) -> bool {
        if let Some(r) = self.report.as_deref_mut() {
            r.push(&cells);
        }
        match &mut self.dest {
            Dest::Kept { sheet, keys } => {
                sheet.push(cells);
                keys.push(key);
                true
            }
            Dest::Written {
                writer,
                projection: Some(p),
            } => writer.write(p.apply(&cells)),
            Dest::Written { writer, .. } => writer.write(cells),
        }
    }

    /// The kept hits in rule order, input order within a rule (written
    /// ones: an empty sheet).
    pub fn into_sheet(self) -> Sheet {
        match self.dest {
            Dest::Kept { mut sheet, keys } => {
                let mut order: Vec<usize> = (0..keys.len()).collect();
                order.sort_by_key(|i| keys[*i]);
                let mut rows: Vec<Option<Vec<J>>> = sheet.rows.drain(..).map(Some).collect();
                sheet.rows = order.iter().filter_map(|i| rows[*i].take()).collect();
                sheet
            }
            Dest::Written { .. } => Sheet::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kept_hits_come_out_by_rule_then_input_order_whatever_order_they_came_in() {
        let mut h = Hits::kept(vec!["n".into()]);
        for (key, n) in [
            ((1, 0, 5), 4),
            ((0, 1, 1), 2),
            ((0, 0, 9), 1),
            ((1, 0, u64::MAX), 5),
            ((0, 0, 3), 0),
            ((1, 0, 2), 3),
        ] {
            assert!(h.push(key, vec![("n".into(), json!(n))]));
        }
        let sheet = h.into_sheet();
        let got: Vec<J> = sheet.rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(got, (0..6).map(|n| json!(n)).collect::<Vec<_>>());
    }
}
