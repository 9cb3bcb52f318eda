//! SCIM schemas (RFC 7643 §2, §7, §8.7): attribute definitions, schemas, resource types,
//! the built-in User, Group and Enterprise User schemas, and the [`Registry`] that resolves
//! attribute names against them.
//!
//! Every type serialises to, and deserialises from, the RFC's JSON representation, so
//! schemas can be loaded from the documents other SCIM servers publish at `/Schemas`:
//!
//! ```
//! use scimkit::schema::{AttrKind, Mutability, Schema};
//!
//! let schema: Schema = serde_json::from_value(serde_json::json!({
//!     "id": "urn:example:schemas:Device",
//!     "name": "Device",
//!     "attributes": [
//!         {"name": "serial", "type": "string", "required": true, "caseExact": true,
//!          "mutability": "immutable", "uniqueness": "server"},
//!         {"name": "ports", "type": "complex", "multiValued": true, "subAttributes": [
//!             {"name": "speed", "type": "integer"}
//!         ]}
//!     ]
//! }))?;
//! let serial = schema.attribute("SERIAL").expect("names match in any case");
//! assert_eq!(serial.mutability, Mutability::Immutable);
//! assert_eq!(schema.attribute("ports").unwrap().sub_attribute("Speed").unwrap().kind, AttrKind::Integer);
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::{Deserialize, Serialize};

mod builtin;
mod config;
mod error;
mod normalize;
mod project;
mod registry;
mod view;

pub use builtin::{
    common_attributes, enterprise_user_schema, group_schema, user_schema, ENTERPRISE_USER, GROUP,
    USER,
};
pub use config::{
    AuthenticationScheme, BulkConfig, FilterConfig, PaginationConfig, ServiceProviderConfig,
    Supported, SERVICE_PROVIDER_CONFIG,
};
pub use error::SchemaError;
pub(crate) use normalize::normalize_value;
pub use normalize::{Normalized, UniqueValue, Write};
pub use project::Projection;
pub use registry::{Registry, RegistryError};
pub use view::{Resolved, ResourceTypeView};

/// The URN of the schema that describes schemas (RFC 7643 §7).
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The URN of the schema that describes resource types (RFC 7643 §6).
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// The SCIM data types of RFC 7643 §2.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrKind {
    /// A Unicode string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An `xsd:dateTime` instant, e.g. `2008-01-23T04:56:22Z`.
    DateTime,
    /// Base64-encoded bytes.
    Binary,
    /// A URI to a resource.
    Reference,
    /// An object with sub-attributes.
    Complex,
}

/// When an attribute may be written (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the service provider only; input is ignored.
    ReadOnly,
    /// Written freely.
    #[default]
    ReadWrite,
    /// Written once, when unset; never changed after.
    Immutable,
    /// Written but never returned, such as a password.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always, even when excluded.
    Always,
    /// Never.
    Never,
    /// Unless excluded.
    #[default]
    Default,
    /// Only when asked for by `attributes`.
    Request,
}

/// How an attribute's values must be unique (RFC 7643 §2.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness.
    #[default]
    None,
    /// Unique within the service provider (for scimkit: within the tenant).
    Server,
    /// Globally unique.
    Global,
}

/// An attribute definition with its characteristics (RFC 7643 §2.2, §7).
///
/// Built with the constructors and chained setters, or deserialised from the RFC form,
/// where every characteristic left out takes the RFC's default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// The attribute's name, e.g. `userName`.
    pub name: String,
    /// The data type.
    #[serde(rename = "type")]
    pub kind: AttrKind,
    /// Whether the attribute holds a list of values.
    #[serde(default)]
    pub multi_valued: bool,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Whether a resource must have a value.
    #[serde(default)]
    pub required: bool,
    /// Suggested values, e.g. `work` and `home`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string values compare with case.
    #[serde(default)]
    pub case_exact: bool,
    /// When the attribute may be written.
    #[serde(default)]
    pub mutability: Mutability,
    /// When the attribute is returned.
    #[serde(default)]
    pub returned: Returned,
    /// How values must be unique.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For references: the resource types (or `external`, `uri`) referred to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For complex attributes: the sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// A single-valued attribute of `kind` with the RFC's default characteristics.
    pub fn new(name: impl Into<String>, kind: AttrKind) -> Attribute {
        Attribute {
            name: name.into(),
            kind,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Attribute {
        Attribute::new(name, AttrKind::String)
    }

    /// A boolean attribute.
    pub fn boolean(name: impl Into<String>) -> Attribute {
        Attribute::new(name, AttrKind::Boolean)
    }

    /// A reference to the given resource types (or `external`, `uri`).
    pub fn reference(name: impl Into<String>, types: &[&str]) -> Attribute {
        let mut attr = Attribute::new(name, AttrKind::Reference);
        attr.reference_types = types.iter().map(|t| (*t).to_owned()).collect();
        attr
    }

    /// A complex attribute with the given sub-attributes.
    pub fn complex(name: impl Into<String>, sub_attributes: Vec<Attribute>) -> Attribute {
        let mut attr = Attribute::new(name, AttrKind::Complex);
        attr.sub_attributes = sub_attributes;
        attr
    }

    /// With a description.
    pub fn describe(mut self, description: impl Into<String>) -> Attribute {
        self.description = description.into();
        self
    }

    /// Multi-valued.
    pub fn multi_valued(mut self) -> Attribute {
        self.multi_valued = true;
        self
    }

    /// Required.
    pub fn required(mut self) -> Attribute {
        self.required = true;
        self
    }

    /// Case-exact.
    pub fn case_exact(mut self) -> Attribute {
        self.case_exact = true;
        self
    }

    /// With the given mutability.
    pub fn mutability(mut self, mutability: Mutability) -> Attribute {
        self.mutability = mutability;
        self
    }

    /// With the given `returned` characteristic.
    pub fn returned(mut self, returned: Returned) -> Attribute {
        self.returned = returned;
        self
    }

    /// With the given uniqueness.
    pub fn uniqueness(mut self, uniqueness: Uniqueness) -> Attribute {
        self.uniqueness = uniqueness;
        self
    }

    /// With canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Attribute {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// The sub-attribute named `name`, in any case.
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.sub_attributes, name)
    }

    /// Whether values compare with case: `caseExact`, and always for binary and reference
    /// values, which RFC 7643 §2.3.6 and §2.3.7 define as case-exact.
    pub fn compares_case_exact(&self) -> bool {
        self.case_exact || matches!(self.kind, AttrKind::Binary | AttrKind::Reference)
    }

    /// The type information the filter evaluator needs.
    pub fn attr_type(&self) -> crate::eval::AttrType {
        crate::eval::AttrType {
            kind: self.kind,
            case_exact: self.compares_case_exact(),
            multi_valued: self.multi_valued,
        }
    }
}

fn find<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a Attribute> {
    attributes
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A schema: a URN and its attributes (RFC 7643 §7).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The schema URN, e.g. `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// The schema's name, e.g. `User`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// A schema with the given URN, name, description and attributes.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        description: impl Into<String>,
        attributes: Vec<Attribute>,
    ) -> Schema {
        Schema {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            attributes,
        }
    }

    /// The attribute named `name`, in any case.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        find(&self.attributes, name)
    }

    /// The first required attribute a client must give that `attrs` (canonical names)
    /// lacks.
    pub(crate) fn missing_required(
        &self,
        attrs: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| {
                a.required && a.mutability != Mutability::ReadOnly && !attrs.contains_key(&a.name)
            })
            .map(|a| a.name.as_str())
    }

    /// The RFC 7643 §7 representation, with `schemas` and, given the service's base URL,
    /// `meta`.
    pub fn to_json(&self, base_url: Option<&str>) -> serde_json::Value {
        let json = serde_json::to_value(self).expect("a schema serialises");
        crate::json::with_schemas_and_meta(
            json,
            SCHEMA_SCHEMA,
            base_url,
            "Schema",
            &format!("Schemas/{}", self.id),
        )
    }
}

/// An extension schema a resource type may carry (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension's schema URN.
    pub schema: String,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// A resource type: an endpoint, its core schema and its extensions (RFC 7643 §6).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// The identifier, usually the same as `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The name, e.g. `User`; also the value of `meta.resourceType`.
    pub name: String,
    /// The endpoint relative to the base URL, e.g. `/Users`.
    pub endpoint: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The core schema's URN.
    pub schema: String,
    /// The extensions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_extensions: Vec<SchemaExtension>,
}

impl ResourceType {
    /// A resource type with no extensions; `id` is set to `name`.
    pub fn new(
        name: impl Into<String>,
        endpoint: impl Into<String>,
        schema: impl Into<String>,
    ) -> ResourceType {
        let name = name.into();
        ResourceType {
            id: name.clone(),
            name,
            endpoint: endpoint.into(),
            description: String::new(),
            schema: schema.into(),
            schema_extensions: Vec::new(),
        }
    }

    /// With a description.
    pub fn describe(mut self, description: impl Into<String>) -> ResourceType {
        self.description = description.into();
        self
    }

    /// With an extension schema.
    pub fn extension(mut self, schema: impl Into<String>, required: bool) -> ResourceType {
        self.schema_extensions.push(SchemaExtension {
            schema: schema.into(),
            required,
        });
        self
    }

    /// The RFC 7643 §6 representation, with `schemas` and, given the service's base URL,
    /// `meta`.
    pub fn to_json(&self, base_url: Option<&str>) -> serde_json::Value {
        let json = serde_json::to_value(self).expect("a resource type serialises");
        crate::json::with_schemas_and_meta(
            json,
            RESOURCE_TYPE_SCHEMA,
            base_url,
            "ResourceType",
            &format!("ResourceTypes/{}", self.name),
        )
    }
}
