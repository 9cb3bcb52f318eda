//! `add` and `replace`: at a path, through a filter (creating the element a filter that
//! matches nothing describes, as Entra expects), and of elements identified by `value`
//! through the request's index.

use serde_json::{Map, Value};

use super::apply::{identified_by_value, prune, value_key, Engine, Index, SubTypes, Target};
use super::{OpKind, PatchError};
use crate::eval::Matcher;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::schema::{normalize_value, AttrKind, Attribute, Mutability};

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

impl Engine<'_, '_> {
    /// `add` or `replace` at a path.
    pub(super) fn set(
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
}
