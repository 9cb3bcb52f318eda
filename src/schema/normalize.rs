//! Turning incoming JSON into a canonical, validated resource (RFC 7643 §2, §3; RFC 7644
//! §3.3, §3.5.1).

use serde_json::{Map, Number, Value};

use super::{AttrKind, Attribute, Mutability, ResourceTypeView, Schema, SchemaError, Uniqueness};
use crate::compat::Compat;
use crate::eval::parse_datetime;
use crate::json::get_ci;

/// What a normalised resource is for.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    /// A new resource (POST).
    Create,
    /// A replacement (PUT) of this existing, normalised resource: immutable attributes
    /// keep their values and may not change.
    Replace(&'a Value),
}

/// A value of an attribute whose `uniqueness` is `server` or `global`, for the store to
/// enforce atomically with its write: no other resource of the same tenant and resource
/// type may hold it.
///
/// Both `server` and `global` mean unique within the tenant. A service provider serving
/// many tenants cannot promise more without telling one tenant what another holds (a
/// `409` would reveal that some other tenant uses an email address), so a value may
/// repeat across tenants whatever the schema says.
///
/// ```
/// use scimkit::schema::UniqueValue;
/// use serde_json::json;
///
/// let name = UniqueValue::new("userName", json!("BJensen"), false);
/// // What a store indexes: the path and the value, without case unless case-exact.
/// assert_eq!(name.key(), ("username".to_owned(), "bjensen".to_owned()));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueValue {
    /// The attribute's canonical path, URN-qualified for extension attributes.
    pub path: String,
    /// The value.
    pub value: Value,
    /// Whether values compare with case (`userName` does not).
    pub case_exact: bool,
}

impl UniqueValue {
    /// The value of the attribute at `path`, compared with case when `case_exact`.
    pub fn new(path: impl Into<String>, value: Value, case_exact: bool) -> UniqueValue {
        UniqueValue {
            path: path.into(),
            value,
            case_exact,
        }
    }

    /// The key under which a store keeps the value: the path in ASCII lower case, and the
    /// value's text (a string as it is, any other value as its JSON) in Unicode lower case
    /// unless the attribute is case-exact. Two values collide exactly when their keys are
    /// equal.
    pub fn key(&self) -> (String, String) {
        let text = match &self.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let text = match self.case_exact {
            true => text,
            false => text.to_lowercase(),
        };
        (self.path.to_ascii_lowercase(), text)
    }
}

/// A canonical, validated resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized {
    /// The resource: canonical attribute names, `schemas` listing the core schema and the
    /// extensions present, no `null`s or empty values, no read-only or write-only input.
    pub resource: Value,
    /// Write-only values given (such as `password`), by canonical path. They are not in
    /// `resource`: the application decides whether and how to keep them.
    pub write_only: Vec<(String, Value)>,
    /// Values the store must keep unique.
    pub unique: Vec<UniqueValue>,
}

fn invalid_value(detail: impl Into<String>) -> SchemaError {
    SchemaError::invalid_value(detail)
}

fn invalid_syntax(detail: impl Into<String>) -> SchemaError {
    SchemaError::invalid_syntax(detail)
}

/// Whether a value counts as given: not `null`, `[]` or `{}`.
fn is_given(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

struct Normalizer<'a> {
    compat: &'a Compat,
    write_only: Vec<(String, Value)>,
}

pub(super) fn normalize<'r>(
    view: ResourceTypeView<'r>,
    input: Value,
    write: Write<'_>,
    compat: &Compat,
) -> Result<Normalized, SchemaError> {
    let Value::Object(obj) = input else {
        return Err(invalid_syntax("a resource must be a JSON object"));
    };
    check_schemas(view, &obj, compat)?;
    let mut n = Normalizer {
        compat,
        write_only: Vec::new(),
    };
    let mut core = obj;
    // Extension objects and URN-qualified names come out first; what stays is the
    // core schema's and the common attributes, normalised where they are.
    let mut extensions: Vec<(&'r Schema, Map<String, Value>)> =
        view.extensions().map(|(s, _)| (s, Map::new())).collect();
    let mut qualified: Vec<(String, Value)> = Vec::new();
    let mut taken: Vec<(usize, Value)> = Vec::new();
    core.retain(|key, value| {
        if key.eq_ignore_ascii_case("schemas") {
            return false;
        }
        if let Some(i) = extensions
            .iter()
            .position(|(s, _)| s.id.eq_ignore_ascii_case(key))
        {
            taken.push((i, std::mem::take(value)));
            return false;
        }
        if key.contains(':') {
            qualified.push((key.clone(), std::mem::take(value)));
            return false;
        }
        true
    });
    let common = Some(view.registry().common_attributes());
    n.object(view.core_schema(), common, &mut core)?;
    for (i, value) in taken {
        let (schema, out) = &mut extensions[i];
        match value {
            Value::Null => {}
            Value::Object(mut attrs) => {
                n.object(schema, None, &mut attrs)?;
                if out.is_empty() {
                    *out = attrs;
                } else {
                    // The extension given twice, under names differing in case.
                    for (k, v) in attrs {
                        n.insert(schema, true, k, v, out)?;
                    }
                }
            }
            _ => return Err(invalid_value(format!("{} must be an object", schema.id))),
        }
    }
    for (key, value) in qualified {
        let (urn, name) = key.rsplit_once(':').expect("contains ':'");
        if view.core_schema().id.eq_ignore_ascii_case(urn) {
            n.one(view.core_schema(), common, name, value, &mut core)?;
        } else if let Some(i) = extensions
            .iter()
            .position(|(s, _)| s.id.eq_ignore_ascii_case(urn))
        {
            let (schema, out) = &mut extensions[i];
            n.one(schema, None, name, value, out)?;
        } else if !compat.ignore_unknown_schemas {
            return Err(invalid_value(format!(
                "{key}: unknown schema for this resource type"
            )));
        }
    }

    if let Write::Replace(existing) = write {
        keep_immutable(view, existing, &mut core, &mut extensions)?;
    }
    check_required(view, &core, &extensions)?;

    let mut schemas = vec![Value::String(view.core_schema().id.clone())];
    let mut unique = Vec::new();
    collect_unique(view.core_schema(), None, &core, &mut unique);
    collect_unique_attrs(
        view.registry().common_attributes(),
        None,
        &core,
        &mut unique,
    );
    for (schema, attrs) in extensions {
        if attrs.is_empty() {
            continue;
        }
        collect_unique(schema, Some(&schema.id), &attrs, &mut unique);
        schemas.push(Value::String(schema.id.clone()));
        core.insert(schema.id.clone(), Value::Object(attrs));
    }
    core.insert("schemas".into(), Value::Array(schemas));
    Ok(Normalized {
        resource: Value::Object(core),
        write_only: n.write_only,
        unique,
    })
}

/// The values of `resource` (a normalised resource) that the store must keep unique.
pub(super) fn unique_values(view: ResourceTypeView<'_>, resource: &Value) -> Vec<UniqueValue> {
    let mut unique = Vec::new();
    let Some(obj) = resource.as_object() else {
        return unique;
    };
    collect_unique(view.core_schema(), None, obj, &mut unique);
    collect_unique_attrs(view.registry().common_attributes(), None, obj, &mut unique);
    for (schema, _) in view.extensions() {
        if let Some(Value::Object(ext)) = obj.get(&schema.id) {
            collect_unique(schema, Some(&schema.id), ext, &mut unique);
        }
    }
    unique
}

fn check_schemas(
    view: ResourceTypeView<'_>,
    obj: &Map<String, Value>,
    compat: &Compat,
) -> Result<(), SchemaError> {
    let listed = match get_ci(obj, "schemas") {
        None | Some(Value::Null) if compat.infer_missing_schemas => return Ok(()),
        None | Some(Value::Null) => return Err(invalid_value("schemas is missing")),
        Some(Value::Array(items)) => items,
        Some(Value::String(_)) if compat.wrap_single_values => {
            std::slice::from_ref(get_ci(obj, "schemas").expect("just matched"))
        }
        Some(_) => return Err(invalid_value("schemas must be an array of URNs")),
    };
    let mut has_core = false;
    for urn in listed {
        let Some(urn) = urn.as_str() else {
            return Err(invalid_value("schemas must be an array of URNs"));
        };
        if view.core_schema().id.eq_ignore_ascii_case(urn) {
            has_core = true;
        } else if view.extension(urn).is_none() && !compat.ignore_unknown_schemas {
            return Err(invalid_value(format!(
                "schemas: {urn} is not a schema of {}",
                view.resource_type().name
            )));
        }
    }
    if !has_core && !compat.infer_missing_schemas {
        return Err(invalid_value(format!(
            "schemas must include {}",
            view.core_schema().id
        )));
    }
    Ok(())
}

fn check_required(
    view: ResourceTypeView<'_>,
    core: &Map<String, Value>,
    extensions: &[(&Schema, Map<String, Value>)],
) -> Result<(), SchemaError> {
    if let Some(name) = view.core_schema().missing_required(core) {
        return Err(invalid_value(format!("{name} is required")));
    }
    for ((schema, attrs), (_, required)) in extensions.iter().zip(view.extensions()) {
        if attrs.is_empty() {
            if required {
                return Err(invalid_value(format!(
                    "the {} extension is required",
                    schema.id
                )));
            }
            continue;
        }
        if let Some(name) = schema.missing_required(attrs) {
            return Err(invalid_value(format!("{}:{name} is required", schema.id)));
        }
    }
    Ok(())
}

/// Immutable attributes (and immutable sub-attributes of single-valued complex ones)
/// keep their existing values: omitted, they are carried over; changed, it is an error.
fn keep_immutable(
    view: ResourceTypeView<'_>,
    existing: &Value,
    core: &mut Map<String, Value>,
    extensions: &mut [(&Schema, Map<String, Value>)],
) -> Result<(), SchemaError> {
    let Some(existing) = existing.as_object() else {
        return Ok(());
    };
    immutable(&view.core_schema().attributes, existing, core, "")?;
    for (schema, attrs) in extensions.iter_mut() {
        if let Some(Value::Object(old)) = get_ci(existing, &schema.id) {
            immutable(&schema.attributes, old, attrs, &format!("{}:", schema.id))?;
        }
    }
    Ok(())
}

fn immutable(
    attributes: &[Attribute],
    old: &Map<String, Value>,
    new: &mut Map<String, Value>,
    prefix: &str,
) -> Result<(), SchemaError> {
    for attr in attributes {
        let Some(before) = old.get(&attr.name).filter(|v| is_given(v)) else {
            continue;
        };
        if attr.mutability == Mutability::Immutable {
            match new.get(&attr.name) {
                None => {
                    new.insert(attr.name.clone(), before.clone());
                }
                Some(after) if after != before => {
                    return Err(SchemaError::mutability(format!(
                        "{prefix}{} is immutable and cannot be changed",
                        attr.name
                    )));
                }
                Some(_) => {}
            }
        } else if attr.kind == AttrKind::Complex && !attr.multi_valued {
            if let (Value::Object(before), Some(Value::Object(after))) =
                (before, new.get_mut(&attr.name))
            {
                immutable(
                    &attr.sub_attributes,
                    before,
                    after,
                    &format!("{prefix}{}.", attr.name),
                )?;
            }
        }
    }
    Ok(())
}

fn collect_unique(
    schema: &Schema,
    urn: Option<&str>,
    attrs: &Map<String, Value>,
    out: &mut Vec<UniqueValue>,
) {
    collect_unique_attrs(&schema.attributes, urn, attrs, out);
}

fn collect_unique_attrs(
    attributes: &[Attribute],
    urn: Option<&str>,
    attrs: &Map<String, Value>,
    out: &mut Vec<UniqueValue>,
) {
    for attr in attributes {
        if attr.uniqueness == Uniqueness::None
            || attr.mutability == Mutability::ReadOnly
            || attr.kind == AttrKind::Complex
        {
            continue;
        }
        if let Some(value) = attrs.get(&attr.name) {
            out.push(UniqueValue {
                path: match urn {
                    Some(urn) => format!("{urn}:{}", attr.name),
                    None => attr.name.clone(),
                },
                value: value.clone(),
                case_exact: attr.compares_case_exact(),
            });
        }
    }
}

/// Where a value is, for error messages: built only when one is needed.
#[derive(Clone, Copy)]
struct At<'a> {
    urn: Option<&'a str>,
    parent: Option<&'a str>,
    name: &'a str,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(urn) = self.urn {
            write!(f, "{urn}:")?;
        }
        if let Some(parent) = self.parent {
            write!(f, "{parent}.")?;
        }
        f.write_str(self.name)
    }
}

impl Normalizer<'_> {
    /// Normalises the attributes of `schema` (plus the common attributes when given) in
    /// `obj`, in place: canonical names, values coerced, absent, read-only and unknown
    /// ones removed, write-only ones taken out.
    fn object(
        &mut self,
        schema: &Schema,
        common: Option<&[Attribute]>,
        obj: &mut Map<String, Value>,
    ) -> Result<(), SchemaError> {
        let urn = common.is_none().then_some(schema.id.as_str());
        self.fields(
            obj,
            &|key| {
                schema
                    .attribute(key)
                    .or_else(|| common?.iter().find(|a| a.name.eq_ignore_ascii_case(key)))
            },
            &|name| At {
                urn,
                parent: None,
                name,
            },
            &|key| format!("{key} is not an attribute of {}", schema.id),
        )
    }

    /// The in-place normalisation of an object's fields, each found by `lookup`, placed
    /// for error messages by `at`, and refused by `unknown` when strict.
    fn fields<'a>(
        &mut self,
        obj: &mut Map<String, Value>,
        lookup: &dyn Fn(&str) -> Option<&'a Attribute>,
        at: &dyn Fn(&'a str) -> At<'a>,
        unknown: &dyn Fn(&str) -> String,
    ) -> Result<(), SchemaError> {
        let mut renames = Vec::new();
        let mut failed = None;
        obj.retain(|key, value| {
            if failed.is_some() {
                return true;
            }
            let Some(attr) = lookup(key) else {
                if self.compat.ignore_unknown_attributes || !is_given(value) {
                    return false;
                }
                failed = Some(invalid_value(unknown(key)));
                return true;
            };
            match self.keep(attr, at(&attr.name), value) {
                Err(e) => {
                    failed = Some(e);
                    true
                }
                Ok(false) => false,
                Ok(true) if *key != attr.name => {
                    renames.push((key.clone(), attr));
                    true
                }
                Ok(true) => true,
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        for (key, attr) in renames {
            let value = obj.remove(&key).expect("kept above");
            if obj.insert(attr.name.clone(), value).is_some() {
                return Err(invalid_syntax(format!(
                    "{} is given more than once",
                    at(&attr.name)
                )));
            }
        }
        Ok(())
    }

    /// Normalises one `name: value` of `schema` and adds it to `out`.
    fn one(
        &mut self,
        schema: &Schema,
        common: Option<&[Attribute]>,
        name: &str,
        mut value: Value,
        out: &mut Map<String, Value>,
    ) -> Result<(), SchemaError> {
        let attr = schema
            .attribute(name)
            .or_else(|| common?.iter().find(|a| a.name.eq_ignore_ascii_case(name)));
        let Some(attr) = attr else {
            if self.compat.ignore_unknown_attributes || !is_given(&value) {
                return Ok(());
            }
            return Err(invalid_value(format!(
                "{name} is not an attribute of {}",
                schema.id
            )));
        };
        let at = At {
            urn: common.is_none().then_some(schema.id.as_str()),
            parent: None,
            name: &attr.name,
        };
        if self.keep(attr, at, &mut value)? {
            self.insert(schema, common.is_none(), attr.name.clone(), value, out)?;
        }
        Ok(())
    }

    /// Adds a normalised `key: value` to `out`, refusing a second value for one attribute.
    fn insert(
        &mut self,
        schema: &Schema,
        qualified: bool,
        key: String,
        value: Value,
        out: &mut Map<String, Value>,
    ) -> Result<(), SchemaError> {
        if out.contains_key(&key) {
            let at = At {
                urn: qualified.then_some(schema.id.as_str()),
                parent: None,
                name: &key,
            };
            return Err(invalid_syntax(format!("{at} is given more than once")));
        }
        out.insert(key, value);
        Ok(())
    }

    /// Normalises `value` for `attr` in place; says whether it stays. Read-only input,
    /// absent values and write-only values (which are taken out) do not.
    fn keep(
        &mut self,
        attr: &Attribute,
        at: At<'_>,
        value: &mut Value,
    ) -> Result<bool, SchemaError> {
        if attr.mutability == Mutability::ReadOnly || !self.value(attr, at, value)? {
            return Ok(false);
        }
        if attr.mutability == Mutability::WriteOnly {
            self.write_only
                .push((at.to_string(), std::mem::take(value)));
            return Ok(false);
        }
        Ok(true)
    }

    /// Normalises the value of `attr` in place; says whether it is present.
    fn value(
        &mut self,
        attr: &Attribute,
        at: At<'_>,
        value: &mut Value,
    ) -> Result<bool, SchemaError> {
        if value.is_null() {
            return Ok(false);
        }
        if !attr.multi_valued {
            if let Value::Array(items) = value {
                match items.len() {
                    0 => return Ok(false),
                    1 if attr.kind == AttrKind::Complex && self.compat.unwrap_single_complex => {
                        *value = items.pop().expect("one item");
                    }
                    _ => {
                        return Err(invalid_value(format!(
                            "{at} is single-valued, not an array"
                        )))
                    }
                }
            }
            return self.single(attr, at, value);
        }
        if !value.is_array() {
            if !self.compat.wrap_single_values {
                return Err(invalid_value(format!(
                    "{at} is multi-valued and must be an array"
                )));
            }
            *value = Value::Array(vec![std::mem::take(value)]);
        }
        let Value::Array(items) = value else {
            unreachable!("made an array above")
        };
        let mut failed = None;
        items.retain_mut(|item| {
            if failed.is_some() {
                return true;
            }
            if item.is_array() {
                failed = Some(invalid_value(format!("{at} cannot hold nested arrays")));
                return true;
            }
            self.single(attr, at, item).unwrap_or_else(|e| {
                failed = Some(e);
                true
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if attr.kind == AttrKind::Complex {
            self.one_primary(at, items)?;
        }
        Ok(!items.is_empty())
    }

    fn one_primary(&self, at: At<'_>, items: &mut [Value]) -> Result<(), SchemaError> {
        let mut seen = false;
        for item in items.iter_mut() {
            let Some(primary) = item.get_mut("primary") else {
                continue;
            };
            if *primary == Value::Bool(true) {
                if seen {
                    if !self.compat.first_primary_wins {
                        return Err(invalid_value(format!(
                            "{at}: more than one value is primary"
                        )));
                    }
                    *primary = Value::Bool(false);
                }
                seen = true;
            }
        }
        Ok(())
    }

    /// Normalises one value of `attr` (an element, for a multi-valued attribute) in place;
    /// says whether it is present.
    fn single(
        &mut self,
        attr: &Attribute,
        at: At<'_>,
        value: &mut Value,
    ) -> Result<bool, SchemaError> {
        let wrong = |expected: &str| invalid_value(format!("{at} must be {expected}"));
        let lenient = self.compat;
        match attr.kind {
            AttrKind::Complex => {
                if matches!(value, Value::String(_) | Value::Number(_))
                    && lenient.unwrap_single_complex
                    && attr.sub_attribute("value").is_some()
                {
                    *value = Value::Object(Map::from_iter([(
                        "value".to_owned(),
                        std::mem::take(value),
                    )]));
                }
                let fields = match value {
                    Value::Null => return Ok(false),
                    Value::Object(fields) => fields,
                    _ => return Err(wrong("an object")),
                };
                self.sub_attributes(attr, at, fields)?;
                if fields.is_empty() {
                    return Ok(false);
                }
                if let Some(sub) = attr
                    .sub_attributes
                    .iter()
                    .find(|s| s.required && !fields.contains_key(&s.name))
                {
                    return Err(invalid_value(format!("{at}.{} is required", sub.name)));
                }
            }
            AttrKind::String | AttrKind::Reference | AttrKind::Binary => match value {
                Value::String(s) => {
                    if lenient.enforce_canonical_values
                        && !attr.canonical_values.is_empty()
                        && !attr
                            .canonical_values
                            .iter()
                            .any(|c| c.eq_ignore_ascii_case(s))
                    {
                        return Err(invalid_value(format!(
                            "{at} must be one of {}",
                            attr.canonical_values.join(", ")
                        )));
                    }
                }
                Value::Number(_) | Value::Bool(_)
                    if lenient.coerce_numbers && attr.kind == AttrKind::String =>
                {
                    *value = Value::String(value.to_string());
                }
                Value::Null => return Ok(false),
                _ => return Err(wrong("a string")),
            },
            AttrKind::Boolean => match value {
                Value::Bool(_) => {}
                Value::String(s) if lenient.coerce_booleans => {
                    if s.eq_ignore_ascii_case("true") {
                        *value = Value::Bool(true);
                    } else if s.eq_ignore_ascii_case("false") {
                        *value = Value::Bool(false);
                    } else {
                        return Err(wrong("a boolean"));
                    }
                }
                Value::Null => return Ok(false),
                _ => return Err(wrong("a boolean")),
            },
            AttrKind::Integer => match value {
                Value::Number(n) if n.is_i64() || n.is_u64() => {}
                Value::String(s) if lenient.coerce_numbers => match s.trim().parse::<i64>() {
                    Ok(i) => *value = Value::Number(i.into()),
                    Err(_) => return Err(wrong("an integer")),
                },
                Value::Null => return Ok(false),
                _ => return Err(wrong("an integer")),
            },
            AttrKind::Decimal => match value {
                Value::Number(_) => {}
                Value::String(s) if lenient.coerce_numbers => {
                    match s.trim().parse::<f64>().ok().and_then(Number::from_f64) {
                        Some(n) => *value = Value::Number(n),
                        None => return Err(wrong("a decimal number")),
                    }
                }
                Value::Null => return Ok(false),
                _ => return Err(wrong("a decimal number")),
            },
            AttrKind::DateTime => match value {
                Value::String(s) if parse_datetime(s).is_some() => {}
                Value::Null => return Ok(false),
                _ => return Err(wrong("an xsd:dateTime such as 2008-01-23T04:56:22Z")),
            },
        }
        Ok(true)
    }

    /// Normalises the sub-attributes of a complex value in place.
    fn sub_attributes(
        &mut self,
        attr: &Attribute,
        at: At<'_>,
        fields: &mut Map<String, Value>,
    ) -> Result<(), SchemaError> {
        self.fields(
            fields,
            &|key| attr.sub_attribute(key),
            &|name| At {
                urn: at.urn,
                parent: Some(at.name),
                name,
            },
            &|key| format!("{key} is not a sub-attribute of {at}"),
        )
    }
}

/// Normalises one value given for `attr` outside a whole resource (a PATCH value): the
/// attribute's value, or with `element` one element of a multi-valued attribute.
/// Write-only values are moved to `write_only`. `None` when the value counts as absent.
pub(crate) fn normalize_value(
    attr: &Attribute,
    urn: Option<&str>,
    parent: Option<&str>,
    mut value: Value,
    element: bool,
    compat: &Compat,
    write_only: &mut Vec<(String, Value)>,
) -> Result<Option<Value>, SchemaError> {
    let mut n = Normalizer {
        compat,
        write_only: Vec::new(),
    };
    let at = At {
        urn,
        parent,
        name: &attr.name,
    };
    let present = if element {
        if value.is_array() {
            return Err(invalid_value(format!("{at} cannot hold nested arrays")));
        }
        n.single(attr, at, &mut value)?
    } else {
        n.value(attr, at, &mut value)?
    };
    if attr.mutability == Mutability::WriteOnly && present {
        write_only.push((at.to_string(), value));
        return Ok(None);
    }
    write_only.append(&mut n.write_only);
    Ok(present.then_some(value))
}
