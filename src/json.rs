//! Small helpers over `serde_json` values shared by the modules.

use serde_json::{Map, Value};

/// `key` looked up exactly, then ignoring ASCII case (SCIM names are case-insensitive).
pub(crate) fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Takes the value of `key`, matched without ASCII case, out of an object.
pub(crate) fn remove_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    match obj.remove(key) {
        Some(value) => Some(value),
        None => {
            let found = obj.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
            obj.remove(&found)
        }
    }
}

/// A resource's RFC representation of a configuration document: `value` with `schemas`
/// and, given the service's base URL, `meta` pointing at `{base}/{path}`.
pub(crate) fn with_schemas_and_meta(
    mut value: Value,
    schema: &str,
    base_url: Option<&str>,
    resource_type: &str,
    path: &str,
) -> Value {
    if let Some(obj) = value.as_object_mut() {
        obj.insert("schemas".into(), Value::Array(vec![schema.into()]));
        if let Some(base) = base_url {
            let mut meta = Map::new();
            meta.insert("resourceType".into(), resource_type.into());
            meta.insert(
                "location".into(),
                format!("{}/{path}", base.trim_end_matches('/')).into(),
            );
            obj.insert("meta".into(), Value::Object(meta));
        }
    }
    value
}

/// A resource's `meta.version`.
pub(crate) fn version_of(resource: &Value) -> Option<&str> {
    resource.get("meta")?.get("version")?.as_str()
}
