//! Every GraphQL operation the client sends, checked field by field (and argument by argument)
//! against Shopify's Admin API schema for the pinned version (specs/shopify, gzipped
//! introspection). A misspelled or removed field fails here, not in a warehouse.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use graphql_parser::query::{Definition, OperationDefinition, Selection, SelectionSet};
use serde_json::Value;

struct Schema {
    types: HashMap<String, Value>,
    query: String,
    mutation: String,
}

fn schema() -> Schema {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../specs/shopify/admin-{}.introspection.json.gz",
        packbench_shopify::API_VERSION
    ));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let s = &v["data"]["__schema"];
    let types = s["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
        .collect();
    Schema {
        types,
        query: s["queryType"]["name"].as_str().unwrap().to_owned(),
        mutation: s["mutationType"]["name"]
            .as_str()
            .unwrap_or("Mutation")
            .to_owned(),
    }
}

/// The named type under NON_NULL / LIST wrappers.
fn named(t: &Value) -> String {
    match t["name"].as_str() {
        Some(n) => n.to_owned(),
        None => named(&t["ofType"]),
    }
}

fn check(
    schema: &Schema,
    type_name: &str,
    set: &SelectionSet<'_, String>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(t) = schema.types.get(type_name) else {
        errors.push(format!("{at}: no type {type_name}"));
        return;
    };
    for sel in &set.items {
        match sel {
            Selection::Field(f) => {
                if f.name == "__typename" {
                    continue;
                }
                let Some(field) = t["fields"]
                    .as_array()
                    .and_then(|fs| fs.iter().find(|x| x["name"] == f.name.as_str()))
                else {
                    errors.push(format!("{at}: {type_name} has no field `{}`", f.name));
                    continue;
                };
                if field["isDeprecated"] == true {
                    errors.push(format!(
                        "{at}: {type_name}.{} is deprecated: {}",
                        f.name, field["deprecationReason"]
                    ));
                }
                for (arg, _) in &f.arguments {
                    let known = field["args"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["name"] == arg.as_str()));
                    if !known {
                        errors.push(format!(
                            "{at}: {type_name}.{} has no argument `{arg}`",
                            f.name
                        ));
                    }
                }
                let inner = named(&field["type"]);
                if !f.selection_set.items.is_empty() {
                    check(
                        schema,
                        &inner,
                        &f.selection_set,
                        &format!("{at}.{}", f.name),
                        errors,
                    );
                }
            }
            Selection::InlineFragment(i) => {
                let on = i
                    .type_condition
                    .as_ref()
                    .map(|graphql_parser::query::TypeCondition::On(n)| n.clone())
                    .unwrap_or_else(|| type_name.to_owned());
                check(schema, &on, &i.selection_set, at, errors);
            }
            Selection::FragmentSpread(_) => {
                errors.push(format!("{at}: fragments are not used here"))
            }
        }
    }
}

fn errors_of(source: &str) -> Vec<String> {
    let schema = schema();
    let doc = graphql_parser::parse_query::<String>(source).unwrap();
    let mut errors = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Operation(OperationDefinition::Query(q)) => check(
                &schema,
                &schema.query,
                &q.selection_set,
                "query",
                &mut errors,
            ),
            Definition::Operation(OperationDefinition::Mutation(m)) => check(
                &schema,
                &schema.mutation,
                &m.selection_set,
                "mutation",
                &mut errors,
            ),
            _ => errors.push("only named queries and mutations".into()),
        }
    }
    errors
}

#[test]
fn every_operation_the_client_sends_matches_the_pinned_schema() {
    for (name, source) in packbench_shopify::OPERATIONS {
        assert_eq!(errors_of(source), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn a_misspelled_field_or_argument_is_caught() {
    let errors = errors_of("query { orders(first: 1, bogus: 2) { nodes { id nmae } } }");
    assert!(
        errors.iter().any(|e| e.contains("no field `nmae`")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("no argument `bogus`")),
        "{errors:?}"
    );
}
