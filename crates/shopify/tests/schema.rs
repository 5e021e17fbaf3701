//! Every GraphQL operation the client sends, checked field by field (and argument by argument)
//! against Shopify's Admin API schema for the pinned version (specs/shopify, gzipped
//! introspection). A misspelled or removed field fails here, not in a warehouse.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use graphql_parser::query::{
    Definition, Document, FragmentDefinition, InlineFragment, OperationDefinition, Selection,
    SelectionSet,
};
use serde_json::Value;

/// The document with each fragment spread replaced by the fragment's selections (an inline
/// fragment on its type), once every fragment is checked to be used: GraphQL refuses a
/// document with an unused fragment, so appending one too many would fail at Shopify.
fn inlined(source: &str) -> (Document<'static, String>, Vec<String>) {
    let doc = graphql_parser::parse_query::<String>(source)
        .unwrap()
        .into_static();
    let fragments: HashMap<String, FragmentDefinition<'static, String>> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name.clone(), f.clone())),
            _ => None,
        })
        .collect();
    let mut errors = Vec::new();
    for name in fragments.keys() {
        if !source.contains(&format!("...{name}")) {
            errors.push(format!("fragment {name} is never used"));
        }
    }
    fn expand(
        set: &SelectionSet<'static, String>,
        fragments: &HashMap<String, FragmentDefinition<'static, String>>,
        errors: &mut Vec<String>,
    ) -> SelectionSet<'static, String> {
        let items = set
            .items
            .iter()
            .map(|sel| match sel {
                Selection::Field(f) => {
                    let mut f = f.clone();
                    f.selection_set = expand(&f.selection_set, fragments, errors);
                    Selection::Field(f)
                }
                Selection::InlineFragment(i) => {
                    let mut i = i.clone();
                    i.selection_set = expand(&i.selection_set, fragments, errors);
                    Selection::InlineFragment(i)
                }
                Selection::FragmentSpread(s) => match fragments.get(&s.fragment_name) {
                    Some(f) => Selection::InlineFragment(InlineFragment {
                        position: s.position,
                        type_condition: Some(f.type_condition.clone()),
                        directives: Vec::new(),
                        selection_set: expand(&f.selection_set, fragments, errors),
                    }),
                    None => {
                        errors.push(format!("fragment {} is not defined", s.fragment_name));
                        sel.clone()
                    }
                },
            })
            .collect();
        SelectionSet {
            span: set.span,
            items,
        }
    }
    let definitions = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(OperationDefinition::Query(q)) => {
                let mut q = q.clone();
                q.selection_set = expand(&q.selection_set, &fragments, &mut errors);
                Some(Definition::Operation(OperationDefinition::Query(q)))
            }
            Definition::Operation(OperationDefinition::Mutation(m)) => {
                let mut m = m.clone();
                m.selection_set = expand(&m.selection_set, &fragments, &mut errors);
                Some(Definition::Operation(OperationDefinition::Mutation(m)))
            }
            Definition::Operation(OperationDefinition::SelectionSet(s)) => {
                Some(Definition::Operation(OperationDefinition::SelectionSet(
                    expand(s, &fragments, &mut errors),
                )))
            }
            Definition::Fragment(_) => None,
            other => Some(other.clone()),
        })
        .collect();
    (Document { definitions }, errors)
}

/// A selection set's fields, through inline fragments.
fn fields_of<'a>(
    set: &'a SelectionSet<'static, String>,
) -> Vec<&'a graphql_parser::query::Field<'static, String>> {
    let mut out = Vec::new();
    for sel in &set.items {
        match sel {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment(i) => out.extend(fields_of(&i.selection_set)),
            Selection::FragmentSpread(_) => {}
        }
    }
    out
}

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
    let (doc, mut errors) = inlined(source);
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
            Definition::Operation(OperationDefinition::SelectionSet(s)) => {
                check(&schema, &schema.query, s, "query", &mut errors)
            }
            _ => errors.push("only named queries and mutations".into()),
        }
    }
    errors
}

#[test]
fn every_operation_the_client_sends_matches_the_pinned_schema() {
    for op in packbench_shopify::OPERATIONS {
        assert_eq!(errors_of(op.document), Vec::<String>::new(), "{}", op.name);
    }
    assert_eq!(
        errors_of(packbench_shopify::BULK_ORDERS),
        Vec::<String>::new(),
        "the bulk export's query"
    );
}

#[test]
fn a_fragment_is_checked_where_it_is_spread_and_an_unused_one_is_caught() {
    let errors = errors_of(
        "query { orders(first: 1) { nodes { ...O } } } fragment O on Order { id nmae } fragment P on Order { id }",
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Order has no field `nmae`")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("fragment P is never used")),
        "{errors:?}"
    );
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

/// Checks an answer against the schema along the query's selections: every selected field is
/// there (and nothing else), non-null fields are not null, lists are lists, enums are values of
/// their enum, scalars have their JSON kind.
fn check_answer(
    schema: &Schema,
    type_name: &str,
    set: &SelectionSet<'static, String>,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(obj) = value.as_object() else {
        errors.push(format!("{at}: expected an object of {type_name}"));
        return;
    };
    let t = &schema.types[type_name];
    let mut selected = Vec::new();
    for f in fields_of(set) {
        let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
        selected.push(key.clone());
        let Some(field) = t["fields"]
            .as_array()
            .and_then(|fs| fs.iter().find(|x| x["name"] == f.name.as_str()))
        else {
            continue;
        };
        let Some(v) = obj.get(&key) else {
            errors.push(format!("{at}.{key}: missing"));
            continue;
        };
        check_typed(
            schema,
            &field["type"],
            &f.selection_set,
            v,
            &format!("{at}.{key}"),
            errors,
        );
    }
    for k in obj.keys() {
        if !selected.contains(k) {
            errors.push(format!("{at}.{k}: not asked for"));
        }
    }
}

fn check_typed(
    schema: &Schema,
    t: &Value,
    set: &SelectionSet<'static, String>,
    v: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    match t["kind"].as_str() {
        Some("NON_NULL") => {
            if v.is_null() {
                errors.push(format!("{at}: null for a non-null field"));
            } else {
                check_typed(schema, &t["ofType"], set, v, at, errors);
            }
        }
        _ if v.is_null() => {}
        Some("LIST") => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_typed(
                        schema,
                        &t["ofType"],
                        set,
                        item,
                        &format!("{at}[{i}]"),
                        errors,
                    );
                }
            }
            None => errors.push(format!("{at}: expected a list")),
        },
        Some("OBJECT") | Some("INTERFACE") => {
            check_answer(schema, t["name"].as_str().unwrap_or(""), set, v, at, errors)
        }
        Some("ENUM") => {
            let name = t["name"].as_str().unwrap_or("");
            let ok = schema.types[name]["enumValues"]
                .as_array()
                .is_some_and(|vs| {
                    vs.iter()
                        .any(|e| Some(e["name"].as_str().unwrap_or("")) == v.as_str())
                });
            if !ok {
                errors.push(format!("{at}: {v} is not a {name}"));
            }
        }
        Some("SCALAR") => {
            let ok = match t["name"].as_str().unwrap_or("") {
                "Int" | "Float" => v.is_number(),
                "Boolean" => v.is_boolean(),
                _ => v.is_string(),
            };
            if !ok {
                errors.push(format!("{at}: {v} is not a {}", t["name"]));
            }
        }
        _ => {}
    }
}

fn root_selection(source: &str) -> (bool, SelectionSet<'static, String>) {
    let (doc, _) = inlined(source);
    match doc.definitions.into_iter().next().unwrap() {
        Definition::Operation(OperationDefinition::Query(q)) => (false, q.selection_set),
        Definition::Operation(OperationDefinition::Mutation(m)) => (true, m.selection_set),
        _ => panic!("a named query or mutation"),
    }
}

/// Typical variables for each operation: what the client sends.
fn typical_variables(name: &str, fo_id: &Value, order_id: &Value) -> Value {
    use packbench_shopify::orders::{
        FULFILLMENT_ORDERS_PER_ORDER, LINE_ITEMS_PER_FULFILLMENT_ORDER,
    };
    match name {
        "OrdersForBench" => {
            // The biggest page under the cap, as the client sizes it (13 orders today).
            let page = |first: u64| {
                serde_json::json!({"first": first, "fulfillmentOrders": FULFILLMENT_ORDERS_PER_ORDER,
                "lineItems": LINE_ITEMS_PER_FULFILLMENT_ORDER})
            };
            let fits = |first: &u64| {
                packbench_shopify::cost::requested(
                    packbench_shopify::ORDERS_FOR_BENCH.document,
                    &page(*first),
                )
                .is_ok_and(|c| c <= packbench_shopify::cost::MAX_QUERY_COST)
            };
            page((1..=250).take_while(fits).last().unwrap_or(1))
        }
        "OrderFulfillmentOrders" => serde_json::json!({"id": order_id, "fulfillmentOrders": 10,
            "lineItems": LINE_ITEMS_PER_FULFILLMENT_ORDER}),
        "FulfillmentOrderLineItems" => serde_json::json!({"id": fo_id, "lineItems": 250}),
        "OrdersCount" => serde_json::json!({"limit": 1000}),
        "BulkOrdersRun" => serde_json::json!({"query": packbench_shopify::BULK_ORDERS}),
        "BulkOperation" => serde_json::json!({"id": "gid://shopify/BulkOperation/4000001"}),
        "FulfillmentOrderForPush" => serde_json::json!({"id": fo_id}),
        "FulfillmentCreate" => {
            serde_json::json!({"fulfillment": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id}],
            "trackingInfo": {"company": "UPS", "numbers": ["1Z999AA10123456784", "1Z999AA10123456793"]}}})
        }
        other => panic!("no typical variables for {other}"),
    }
}

/// Every operation, sent to the sim with the variables the client uses: the answer has the
/// schema's shapes, and its requested cost (worked out by the sim from the schema) is the one
/// the client worked out from the query alone, under Shopify's cap. The table is printed.
#[tokio::test]
async fn the_sim_answers_every_operation_in_the_schemas_shapes_at_the_cost_the_client_expects() {
    let sim = packbench_sim::ShopifySim::new(packbench_sim::ShopifySimConfig {
        orders: 20,
        bulk_ms: 0,
        ..Default::default()
    });
    let addr = packbench_sim::serve_loopback(sim.router()).await.unwrap();
    let url = format!(
        "http://{addr}/admin/api/{}/graphql.json",
        packbench_shopify::API_VERSION
    );
    let token = sim.config().access_token;
    let http = reqwest::Client::new();
    let ask = |query: &'static str, variables: Value| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            http.post(url)
                .header("X-Shopify-Access-Token", token)
                .json(&serde_json::json!({"query": query, "variables": variables}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let schema = schema();
    let first = ask(
        packbench_shopify::ORDERS_FOR_BENCH.document,
        typical_variables("OrdersForBench", &Value::Null, &Value::Null),
    )
    .await;
    let order = &first["data"]["orders"]["nodes"][0];
    let (order_id, fo_id) = (
        order["id"].clone(),
        order["fulfillmentOrders"]["nodes"][0]["id"].clone(),
    );
    let mut table = Vec::new();
    // The export must exist before it is looked at.
    for op in packbench_shopify::OPERATIONS {
        let variables = typical_variables(op.name, &fo_id, &order_id);
        let expected = packbench_shopify::cost::requested(op.document, &variables).unwrap();
        let answer = ask(op.document, variables).await;
        let (mutation, set) = root_selection(op.document);
        let root = if mutation {
            &schema.mutation
        } else {
            &schema.query
        };
        assert!(answer["errors"].is_null(), "{}: {answer}", op.name);
        let mut errors = Vec::new();
        check_answer(&schema, root, &set, &answer["data"], "data", &mut errors);
        assert_eq!(errors, Vec::<String>::new(), "{}: {answer}", op.name);
        let cost = &answer["extensions"]["cost"];
        assert!(cost["throttleStatus"]["restoreRate"].is_number());
        assert_eq!(
            cost["requestedQueryCost"].as_u64(),
            Some(expected),
            "{}: the sim (from the schema) and the client (from the query) cost it alike",
            op.name
        );
        assert!(
            expected <= packbench_shopify::cost::MAX_QUERY_COST,
            "{}",
            op.name
        );
        table.push(format!(
            "{:<28} requested {:>4}  actual {:>4}",
            op.name, expected, cost["actualQueryCost"]
        ));
    }
    println!("{}", table.join("\n"));
}

#[test]
fn a_wrong_answer_is_caught() {
    let schema = schema();
    let (_, set) = root_selection(packbench_shopify::FULFILLMENT_ORDER_FOR_PUSH.document);
    let answer = serde_json::json!({"fulfillmentOrder": {"id": "gid://shopify/FulfillmentOrder/1",
        "status": "BOGUS", "extra": 1, "lineItems": {"nodes": [{"id": null, "remainingQuantity": "2"}]}}});
    let mut errors = Vec::new();
    check_answer(&schema, &schema.query, &set, &answer, "data", &mut errors);
    let text = errors.join("\n");
    for expected in [
        "BOGUS",
        "extra: not asked for",
        "null for a non-null",
        "\"2\" is not a",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
}
