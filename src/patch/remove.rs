//! Removals: `remove` at a path, by filter, or of listed values; the values a removal of
//! a list identified by `value` takes out through the request's index, applied when the
//! index is retired.

use serde_json::{Map, Value};

use super::apply::{prune, value_eq, value_key, Engine, Index, SubTypes, Target};
use super::PatchError;
use crate::eval::Matcher;
use crate::json::get_ci;
use crate::schema::{Attribute, Mutability};

impl Engine<'_, '_> {
    /// `remove` at a path; `value`, for a multi-valued attribute, lists the elements to
    /// remove (Entra's and JumpCloud's way of removing group members). `keys` are the
    /// values to take out through the index, when the caller found the removal can.
    pub(super) fn remove(
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
    pub(super) fn missing(&self, attr: &Attribute) -> Result<(), PatchError> {
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
    pub(super) fn flush(&mut self, doc: &mut Map<String, Value>, attr: &Attribute) {
        if let Some(index) = self.indexes.remove(&(attr as *const Attribute as usize)) {
            self.retire(doc, index);
        }
    }

    pub(super) fn flush_all(&mut self, doc: &mut Map<String, Value>) {
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
