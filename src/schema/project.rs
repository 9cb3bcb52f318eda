//! `attributes` and `excludedAttributes` (RFC 7644 §3.9) combined with each attribute's
//! `returned` characteristic (RFC 7643 §2.2, §7).

use serde_json::{Map, Value};

use super::{Attribute, ResourceTypeView, Returned, Schema, SchemaError};
use crate::filter::AttrPath;

/// Which attributes a response carries: the `attributes` and `excludedAttributes`
/// parameters of a request, as given.
///
/// ```
/// use scimkit::schema::{Projection, Registry};
/// use serde_json::json;
///
/// let registry = Registry::scim_default();
/// let users = registry.resource_type("User").unwrap();
/// let user = json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "password": "t1meMa$heen",
///     "name": {"givenName": "Barbara", "familyName": "Jensen"},
///     "emails": [{"value": "bjensen@example.com", "type": "work"}]
/// });
/// let only = Projection::parse(Some("userName,Name.GivenName"), None)?;
/// assert_eq!(users.project(user.clone(), &only), json!({
///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
///     "id": "2819c223", "userName": "bjensen", "name": {"givenName": "Barbara"}
/// }));
/// // `password` is never returned, whatever is asked.
/// let all = Projection::default();
/// assert!(users.project(user, &all).get("password").is_none());
/// # Ok::<(), scimkit::schema::SchemaError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    attributes: Vec<String>,
    excluded: Vec<String>,
}

impl Projection {
    /// From the comma-separated values of `attributes` and `excludedAttributes`. Each
    /// entry is an attribute path (`name.givenName`, URN-qualified or not) or a schema
    /// URN (all of that extension). A malformed entry is a `400 invalidValue`.
    pub fn parse(
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, SchemaError> {
        Ok(Projection {
            attributes: split(attributes)?,
            excluded: split(excluded)?,
        })
    }

    /// Whether the projection returns the default set unchanged.
    pub fn is_default(&self) -> bool {
        self.attributes.is_empty() && self.excluded.is_empty()
    }
}

fn split(list: Option<&str>) -> Result<Vec<String>, SchemaError> {
    let mut out = Vec::new();
    for entry in list
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        entry.parse::<AttrPath>().map_err(|e| {
            SchemaError::invalid_value(format!("{entry:?} is not an attribute path: {e}"))
        })?;
        out.push(entry.to_owned());
    }
    Ok(out)
}

/// One entry of a projection, resolved against a resource type.
#[derive(Clone, Copy)]
enum Selector<'r> {
    Attribute(&'r Attribute),
    Sub(&'r Attribute, &'r Attribute),
    Schema(&'r Schema),
}

struct Selection<'r> {
    /// Whether `attributes` was given: then only what it names is returned, even when
    /// none of its entries names anything.
    narrow: bool,
    attributes: Vec<Selector<'r>>,
    excluded: Vec<Selector<'r>>,
}

fn select<'r>(view: ResourceTypeView<'r>, entries: &[String]) -> Vec<Selector<'r>> {
    entries
        .iter()
        .filter_map(|entry| {
            if let Some(schema) = view.extension(entry) {
                return Some(Selector::Schema(schema));
            }
            if view.core_schema().id.eq_ignore_ascii_case(entry) {
                return Some(Selector::Schema(view.core_schema()));
            }
            // Entries that name nothing select nothing (RFC 7644 §3.9 does not make
            // them errors, and IdPs ask for attributes a server may not have).
            let resolved = view.resolve_path(&entry.parse().ok()?)?;
            Some(match resolved.sub_attribute {
                Some(sub) => Selector::Sub(resolved.attribute, sub),
                None => Selector::Attribute(resolved.attribute),
            })
        })
        .collect()
}

/// A projection resolved against a resource type once, for the resources of a page.
pub(crate) struct Projector<'r> {
    view: ResourceTypeView<'r>,
    /// `None` for the default projection.
    selection: Option<Selection<'r>>,
}

impl<'r> Projector<'r> {
    pub(super) fn new(view: ResourceTypeView<'r>, projection: &Projection) -> Projector<'r> {
        let selection = (!projection.is_default()).then(|| Selection {
            narrow: !projection.attributes.is_empty(),
            attributes: select(view, &projection.attributes),
            excluded: select(view, &projection.excluded),
        });
        Projector { view, selection }
    }

    /// `resource` with only what the projection and the `returned` characteristics allow
    /// (see [`ResourceTypeView::project`]).
    pub(crate) fn project(&self, mut resource: Value) -> Value {
        let view = self.view;
        let Some(obj) = resource.as_object_mut() else {
            return resource;
        };
        let Some(selection) = &self.selection else {
            remove_hidden(view, obj);
            return resource;
        };
        obj.retain(|key, value| {
            if key == "schemas" {
                return true;
            }
            if let Some(ext) = view.extension(key) {
                return match value {
                    Value::Object(attrs) => {
                        project_schema(ext, attrs, selection);
                        !attrs.is_empty()
                    }
                    _ => false,
                };
            }
            match view.resolve(None, key, None) {
                Some(r) if !r.extension => {
                    let schema = r.schema.unwrap_or(view.core_schema());
                    project_attribute(schema, r.attribute, value, selection)
                }
                // Attributes no schema defines are returned by default, like any other.
                _ => !selection.narrow,
            }
        });
        resource
    }
}

/// Whether the default projection takes anything out of `resource`: an attribute (or a
/// sub-attribute of one) whose `returned` is `never` or `request`.
pub(super) fn hides_by_default(view: ResourceTypeView<'_>, resource: &Value) -> bool {
    let Some(obj) = resource.as_object() else {
        return false;
    };
    let hidden = |a: &Attribute| matches!(a.returned, Returned::Never | Returned::Request);
    let mut schemas = vec![(view.core_schema(), None)];
    schemas.extend(
        view.extensions()
            .map(|(ext, _)| (ext, Some(ext.id.as_str()))),
    );
    schemas.into_iter().any(|(schema, urn)| {
        let container = match urn {
            None => Some(obj),
            Some(urn) => obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(urn))
                .and_then(|(_, v)| v.as_object()),
        };
        let Some(container) = container else {
            return false;
        };
        schema
            .attributes
            .iter()
            .filter(|a| hidden(a) || a.sub_attributes.iter().any(hidden))
            .any(|a| container.keys().any(|k| k.eq_ignore_ascii_case(&a.name)))
    })
}

/// The default projection: only what `returned: never` or `request` hides goes. It
/// visits those attributes, not every attribute of the resource, since that is what
/// most responses (every page of a list) need.
fn remove_hidden(view: ResourceTypeView<'_>, obj: &mut Map<String, Value>) {
    let selection = Selection {
        narrow: false,
        attributes: Vec::new(),
        excluded: Vec::new(),
    };
    let mut schemas = vec![(view.core_schema(), None)];
    schemas.extend(
        view.extensions()
            .map(|(ext, _)| (ext, Some(ext.id.as_str()))),
    );
    for (schema, urn) in schemas {
        let container = match urn {
            None => Some(&mut *obj),
            Some(urn) => match obj.keys().find(|k| k.eq_ignore_ascii_case(urn)).cloned() {
                Some(key) => obj.get_mut(&key).and_then(Value::as_object_mut),
                None => None,
            },
        };
        let Some(container) = container else { continue };
        for attr in &schema.attributes {
            let hidden = |a: &Attribute| matches!(a.returned, Returned::Never | Returned::Request);
            if !hidden(attr) && !attr.sub_attributes.iter().any(hidden) {
                continue;
            }
            let Some(key) = container
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&attr.name))
                .cloned()
            else {
                continue;
            };
            let keep = match container.get_mut(&key) {
                Some(value) => project_attribute(schema, attr, value, &selection),
                None => true,
            };
            if !keep {
                container.remove(&key);
            }
        }
    }
    let empty_extension = |(k, v): (&String, &Value)| {
        view.extension(k).is_some() && v.as_object().is_some_and(Map::is_empty)
    };
    let emptied: Vec<String> = obj
        .iter()
        .filter(|kv| empty_extension(*kv))
        .map(|(k, _)| k.clone())
        .collect();
    for key in emptied {
        obj.remove(&key);
    }
}

fn project_schema(schema: &Schema, attrs: &mut Map<String, Value>, selection: &Selection<'_>) {
    attrs.retain(|key, value| match schema.attribute(key) {
        Some(attr) => project_attribute(schema, attr, value, selection),
        None => !selection.narrow,
    });
}

fn same(a: &Attribute, b: &Attribute) -> bool {
    std::ptr::eq(a, b)
}

/// Narrows `value` in place; says whether the attribute stays.
fn project_attribute(
    schema: &Schema,
    attr: &Attribute,
    value: &mut Value,
    selection: &Selection<'_>,
) -> bool {
    match attr.returned {
        Returned::Never => return false,
        Returned::Always => return keep_subs(attr, value, None, &[]),
        Returned::Default | Returned::Request => {}
    }
    let whole_schema = |list: &[Selector<'_>]| {
        list.iter()
            .any(|s| matches!(s, Selector::Schema(s) if std::ptr::eq(*s, schema)))
    };
    if selection.narrow {
        let named = selection
            .attributes
            .iter()
            .any(|s| matches!(s, Selector::Attribute(a) if same(a, attr)));
        let by_schema = whole_schema(&selection.attributes) && attr.returned != Returned::Request;
        if named || by_schema {
            return keep_subs(attr, value, None, &selection.excluded_subs(attr));
        }
        let subs: Vec<&Attribute> = selection
            .attributes
            .iter()
            .filter_map(|s| match s {
                Selector::Sub(a, sub) if same(a, attr) => Some(*sub),
                _ => None,
            })
            .collect();
        if subs.is_empty() {
            return always_subs(attr, value);
        }
        return keep_subs(attr, value, Some(&subs), &[]);
    }
    if attr.returned == Returned::Request {
        return false;
    }
    let excluded = selection
        .excluded
        .iter()
        .any(|s| matches!(s, Selector::Attribute(a) if same(a, attr)))
        || whole_schema(&selection.excluded);
    if excluded {
        return always_subs(attr, value);
    }
    keep_subs(attr, value, None, &selection.excluded_subs(attr))
}

impl Selection<'_> {
    fn excluded_subs(&self, attr: &Attribute) -> Vec<&Attribute> {
        self.excluded
            .iter()
            .filter_map(|s| match s {
                Selector::Sub(a, sub) if same(a, attr) => Some(*sub),
                _ => None,
            })
            .collect()
    }
}

/// Keeps only the `returned: always` sub-attributes of an attribute otherwise left out.
fn always_subs(attr: &Attribute, value: &mut Value) -> bool {
    let always: Vec<&Attribute> = attr
        .sub_attributes
        .iter()
        .filter(|s| s.returned == Returned::Always)
        .collect();
    !always.is_empty() && keep_subs(attr, value, Some(&always), &[])
}

fn is_present(v: &Value) -> bool {
    match v {
        Value::Object(o) => !o.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// Narrows a complex value to the sub-attributes their `returned` characteristic allows,
/// to `only` when given, and without `without`; says whether anything is left.
fn keep_subs(
    attr: &Attribute,
    value: &mut Value,
    only: Option<&[&Attribute]>,
    without: &[&Attribute],
) -> bool {
    if attr.sub_attributes.is_empty() {
        return true;
    }
    let keep = |key: &String, _: &mut Value| -> bool {
        let Some(sub) = attr.sub_attribute(key) else {
            return only.is_none();
        };
        match sub.returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Request => only.is_some_and(|o| o.iter().any(|s| same(s, sub))),
            Returned::Default => {
                only.is_none_or(|o| o.iter().any(|s| same(s, sub)))
                    && !without.iter().any(|s| same(s, sub))
            }
        }
    };
    match value {
        Value::Object(o) => o.retain(keep),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(o) = item {
                    o.retain(keep);
                }
            }
            items.retain(is_present);
        }
        _ => {}
    }
    is_present(value)
}
