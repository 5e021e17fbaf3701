//! Bulk exports as Shopify runs them (shopify.dev/docs/api/usage/bulk-operations/queries,
//! shared/notes/shopify.md §2): `bulkOperationRunQuery` takes a query with no page sizes, checks
//! its limits (a connection at the top, at most 5 connections, nested at most 2 deep, at most 5
//! exports running per shop), runs it in the background and writes a JSONL file: one object per
//! line, each connection's items on lines of their own with `__parentId`. With
//! `groupObjects: true` an object's children follow it; with `false` (Shopify's default since
//! 2026-01) they do not, and the sim writes every level after the one above, so a reader that
//! counts on grouping without asking for it fails here too.

use graphql_parser::query::{Definition, Document, Field, OperationDefinition, SelectionSet};
use serde_json::{Map, Value, json};

use super::cost::{Fragments, fields};
use super::exec::Exec;
use super::schema::Schema;

/// How many exports may run at once on one shop (2026-01 and later).
pub const MAX_RUNNING: usize = 5;
const MAX_CONNECTIONS: usize = 5;
const MAX_DEPTH: usize = 2;

#[derive(Debug, Clone)]
pub struct Export {
    pub id: u64,
    pub query: String,
    pub status: &'static str,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub file: Option<std::sync::Arc<Vec<u8>>>,
    /// The sim's own address, for the file's URL.
    pub base: String,
}

impl Export {
    pub fn gid(&self) -> String {
        format!("gid://shopify/BulkOperation/{}", self.id)
    }

    /// The whole `BulkOperation` object.
    pub fn whole(&self) -> Value {
        let file = self.file.as_ref().filter(|f| !f.is_empty());
        json!({
            "id": self.gid(),
            "status": self.status,
            "type": "QUERY",
            "query": self.query,
            "errorCode": null,
            "createdAt": self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "completedAt": self.completed_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "objectCount": self.object_count.to_string(),
            "rootObjectCount": self.root_object_count.to_string(),
            "fileSize": file.map(|f| f.len().to_string()),
            "url": file.map(|_| format!("{}/bulk-results/{}.jsonl", self.base, self.id)),
            "partialDataUrl": null,
        })
    }
}

/// The export's query, checked: its top-level connection, or why it cannot run.
pub fn check<'d>(
    schema: &Schema,
    doc: &'d Document<'static, String>,
) -> Result<&'d Field<'static, String>, String> {
    let set = doc
        .definitions
        .iter()
        .find_map(|d| match d {
            Definition::Operation(OperationDefinition::Query(q)) => Some(&q.selection_set),
            Definition::Operation(OperationDefinition::SelectionSet(s)) => Some(s),
            _ => None,
        })
        .ok_or("Bulk queries must be a query")?;
    let fragments = Fragments::new();
    let roots = fields(set, &fragments);
    let [root] = roots.as_slice() else {
        return Err("Bulk queries must have exactly one top-level field".into());
    };
    let ty = schema
        .field(&schema.query, &root.name)
        .ok_or_else(|| format!("Field '{}' doesn't exist on type 'QueryRoot'", root.name))?;
    if !schema.is_connection(&ty.ty) {
        return Err("Bulk queries must contain at least one connection at the top level".into());
    }
    let mut connections = 0;
    let depth = depth(schema, &ty.ty, &root.selection_set, &mut connections)?;
    if connections + 1 > MAX_CONNECTIONS {
        return Err(format!(
            "Bulk queries cannot contain more than {MAX_CONNECTIONS} connections"
        ));
    }
    if depth > MAX_DEPTH {
        return Err(format!(
            "Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}"
        ));
    }
    Ok(root)
}

/// How deep connections nest under a connection (the connection itself is 0), counting them.
fn depth(
    schema: &Schema,
    connection: &str,
    set: &SelectionSet<'static, String>,
    count: &mut usize,
) -> Result<usize, String> {
    let node_ty = schema
        .field(connection, "nodes")
        .map(|f| f.ty.clone())
        .unwrap_or_default();
    let fragments = Fragments::new();
    let mut deepest = 0;
    for f in fields(set, &fragments) {
        let node_set = match f.name.as_str() {
            "nodes" => &f.selection_set,
            "edges" => match fields(&f.selection_set, &fragments)
                .into_iter()
                .find(|e| e.name == "node")
            {
                Some(n) => &n.selection_set,
                None => continue,
            },
            _ => continue,
        };
        deepest = deepest.max(object_depth(schema, &node_ty, node_set, count)?);
    }
    Ok(deepest)
}

fn object_depth(
    schema: &Schema,
    ty: &str,
    set: &SelectionSet<'static, String>,
    count: &mut usize,
) -> Result<usize, String> {
    let fragments = Fragments::new();
    let mut deepest = 0;
    for f in fields(set, &fragments) {
        let Some(field) = schema.field(ty, &f.name) else {
            return Err(format!("Field '{}' doesn't exist on type '{ty}'", f.name));
        };
        if schema.is_connection(&field.ty) {
            *count += 1;
            deepest = deepest.max(1 + depth(schema, &field.ty, &f.selection_set, count)?);
        } else if !f.selection_set.items.is_empty() {
            deepest = deepest.max(object_depth(schema, &field.ty, &f.selection_set, count)?);
        }
    }
    Ok(deepest)
}

/// The JSONL lines of an export of `roots` (whole objects) through the root connection's
/// selection; answers the file and how many objects it holds.
pub fn write(
    schema: &Schema,
    root: &Field<'static, String>,
    roots: &[Value],
    grouped: bool,
) -> (Vec<u8>, u64) {
    let fragments = Fragments::new();
    let variables = Value::Null;
    let exec = Exec {
        variables: &variables,
        fragments: &fragments,
    };
    let ty = schema
        .field(&schema.query, &root.name)
        .map(|f| f.ty.clone())
        .unwrap_or_default();
    // Lines by nesting level (ungrouped) or in one run (grouped).
    let mut levels: Vec<Vec<u8>> = vec![Vec::new(); MAX_DEPTH + 1];
    let mut count = 0;
    let node_set = node_selection(&root.selection_set);
    let node_ty = schema
        .field(&ty, "nodes")
        .map(|f| f.ty.clone())
        .unwrap_or_default();
    for whole in roots {
        emit(
            schema,
            &exec,
            &node_ty,
            node_set,
            whole,
            None,
            0,
            grouped,
            &mut levels,
            &mut count,
        );
    }
    (levels.concat(), count)
}

fn node_selection<'a>(set: &'a SelectionSet<'static, String>) -> &'a SelectionSet<'static, String> {
    let fragments = Fragments::new();
    for f in fields(set, &fragments) {
        match f.name.as_str() {
            "nodes" => return &f.selection_set,
            "edges" => {
                for e in fields(&f.selection_set, &fragments) {
                    if e.name == "node" {
                        return &e.selection_set;
                    }
                }
            }
            _ => {}
        }
    }
    set
}

#[allow(clippy::too_many_arguments)]
fn emit(
    schema: &Schema,
    exec: &Exec<'_>,
    ty: &str,
    set: &SelectionSet<'static, String>,
    whole: &Value,
    parent: Option<&str>,
    level: usize,
    grouped: bool,
    levels: &mut Vec<Vec<u8>>,
    count: &mut u64,
) {
    let fragments = Fragments::new();
    let mut line = Map::new();
    let mut children = Vec::new();
    for f in fields(set, &fragments) {
        let Some(field) = schema.field(ty, &f.name) else {
            continue;
        };
        let key = f.alias.clone().unwrap_or_else(|| f.name.clone());
        if schema.is_connection(&field.ty) {
            children.push((f, field.ty.clone()));
        } else if f.selection_set.items.is_empty() {
            line.insert(key, whole[f.name.as_str()].clone());
        } else {
            // A plain object under the node: inline, as Shopify writes it.
            line.insert(key, project_plain(exec, &whole[f.name.as_str()], f));
        }
    }
    if let Some(p) = parent {
        line.insert("__parentId".into(), Value::String(p.to_owned()));
    }
    let at = if grouped { 0 } else { level };
    if let Ok(text) = serde_json::to_vec(&Value::Object(line)) {
        levels[at].extend_from_slice(&text);
        levels[at].push(b'\n');
    }
    *count += 1;
    let id = whole["id"].as_str().unwrap_or("").to_owned();
    for (f, conn_ty) in children {
        let node_ty = schema
            .field(&conn_ty, "nodes")
            .map(|f| f.ty.clone())
            .unwrap_or_default();
        let node_set = node_selection(&f.selection_set);
        for child in whole[f.name.as_str()].as_array().into_iter().flatten() {
            emit(
                schema,
                exec,
                &node_ty,
                node_set,
                child,
                Some(&id),
                (level + 1).min(MAX_DEPTH),
                grouped,
                levels,
                count,
            );
        }
    }
}

fn project_plain(exec: &Exec<'_>, v: &Value, f: &Field<'static, String>) -> Value {
    match v.as_array() {
        Some(items) => Value::Array(
            items
                .iter()
                .map(|i| exec.project(i, &f.selection_set))
                .collect(),
        ),
        None => exec.project(v, &f.selection_set),
    }
}
