//! JSON bodies checked against the official OpenAPI documents kept under `specs/`.
//!
//! The sims validate every request they receive with this (and reject it like the real service
//! would), and the clients' tests validate every request they build, so a client and a sim can
//! never agree on a mistake the official schema would catch.
//!
//! OpenAPI 3.0 component schemas are JSON Schema (draft 4) plus a few extra keywords; the only
//! one that changes validation is `nullable`, which is translated here. UPS's files have trailing
//! tabs and CRLF line ends that strict YAML parsers refuse (specs/ups/SOURCES.md), so every line
//! is trimmed before parsing.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("{path} has no schema `{name}`")]
    NoSchema { path: PathBuf, name: String },
    #[error("schema `{name}` does not compile: {message}")]
    Compile { name: String, message: String },
}

/// One OpenAPI document.
#[derive(Debug, Clone)]
pub struct Spec {
    path: PathBuf,
    doc: Value,
}

/// The repository's `specs/` folder (works from any crate of the workspace).
pub fn specs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

impl Spec {
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SpecError> {
        let path = path.as_ref().to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// A UPS document by file name, e.g. `Shipping.yaml`.
    pub fn ups(file: &str) -> Result<Self, SpecError> {
        Self::load(specs_dir().join("ups").join(file))
    }

    pub fn parse(path: PathBuf, text: &str) -> Result<Self, SpecError> {
        let clean: String = text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
        let doc: Value = serde_yaml::from_str(&clean).map_err(|source| SpecError::Yaml {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path, doc })
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Drops one keyword (e.g. `minLength`) from the schema at `pointer`, for the same reason
    /// as [`Spec::relax_required`].
    pub fn drop_keyword(mut self, pointer: &str, keyword: &str) -> Self {
        if let Some(Value::Object(s)) = self.doc.pointer_mut(pointer) {
            s.remove(keyword);
        }
        self
    }

    /// Drops `field` from the `required` list of `component`, for the places where an official
    /// document contradicts its own descriptions (each use says which and why).
    pub fn relax_required(mut self, component: &str, field: &str) -> Self {
        if let Some(Value::Array(req)) = self
            .doc
            .pointer_mut(&format!("/components/schemas/{component}/required"))
        {
            req.retain(|f| f != field);
        }
        self
    }

    /// A validator for `#/components/schemas/{name}`.
    pub fn schema(&self, name: &str) -> Result<Schema, SpecError> {
        let components = self
            .doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or_else(|| SpecError::NoSchema {
                path: self.path.clone(),
                name: name.into(),
            })?;
        if !components.contains_key(name) {
            return Err(SpecError::NoSchema {
                path: self.path.clone(),
                name: name.into(),
            });
        }
        let mut schemas = Value::Object(components.clone());
        translate(&mut schemas);
        let root = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": {"schemas": schemas},
        });
        let validator = jsonschema::draft4::new(&root).map_err(|e| SpecError::Compile {
            name: name.into(),
            message: e.to_string(),
        })?;
        Ok(Schema {
            name: name.into(),
            validator,
        })
    }
}

/// OpenAPI 3.0 → JSON Schema: `nullable: true` widens `type` to allow null; `example`, `xml`
/// and other annotations are ignored by the validator anyway.
fn translate(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let nullable = map.remove("nullable") == Some(Value::Bool(true));
            if let (true, Some(Value::String(t))) = (nullable, map.get("type").cloned()) {
                map.insert("type".into(), json!([t, "null"]));
            }
            for child in map.values_mut() {
                translate(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate),
        _ => {}
    }
}

/// One compiled schema.
pub struct Schema {
    name: String,
    validator: jsonschema::Validator,
}

/// One way a body breaks its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// JSON pointer into the body, e.g. `/ShipmentRequest/Shipment/Shipper/Phone/Number`.
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

impl Schema {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every violation, empty when the body is valid.
    pub fn violations(&self, body: &Value) -> Vec<Violation> {
        self.validator
            .iter_errors(body)
            .map(|e| Violation {
                at: e.instance_path.to_string(),
                message: e.to_string(),
            })
            .collect()
    }

    pub fn check(&self, body: &Value) -> Result<(), Vec<Violation>> {
        let v = self.violations(body);
        if v.is_empty() { Ok(()) } else { Err(v) }
    }
}

/// Used by the tests of the clients: the properties a schema object allows, for checking
/// that a body uses no field the spec does not have (JSON Schema allows extra ones).
pub fn unknown_fields(spec: &Spec, schema: &str, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(root) = spec.doc.pointer(&format!("/components/schemas/{schema}")) else {
        return vec![format!("no schema {schema}")];
    };
    walk_unknown(spec, root, body, String::new(), &mut out);
    out
}

fn resolve<'a>(spec: &'a Spec, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match r.strip_prefix('#').and_then(|p| spec.doc.pointer(p)) {
            Some(t) => s = t,
            None => break,
        }
    }
    s
}

fn walk_unknown(spec: &Spec, schema: &Value, body: &Value, at: String, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    match body {
        Value::Object(fields) => {
            let props: Option<&Map<String, Value>> =
                schema.get("properties").and_then(Value::as_object);
            let Some(props) = props else { return };
            // A field the schema requires is known even where the document forgot to describe
            // it (Rating's `Request.RequestOption`).
            let required = |k: &str| {
                schema
                    .get("required")
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|f| f == k))
            };
            for (k, v) in fields {
                match props.get(k) {
                    Some(child) => walk_unknown(spec, child, v, format!("{at}/{k}"), out),
                    None if required(k) => {}
                    None => out.push(format!("{at}/{k}")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    walk_unknown(spec, item, v, format!("{at}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ups_document_loads_and_its_request_schemas_compile() {
        for (file, schema) in [
            ("Shipping.yaml", "SHIPRequestWrapper"),
            ("Shipping.yaml", "LABELRECOVERYRequestWrapper"),
            ("Rating.yaml", "RATERequestWrapper"),
            ("AddressValidation.yaml", "XAVRequestWrapper"),
        ] {
            let spec = Spec::ups(file).unwrap();
            spec.schema(schema).unwrap();
        }
        Spec::ups("Tracking.yaml").unwrap();
        Spec::ups("OAuthClientCredentials.yaml").unwrap();
    }

    #[test]
    fn a_ship_request_missing_its_shipper_is_refused_with_the_place() {
        let spec = Spec::ups("Shipping.yaml").unwrap();
        let ship = spec.schema("SHIPRequestWrapper").unwrap();
        let body = json!({"ShipmentRequest": {"Request": {}, "Shipment": {
            "ShipTo": {"Name": "A", "Address": {"AddressLine": ["1 Main"], "City": "X", "CountryCode": "US"}},
            "Service": {"Code": "03"}, "Package": [{"Packaging": {"Code": "02"}}]}}});
        let v = ship.violations(&body);
        assert!(v.iter().any(|v| v.message.contains("Shipper")), "{v:?}");
        assert!(ship.check(&json!({})).is_err());
    }

    #[test]
    fn unknown_fields_are_named() {
        let spec = Spec::ups("Shipping.yaml").unwrap();
        let body = json!({"ShipmentRequest": {"Request": {"Bogus": 1}}});
        assert_eq!(
            unknown_fields(&spec, "SHIPRequestWrapper", &body),
            vec!["/ShipmentRequest/Request/Bogus".to_string()]
        );
    }
}
