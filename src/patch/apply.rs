//! Applying a PATCH request to a resource, all or nothing: each operation resolved against
//! the resource type, values normalised as a POST's are, lists identified by `value`
//! changed through a per-request index so that large groups are not scanned per member.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{AttributeChange, NetChange, OpKind, Operation, PatchError, PatchPath, PatchRequest};
use crate::compat::Compat;
use crate::eval::Matcher;
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::json::get_ci;
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
    fn new(ext: Option<&str>, name: &str, list: &[Value]) -> Index {
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
    fn changed(&self) -> bool {
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
struct SubTypes<'a>(&'a Attribute);

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
fn value_eq(filter: &Filter) -> Option<&str> {
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

/// The element a filter of `eq` clauses describes (`type eq "work"` gives
/// `{"type": "work"}`), for a filter that matched nothing.
fn element_from_filter(attr: &Attribute, filter: &Filter, out: &mut Map<String, Value>) -> bool {
    match filter {
        Filter::And(terms) => terms.iter().all(|t| element_from_filter(attr, t, out)),
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } if path.urn.is_none() && path.sub_attr.is_none() => {
            let Some(sub) = attr.sub_attribute(&path.name) else {
                return false;
            };
            let v = match value {
                CompValue::String(s) => Value::String(s.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => return false,
            };
            out.insert(sub.name.clone(), v);
            true
        }
        _ => false,
    }
}

/// When an element of `items` at one of `touched` is primary, the others are not.
fn settle_primary(items: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| v.get("primary") == Some(&Value::Bool(true));
    let Some(&keep) = touched
        .iter()
        .find(|&&i| items.get(i).is_some_and(is_primary))
    else {
        return;
    };
    for (i, item) in items.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            item["primary"] = Value::Bool(false);
        }
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
    fn container<'d>(
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

    fn check_writable(
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

    /// `add` or `replace` at a path.
    fn set(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        op: OpKind,
        value: Value,
    ) -> Result<(), PatchError> {
        let attr = target.attr;
        if target.filter.is_some() {
            return self.set_filtered(doc, target, op, value);
        }
        if let Some(sub) = target.sub {
            if attr.mutability == Mutability::ReadOnly {
                return Err(PatchError::mutability(format!(
                    "{} is read-only",
                    attr.name
                )));
            }
            self.flush(doc, attr);
            let value = self.normalized(sub, target, Some(&attr.name), value, false)?;
            let container = self.container(doc, target.ext, true).expect("created");
            let slot = container.entry(attr.name.clone()).or_insert_with(|| {
                if attr.multi_valued {
                    Value::Array(vec![Value::Object(Map::new())])
                } else {
                    Value::Object(Map::new())
                }
            });
            let mut objects: Vec<&mut Map<String, Value>> = match slot {
                Value::Object(o) => vec![o],
                Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
                _ => vec![],
            };
            for object in objects.iter_mut() {
                Self::check_writable(sub, object.get(&sub.name), value.as_ref())?;
                match &value {
                    Some(v) => {
                        object.insert(sub.name.clone(), v.clone());
                    }
                    None => {
                        object.remove(&sub.name);
                    }
                }
            }
            drop(objects);
            prune(container, &attr.name);
            return Ok(());
        }
        if !attr.multi_valued {
            let value = self.normalized(attr, target, None, value, false)?;
            let container = self.container(doc, target.ext, true).expect("created");
            let current = container.get(&attr.name);
            match (attr.kind, value) {
                (_, None) => {}
                (AttrKind::Complex, Some(Value::Object(fields))) => {
                    if attr.mutability == Mutability::ReadOnly {
                        return Err(PatchError::mutability(format!(
                            "{} is read-only",
                            attr.name
                        )));
                    }
                    // Sub-attributes given replace theirs; the others stay (§3.5.2.1, §3.5.2.3).
                    let mut merged = current
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    for (k, v) in fields {
                        let sub = attr.sub_attribute(&k).expect("normalised names");
                        Self::check_writable(sub, merged.get(&k), Some(&v))?;
                        merged.insert(k, v);
                    }
                    container.insert(attr.name.clone(), Value::Object(merged));
                }
                (_, Some(v)) => {
                    Self::check_writable(attr, current, Some(&v))?;
                    container.insert(attr.name.clone(), v);
                }
            }
            return Ok(());
        }
        if attr.mutability == Mutability::ReadOnly {
            return Err(PatchError::mutability(format!(
                "{} is read-only",
                attr.name
            )));
        }
        let items = match self.normalized(attr, target, None, value, false)? {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        if op == OpKind::Replace {
            self.flush(doc, attr);
            let container = self.container(doc, target.ext, true).expect("created");
            if items.is_empty() {
                container.remove(&attr.name);
            } else {
                container.insert(attr.name.clone(), Value::Array(items));
            }
            return Ok(());
        }
        if identified_by_value(attr) {
            return self.add_identified(doc, target, items);
        }
        let container = self.container(doc, target.ext, true).expect("created");
        let slot = container
            .entry(attr.name.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !slot.is_array() {
            *slot = Value::Array(vec![slot.take()]);
        }
        let list = slot.as_array_mut().expect("an array");
        let mut touched = Vec::new();
        for item in items {
            match list.iter().position(|existing| *existing == item) {
                Some(i) => touched.push(i),
                None => {
                    touched.push(list.len());
                    list.push(item);
                }
            }
        }
        settle_primary(list, &touched);
        prune(container, &attr.name);
        Ok(())
    }

    /// Adds elements of an attribute identified by `value`, skipping values present.
    fn add_identified(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        items: Vec<Value>,
    ) -> Result<(), PatchError> {
        let attr = target.attr;
        if items.iter().any(|i| value_key(i).is_none()) {
            return Err(PatchError::invalid_value(format!(
                "every element of {} needs a value",
                attr.name
            )));
        }
        // A value removed earlier in this request and added again: apply the removal now.
        let readded = self
            .indexes
            .get(&(attr as *const Attribute as usize))
            .is_some_and(|ix| {
                items
                    .iter()
                    .any(|i| value_key(i).is_some_and(|k| ix.removed.contains(k)))
            });
        if readded {
            self.flush(doc, attr);
        }
        let container = self.container(doc, target.ext, true).expect("created");
        let slot = container
            .entry(attr.name.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        let list = slot
            .as_array_mut()
            .ok_or_else(|| PatchError::invalid_value(format!("{} is not a list", attr.name)))?;
        let index = self
            .indexes
            .entry(attr as *const Attribute as usize)
            .or_insert_with(|| Index::new(target.ext, &attr.name, list));
        for item in items {
            let key = value_key(&item).expect("checked").to_owned();
            if index.present.insert(key.clone()) {
                list.push(item);
                index.net.added(&key);
            }
        }
        Ok(())
    }

    /// `add` or `replace` through `attr[filter]` or `attr[filter].sub`.
    fn set_filtered(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        op: OpKind,
        value: Value,
    ) -> Result<(), PatchError> {
        let attr = target.attr;
        if attr.mutability == Mutability::ReadOnly {
            return Err(PatchError::mutability(format!(
                "{} is read-only",
                attr.name
            )));
        }
        self.flush(doc, attr);
        let filter = target.filter.expect("filtered");
        let matcher = Matcher::new(filter, &SubTypes(attr))
            .map_err(|e| PatchError::invalid_path(format!("the path's filter: {e}")))?;
        let new = match target.filter_sub {
            Some(sub) => self.normalized(sub, target, Some(&attr.name), value, false)?,
            None => self.normalized(attr, target, None, value, true)?,
        };
        let container = self.container(doc, target.ext, true).expect("created");
        let slot = container.entry(attr.name.clone()).or_insert_with(|| {
            if attr.multi_valued {
                Value::Array(Vec::new())
            } else {
                Value::Null
            }
        });
        let elements: Vec<&mut Value> = match slot {
            Value::Array(items) => items.iter_mut().collect(),
            Value::Object(_) => vec![slot],
            _ => vec![],
        };
        let mut touched = Vec::new();
        let mut matched = 0;
        for (i, element) in elements.into_iter().enumerate() {
            if !matcher.matches(element) {
                continue;
            }
            matched += 1;
            touched.push(i);
            let Value::Object(fields) = element else {
                continue;
            };
            match (target.filter_sub, &new) {
                (Some(sub), Some(v)) => {
                    Self::check_writable(sub, fields.get(&sub.name), Some(v))?;
                    fields.insert(sub.name.clone(), v.clone());
                }
                (Some(sub), None) => {
                    fields.remove(&sub.name);
                }
                (None, Some(Value::Object(v))) if op == OpKind::Add => {
                    for (k, val) in v {
                        fields.insert(k.clone(), val.clone());
                    }
                }
                (None, Some(v)) => *element = v.clone(),
                (None, None) => {}
            }
        }
        if matched == 0 {
            let mut created = Map::new();
            if !self.compat.patch_create_on_filter_miss
                || !element_from_filter(attr, filter, &mut created)
            {
                return Err(PatchError::no_target(format!(
                    "no value of {} matches the filter",
                    attr.name
                )));
            }
            match (target.filter_sub, new) {
                (Some(sub), Some(v)) => {
                    created.insert(sub.name.clone(), v);
                }
                (None, Some(Value::Object(v))) => created.extend(v),
                _ => {
                    // Nothing to set: leave no empty list behind.
                    prune(container, &attr.name);
                    return Ok(());
                }
            }
            // The filter's literals are values like any other: typed and checked.
            let Some(created) = normalize_value(
                attr,
                target.ext,
                None,
                Value::Object(created),
                true,
                self.compat,
                &mut self.write_only,
            )?
            else {
                prune(container, &attr.name);
                return Ok(());
            };
            match slot {
                Value::Array(items) => {
                    touched.push(items.len());
                    items.push(created);
                }
                _ => *slot = created,
            }
        }
        if let Value::Array(items) = slot {
            settle_primary(items, &touched);
        }
        prune(container, &attr.name);
        Ok(())
    }

    /// `remove` at a path; `value`, for a multi-valued attribute, lists the elements to
    /// remove (Entra's and JumpCloud's way of removing group members). `keys` are the
    /// values to take out through the index, when the caller found the removal can.
    fn remove(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        value: Option<Value>,
        keys: Option<Vec<String>>,
    ) -> Result<(), PatchError> {
        let attr = target.attr;
        if attr.mutability == Mutability::ReadOnly {
            return Err(PatchError::mutability(format!(
                "{} is read-only",
                attr.name
            )));
        }
        if target.sub.is_none() && target.filter.is_none() && attr.required {
            return Err(PatchError::mutability(format!(
                "{} is required and cannot be removed",
                attr.name
            )));
        }
        if let Some(sub) = target.sub.or(target.filter_sub) {
            if sub.required || sub.mutability == Mutability::ReadOnly {
                return Err(PatchError::mutability(format!(
                    "{}.{} cannot be removed",
                    attr.name, sub.name
                )));
            }
        }
        if let Some(keys) = keys {
            return self.remove_identified(doc, target, keys);
        }
        self.flush(doc, attr);
        let Some(container) = self.container(doc, target.ext, false) else {
            // No extension object: the attribute is absent, as below.
            return if target.filter.is_some() {
                self.missing(attr)
            } else {
                Ok(())
            };
        };
        let Some(slot) = container.get_mut(&attr.name) else {
            return if target.filter.is_some() {
                self.missing(attr)
            } else {
                Ok(())
            };
        };
        if let Some(filter) = target.filter {
            let matcher = Matcher::new(filter, &SubTypes(attr))
                .map_err(|e| PatchError::invalid_path(format!("the path's filter: {e}")))?;
            let mut matched = 0;
            match slot {
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if matcher.matches(item) {
                            matched += 1;
                            match (target.filter_sub, item.as_object_mut()) {
                                (Some(sub), Some(fields)) => {
                                    fields.remove(&sub.name);
                                }
                                _ => *item = Value::Null,
                            }
                        }
                    }
                    items.retain(|i| !i.is_null() && i.as_object().is_none_or(|o| !o.is_empty()));
                }
                Value::Object(fields) if matcher.matches(&Value::Object(fields.clone())) => {
                    matched = 1;
                    match target.filter_sub {
                        Some(sub) => {
                            fields.remove(&sub.name);
                        }
                        None => *slot = Value::Null,
                    }
                }
                _ => {}
            }
            prune(container, &attr.name);
            return if matched == 0 {
                self.missing(attr)
            } else {
                Ok(())
            };
        }
        if let Some(sub) = target.sub {
            match slot {
                Value::Object(fields) => {
                    fields.remove(&sub.name);
                }
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        item.remove(&sub.name);
                    }
                }
                _ => {}
            }
            prune(container, &attr.name);
            return Ok(());
        }
        match (value, slot) {
            (Some(listed), Value::Array(items))
                if self.compat.patch_remove_by_value && attr.multi_valued =>
            {
                let listed = match listed {
                    Value::Array(l) => l,
                    other => vec![other],
                };
                items.retain(|item| {
                    !listed.iter().any(|l| match (l, item) {
                        (Value::Object(l), Value::Object(_)) => l
                            .iter()
                            .filter(|(_, v)| !v.is_null())
                            .all(|(k, v)| get_ci_value(item, k) == Some(v)),
                        (l, item) => l == item,
                    })
                });
            }
            _ => {
                container.remove(&attr.name);
            }
        }
        prune(container, &attr.name);
        Ok(())
    }

    /// The values a removal of an attribute identified by `value` takes out, when it is
    /// one the index can do: `attr[value eq "…"]`, or `attr` with a list of values.
    pub(super) fn removal_keys(
        &self,
        target: &Target<'_>,
        value: Option<&Value>,
    ) -> Result<Option<Vec<String>>, PatchError> {
        if let Some(filter) = target.filter {
            return Ok(match (value_eq(filter), target.filter_sub) {
                (Some(key), None) => Some(vec![key.to_owned()]),
                _ => None,
            });
        }
        let Some(listed) = value.filter(|_| self.compat.patch_remove_by_value) else {
            return Ok(None);
        };
        let listed = match listed {
            Value::Array(l) => l.as_slice(),
            other => std::slice::from_ref(other),
        };
        let mut keys = Vec::with_capacity(listed.len());
        for item in listed {
            let key = match item {
                // The value identifies the element; `$ref: null` and the like say nothing.
                Value::Object(o) => get_ci(o, "value").and_then(Value::as_str),
                Value::String(s) => Some(s.as_str()),
                _ => None,
            };
            match key {
                Some(k) => keys.push(k.to_owned()),
                None => return Ok(None),
            }
        }
        Ok(Some(keys))
    }

    fn remove_identified(
        &mut self,
        doc: &mut Map<String, Value>,
        target: &Target<'_>,
        keys: Vec<String>,
    ) -> Result<(), PatchError> {
        let attr = target.attr;
        let Some(list) = self
            .container(doc, target.ext, false)
            .and_then(|c| c.get(&attr.name))
            .and_then(Value::as_array)
        else {
            return if target.filter.is_some() {
                self.missing(attr)
            } else {
                Ok(())
            };
        };
        let index = self
            .indexes
            .entry(attr as *const Attribute as usize)
            .or_insert_with(|| Index::new(target.ext, &attr.name, list));
        let mut missed = false;
        for key in keys {
            if index.present.remove(&key) {
                index.net.removed(&key);
                index.removed.insert(key);
            } else {
                missed = true;
            }
        }
        if missed && target.filter.is_some() {
            return self.missing(attr);
        }
        Ok(())
    }

    /// A remove that found nothing: done already under the lenient profile, `noTarget`
    /// under the strict one.
    fn missing(&self, attr: &Attribute) -> Result<(), PatchError> {
        if self.compat.patch_remove_missing_is_noop {
            Ok(())
        } else {
            Err(PatchError::no_target(format!(
                "no value of {} matches",
                attr.name
            )))
        }
    }

    /// Applies the removals the index deferred for `attr`, and forgets its index.
    fn flush(&mut self, doc: &mut Map<String, Value>, attr: &Attribute) {
        if let Some(index) = self.indexes.remove(&(attr as *const Attribute as usize)) {
            self.retire(doc, index);
        }
    }

    fn flush_all(&mut self, doc: &mut Map<String, Value>) {
        let indexes: Vec<Index> = self.indexes.drain().map(|(_, index)| index).collect();
        for index in indexes {
            self.retire(doc, index);
        }
    }

    /// Applies an index's deferred removals and keeps its net change.
    fn retire(&mut self, doc: &mut Map<String, Value>, mut index: Index) {
        self.changed |= index.changed();
        let net = std::mem::take(&mut index.net);
        let (ext, name) = (index.ext.clone(), index.name.clone());
        apply_removals(doc, index);
        self.nets.push((ext, name, net));
    }
}

fn get_ci_value<'v>(item: &'v Value, key: &str) -> Option<&'v Value> {
    item.as_object().and_then(|o| get_ci(o, key))
}

fn apply_removals(doc: &mut Map<String, Value>, index: Index) {
    if index.removed.is_empty() {
        return;
    }
    let container = match &index.ext {
        Some(urn) => doc.get_mut(urn).and_then(Value::as_object_mut),
        None => Some(doc),
    };
    let Some(container) = container else { return };
    if let Some(Value::Array(items)) = container.get_mut(&index.name) {
        items.retain(|i| value_key(i).is_none_or(|k| !index.removed.contains(k)));
    }
    prune(container, &index.name);
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
