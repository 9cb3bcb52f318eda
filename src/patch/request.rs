//! The PATCH request model (RFC 7644 §3.5.2): a PatchOp body read into operations, each
//! with its op, its parsed path and its value.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::PatchError;
use crate::compat::Compat;
use crate::filter::{AttrPath, Filter, FilterError, Limits};
use crate::json::get_ci;

/// The schema URN of a PATCH request.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The operation of a PATCH operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// `add`.
    Add,
    /// `remove`.
    Remove,
    /// `replace`.
    Replace,
}

impl OpKind {
    /// The keyword, lower-case.
    pub const fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        }
    }
}

/// A PATCH path: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with a sub-attribute in the `attr.sub` form).
    pub attr: AttrPath,
    /// The filter selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute of the selected elements (the `[…].sub` form).
    pub sub_attr: Option<String>,
}

impl FromStr for PatchPath {
    type Err = FilterError;

    /// ```
    /// use scimkit::patch::PatchPath;
    ///
    /// let path: PatchPath = r#"emails[type eq "work"].value"#.parse()?;
    /// assert_eq!(path.attr.name, "emails");
    /// assert_eq!(path.sub_attr.as_deref(), Some("value"));
    /// assert_eq!(path.to_string(), r#"emails[type eq "work"].value"#);
    /// # Ok::<(), scimkit::FilterError>(())
    /// ```
    fn from_str(input: &str) -> Result<PatchPath, FilterError> {
        let (attr, filter, sub_attr) = crate::filter::parse_patch_path(input, &Limits::default())?;
        Ok(PatchPath {
            attr,
            filter,
            sub_attr,
        })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// One operation of a PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// `add`, `remove` or `replace`.
    pub op: OpKind,
    /// The target; `None` means the resource itself.
    pub path: Option<PatchPath>,
    /// The value; required for `add` and `replace`.
    pub value: Option<Value>,
}

/// A PATCH request: its operations, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    /// The operations.
    pub operations: Vec<Operation>,
}

impl PatchRequest {
    /// Reads a PatchOp body (RFC 7644 §3.5.2). Errors are `400 invalidSyntax` for the
    /// body's structure and `400 invalidPath` (with the byte offset) for a path, each
    /// naming the operation. Under [`Compat::lenient`], `op` may come in any case and
    /// `schemas` may be missing.
    pub fn from_json(body: Value, compat: &Compat) -> Result<PatchRequest, PatchError> {
        let Value::Object(mut body) = body else {
            return Err(PatchError::syntax("a PATCH body must be a JSON object"));
        };
        let listed = get_ci(&body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter()
                    .any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP)))
            });
        if !listed && !compat.patch_lenient_body {
            return Err(PatchError::syntax(format!(
                "schemas must be [\"{PATCH_OP}\"]"
            )));
        }
        let key = body
            .keys()
            .find(|k| {
                *k == "Operations"
                    || (compat.patch_lenient_body && k.eq_ignore_ascii_case("operations"))
            })
            .cloned();
        let Some(Value::Array(ops)) = key.and_then(|k| body.remove(&k)) else {
            return Err(PatchError::syntax(
                "Operations must be an array of operations",
            ));
        };
        if ops.is_empty() && !compat.patch_lenient_body {
            return Err(PatchError::syntax(
                "Operations must hold at least one operation",
            ));
        }
        let operations = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| operation(op, compat).map_err(|e| e.at(i, None)))
            .collect::<Result<_, _>>()?;
        Ok(PatchRequest { operations })
    }
}

fn operation(op: Value, compat: &Compat) -> Result<Operation, PatchError> {
    let Value::Object(mut op) = op else {
        return Err(PatchError::syntax("an operation must be a JSON object"));
    };
    let mut take = |name: &str| {
        let key = op.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned();
        key.and_then(|k| op.remove(&k))
    };
    let kind = match take("op") {
        Some(Value::String(s)) => match s.as_str() {
            "add" => OpKind::Add,
            "remove" => OpKind::Remove,
            "replace" => OpKind::Replace,
            _ if compat.patch_lenient_body && s.eq_ignore_ascii_case("add") => OpKind::Add,
            _ if compat.patch_lenient_body && s.eq_ignore_ascii_case("remove") => OpKind::Remove,
            _ if compat.patch_lenient_body && s.eq_ignore_ascii_case("replace") => OpKind::Replace,
            _ => {
                return Err(PatchError::syntax(format!(
                    "op {s:?} is not add, remove or replace"
                )))
            }
        },
        _ => {
            return Err(PatchError::syntax(
                "op must be \"add\", \"remove\" or \"replace\"",
            ))
        }
    };
    let path = match take("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) => Some(
            p.parse::<PatchPath>()
                .map_err(|e| PatchError::path(&p, e))?,
        ),
        Some(_) => return Err(PatchError::syntax("path must be a string")),
    };
    let value = take("value");
    match kind {
        OpKind::Remove if path.is_none() => Err(PatchError::no_target("remove needs a path")),
        OpKind::Add | OpKind::Replace if value.is_none() => Err(PatchError::syntax(format!(
            "{} needs a value",
            kind.as_str()
        ))),
        _ => Ok(Operation {
            op: kind,
            path,
            value,
        }),
    }
}
