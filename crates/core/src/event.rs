//! The event interface the engine evaluates against, and a dense record type.

use crate::schema::FieldId;
use crate::value::Value;

/// One event, as the engine sees it: field values looked up by id.
///
/// Implementations borrow their strings from the input where they can; the
/// engine never needs an event to own its data.
pub trait Event {
    /// The value of `field`, or [`Value::Null`] when the event does not have it.
    fn get(&self, field: FieldId) -> Value<'_>;

    /// Calls `f` for every field the event has, known to the schema or not
    /// (for `SELECT *` and `TEXT SEARCH`).
    fn for_each(&self, f: &mut dyn FnMut(FieldRef<'_>, &Value<'_>));

    /// True for a row of the `flows` table (network flows) rather than `events`.
    fn is_flow(&self) -> bool {
        false
    }
}

/// A field as [`Event::for_each`] reports it.
#[derive(Clone, Copy, Debug)]
pub enum FieldRef<'a> {
    /// A field the schema knows.
    Id(FieldId),
    /// A field no compiled query asked for, by its source name.
    Name(&'a str),
}

/// A dense event: one slot per schema field, plus named extras.
#[derive(Clone, Debug, Default)]
pub struct Record<'a> {
    slots: Vec<Value<'a>>,
    /// Fields past `slots`, by id, sorted: see [`Record::compact`].
    sparse: Vec<(u32, Value<'a>)>,
    extras: Vec<(String, Value<'a>)>,
    flow: bool,
}

impl<'a> Record<'a> {
    /// An empty record.
    pub fn new() -> Record<'a> {
        Record {
            slots: Vec::new(),
            sparse: Vec::new(),
            extras: Vec::new(),
            flow: false,
        }
    }

    /// An empty record with room for `fields` slots.
    pub fn with_capacity(fields: usize) -> Record<'a> {
        Record {
            slots: Vec::with_capacity(fields),
            sparse: Vec::new(),
            extras: Vec::new(),
            flow: false,
        }
    }

    /// Sets `field`.
    pub fn set(&mut self, field: FieldId, value: Value<'a>) {
        let i = field.index();
        if !self.sparse.is_empty() && i >= self.slots.len() {
            match self.sparse.binary_search_by_key(&field.0, |(k, _)| *k) {
                Ok(at) => self.sparse[at].1 = value,
                Err(at) => self.sparse.insert(at, (field.0, value)),
            }
            return;
        }
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Value::Null);
        }
        self.slots[i] = value;
    }

    /// Keeps a field no query asked for, under its source name.
    pub fn set_extra(&mut self, name: impl Into<String>, value: Value<'a>) {
        self.extras.push((name.into(), value));
    }

    /// Clears all fields, keeping the allocation (for reuse across events).
    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|v| *v = Value::Null);
        self.sparse.clear();
        self.extras.clear();
    }

    /// Makes a record that is kept (a candidate waiting for its rules) cost
    /// what it holds: slots are dense up to the highest field set, and with
    /// thousands of rules the schema has thousands of fields, so the fields
    /// past the first `dense` are moved to a sorted list of those set.
    /// Reading is the same; a lookup there is a binary search.
    pub fn compact(&mut self, dense: usize) {
        if self.slots.len() > dense {
            for (i, v) in self.slots.drain(dense..).enumerate() {
                if !v.is_null() {
                    self.sparse.push(((dense + i) as u32, v));
                }
            }
            self.sparse.sort_unstable_by_key(|(k, _)| *k);
        }
        self.slots.shrink_to_fit();
        self.sparse.shrink_to_fit();
        self.extras.shrink_to_fit();
    }

    /// Copies every value so the record outlives its input.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            slots: self.slots.into_iter().map(Value::into_owned).collect(),
            sparse: self
                .sparse
                .into_iter()
                .map(|(k, v)| (k, v.into_owned()))
                .collect(),
            extras: self
                .extras
                .into_iter()
                .map(|(k, v)| (k, v.into_owned()))
                .collect(),
            flow: self.flow,
        }
    }

    /// Keeps only `fields` (sorted ascending), the first `dense` of them in
    /// slots and the rest in the sparse list; names the schema does not know
    /// are dropped. For a copy kept a while: it holds what its readers need
    /// and no more.
    pub fn retain(&mut self, fields: &[FieldId], dense: usize) {
        let mut slots = Vec::new();
        let mut sparse = Vec::new();
        for f in fields {
            let v = match self.slots.get_mut(f.index()) {
                Some(v) => std::mem::replace(v, Value::Null),
                None => match self.sparse.binary_search_by_key(&f.0, |(k, _)| *k) {
                    Ok(at) => std::mem::replace(&mut self.sparse[at].1, Value::Null),
                    Err(_) => Value::Null,
                },
            };
            if v.is_null() {
                continue;
            }
            if f.index() < dense {
                if slots.len() <= f.index() {
                    slots.resize(f.index() + 1, Value::Null);
                }
                slots[f.index()] = v;
            } else {
                sparse.push((f.0, v));
            }
        }
        slots.shrink_to_fit();
        sparse.shrink_to_fit();
        self.slots = slots;
        self.sparse = sparse;
        self.extras = Vec::new();
    }

    /// Marks the record as a row of the `flows` table.
    pub fn set_flow(&mut self, flow: bool) {
        self.flow = flow;
    }
}

impl Event for Record<'_> {
    fn get(&self, field: FieldId) -> Value<'_> {
        match self.slots.get(field.index()) {
            Some(v) => v.reborrow(),
            None if self.sparse.is_empty() => Value::Null,
            None => match self.sparse.binary_search_by_key(&field.0, |(k, _)| *k) {
                Ok(at) => self.sparse[at].1.reborrow(),
                Err(_) => Value::Null,
            },
        }
    }

    fn for_each(&self, f: &mut dyn FnMut(FieldRef<'_>, &Value<'_>)) {
        for (i, v) in self.slots.iter().enumerate() {
            if !v.is_null() {
                f(FieldRef::Id(FieldId(i as u32)), v);
            }
        }
        for (i, v) in &self.sparse {
            if !v.is_null() {
                f(FieldRef::Id(FieldId(*i)), v);
            }
        }
        for (k, v) in &self.extras {
            f(FieldRef::Name(k), v);
        }
    }

    fn is_flow(&self) -> bool {
        self.flow
    }
}

impl<E: Event + ?Sized> Event for &E {
    fn get(&self, field: FieldId) -> Value<'_> {
        (**self).get(field)
    }

    fn for_each(&self, f: &mut dyn FnMut(FieldRef<'_>, &Value<'_>)) {
        (**self).for_each(f)
    }

    fn is_flow(&self) -> bool {
        (**self).is_flow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_get_set_and_iterate() {
        let mut r = Record::new();
        r.set(FieldId(3), Value::Int(7));
        r.set_extra("Foo", Value::str("bar"));
        assert_eq!(r.get(FieldId(3)), Value::Int(7));
        assert_eq!(r.get(FieldId(99)), Value::Null);
        let mut seen = 0;
        r.for_each(&mut |_, _| seen += 1);
        assert_eq!(seen, 2);
        r.clear();
        assert_eq!(r.get(FieldId(3)), Value::Null);
    }

    #[test]
    fn retained_records_keep_exactly_the_fields_asked_for() {
        let mut r = Record::new();
        for i in [1u32, 5, 90, 300, 2000] {
            r.set(FieldId(i), Value::Int(i64::from(i)));
        }
        r.compact(50);
        r.set_extra("X", Value::str("y"));
        r.retain(&[FieldId(1), FieldId(7), FieldId(300), FieldId(2000)], 10);
        for (i, want) in [
            (1, Some(1)),
            (5, None),
            (7, None),
            (90, None),
            (300, Some(300)),
            (2000, Some(2000)),
        ] {
            let got = r.get(FieldId(i));
            assert_eq!(got, want.map_or(Value::Null, Value::Int), "field {i}");
        }
        let mut seen = 0;
        r.for_each(&mut |_, _| seen += 1);
        assert_eq!(seen, 3, "the name-only field is gone too");
    }

    #[test]
    fn compacted_records_read_and_write_the_same() {
        let mut r = Record::new();
        for i in [1u32, 5, 90, 300, 2000] {
            r.set(FieldId(i), Value::Int(i64::from(i)));
        }
        r.set_extra("X", Value::str("y"));
        let mut before = Vec::new();
        r.for_each(&mut |f, v| before.push(format!("{f:?}={v:?}")));
        r.compact(64);
        let mut after = Vec::new();
        r.for_each(&mut |f, v| after.push(format!("{f:?}={v:?}")));
        assert_eq!(before, after);
        for i in [1u32, 5, 90, 300, 2000] {
            assert_eq!(r.get(FieldId(i)), Value::Int(i64::from(i)));
        }
        assert_eq!(r.get(FieldId(301)), Value::Null);
        r.set(FieldId(301), Value::Int(7));
        r.set(FieldId(90), Value::Int(8));
        r.set(FieldId(2), Value::Int(9));
        assert_eq!(
            (r.get(FieldId(301)), r.get(FieldId(90)), r.get(FieldId(2))),
            (Value::Int(7), Value::Int(8), Value::Int(9))
        );
    }
}
