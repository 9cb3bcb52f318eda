use std::sync::Arc;

use super::{
    common_attributes, enterprise_user_schema, group_schema, user_schema, Attribute, ResourceType,
    ResourceTypeView, Schema, ENTERPRISE_USER, GROUP, USER,
};

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
    schemas: Vec<Arc<Schema>>,
    resource_types: Vec<Registered>,
    common: Vec<Attribute>,
}

/// A resource type with its schemas found once, when it was registered.
#[derive(Debug, Clone)]
pub(super) struct Registered {
    pub(super) resource_type: ResourceType,
    /// Its core schema.
    pub(super) core: Arc<Schema>,
    /// Each extension schema, with whether it is required.
    pub(super) extensions: Vec<(Arc<Schema>, bool)>,
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
        self.schemas.push(Arc::new(schema));
        Ok(self)
    }

    /// Registers a resource type whose schema and extensions are registered already.
    pub fn add_resource_type(
        &mut self,
        resource_type: ResourceType,
    ) -> Result<&mut Registry, RegistryError> {
        let taken = self
            .resource_types
            .iter()
            .map(|r| &r.resource_type)
            .any(|rt| {
                rt.name.eq_ignore_ascii_case(&resource_type.name)
                    || normalise_endpoint(&rt.endpoint)
                        .eq_ignore_ascii_case(normalise_endpoint(&resource_type.endpoint))
            });
        if taken {
            return Err(RegistryError::DuplicateResourceType(resource_type.name));
        }
        let find = |urn: &str| {
            self.schemas
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(urn))
                .cloned()
                .ok_or_else(|| RegistryError::UnknownSchema {
                    resource_type: resource_type.name.clone(),
                    schema: urn.to_owned(),
                })
        };
        let core = find(&resource_type.schema)?;
        let extensions = resource_type
            .schema_extensions
            .iter()
            .map(|e| Ok((find(&e.schema)?, e.required)))
            .collect::<Result<_, RegistryError>>()?;
        self.resource_types.push(Registered {
            resource_type,
            core,
            extensions,
        });
        Ok(self)
    }

    /// Every registered schema.
    pub fn schemas(&self) -> impl Iterator<Item = &Schema> {
        self.schemas.iter().map(|s| &**s)
    }

    /// The schema with this URN, in any case.
    pub fn schema(&self, urn: &str) -> Option<&Schema> {
        self.schemas
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
            .map(|s| &**s)
    }

    /// The common attributes every resource has: `id`, `externalId`, `meta`.
    pub fn common_attributes(&self) -> &[Attribute] {
        &self.common
    }

    /// Every registered resource type.
    pub fn resource_types(&self) -> impl Iterator<Item = ResourceTypeView<'_>> {
        (0..self.resource_types.len()).map(|i| ResourceTypeView::new(self, i))
    }

    /// The resource type with this name, in any case.
    pub fn resource_type(&self, name: &str) -> Option<ResourceTypeView<'_>> {
        self.resource_types
            .iter()
            .position(|r| r.resource_type.name.eq_ignore_ascii_case(name))
            .map(|i| ResourceTypeView::new(self, i))
    }

    /// The resource type served at `endpoint` (`/Users`, `Users` or `/users/`).
    pub fn resource_type_by_endpoint(&self, endpoint: &str) -> Option<ResourceTypeView<'_>> {
        let wanted = normalise_endpoint(endpoint);
        self.resource_types
            .iter()
            .position(|r| {
                normalise_endpoint(&r.resource_type.endpoint).eq_ignore_ascii_case(wanted)
            })
            .map(|i| ResourceTypeView::new(self, i))
    }

    /// What tells this registry's renderings of resources from another's: a hash of its
    /// schemas and resource types. Equal registries have equal fingerprints, so services
    /// built again over the same store reuse what earlier ones kept.
    pub(crate) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        self.schemas.hash(&mut hasher);
        self.common.hash(&mut hasher);
        for registered in &self.resource_types {
            registered.resource_type.hash(&mut hasher);
        }
        hasher.finish()
    }

    /// The schemas of the registered resource type at `index`.
    pub(super) fn registered(&self, index: usize) -> &Registered {
        &self.resource_types[index]
    }
}

fn normalise_endpoint(endpoint: &str) -> &str {
    endpoint.trim_matches('/')
}
