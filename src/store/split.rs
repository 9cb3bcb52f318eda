//! What the SQL stores share: a group's members kept in a table of their own, apart from
//! the rest of the document, and how a list is paged.

use serde_json::Value;

use super::{Cursor, Paging, Query, StoreError};

/// The key of a member: its `value`.
pub(super) fn member_key(item: &Value) -> Option<&str> {
    item.get("value").and_then(Value::as_str)
}

/// A resource to write: its members (when the type keeps them apart) taken out for the
/// members table.
pub(super) struct Split {
    pub(super) members: Vec<Value>,
    /// Where the members go back into the resource.
    attribute: Option<String>,
}

impl Split {
    pub(super) fn take(attribute: Option<&str>, resource: &mut Value) -> Split {
        let members = match (attribute, resource.as_object_mut()) {
            (Some(attr), Some(obj)) => match obj.remove(attr) {
                Some(Value::Array(items)) => items,
                Some(other) => vec![other],
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        Split {
            members,
            attribute: attribute.map(str::to_owned),
        }
    }

    /// The members' keys (their `value`, else their JSON) and JSON texts, as columns.
    #[cfg(feature = "postgres")]
    pub(super) fn columns(&self) -> (Vec<String>, Vec<String>) {
        self.members
            .iter()
            .map(|m| {
                let key = member_key(m).map_or_else(|| m.to_string(), str::to_owned);
                (key, m.to_string())
            })
            .unzip()
    }

    /// The members back into the resource.
    pub(super) fn restore(self, resource: &mut Value) {
        if let (Some(attr), Some(obj)) = (self.attribute, resource.as_object_mut()) {
            if !self.members.is_empty() {
                obj.insert(attr, Value::Array(self.members));
            }
        }
    }
}

/// Where a page paged in SQL starts: how many rows to skip, and the sequence number the
/// rows must follow (an unsorted cursor page). A cursor that is not a [`Cursor`], or does
/// not fit the query (an offset for unsorted results), is [`StoreError::InvalidCursor`].
pub(super) fn page_start(query: &Query<'_>) -> Result<(usize, Option<i64>), StoreError> {
    let sorted = query.sort().is_some();
    Ok(match query.paging() {
        Paging::Index { start_index, .. } => (start_index.saturating_sub(1), None),
        Paging::Cursor { cursor: None, .. } => (0, None),
        Paging::Cursor {
            cursor: Some(c), ..
        } => match (c.parse::<Cursor>()?, sorted) {
            (Cursor::After(n), false) => (
                0,
                Some(i64::try_from(n).map_err(|_| StoreError::InvalidCursor)?),
            ),
            (Cursor::Offset(n), true) => (n, None),
            _ => return Err(StoreError::InvalidCursor),
        },
    })
}
