//! What a write changed, attribute by attribute: for activity logs and for the work that
//! follows a write (effective roles after a membership change).

use serde_json::{Map, Value};

use super::{identified_by_value, Engine, NetChange};
use crate::schema::ResourceTypeView;

/// One attribute a write changed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttributeChange {
    /// An attribute compared whole, with its value before (`None`: absent).
    Value {
        /// The extension URN whose object holds the attribute; `None` for the core schema
        /// (and for a whole extension object, whose `name` is its URN).
        extension: Option<String>,
        /// The attribute's canonical name.
        name: String,
        /// Its value before the write.
        before: Option<Value>,
    },
    /// A list identified by `value` (a group's `members`), by its net change.
    Members {
        /// The extension URN whose object holds the attribute, if any.
        extension: Option<String>,
        /// The attribute's canonical name.
        name: String,
        /// The values added and removed.
        net: NetChange,
    },
}

impl AttributeChange {
    /// The extension URN whose object holds the attribute, if any.
    pub fn extension(&self) -> Option<&str> {
        match self {
            AttributeChange::Value { extension, .. }
            | AttributeChange::Members { extension, .. } => extension.as_deref(),
        }
    }

    /// The attribute's canonical name.
    pub fn name(&self) -> &str {
        match self {
            AttributeChange::Value { name, .. } | AttributeChange::Members { name, .. } => name,
        }
    }

    /// The attribute's path: its name, after its extension's URN and a colon when it is an
    /// extension's.
    pub fn path(&self) -> String {
        match self.extension() {
            Some(urn) => format!("{urn}:{}", self.name()),
            None => self.name().to_owned(),
        }
    }
}

/// Keys of a resource that are not attributes a client changes.
fn bookkeeping(key: &str) -> bool {
    matches!(key, "schemas" | "id" | "meta")
}

impl Engine<'_, '_> {
    /// The attributes the request changed, now that every operation has applied.
    pub(super) fn changes(&mut self, doc: &Map<String, Value>) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        // Extensions operated on whole were taken before any operation: they are compared
        // attribute by attribute, and cover what was noted of their attributes since.
        let whole: Vec<String> = self
            .originals
            .iter()
            .filter(|o| o.ext.is_none() && self.view.extension(&o.name).is_some())
            .map(|o| o.name.clone())
            .collect();
        // Nets of lists with an original came after it was taken: the comparison with it
        // covers them.
        let originals = &self.originals;
        self.nets.retain(|(ext, name, _)| {
            !originals.iter().any(|o| o.ext == *ext && o.name == *name)
                && !ext.as_ref().is_some_and(|e| whole.contains(e))
        });
        for original in self.originals.drain(..) {
            if original.ext.as_ref().is_some_and(|e| whole.contains(e)) {
                continue;
            }
            let container = match &original.ext {
                Some(urn) => doc.get(urn).and_then(Value::as_object),
                None => Some(doc),
            };
            let after = container.and_then(|c| c.get(&original.name));
            if whole.contains(&original.name) {
                let none = Map::new();
                compare(
                    self.view,
                    Some(&original.name),
                    original
                        .value
                        .as_ref()
                        .and_then(Value::as_object)
                        .unwrap_or(&none),
                    after.and_then(Value::as_object).unwrap_or(&none),
                    &mut changes,
                );
            } else if original.identified {
                let net = original
                    .earlier
                    .then(NetChange::between(original.value.as_ref(), after));
                if net.changed() {
                    changes.push(AttributeChange::Members {
                        extension: original.ext,
                        name: original.name,
                        net,
                    });
                }
            } else if after != original.value.as_ref() {
                changes.push(AttributeChange::Value {
                    extension: original.ext,
                    name: original.name,
                    before: original.value,
                });
            }
        }
        // Lists only ever changed through their indexes: their nets, in order.
        let mut lists: Vec<(Option<String>, String, NetChange)> = Vec::new();
        for (ext, name, net) in self.nets.drain(..) {
            match lists.iter_mut().find(|(e, n, _)| *e == ext && *n == name) {
                Some((_, _, total)) => *total = std::mem::take(total).then(net),
                None => lists.push((ext, name, net)),
            }
        }
        changes.extend(lists.into_iter().filter(|(_, _, net)| net.changed()).map(
            |(extension, name, net)| AttributeChange::Members {
                extension,
                name,
                net,
            },
        ));
        changes
    }
}

/// The attributes that differ between two states of a resource (see
/// [`ResourceTypeView::changes`]).
pub(crate) fn changes(
    view: ResourceTypeView<'_>,
    before: &Value,
    after: &Value,
) -> Vec<AttributeChange> {
    let empty = Map::new();
    let mut changes = Vec::new();
    compare(
        view,
        None,
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
        &mut changes,
    );
    changes
}

/// The attributes of one object (the core, or an extension's) that differ.
fn compare(
    view: ResourceTypeView<'_>,
    ext: Option<&str>,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<AttributeChange>,
) {
    let keys = old
        .keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)));
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        if before == after || (ext.is_none() && bookkeeping(key)) {
            continue;
        }
        if ext.is_none() {
            if let Some(schema) = view.extension(key) {
                let none = Map::new();
                compare(
                    view,
                    Some(&schema.id),
                    before.and_then(Value::as_object).unwrap_or(&none),
                    after.and_then(Value::as_object).unwrap_or(&none),
                    out,
                );
                continue;
            }
        }
        let identified = view
            .resolve(ext, key, None)
            .is_some_and(|r| identified_by_value(r.attribute));
        out.push(if identified {
            AttributeChange::Members {
                extension: ext.map(str::to_owned),
                name: key.clone(),
                net: NetChange::between(before, after),
            }
        } else {
            AttributeChange::Value {
                extension: ext.map(str::to_owned),
                name: key.clone(),
                before: before.cloned(),
            }
        });
    }
}
