//! Applying a PATCH request to a resource, all or nothing: each operation resolved against
//! the resource type, values normalised as a POST's are, lists identified by `value`
//! changed through a per-request index so that large groups are not scanned per member.
//! Adding and replacing values is in [`super::set`], removals in [`super::remove`].

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{AttributeChange, NetChange, OpKind, Operation, PatchError, PatchPath, PatchRequest};
use crate::compat::Compat;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::schema::{normalize_value, AttrKind, Attribute, Mutability, ResourceTypeView, Schema};

/// The result of applying a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    /// The resource after every operation.
    pub resource: Value,
    /// Whether it differs from the resource before; when not, a server need not write it
    /// nor change its version. A value of a list identified by `value` (a group member)
    /// taken out and put back counts as a change, whether or not the element differs.
    pub changed: bool,
    /// Write-only values set by the request (such as a new `password`), by canonical path.
    pub write_only: Vec<(String, Value)>,
    /// The attributes that changed, each with what it was before (for a list identified
    /// by `value`, such as `members`, the values added and removed).
    pub changes: Vec<AttributeChange>,
}

/// Where an operation lands: the attribute, in the core or an extension object.
pub(super) struct Target<'p> {
    /// The extension URN whose object holds the attribute, if any.
    pub(super) ext: Option<&'p str>,
    pub(super) attr: &'p Attribute,
    /// `attr.sub`.
    pub(super) sub: Option<&'p Attribute>,
    /// `attr[filter]`.
    pub(super) filter: Option<&'p Filter>,
    /// `attr[filter].sub`.
    pub(super) filter_sub: Option<&'p Attribute>,
}

/// A multi-valued attribute whose elements are identified by their `value` (its `value`
/// is immutable or read-only, as for a group's `members`), tracked for the length of one
/// request so that long lists are not scanned per operation.
pub(super) struct Index {
    pub(super) ext: Option<String>,
    pub(super) name: String,
    pub(super) present: HashSet<String>,
    /// Removed values not yet taken out of the list.
    pub(super) removed: HashSet<String>,
    /// What the request did to the list, net.
    pub(super) net: NetChange,
}

impl Index {
    pub(super) fn new(ext: Option<&str>, name: &str, list: &[Value]) -> Index {
        Index {
            ext: ext.map(str::to_owned),
            name: name.to_owned(),
            present: list
                .iter()
                .filter_map(value_key)
                .map(str::to_owned)
                .collect(),
            removed: HashSet::new(),
            net: NetChange::default(),
        }
    }

    /// Whether the list differs from what it was when the index was built.
    pub(super) fn changed(&self) -> bool {
        self.net.changed()
    }
}

/// An attribute as it was before a request's operations on it.
pub(super) struct Original {
    pub(super) ext: Option<String>,
    pub(super) name: String,
    pub(super) value: Option<Value>,
    /// A list identified by `value`, compared by membership.
    pub(super) identified: bool,
    /// What indexed changes did to the list before `value` was taken.
    pub(super) earlier: NetChange,
}

pub(super) struct Engine<'v, 'r> {
    pub(super) view: ResourceTypeView<'r>,
    pub(super) compat: &'v Compat,
    /// Whether a list tracked by an index changed.
    pub(super) changed: bool,
    /// Each attribute operations touched, with its value before the first of them that
    /// was not an indexed change.
    pub(super) originals: Vec<Original>,
    /// The net changes of indexes that were flushed: (extension URN, attribute name, net).
    pub(super) nets: Vec<(Option<String>, String, NetChange)>,
    pub(super) write_only: Vec<(String, Value)>,
    /// By the attribute definition's address.
    pub(super) indexes: HashMap<usize, Index>,
}

/// Applies `request` to `resource` (see [`ResourceTypeView::patch_owned`]).
pub(crate) fn apply(
    view: ResourceTypeView<'_>,
    resource: Value,
    request: &PatchRequest,
    compat: &Compat,
) -> Result<Patched, PatchError> {
    let Value::Object(mut doc) = resource else {
        return Err(PatchError::syntax("the resource is not a JSON object"));
    };
    let mut engine = Engine::new(view, compat);
    // Whole extensions that operations replace or remove, as they are before any
    // operation, to tell at the end whether they changed.
    for op in &request.operations {
        let Some(ext) = op.path.as_ref().and_then(|p| engine.whole_extension(p)) else {
            continue;
        };
        if !engine
            .originals
            .iter()
            .any(|o| o.ext.is_none() && o.name == ext.id)
        {
            engine.originals.push(Original {
                ext: None,
                name: ext.id.clone(),
                value: doc.get(&ext.id).cloned(),
                identified: false,
                earlier: NetChange::default(),
            });
        }
    }
    for (i, op) in request.operations.iter().enumerate() {
        engine.apply(&mut doc, op).map_err(|e| e.at(i, Some(op)))?;
    }
    engine.flush_all(&mut doc);
    let schemas = doc.get("schemas").cloned();
    finish(view, &mut doc)?;
    let changes = engine.changes(&doc);
    let changed = engine.changed || doc.get("schemas") != schemas.as_ref() || !changes.is_empty();
    Ok(Patched {
        resource: Value::Object(doc),
        changed,
        write_only: engine.write_only,
        changes,
    })
}

/// Drops emptied extension objects, lists the extensions present in `schemas`, and
/// checks the required attributes.
fn finish(view: ResourceTypeView<'_>, doc: &mut Map<String, Value>) -> Result<(), PatchError> {
    let mut schemas = vec![Value::String(view.core_schema().id.clone())];
    for (ext, required) in view.extensions() {
        match doc.get(&ext.id) {
            Some(Value::Object(o)) if !o.is_empty() => {
                if let Some(missing) = ext.missing_required(o) {
                    return Err(PatchError::mutability(format!(
                        "{}:{missing} is required",
                        ext.id
                    )));
                }
                schemas.push(Value::String(ext.id.clone()));
            }
            _ => {
                doc.remove(&ext.id);
                if required {
                    return Err(PatchError::mutability(format!(
                        "the {} extension is required",
                        ext.id
                    )));
                }
            }
        }
    }
    if let Some(missing) = view.core_schema().missing_required(doc) {
        return Err(PatchError::mutability(format!("{missing} is required")));
    }
    doc.insert("schemas".into(), Value::Array(schemas));
    Ok(())
}

/// The attribute types of a complex attribute's sub-attributes, for filters on elements.
pub(super) struct SubTypes<'a>(pub(super) &'a Attribute);

impl crate::eval::AttributeTypes for SubTypes<'_> {
    fn attribute_type(&self, _: Option<&str>, path: &[&str]) -> Option<crate::eval::AttrType> {
        match path {
            [name] => self.0.sub_attribute(name).map(Attribute::attr_type),
            _ => None,
        }
    }
}

/// Whether elements of `attr` are identified by their `value`.
pub(super) fn identified_by_value(attr: &Attribute) -> bool {
    attr.multi_valued
        && attr
            .sub_attribute("value")
            .is_some_and(|v| matches!(v.mutability, Mutability::Immutable | Mutability::ReadOnly))
}

pub(super) fn value_key(element: &Value) -> Option<&str> {
    element.get("value").and_then(Value::as_str)
}

/// The `value` literal of a filter that is exactly `value eq "…"`.
pub(super) fn value_eq(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(s),
        } if path.urn.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(s)
        }
        _ => None,
    }
}

impl<'v, 'r> Engine<'v, 'r> {
    pub(super) fn new(view: ResourceTypeView<'r>, compat: &'v Compat) -> Engine<'v, 'r> {
        Engine {
            view,
            compat,
            changed: false,
            originals: Vec::new(),
            nets: Vec::new(),
            write_only: Vec::new(),
            indexes: HashMap::new(),
        }
    }

    fn apply(&mut self, doc: &mut Map<String, Value>, op: &Operation) -> Result<(), PatchError> {
        match &op.path {
            None => self.apply_object(doc, op.op, op.value.as_ref().expect("checked")),
            Some(path) => self.apply_path(doc, op.op, path, op.value.clone()),
        }
    }

    fn apply_path(
        &mut self,
        doc: &mut Map<String, Value>,
        op: OpKind,
        path: &PatchPath,
        value: Option<Value>,
    ) -> Result<(), PatchError> {
        if let Some(ext) = self.whole_extension(path) {
            return self.apply_extension(doc, op, ext, value);
        }
        let Some(target) = self.target(path)? else {
            // An attribute no schema defines, ignored like unknown attributes of a POST.
            return Ok(());
        };
        self.tracked(doc, &target, op, value)
    }

    /// The extension schema a path names as a whole (`urn:…:enterprise:2.0:User`), which
    /// the path grammar reads as an attribute `User` of a schema `urn:…:enterprise:2.0`.
    pub(super) fn whole_extension(&self, path: &PatchPath) -> Option<&'r Schema> {
        if path.filter.is_some() || path.attr.sub_attr.is_some() {
            return None;
        }
        let urn = path.attr.urn.as_deref()?;
        self.view.extension(&format!("{urn}:{}", path.attr.name))
    }

    /// An operation on a whole extension: `remove` drops its object, `replace` sets it to
    /// the value, `add` adds the value's attributes.
    fn apply_extension(
        &mut self,
        doc: &mut Map<String, Value>,
        op: OpKind,
        ext: &Schema,
        value: Option<Value>,
    ) -> Result<(), PatchError> {
        if op != OpKind::Add {
            // Its state before the request was noted when the request began.
            doc.remove(&ext.id);
        }
        match (op, value) {
            (OpKind::Remove, _) | (_, None | Some(Value::Null)) => Ok(()),
            (_, Some(Value::Object(attrs))) => self.apply_extension_fields(doc, op, ext, &attrs),
            (_, Some(_)) => Err(PatchError::invalid_value(format!(
                "{} must be an object",
                ext.id
            ))),
        }
    }

    /// Each attribute of an extension's object, applied as if given as a path.
    fn apply_extension_fields(
        &mut self,
        doc: &mut Map<String, Value>,
        op: OpKind,
        ext: &Schema,
        attrs: &Map<String, Value>,
    ) -> Result<(), PatchError> {
        for (name, value) in attrs {
            if value.is_null() {
                continue;
            }
            let path = PatchPath {
                attr: AttrPath::new(name.clone()).with_urn(ext.id.clone()),
                filter: None,
                sub_attr: None,
            };
            self.apply_path(doc, op, &path, Some(value.clone()))?;
        }
        Ok(())
    }

    /// Runs one operation on a resolved target, noting what it may change: lists tracked
    /// by an index note their own net changes; any other attribute is remembered as it was
    /// before the first operation that touched it, to be compared at the end.
    fn tracked(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        op: OpKind,
        value: Option<Value>,
    ) -> Result<(), PatchError> {
        let identified = identified_by_value(target.attr) && target.sub.is_none();
        // The values a removal takes out through the index, when it can.
        let keys = match op {
            OpKind::Remove if identified => self.removal_keys(target, value.as_ref())?,
            _ => None,
        };
        let indexed = identified
            && match op {
                OpKind::Add => target.filter.is_none(),
                OpKind::Remove => keys.is_some(),
                OpKind::Replace => false,
            };
        let seen = self
            .originals
            .iter()
            .any(|o| o.ext.as_deref() == target.ext && o.name == target.attr.name);
        if !indexed && !seen {
            // Indexed changes so far are applied and noted apart, so that the value taken
            // is the list as it now is.
            self.flush(doc, target.attr);
            let mut earlier = NetChange::default();
            self.nets.retain(|(ext, name, net)| {
                let mine = ext.as_deref() == target.ext && *name == target.attr.name;
                if mine {
                    earlier = std::mem::take(&mut earlier).then(net.clone());
                }
                !mine
            });
            self.originals.push(Original {
                ext: target.ext.map(str::to_owned),
                name: target.attr.name.clone(),
                value: self.current(doc, target).cloned(),
                identified: identified_by_value(target.attr),
                earlier,
            });
        }
        match (op, value) {
            (OpKind::Remove, value) => self.remove(doc, target, value, keys),
            // Replacing with null unassigns the attribute.
            (OpKind::Replace, Some(Value::Null)) => self.remove(doc, target, None, None),
            (_, Some(value)) => self.set(doc, target, op, value),
            (_, None) => Err(PatchError::syntax("add and replace need a value")),
        }
    }

    /// The target attribute's value now.
    fn current<'d>(&self, doc: &'d Map<String, Value>, target: &Target<'_>) -> Option<&'d Value> {
        let container = match target.ext {
            Some(urn) => doc.get(urn)?.as_object()?,
            None => doc,
        };
        container.get(&target.attr.name)
    }

    /// Resolves a path against the resource type: `None` for an attribute no schema
    /// defines, when unknown attributes are ignored.
    pub(super) fn target<'p>(&self, path: &'p PatchPath) -> Result<Option<Target<'p>>, PatchError>
    where
        'r: 'p,
    {
        let view = self.view;
        let attr = &path.attr;
        let mut resolved = view.resolve_path(attr);
        if resolved.is_none() && self.compat.patch_legacy_paths {
            // The pre-2018 form `urn:…:User.manager`: the URN's last part is the schema's,
            // and what follows the dot is the attribute.
            if let (Some(urn), Some(sub)) = (&attr.urn, &attr.sub_attr) {
                let schema = format!("{urn}:{}", attr.name);
                if let Some(ext) = view.extension(&schema) {
                    resolved = view.resolve(Some(&ext.id), sub, None);
                }
            }
        }
        let Some(resolved) = resolved else {
            if self.compat.ignore_unknown_attributes && path.filter.is_none() {
                return Ok(None);
            }
            return Err(PatchError::invalid_path(format!(
                "{attr} is not an attribute of {}",
                view.resource_type().name
            )));
        };
        if path.filter.is_some() && resolved.attribute.kind != AttrKind::Complex {
            return Err(PatchError::invalid_path(format!(
                "{} has no sub-attributes to filter on",
                resolved.attribute.name
            )));
        }
        let filter_sub = match &path.sub_attr {
            Some(name) => Some(resolved.attribute.sub_attribute(name).ok_or_else(|| {
                PatchError::invalid_path(format!(
                    "{name} is not a sub-attribute of {}",
                    resolved.attribute.name
                ))
            })?),
            None => None,
        };
        let ext = if resolved.extension {
            resolved.schema.map(|s| s.id.as_str())
        } else {
            None
        };
        Ok(Some(Target {
            ext,
            attr: resolved.attribute,
            sub: resolved.sub_attribute,
            filter: path.filter.as_ref(),
            filter_sub,
        }))
    }

    /// A PATCH without a path: each attribute of the value added or replaced. Keys may be
    /// extension objects, and (when tolerated) dotted or URN-qualified paths.
    fn apply_object(
        &mut self,
        doc: &mut Map<String, Value>,
        op: OpKind,
        value: &Value,
    ) -> Result<(), PatchError> {
        let Some(fields) = value.as_object() else {
            return Err(PatchError::invalid_value(
                "without a path, the value must be an object of attributes",
            ));
        };
        for (key, v) in fields {
            if key.eq_ignore_ascii_case("schemas") || v.is_null() {
                continue;
            }
            if let Some(ext) = self.view.extension(key) {
                let Some(attrs) = v.as_object() else {
                    return Err(PatchError::invalid_value(format!(
                        "{key} must be an object"
                    )));
                };
                self.apply_extension_fields(doc, op, ext, attrs)?;
                continue;
            }
            let attr = match key.parse::<AttrPath>() {
                Ok(path) if path.urn.is_none() && path.sub_attr.is_none() => path,
                Ok(path) if self.compat.patch_expand_keys => path,
                _ if self.compat.ignore_unknown_attributes => continue,
                _ => {
                    return Err(PatchError::invalid_path(format!(
                        "{key} is not an attribute name"
                    )))
                }
            };
            let path = PatchPath {
                attr,
                filter: None,
                sub_attr: None,
            };
            let Some(target) = self.target(&path)? else {
                continue;
            };
            if target.attr.mutability == Mutability::ReadOnly && target.sub.is_none() {
                // `id`, `meta`, `groups` sent back in a full object: ignored when
                // unchanged, as in a PUT; a different value is an attempt to change them.
                let current = self
                    .container(doc, target.ext, false)
                    .and_then(|c| c.get(&target.attr.name).cloned());
                if current.as_ref() == Some(v) || self.compat.ignore_read_only_in_patch {
                    continue;
                }
                return Err(PatchError::mutability(format!(
                    "{} is read-only",
                    target.attr.name
                )));
            }
            self.tracked(doc, &target, op, Some(v.clone()))?;
        }
        Ok(())
    }

    /// The object holding the target attribute; created when `create`.
    pub(super) fn container<'d>(
        &self,
        doc: &'d mut Map<String, Value>,
        ext: Option<&str>,
        create: bool,
    ) -> Option<&'d mut Map<String, Value>> {
        let Some(urn) = ext else {
            return Some(doc);
        };
        if !doc.contains_key(urn) {
            if !create {
                return None;
            }
            doc.insert(urn.to_owned(), Value::Object(Map::new()));
        }
        doc.get_mut(urn).and_then(Value::as_object_mut)
    }

    pub(super) fn normalized(
        &mut self,
        attr: &Attribute,
        target: &Target<'_>,
        parent: Option<&str>,
        value: Value,
        element: bool,
    ) -> Result<Option<Value>, PatchError> {
        Ok(normalize_value(
            attr,
            target.ext,
            parent,
            value,
            element,
            self.compat,
            &mut self.write_only,
        )?)
    }

    pub(super) fn check_writable(
        attr: &Attribute,
        current: Option<&Value>,
        new: Option<&Value>,
    ) -> Result<(), PatchError> {
        match attr.mutability {
            Mutability::ReadOnly => Err(PatchError::mutability(format!(
                "{} is read-only",
                attr.name
            ))),
            Mutability::Immutable => match current {
                Some(current) if Some(current) != new => Err(PatchError::mutability(format!(
                    "{} is immutable and already set",
                    attr.name
                ))),
                _ => Ok(()),
            },
            Mutability::ReadWrite | Mutability::WriteOnly => Ok(()),
        }
    }
}

/// Removes `name` from `container` when it holds nothing: `null`, `[]` or `{}`, after
/// dropping the elements of a list that hold nothing.
pub(super) fn prune(container: &mut Map<String, Value>, name: &str) {
    if let Some(Value::Array(items)) = container.get_mut(name) {
        items.retain(|i| match i {
            Value::Null => false,
            Value::Object(o) => !o.is_empty(),
            _ => true,
        });
    }
    let empty = match container.get(name) {
        Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    if empty {
        container.remove(name);
    }
}
