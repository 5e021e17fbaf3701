//! The Admin API schema the sim answers by: Shopify's own introspection of the pinned version
//! (specs/shopify, gzipped, built into the sim), read once into what costing and checking a
//! query need: each type's kind and each field's type and arguments.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde_json::Value;

const INTROSPECTION: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../specs/shopify/admin-2026-10.introspection.json.gz"
));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scalar,
    Enum,
    Object,
    Interface,
    Union,
    Input,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The named type under any list and non-null wrappers.
    pub ty: String,
    pub args: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Type {
    pub kind: Kind,
    pub fields: HashMap<String, Field>,
}

#[derive(Debug)]
pub struct Schema {
    pub types: HashMap<String, Type>,
    pub query: String,
    pub mutation: String,
}

fn named(t: &Value) -> String {
    match t["name"].as_str() {
        Some(n) => n.to_owned(),
        None => named(&t["ofType"]),
    }
}

impl Schema {
    /// The pinned version's schema (read on first use, ~0.2 s).
    pub fn admin() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(INTROSPECTION)
                .read_to_string(&mut text)
                .expect("the built-in introspection is gzipped JSON");
            let v: Value = serde_json::from_str(&text).expect("the built-in introspection parses");
            Self::from_introspection(&v["data"]["__schema"])
        })
    }

    fn from_introspection(s: &Value) -> Self {
        let types = s["types"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let kind = match t["kind"].as_str()? {
                    "SCALAR" => Kind::Scalar,
                    "ENUM" => Kind::Enum,
                    "OBJECT" => Kind::Object,
                    "INTERFACE" => Kind::Interface,
                    "UNION" => Kind::Union,
                    "INPUT_OBJECT" => Kind::Input,
                    _ => return None,
                };
                let fields = t["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| {
                        Some((
                            f["name"].as_str()?.to_owned(),
                            Field {
                                ty: named(&f["type"]),
                                args: f["args"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|a| a["name"].as_str().map(str::to_owned))
                                    .collect(),
                            },
                        ))
                    })
                    .collect();
                Some((t["name"].as_str()?.to_owned(), Type { kind, fields }))
            })
            .collect();
        Self {
            types,
            query: s["queryType"]["name"]
                .as_str()
                .unwrap_or("QueryRoot")
                .into(),
            mutation: s["mutationType"]["name"]
                .as_str()
                .unwrap_or("Mutation")
                .into(),
        }
    }

    pub fn kind(&self, ty: &str) -> Option<Kind> {
        self.types.get(ty).map(|t| t.kind)
    }

    pub fn field(&self, ty: &str, name: &str) -> Option<&Field> {
        self.types.get(ty)?.fields.get(name)
    }

    /// A Relay connection (`…Connection` with `nodes`, `edges` and `pageInfo`).
    pub fn is_connection(&self, ty: &str) -> bool {
        ty.ends_with("Connection")
            && self
                .types
                .get(ty)
                .is_some_and(|t| t.fields.contains_key("pageInfo"))
    }
}
