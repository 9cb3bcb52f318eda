use super::{
    common_attributes, enterprise_user_schema, group_schema, user_schema, Attribute, ResourceType,
    Schema, ENTERPRISE_USER, GROUP, USER,
};
use crate::eval::{AttrType, AttributeTypes, Container};
use crate::filter::AttrPath;

/// A schema or resource type that cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A schema with this URN is registered already.
    #[error("schema {0} is registered already")]
    DuplicateSchema(String),
    /// A resource type with this name or endpoint is registered already.
    #[error("resource type {0} is registered already")]
    DuplicateResourceType(String),
    /// A resource type names a schema that is not registered.
    #[error("resource type {resource_type} uses schema {schema}, which is not registered")]
    UnknownSchema {
        /// The resource type's name.
        resource_type: String,
        /// The missing schema's URN.
        schema: String,
    },
    /// A schema defines the same attribute twice, or one of the common attributes.
    #[error("schema {schema} defines attribute {attribute} twice or over a common attribute")]
    DuplicateAttribute {
        /// The schema's URN.
        schema: String,
        /// The attribute's name.
        attribute: String,
    },
}

/// The schemas and resource types a service knows.
///
/// [`Registry::scim_default`] holds User (with the Enterprise extension) and Group;
/// applications add their own schemas, extensions and resource types, which then work
/// everywhere the built-in ones do.
///
/// ```
/// use scimkit::schema::{Attribute, Registry, ResourceType, Schema};
///
/// let mut registry = Registry::scim_default();
/// registry.add_schema(Schema::new(
///     "urn:okta:schemas:Entitlement",
///     "Entitlement",
///     "An Okta-style entitlement",
///     vec![Attribute::string("displayName").required(), Attribute::string("type")],
/// ))?;
/// registry.add_resource_type(ResourceType::new(
///     "Entitlement",
///     "/Entitlements",
///     "urn:okta:schemas:Entitlement",
/// ))?;
/// let entitlements = registry.resource_type_by_endpoint("/entitlements").unwrap();
/// assert!(entitlements.resolve(None, "DisplayName", None).is_some());
/// # Ok::<(), scimkit::schema::RegistryError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    schemas: Vec<Schema>,
    resource_types: Vec<ResourceType>,
    common: Vec<Attribute>,
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::scim_default()
    }
}

impl Registry {
    /// A registry with no schemas and no resource types (the common attributes `id`,
    /// `externalId` and `meta` are always known).
    pub fn empty() -> Registry {
        Registry {
            schemas: Vec::new(),
            resource_types: Vec::new(),
            common: common_attributes(),
        }
    }

    /// User (at `/Users`, with the optional Enterprise User extension) and Group (at
    /// `/Groups`), as RFC 7643 defines them.
    pub fn scim_default() -> Registry {
        let mut registry = Registry::empty();
        for schema in [user_schema(), group_schema(), enterprise_user_schema()] {
            registry
                .add_schema(schema)
                .expect("built-in schemas are distinct");
        }
        registry
            .add_resource_type(
                ResourceType::new("User", "/Users", USER)
                    .describe("User Account")
                    .extension(ENTERPRISE_USER, false),
            )
            .expect("built-in");
        registry
            .add_resource_type(ResourceType::new("Group", "/Groups", GROUP).describe("Group"))
            .expect("built-in");
        registry
    }

    /// Registers a schema (core or extension).
    pub fn add_schema(&mut self, schema: Schema) -> Result<&mut Registry, RegistryError> {
        if self.schema(&schema.id).is_some() {
            return Err(RegistryError::DuplicateSchema(schema.id));
        }
        for (i, attr) in schema.attributes.iter().enumerate() {
            let again = schema.attributes[..i]
                .iter()
                .chain(&self.common)
                .any(|a| a.name.eq_ignore_ascii_case(&attr.name));
            if again {
                return Err(RegistryError::DuplicateAttribute {
                    schema: schema.id.clone(),
                    attribute: attr.name.clone(),
                });
            }
        }
        self.schemas.push(schema);
        Ok(self)
    }

    /// Registers a resource type whose schema and extensions are registered already.
    pub fn add_resource_type(
        &mut self,
        resource_type: ResourceType,
    ) -> Result<&mut Registry, RegistryError> {
        let taken = self.resource_types.iter().any(|rt| {
            rt.name.eq_ignore_ascii_case(&resource_type.name)
                || normalise_endpoint(&rt.endpoint)
                    .eq_ignore_ascii_case(normalise_endpoint(&resource_type.endpoint))
        });
        if taken {
            return Err(RegistryError::DuplicateResourceType(resource_type.name));
        }
        let schemas = std::iter::once(&resource_type.schema)
            .chain(resource_type.schema_extensions.iter().map(|e| &e.schema));
        for schema in schemas {
            if self.schema(schema).is_none() {
                return Err(RegistryError::UnknownSchema {
                    resource_type: resource_type.name.clone(),
                    schema: schema.clone(),
                });
            }
        }
        self.resource_types.push(resource_type);
        Ok(self)
    }

    /// Every registered schema.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter()
    }

    /// The schema with this URN, in any case.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// The common attributes every resource has: `id`, `externalId`, `meta`.
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// Every registered resource type.
    pub fn resource_types(&self) -> impl Iterator<Item = ResourceTypeView<'_>> {
        self.resource_types.iter().map(|rt| self.view(rt))
    }

    /// The resource type with this name, in any case.
    pub fn resource_type(&self, name: &str) -> Option<ResourceTypeView<'_>> {
        self.resource_types
            .iter()
            .find(|rt| rt.name.eq_ignore_ascii_case(name))
            .map(|rt| self.view(rt))
    }

    /// The resource type served at `endpoint` (`/Users`, `Users` or `/users/`).
    pub fn resource_type_by_endpoint(&self, endpoint: &str) -> Option<ResourceTypeView<'_>> {
        let wanted = normalise_endpoint(endpoint);
        self.resource_types
            .iter()
            .find(|rt| normalise_endpoint(&rt.endpoint).eq_ignore_ascii_case(wanted))
            .map(|rt| self.view(rt))
    }

    fn view<'r>(&'r self, resource_type: &'r ResourceType) -> ResourceTypeView<'r> {
        let core = self
            .schema(&resource_type.schema)
            .expect("checked when the resource type was added");
        let extensions = resource_type
            .schema_extensions
            .iter()
            .map(|e| {
                let schema = self.schema(&e.schema).expect("checked when added");
                (schema, e.required)
            })
            .collect();
        ResourceTypeView {
            registry: self,
            resource_type,
            core,
            extensions,
        }
    }
}

fn normalise_endpoint(endpoint: &str) -> &str {
    endpoint.trim_matches('/')
}

/// A resource type with its schemas, resolving attribute names.
#[derive(Debug, Clone)]
pub struct ResourceTypeView<'r> {
    registry: &'r Registry,
    resource_type: &'r ResourceType,
    core: &'r Schema,
    extensions: Vec<(&'r Schema, bool)>,
}

/// Where a name resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'r> {
    /// The schema holding the attribute; `None` for the common attributes.
    pub schema: Option<&'r Schema>,
    /// Whether that schema is one of the resource type's extensions, whose attributes live
    /// in an object named by the schema URN.
    pub extension: bool,
    /// The attribute.
    pub attribute: &'r Attribute,
    /// The sub-attribute, when one was named.
    pub sub_attribute: Option<&'r Attribute>,
}

impl<'r> Resolved<'r> {
    /// The innermost definition named: the sub-attribute, else the attribute.
    pub fn target(&self) -> &'r Attribute {
        self.sub_attribute.unwrap_or(self.attribute)
    }
}

impl<'r> ResourceTypeView<'r> {
    /// The resource type.
    pub fn resource_type(&self) -> &'r ResourceType {
        self.resource_type
    }

    /// The registry it belongs to.
    pub fn registry(&self) -> &'r Registry {
        self.registry
    }

    /// The core schema.
    pub fn core_schema(&self) -> &'r Schema {
        self.core
    }

    /// The extension schemas, each with whether it is required.
    pub fn extensions(&self) -> impl Iterator<Item = (&'r Schema, bool)> + '_ {
        self.extensions.iter().copied()
    }

    /// The extension with this URN, in any case.
    pub fn extension(&self, urn: &str) -> Option<&'r Schema> {
        self.extensions
            .iter()
            .map(|(s, _)| *s)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Resolves `[urn:]name[.sub]`: names in any case; a URN routes to the core schema or
    /// an extension; an unqualified name is looked up in the core schema, the common
    /// attributes, then the extensions (where exactly one defines it).
    pub fn resolve(
        &self,
        urn: Option<&str>,
        name: &str,
        sub: Option<&str>,
    ) -> Option<Resolved<'r>> {
        let (schema, extension, attribute) = match urn {
            Some(urn) if self.core.id.eq_ignore_ascii_case(urn) => self.in_core(name)?,
            Some(urn) => {
                let ext = self.extension(urn)?;
                (Some(ext), true, ext.attribute(name)?)
            }
            None => match self.in_core(name) {
                Some(found) => found,
                None => {
                    let mut found = self
                        .extensions
                        .iter()
                        .filter_map(|(s, _)| s.attribute(name).map(|a| (*s, a)));
                    let (ext, attribute) = found.next()?;
                    if found.next().is_some() {
                        return None;
                    }
                    (Some(ext), true, attribute)
                }
            },
        };
        let sub_attribute = match sub {
            Some(sub) => Some(attribute.sub_attribute(sub)?),
            None => None,
        };
        Some(Resolved {
            schema,
            extension,
            attribute,
            sub_attribute,
        })
    }

    /// Resolves a parsed attribute path.
    pub fn resolve_path(&self, path: &AttrPath) -> Option<Resolved<'r>> {
        self.resolve(path.urn.as_deref(), &path.name, path.sub_attr.as_deref())
    }

    fn in_core(&self, name: &str) -> Option<(Option<&'r Schema>, bool, &'r Attribute)> {
        if let Some(attr) = self.core.attribute(name) {
            return Some((Some(self.core), false, attr));
        }
        let common = self
            .registry
            .common
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))?;
        Some((None, false, common))
    }
}

impl AttributeTypes for ResourceTypeView<'_> {
    fn attribute_type(&self, urn: Option<&str>, path: &[&str]) -> Option<AttrType> {
        let resolved = match path {
            [name] => self.resolve(urn, name, None)?,
            [name, sub] => self.resolve(urn, name, Some(sub))?,
            _ => return None,
        };
        Some(resolved.target().attr_type())
    }

    fn container(&self, urn: Option<&str>, name: &str) -> Container<'_> {
        match self.resolve(urn, name, None) {
            Some(Resolved {
                schema: Some(schema),
                extension: true,
                ..
            }) => Container::Extension(&schema.id),
            Some(_) => Container::TopLevel,
            None => Container::Unknown,
        }
    }
}
