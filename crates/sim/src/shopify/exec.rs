//! Answers a query's selections from the sim's objects: each object is kept whole as JSON
//! (its connections as plain lists), and a query takes from it exactly the fields it selected,
//! under their aliases, with each connection cut to the page it asked for (`first`, `last`,
//! `after`, `before`) and given its `pageInfo`, `nodes` and `edges`. So the sim answers any
//! query shape the client may send, not only the ones it was written for.

use graphql_parser::query::{Field, SelectionSet, Value as GqlValue};
use serde_json::{Map, Value, json};

use super::cost::{Fragments, fields};

pub struct Exec<'a> {
    pub variables: &'a Value,
    pub fragments: &'a Fragments<'a>,
}

/// Cursors are the position after an item, as text (Shopify's are opaque too).
pub fn cursor(position: usize) -> String {
    format!("cursor-{position}")
}

fn position(cursor: &str) -> Option<usize> {
    cursor.strip_prefix("cursor-")?.parse().ok()
}

impl Exec<'_> {
    pub fn arg(&self, f: &Field<'static, String>, name: &str) -> Value {
        f.arguments
            .iter()
            .find(|(a, _)| a == name)
            .map(|(_, v)| self.value(v))
            .unwrap_or(Value::Null)
    }

    fn value(&self, v: &GqlValue<'static, String>) -> Value {
        match v {
            GqlValue::Variable(n) => self.variables[n.as_str()].clone(),
            GqlValue::Int(n) => n.as_i64().map_or(Value::Null, Value::from),
            GqlValue::Float(x) => json!(x),
            GqlValue::String(s) => Value::String(s.clone()),
            GqlValue::Boolean(b) => Value::Bool(*b),
            GqlValue::Null => Value::Null,
            GqlValue::Enum(e) => Value::String(e.clone()),
            GqlValue::List(l) => Value::Array(l.iter().map(|x| self.value(x)).collect()),
            GqlValue::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), self.value(x)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    /// The selected fields of a whole object.
    pub fn project(&self, whole: &Value, set: &SelectionSet<'static, String>) -> Value {
        if whole.is_null() {
            return Value::Null;
        }
        let mut out = Map::new();
        for f in fields(set, self.fragments) {
            let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
            let v = &whole[f.name.as_str()];
            let answer = if f.selection_set.items.is_empty() {
                v.clone()
            } else if self.is_page(f) {
                let items = v.as_array().map(Vec::as_slice).unwrap_or_default();
                self.page(f, items, 0, None)
            } else if let Some(items) = v.as_array() {
                Value::Array(
                    items
                        .iter()
                        .map(|i| self.project(i, &f.selection_set))
                        .collect(),
                )
            } else {
                self.project(v, &f.selection_set)
            };
            out.insert(key, answer);
        }
        Value::Object(out)
    }

    /// A field asked for by page (a connection: Shopify requires `first` or `last`).
    pub fn is_page(&self, f: &Field<'static, String>) -> bool {
        f.arguments.iter().any(|(a, _)| a == "first" || a == "last")
    }

    /// One page of a connection. `items` starts at position `offset` of the whole list;
    /// `more` says whether items follow the slice when the caller cut it already.
    pub fn page(
        &self,
        f: &Field<'static, String>,
        items: &[Value],
        offset: usize,
        more: Option<bool>,
    ) -> Value {
        let after = self.arg(f, "after").as_str().and_then(position);
        let before = self.arg(f, "before").as_str().and_then(position);
        let start = after
            .unwrap_or(offset)
            .saturating_sub(offset)
            .min(items.len());
        let end = before
            .map(|b| b.saturating_sub(1).saturating_sub(offset))
            .unwrap_or(items.len())
            .clamp(start, items.len());
        let (mut from, mut to) = (start, end);
        if let Some(n) = self.arg(f, "first").as_u64() {
            to = to.min(from + n as usize);
        }
        if let Some(n) = self.arg(f, "last").as_u64() {
            from = from.max(to.saturating_sub(n as usize));
        }
        let window = &items[from..to];
        let has_next = to < items.len() || more.unwrap_or(false);
        let whole = json!({
            "pageInfo": {
                "hasNextPage": has_next,
                "hasPreviousPage": offset + from > 0,
                "startCursor": (!window.is_empty()).then(|| cursor(offset + from + 1)),
                "endCursor": (!window.is_empty()).then(|| cursor(offset + to)),
            },
            "nodes": window,
            "edges": window.iter().enumerate()
                .map(|(i, n)| json!({"cursor": cursor(offset + from + i + 1), "node": n}))
                .collect::<Vec<_>>(),
        });
        self.project(&whole, &f.selection_set)
    }
}
