//! What a GraphQL operation will cost before it is sent, by Shopify's published rules
//! (shared/notes/shopify.md §2-3): a scalar or enum field costs 0, an object 1, a connection
//! 2 plus `first` (or `last`) times the cost of one node, nested connections multiplying, and
//! a mutation 10. Shopify refuses any single query whose requested cost is over 1,000 before
//! running it (`MAX_COST_EXCEEDED`), so the client works the cost out from the query text and
//! its variables and never sends one over.
//!
//! This reads the query alone, not the schema: a field with a selection is an object, one
//! with a `first`/`last` argument a connection, whose `pageInfo` and `edges` wrappers are part
//! of its 2. The Shopify sim costs the same queries from the schema instead
//! (`packbench_sim::shopify`), and a test holds the two to the same figures.

use std::collections::HashMap;

use graphql_parser::query::{
    Definition, Document, Field, OperationDefinition, Selection, SelectionSet, Value,
};
use serde_json::Value as Json;

/// Shopify's cap on one query's requested cost.
pub const MAX_QUERY_COST: u64 = 1_000;
/// What a mutation field costs.
pub const MUTATION_COST: u64 = 10;
/// The most items one connection may ask for.
pub const MAX_PAGE: u64 = 250;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error("the query does not parse: {0}")]
    Parse(String),
    #[error("the document has no query or mutation")]
    NoOperation,
    #[error("connection `{field}` needs `first` or `last`")]
    Unsized { field: String },
    #[error("connection `{field}` asks for {asked} items; at most {MAX_PAGE}")]
    PageTooBig { field: String, asked: u64 },
    #[error("`{field}`: variable `${name}` has no integer value")]
    MissingVariable { field: String, name: String },
}

type Fragments<'d> = HashMap<&'d str, &'d SelectionSet<'d, String>>;

/// The requested cost of the document's first operation with these variables.
pub fn requested(document: &str, variables: &Json) -> Result<u64, CostError> {
    let doc: Document<'_, String> =
        graphql_parser::parse_query(document).map_err(|e| CostError::Parse(e.to_string()))?;
    let fragments: Fragments<'_> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name.as_str(), &f.selection_set)),
            _ => None,
        })
        .collect();
    let walk = Walk {
        variables,
        fragments: &fragments,
    };
    for def in &doc.definitions {
        match def {
            Definition::Operation(OperationDefinition::Mutation(m)) => {
                return Ok(fields(&m.selection_set, &fragments).len() as u64 * MUTATION_COST);
            }
            Definition::Operation(OperationDefinition::Query(q)) => {
                return walk.set(&q.selection_set);
            }
            Definition::Operation(OperationDefinition::SelectionSet(s)) => return walk.set(s),
            _ => {}
        }
    }
    Err(CostError::NoOperation)
}

/// The fields of a selection set, with fragment spreads and inline fragments flattened.
fn fields<'d>(
    set: &'d SelectionSet<'d, String>,
    fragments: &Fragments<'d>,
) -> Vec<&'d Field<'d, String>> {
    let mut out = Vec::new();
    for sel in &set.items {
        match sel {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(i) => out.extend(fields(&i.selection_set, fragments)),
            Selection::FragmentSpread(s) => {
                if let Some(set) = fragments.get(s.fragment_name.as_str()) {
                    out.extend(fields(set, fragments));
                }
            }
        }
    }
    out
}

struct Walk<'a, 'd> {
    variables: &'a Json,
    fragments: &'a Fragments<'d>,
}

impl<'d> Walk<'_, 'd> {
    /// The cost of a selection set: its fields summed, and of fragments on different types
    /// (an interface or union) the dearest.
    fn set(&self, set: &'d SelectionSet<'d, String>) -> Result<u64, CostError> {
        let mut plain = 0;
        let mut typed = 0;
        for sel in &set.items {
            match sel {
                Selection::Field(f) => plain += self.field(f)?,
                Selection::InlineFragment(i) if i.type_condition.is_some() => {
                    typed = typed.max(self.set(&i.selection_set)?)
                }
                Selection::InlineFragment(i) => plain += self.set(&i.selection_set)?,
                Selection::FragmentSpread(s) => {
                    if let Some(inner) = self.fragments.get(s.fragment_name.as_str()) {
                        typed = typed.max(self.set(inner)?);
                    }
                }
            }
        }
        Ok(plain + typed)
    }

    fn field(&self, f: &'d Field<'d, String>) -> Result<u64, CostError> {
        if f.selection_set.items.is_empty() {
            return Ok(0);
        }
        let size = f
            .arguments
            .iter()
            .find(|(name, _)| name == "first" || name == "last")
            .map(|(_, v)| self.int(&f.name, v))
            .transpose()?;
        let Some(size) = size else {
            return Ok(1 + self.set(&f.selection_set)?);
        };
        if size > MAX_PAGE {
            return Err(CostError::PageTooBig {
                field: f.name.clone(),
                asked: size,
            });
        }
        // One node: `nodes { … }` or `edges { node { … } }` (the dearer if both).
        let mut node = 0;
        for inner in fields(&f.selection_set, self.fragments) {
            let set = match inner.name.as_str() {
                "nodes" => &inner.selection_set,
                "edges" => match fields(&inner.selection_set, self.fragments)
                    .into_iter()
                    .find(|e| e.name == "node")
                {
                    Some(n) => &n.selection_set,
                    None => continue,
                },
                _ => continue,
            };
            node = node.max(1 + self.set(set)?);
        }
        Ok(2 + size * node)
    }

    fn int(&self, field: &str, v: &Value<'d, String>) -> Result<u64, CostError> {
        let missing = |name: &str| CostError::MissingVariable {
            field: field.to_owned(),
            name: name.to_owned(),
        };
        match v {
            Value::Int(n) => Ok(n.as_i64().unwrap_or(0).max(0) as u64),
            Value::Variable(name) => self.variables[name.as_str()]
                .as_u64()
                .ok_or_else(|| missing(name)),
            _ => Err(CostError::Unsized {
                field: field.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cost(q: &str, vars: Json) -> u64 {
        requested(q, &vars).unwrap()
    }

    #[test]
    fn scalars_are_free_and_objects_cost_one() {
        assert_eq!(cost("query { shop { name id } }", json!({})), 1);
        assert_eq!(
            cost("query { shop { name billingAddress { city } } }", json!({})),
            2
        );
    }

    /// Worked by hand: 2 + 10 × (1 product + 2 + 5 × 1 variant) = 82.
    #[test]
    fn a_connection_is_two_plus_first_times_its_node_and_nesting_multiplies() {
        let q = "query { products(first: 10) { edges { cursor node { title variants(first: 5) { edges { node { price } } } } } pageInfo { hasNextPage } } }";
        assert_eq!(cost(q, json!({})), 82);
        // `nodes` costs the same as `edges { node }`; `last` sizes like `first`.
        let q = "query { products(last: 10) { nodes { title variants(first: 5) { nodes { price } } } } }";
        assert_eq!(cost(q, json!({})), 82);
    }

    /// Worked by hand for the import's old query: orders 250 × (order 1 + customer 1 + address
    /// 1 + fulfillment orders (2 + 10 × (1 + assignedLocation 1 + location 1 + line items (2 +
    /// 50 × (1 + lineItem 1 + variant 1))))) = 2 + 250 × 1,555 = 388,752.
    #[test]
    fn the_old_import_query_was_far_over_the_cap() {
        let old = r#"query Q($first: Int!) { orders(first: $first) { pageInfo { hasNextPage endCursor }
            nodes { id customer { displayName } shippingAddress { zip }
              fulfillmentOrders(first: 10) { nodes { id assignedLocation { location { id } }
                lineItems(first: 50) { nodes { id lineItem { sku variant { barcode } } } } } } } } }"#;
        assert_eq!(cost(old, json!({"first": 250})), 388_752);
        assert_eq!(cost(old, json!({"first": 1})), 1_557);
    }

    #[test]
    fn variables_size_connections_and_a_missing_one_is_said() {
        let q = "query Q($n: Int!) { orders(first: $n) { nodes { id } } }";
        assert_eq!(cost(q, json!({"n": 25})), 2 + 25);
        assert!(matches!(
            requested(q, &json!({})),
            Err(CostError::MissingVariable { .. })
        ));
        assert!(matches!(
            requested(q, &json!({"n": 251})),
            Err(CostError::PageTooBig { asked: 251, .. })
        ));
    }

    #[test]
    fn a_mutation_costs_ten_per_field() {
        let m = "mutation M($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { fulfillment { id } userErrors { message } } }";
        assert_eq!(cost(m, json!({})), 10);
    }

    #[test]
    fn of_fragments_on_different_types_the_dearest_counts() {
        let q = "query { node(id: \"x\") { id ... on Order { customer { id } } ... on Product { variants(first: 3) { nodes { id } } } } }";
        // node 1 + max(customer 1, variants 2 + 3) = 6.
        assert_eq!(cost(q, json!({})), 6);
        let with_spread = "query { node(id: \"x\") { ...O } } fragment O on Order { customer { id } shippingAddress { zip } }";
        assert_eq!(cost(with_spread, json!({})), 3);
    }
}
