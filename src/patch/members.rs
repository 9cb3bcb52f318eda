//! Member changes a store can apply on its own, and the rule for when a list identified by
//! `value` changed.

use std::collections::HashSet;

use serde_json::Value;

use super::{identified_by_value, prune, value_key, Engine, OpKind, PatchRequest};
use crate::compat::Compat;
use crate::schema::{Attribute, Mutability, ResourceTypeView};

/// Changes to a multi-valued attribute whose elements are identified by their `value` — a
/// group's `members` — that a store can apply without reading or rewriting the whole
/// resource (a `members` table, say, for groups of 100,000 members).
///
/// [`ResourceTypeView::member_changes`] finds them in a PATCH request; [`apply`] is their
/// meaning, the same as the PATCH engine's, for stores that keep documents.
///
/// [`apply`]: MemberChanges::apply
#[derive(Debug, Clone, PartialEq)]
pub struct MemberChanges {
    /// The attribute's name, as the schema spells it (`members`).
    pub attribute: String,
    /// The changes, in order.
    pub ops: Vec<MemberOp>,
}

/// One step of [`MemberChanges`].
#[derive(Debug, Clone, PartialEq)]
pub enum MemberOp {
    /// Add these elements (normalised objects with a `value`); values already present are
    /// left as they are.
    Add(Vec<Value>),
    /// Remove the elements with these values; absent values are not an error.
    Remove(Vec<String>),
}

impl MemberChanges {
    /// Applies the changes to a resource; returns what changed (see [`NetChange::changed`]).
    /// An emptied list is removed, as the PATCH engine does.
    ///
    /// ```
    /// use scimkit::patch::{MemberChanges, MemberOp};
    /// use serde_json::json;
    ///
    /// let mut group = json!({"displayName": "Ops", "members": [{"value": "a"}]});
    /// let changes = MemberChanges {
    ///     attribute: "members".into(),
    ///     ops: vec![
    ///         MemberOp::Add(vec![json!({"value": "b"}), json!({"value": "a"})]),
    ///         MemberOp::Remove(vec!["a".into(), "zz".into()]),
    ///     ],
    /// };
    /// let net = changes.apply(&mut group);
    /// assert!(net.changed());
    /// assert_eq!((net.added_values(), net.removed_values()), (vec!["b".to_owned()], vec!["a".to_owned()]));
    /// assert_eq!(group["members"], json!([{"value": "b"}]));
    /// ```
    pub fn apply(&self, resource: &mut Value) -> NetChange {
        let Some(doc) = resource.as_object_mut() else {
            return NetChange::default();
        };
        let slot = doc
            .entry(self.attribute.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(list) = slot.as_array_mut() else {
            return NetChange::default();
        };
        let mut present: HashSet<String> = list
            .iter()
            .filter_map(value_key)
            .map(str::to_owned)
            .collect();
        let mut net = NetChange::default();
        for op in &self.ops {
            match op {
                MemberOp::Add(items) => {
                    for item in items {
                        let Some(key) = value_key(item) else { continue };
                        if present.insert(key.to_owned()) {
                            net.added(key);
                            list.push(item.clone());
                        }
                    }
                }
                MemberOp::Remove(keys) => {
                    let gone: HashSet<&str> = keys
                        .iter()
                        .map(String::as_str)
                        .filter(|k| present.remove(*k))
                        .collect();
                    if gone.is_empty() {
                        continue;
                    }
                    for key in &gone {
                        net.removed(key);
                    }
                    list.retain(|i| value_key(i).is_none_or(|k| !gone.contains(k)));
                }
            }
        }
        prune(doc, &self.attribute);
        net
    }
}

/// What a request did to a list identified by `value`, net: the values it added that the
/// list did not have, and the values the list had that it took out. A value added and
/// removed again within the request is no change; one taken out and put back is no change
/// of membership, but the list changed (the element may differ). The rule the PATCH
/// engine, [`MemberChanges`] and a store applying member changes share, so that they agree
/// on when a version changes and on what an activity log reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetChange {
    added: HashSet<String>,
    removed: HashSet<String>,
    /// A value the list had was taken out and put back.
    replaced: bool,
}

impl NetChange {
    /// `key` was not in the list and has been added.
    pub fn added(&mut self, key: &str) {
        if self.removed.remove(key) {
            self.replaced = true;
        } else {
            self.added.insert(key.to_owned());
        }
    }

    /// `key` was in the list and has been removed.
    pub fn removed(&mut self, key: &str) {
        if !self.added.remove(key) {
            self.removed.insert(key.to_owned());
        }
    }

    /// Whether the list differs from what it was before the request.
    pub fn changed(&self) -> bool {
        self.replaced || !self.added.is_empty() || !self.removed.is_empty()
    }

    /// Whether values were added or removed (not only an element changed in place).
    pub fn membership_changed(&self) -> bool {
        !self.added.is_empty() || !self.removed.is_empty()
    }

    /// The net change of a list between two states of it: the values `after` has that
    /// `before` has not, and the other way round. Elements without a `value` are not
    /// counted.
    pub fn between(before: Option<&Value>, after: Option<&Value>) -> NetChange {
        let keys = |list: Option<&Value>| -> HashSet<String> {
            list.and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(value_key)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (before_keys, after_keys) = (keys(before), keys(after));
        NetChange {
            added: after_keys.difference(&before_keys).cloned().collect(),
            removed: before_keys.difference(&after_keys).cloned().collect(),
            replaced: before != after,
        }
    }

    /// This change followed by `next`.
    pub fn then(mut self, next: NetChange) -> NetChange {
        self.replaced |= next.replaced;
        for key in next.removed {
            self.removed(&key);
        }
        for key in next.added {
            self.added(&key);
        }
        self
    }

    /// The values added, in sorted order.
    pub fn added_values(&self) -> Vec<String> {
        sorted(&self.added)
    }

    /// The values removed, in sorted order.
    pub fn removed_values(&self) -> Vec<String> {
        sorted(&self.removed)
    }
}

fn sorted(keys: &HashSet<String>) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().cloned().collect();
    keys.sort_unstable();
    keys
}

/// The request as [`MemberChanges`] (see [`ResourceTypeView::member_changes`]).
pub(crate) fn member_changes(
    view: ResourceTypeView<'_>,
    request: &PatchRequest,
    compat: &Compat,
) -> Option<MemberChanges> {
    let mut engine = Engine::new(view, compat);
    let mut attribute: Option<&Attribute> = None;
    let mut ops = Vec::with_capacity(request.operations.len());
    for op in &request.operations {
        let path = op.path.as_ref()?;
        if engine.whole_extension(path).is_some() {
            return None;
        }
        let target = engine.target(path).ok()??;
        let attr = target.attr;
        if target.ext.is_some()
            || target.sub.is_some()
            || target.filter_sub.is_some()
            || !identified_by_value(attr)
            || attr.required
            || attr.mutability == Mutability::ReadOnly
            || attribute.is_some_and(|a| !std::ptr::eq(a, attr))
        {
            return None;
        }
        attribute = Some(attr);
        match op.op {
            OpKind::Add if target.filter.is_none() => {
                let value = op.value.clone()?;
                let Ok(Some(Value::Array(items))) =
                    engine.normalized(attr, &target, None, value, false)
                else {
                    return None;
                };
                if items.iter().any(|i| value_key(i).is_none()) {
                    return None;
                }
                ops.push(MemberOp::Add(items));
            }
            OpKind::Remove => {
                if target.filter.is_some() && !compat.patch_remove_missing_is_noop {
                    return None;
                }
                let keys = engine.removal_keys(&target, op.value.as_ref()).ok()??;
                ops.push(MemberOp::Remove(keys));
            }
            _ => return None,
        }
    }
    Some(MemberChanges {
        attribute: attribute?.name.clone(),
        ops,
    })
}
