//! Checks JSON values against the OpenAPI document's schemas, field by field, the way a client
//! generated from the document would read them: every field must be described (with a
//! description), have the type and values the document says, and required fields must be there.
//! It also records which described fields it met, so a test can find descriptions of fields that
//! never occur (a typo in the document, or a sample that leaves a field out).
//!
//! It knows the part of OpenAPI 3.1 the document uses: `$ref`, `type` (one or a list), `enum`,
//! `const`, `pattern`, `properties`, `required`, `additionalProperties`, `items`, `prefixItems`,
//! and `oneOf` with a `discriminator`. Anything else is reported, so the document cannot drift
//! into constructs the walk would silently skip.

#![allow(dead_code)]

use std::collections::BTreeSet;

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$ref",
    "type",
    "enum",
    "const",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "minProperties",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "oneOf",
    "discriminator",
];

/// The document, and what a walk found.
pub struct Walker {
    pub doc: Value,
    /// JSON pointers of the property schemas met.
    pub seen: BTreeSet<String>,
    pub failures: Vec<String>,
}

impl Walker {
    pub fn new(doc: Value) -> Walker {
        Walker { doc, seen: BTreeSet::new(), failures: Vec::new() }
    }

    /// Checks `value` (named `what` in failures) against the schema at `pointer` (e.g.
    /// `/components/schemas/Task`).
    pub fn check(&mut self, pointer: &str, value: &Value, what: &str) {
        self.walk(pointer.to_owned(), value, what.to_owned());
    }

    /// The pointer a `$ref` names.
    fn target(reference: &str) -> String {
        reference.strip_prefix('#').unwrap_or(reference).to_owned()
    }

    fn fail(&mut self, at: &str, schema: &str, message: String) {
        self.failures.push(format!("{at}: {message} (schema #{schema})"));
    }

    fn walk(&mut self, pointer: String, value: &Value, at: String) {
        let Some(schema) = self.doc.pointer(&pointer).cloned() else {
            return self.fail(&at, &pointer, "the schema does not exist".into());
        };
        if schema == Value::Bool(true) {
            return;
        }
        let Some(map) = schema.as_object() else {
            return self.fail(&at, &pointer, "the schema is not an object".into());
        };
        for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str()) && !k.starts_with("x-")) {
            self.fail(&at, &pointer, format!("the walk does not know the keyword `{key}`"));
        }
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return self.walk(Self::target(reference), value, at);
        }
        if let Some(expected) = map.get("const")
            && expected != value
        {
            return self.fail(&at, &pointer, format!("{value} is not {expected}"));
        }
        if let Some(values) = map.get("enum").and_then(Value::as_array)
            && !values.contains(value)
        {
            return self.fail(&at, &pointer, format!("{value} is none of {}", Value::Array(values.clone())));
        }
        if let Some(types) = map.get("type") {
            let names: Vec<&str> = match types {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !names.iter().any(|name| is_type(value, name)) {
                return self.fail(&at, &pointer, format!("{} is not of type {types}", short(value)));
            }
        }
        if let (Some(pattern), Some(text)) = (map.get("pattern").and_then(Value::as_str), value.as_str())
            && !regex::Regex::new(pattern).unwrap().is_match(text)
        {
            return self.fail(&at, &pointer, format!("{text:?} does not match {pattern}"));
        }
        if let Some(number) = value.as_f64() {
            let below = map.get("minimum").and_then(Value::as_f64).filter(|min| number < *min);
            let above = map.get("maximum").and_then(Value::as_f64).filter(|max| number > *max);
            if let Some(bound) = below.or(above) {
                return self.fail(&at, &pointer, format!("{number} is beyond the bound {bound}"));
            }
        }
        if let Some(branches) = map.get("oneOf").and_then(Value::as_array) {
            return self.one_of(&pointer, map, branches.len(), value, at);
        }
        match value {
            Value::Object(fields) => self.object(&pointer, map, fields, &at),
            Value::Array(items) => {
                let prefix = map.get("prefixItems").and_then(Value::as_array).map_or(0, Vec::len);
                for (index, item) in items.iter().enumerate() {
                    let at = format!("{at}/{index}");
                    if index < prefix {
                        self.walk(format!("{pointer}/prefixItems/{index}"), item, at);
                    } else if map.get("items").is_some_and(|items| items != &Value::Bool(false)) {
                        self.walk(format!("{pointer}/items"), item, at);
                    } else {
                        self.fail(&at, &pointer, "the array has more items than the schema describes".into());
                    }
                }
            }
            _ => {}
        }
    }

    fn one_of(&mut self, pointer: &str, map: &serde_json::Map<String, Value>, count: usize, value: &Value, at: String) {
        let Some(property) = map.get("discriminator").and_then(|d| d.get("propertyName")).and_then(Value::as_str)
        else {
            return self.fail(&at, pointer, "a oneOf without a discriminator".into());
        };
        let tag = value.get(property);
        let branch = (0..count).find(|index| {
            let branch = &map["oneOf"][index];
            let branch = match branch.get("$ref").and_then(Value::as_str) {
                Some(reference) => self.doc.pointer(&Self::target(reference)).unwrap_or(branch),
                None => branch,
            };
            branch.pointer(&format!("/properties/{property}/const")) == tag
        });
        match branch {
            Some(index) => self.walk(format!("{pointer}/oneOf/{index}"), value, at),
            None => {
                let tag = tag.map_or_else(|| "nothing".to_owned(), Value::to_string);
                self.fail(&at, pointer, format!("no branch describes `{property}` {tag}"));
            }
        }
    }

    fn object(
        &mut self,
        pointer: &str,
        map: &serde_json::Map<String, Value>,
        fields: &serde_json::Map<String, Value>,
        at: &str,
    ) {
        let properties = map.get("properties").and_then(Value::as_object);
        for name in map.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                self.fail(at, pointer, format!("the required field `{name}` is missing"));
            }
        }
        for (name, inner) in fields {
            let field_at = format!("{at}/{name}");
            if let Some(described) = properties.and_then(|p| p.get(name)) {
                let property = format!("{pointer}/properties/{}", name.replace('~', "~0").replace('/', "~1"));
                if described.get("description").and_then(Value::as_str).is_none_or(|d| d.trim().is_empty()) {
                    self.fail(&field_at, &property, "the field has no description".into());
                }
                self.seen.insert(property.clone());
                self.walk(property, inner, field_at);
                continue;
            }
            match map.get("additionalProperties") {
                Some(Value::Bool(true)) => {}
                Some(Value::Object(_)) => self.walk(format!("{pointer}/additionalProperties"), inner, field_at),
                _ => self.fail(&field_at, pointer, format!("the field `{name}` is not described")),
            }
        }
    }

    /// The pointers of every property schema under `root` (following no `$ref`).
    pub fn described_under(&self, root: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(value) = self.doc.pointer(root) {
            collect_properties(value, root, &mut out);
        }
        out
    }
}

fn collect_properties(value: &Value, pointer: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let inner_pointer = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if key == "properties"
                    && let Some(properties) = inner.as_object()
                {
                    for name in properties.keys() {
                        out.insert(format!("{inner_pointer}/{}", name.replace('~', "~0").replace('/', "~1")));
                    }
                }
                collect_properties(inner, &inner_pointer, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                collect_properties(item, &format!("{pointer}/{index}"), out);
            }
        }
        _ => {}
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 60 { format!("{}…", &text[..text.floor_char_boundary(60)]) } else { text }
}
