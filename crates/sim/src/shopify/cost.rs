//! Query cost as Shopify publishes it (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits,
//! shared/notes/shopify.md §3), worked out against the schema rather than the query's shape:
//! a field returning a scalar or enum costs 0, an object 1, an interface or union 1 plus its
//! dearest fragment, a connection 2 plus `first` (or `last`) times one node (its `pageInfo` and
//! `edges` wrappers included in the 2), a mutation 10. The requested cost is reserved before
//! a query runs; the actual cost counts what came back (objects that were null, and items a
//! connection did not have, cost nothing) and the difference is refunded.

use std::collections::HashMap;

use graphql_parser::query::{Field, Selection, SelectionSet, Value as GqlValue};
use serde_json::Value;

use super::schema::{Kind, Schema};

pub const MAX_QUERY_COST: u64 = 1_000;
pub const MUTATION_COST: u64 = 10;
pub const MAX_PAGE: u64 = 250;

pub type Fragments<'a> =
    HashMap<&'a str, &'a graphql_parser::query::FragmentDefinition<'static, String>>;

/// A query the sim refuses, with Shopify's error code.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub message: String,
    pub code: &'static str,
}

fn refuse(code: &'static str, message: String) -> Refusal {
    Refusal { message, code }
}

pub struct Coster<'a> {
    pub schema: &'a Schema,
    pub variables: &'a Value,
    pub fragments: &'a Fragments<'a>,
}

impl Coster<'_> {
    /// What a query asks for, checked field by field against the schema.
    pub fn requested(&self, ty: &str, set: &SelectionSet<'static, String>) -> Result<u64, Refusal> {
        let mut plain = 0;
        let mut typed = 0;
        for sel in &set.items {
            match sel {
                Selection::Field(f) => plain += self.field(ty, f)?,
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        Some(graphql_parser::query::TypeCondition::On(t)) => t.as_str(),
                        None => ty,
                    };
                    let c = self.requested(on, &i.selection_set)?;
                    if on == ty {
                        plain += c;
                    } else {
                        typed = typed.max(c);
                    }
                }
                Selection::FragmentSpread(s) => {
                    let f = self
                        .fragments
                        .get(s.fragment_name.as_str())
                        .ok_or_else(|| {
                            refuse(
                                "undefinedFragment",
                                format!("Fragment {} was used, but not defined", s.fragment_name),
                            )
                        })?;
                    let graphql_parser::query::TypeCondition::On(on) = &f.type_condition;
                    typed = typed.max(self.requested(on, &f.selection_set)?);
                }
            }
        }
        Ok(plain + typed)
    }

    fn field(&self, ty: &str, f: &Field<'static, String>) -> Result<u64, Refusal> {
        if f.name == "__typename" {
            return Ok(0);
        }
        let field = self.schema.field(ty, &f.name).ok_or_else(|| {
            refuse(
                "undefinedField",
                format!("Field '{}' doesn't exist on type '{ty}'", f.name),
            )
        })?;
        for (arg, _) in &f.arguments {
            if !field.args.contains(arg) {
                return Err(refuse(
                    "argumentNotAccepted",
                    format!("Field '{}' doesn't accept argument '{arg}'", f.name),
                ));
            }
        }
        let inner = field.ty.as_str();
        match self.schema.kind(inner) {
            Some(Kind::Scalar | Kind::Enum) => Ok(0),
            _ if self.schema.is_connection(inner) => {
                let size = self.size(f)?;
                Ok(2 + size * self.node(inner, &f.selection_set)?)
            }
            _ => Ok(1 + self.requested(inner, &f.selection_set)?),
        }
    }

    /// One node of a connection: `nodes { … }` or `edges { node { … } }`, the dearer.
    fn node(&self, connection: &str, set: &SelectionSet<'static, String>) -> Result<u64, Refusal> {
        let node_ty = self
            .schema
            .field(connection, "nodes")
            .map(|f| f.ty.clone())
            .unwrap_or_default();
        let edge_ty = self
            .schema
            .field(connection, "edges")
            .map(|f| f.ty.clone())
            .unwrap_or_default();
        let mut node = 0;
        for f in fields(set, self.fragments) {
            match f.name.as_str() {
                "nodes" => node = node.max(1 + self.requested(&node_ty, &f.selection_set)?),
                "edges" => {
                    for e in fields(&f.selection_set, self.fragments) {
                        if e.name == "node" {
                            node = node.max(1 + self.requested(&node_ty, &e.selection_set)?);
                        } else if self.schema.field(&edge_ty, &e.name).is_none() {
                            return Err(refuse(
                                "undefinedField",
                                format!("Field '{}' doesn't exist on type '{edge_ty}'", e.name),
                            ));
                        }
                    }
                }
                "pageInfo" | "__typename" => {}
                other => {
                    return Err(refuse(
                        "undefinedField",
                        format!("Field '{other}' doesn't exist on type '{connection}'"),
                    ));
                }
            }
        }
        Ok(node)
    }

    fn size(&self, f: &Field<'static, String>) -> Result<u64, Refusal> {
        let asked = f
            .arguments
            .iter()
            .find(|(a, _)| a == "first" || a == "last")
            .map(|(_, v)| match v {
                GqlValue::Int(n) => n.as_i64(),
                GqlValue::Variable(name) => self.variables[name.as_str()].as_i64(),
                _ => None,
            });
        match asked {
            Some(Some(n)) if (0..=MAX_PAGE as i64).contains(&n) => Ok(n as u64),
            Some(Some(n)) => Err(refuse(
                "argumentLiteralsIncompatible",
                format!(
                    "The maximum number of items for `{}` is {MAX_PAGE}; {n} was asked",
                    f.name
                ),
            )),
            _ => Err(refuse(
                "missingRequiredArguments",
                format!("you must provide one of first or last for `{}`", f.name),
            )),
        }
    }

    /// What an answer cost: the same rules over what came back.
    pub fn actual(&self, ty: &str, set: &SelectionSet<'static, String>, data: &Value) -> u64 {
        let mut total = 0;
        for f in fields(set, self.fragments) {
            let key = f.alias.as_deref().unwrap_or(&f.name);
            let v = &data[key];
            let Some(field) = self.schema.field(ty, &f.name) else {
                continue;
            };
            let inner = field.ty.as_str();
            if v.is_null() || matches!(self.schema.kind(inner), Some(Kind::Scalar | Kind::Enum)) {
                continue;
            }
            if self.schema.is_connection(inner) {
                let node_ty = self
                    .schema
                    .field(inner, "nodes")
                    .map(|f| f.ty.clone())
                    .unwrap_or_default();
                let mut nodes = 0;
                for c in fields(&f.selection_set, self.fragments) {
                    let key = c.alias.as_deref().unwrap_or(&c.name);
                    let items = v[key].as_array().map(Vec::as_slice).unwrap_or_default();
                    let sum: u64 = match c.name.as_str() {
                        "nodes" => items
                            .iter()
                            .map(|n| 1 + self.actual(&node_ty, &c.selection_set, n))
                            .sum(),
                        "edges" => fields(&c.selection_set, self.fragments)
                            .into_iter()
                            .filter(|e| e.name == "node")
                            .map(|e| {
                                items
                                    .iter()
                                    .map(|edge| {
                                        1 + self.actual(&node_ty, &e.selection_set, &edge["node"])
                                    })
                                    .sum::<u64>()
                            })
                            .max()
                            .unwrap_or(0),
                        _ => 0,
                    };
                    nodes = nodes.max(sum);
                }
                total += 2 + nodes;
            } else if let Some(items) = v.as_array() {
                total += 1 + items
                    .iter()
                    .map(|i| self.actual(inner, &f.selection_set, i))
                    .max()
                    .unwrap_or(0);
            } else {
                total += 1 + self.actual(inner, &f.selection_set, v);
            }
        }
        total
    }
}

/// The fields of a selection set, with fragments flattened.
pub fn fields<'s>(
    set: &'s SelectionSet<'static, String>,
    fragments: &Fragments<'s>,
) -> Vec<&'s Field<'static, String>> {
    let mut out = Vec::new();
    for sel in &set.items {
        match sel {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(i) => out.extend(fields(&i.selection_set, fragments)),
            Selection::FragmentSpread(s) => {
                if let Some(f) = fragments.get(s.fragment_name.as_str()) {
                    out.extend(fields(&f.selection_set, fragments));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cost(q: &str, vars: Value) -> Result<u64, Refusal> {
        let doc = graphql_parser::parse_query::<String>(q)
            .unwrap()
            .into_static();
        let schema = Schema::admin();
        let fragments = Fragments::new();
        let c = Coster {
            schema,
            variables: &vars,
            fragments: &fragments,
        };
        match &doc.definitions[0] {
            graphql_parser::query::Definition::Operation(
                graphql_parser::query::OperationDefinition::Query(q),
            ) => c.requested(&schema.query, &q.selection_set),
            graphql_parser::query::Definition::Operation(
                graphql_parser::query::OperationDefinition::SelectionSet(s),
            ) => c.requested(&schema.query, s),
            _ => panic!("a query"),
        }
    }

    /// By hand: 2 + 250 × (order 1 + customer 1 + address 1 + (2 + 10 × (FO 1 + assigned 1 +
    /// location 1 + (2 + 50 × (line 1 + variant 1))))) = 2 + 250 × 1,055 = 263,752.
    #[test]
    fn requested_cost_follows_the_published_rules() {
        let q = "query { orders(first: 250) { pageInfo { hasNextPage } nodes { id name customer { displayName } shippingAddress { zip }
            fulfillmentOrders(first: 10) { nodes { id status assignedLocation { location { id } }
              lineItems(first: 50) { edges { cursor node { id sku variant { barcode } } } } } } } } }";
        assert_eq!(cost(q, json!({})), Ok(263_752));
        assert_eq!(cost("{ shop { name } }", json!({})), Ok(1));
    }

    #[test]
    fn unsized_unknown_and_oversized_are_refused() {
        let unsized_ = cost("{ orders { nodes { id } } }", json!({})).unwrap_err();
        assert_eq!(unsized_.code, "missingRequiredArguments");
        let unknown = cost("{ orders(first: 1) { nodes { nmae } } }", json!({})).unwrap_err();
        assert_eq!(unknown.code, "undefinedField");
        let big = cost(
            "query Q($n: Int) { orders(first: $n) { nodes { id } } }",
            json!({"n": 251}),
        )
        .unwrap_err();
        assert_eq!(big.code, "argumentLiteralsIncompatible");
    }
}
