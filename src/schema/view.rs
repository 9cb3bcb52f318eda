//! [`ResourceTypeView`]: one resource type with its schemas, and everything done with a
//! resource of that type — name resolution, validation, projection, PATCH — in one place.

use std::fmt;

use serde_json::Value;

use super::registry::Registered;
use super::{
    normalize, project, Attribute, Normalized, Projection, Registry, ResourceType, Schema,
    SchemaError, UniqueValue, Write,
};
use crate::compat::Compat;
use crate::eval::{AttrType, AttributeTypes, Container};
use crate::filter::AttrPath;
use crate::patch::{AttributeChange, MemberChanges, PatchError, PatchRequest, Patched};

/// A resource type of a [`Registry`] with its schemas: what resolves attribute names,
/// validates and normalises what identity providers send, projects responses and applies
/// PATCH requests. Cheap to copy.
#[derive(Clone, Copy)]
pub struct ResourceTypeView<'r> {
    registry: &'r Registry,
    registered: &'r Registered,
    core: &'r Schema,
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

impl fmt::Debug for ResourceTypeView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResourceTypeView")
            .field(&self.resource_type().name)
            .finish()
    }
}

impl<'r> ResourceTypeView<'r> {
    pub(super) fn new(registry: &'r Registry, index: usize) -> ResourceTypeView<'r> {
        let registered = registry.registered(index);
        ResourceTypeView {
            registry,
            registered,
            core: &registered.core,
        }
    }

    /// The resource type.
    pub fn resource_type(&self) -> &'r ResourceType {
        &self.registered.resource_type
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
    #[inline]
    pub fn extensions(&self) -> impl Iterator<Item = (&'r Schema, bool)> + 'r {
        self.registered
            .extensions
            .iter()
            .map(|(schema, required)| (&**schema, *required))
    }

    /// The extension with this URN, in any case.
    #[inline]
    pub fn extension(&self, urn: &str) -> Option<&'r Schema> {
        self.registered
            .extensions
            .iter()
            .map(|(schema, _)| &**schema)
            .find(|s| s.id.len() == urn.len() && s.id.eq_ignore_ascii_case(urn))
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
            Some(urn) if self.core_schema().id.eq_ignore_ascii_case(urn) => self.in_core(name)?,
            Some(urn) => {
                let ext = self.extension(urn)?;
                (Some(ext), true, ext.attribute(name)?)
            }
            None => match self.in_core(name) {
                Some(found) => found,
                None => {
                    let mut found = self
                        .extensions()
                        .filter_map(|(s, _)| s.attribute(name).map(|a| (s, a)));
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
        let core = self.core_schema();
        if let Some(attr) = core.attribute(name) {
            return Some((Some(core), false, attr));
        }
        let common = self
            .registry
            .common_attributes()
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))?;
        Some((None, false, common))
    }

    /// Validates `input` for a create or replace and returns the canonical resource.
    ///
    /// Errors are `400`s: `invalidSyntax` for a body that is not a resource object,
    /// `invalidValue` for a missing required attribute or a value of the wrong type,
    /// `mutability` for a changed immutable attribute. What [`Compat`] tolerates is
    /// corrected instead.
    ///
    /// ```
    /// use scimkit::schema::{Registry, Write};
    /// use scimkit::Compat;
    /// use serde_json::json;
    ///
    /// let registry = Registry::scim_default();
    /// let users = registry.resource_type("User").unwrap();
    /// // What Microsoft Entra ID sends, mixed case, string booleans and all.
    /// let out = users.normalize(json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
    ///                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    ///     "externalId": "0a21f0f2",
    ///     "UserName": "Test_User@example.com",
    ///     "active": "True",
    ///     "emails": [{"primary": true, "type": "work", "value": "Test_User@example.com"}],
    ///     "meta": {"resourceType": "User"},
    ///     "name": {"familyName": "Bloggs", "givenName": "Joe", "formatted": null},
    ///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": null}
    /// }), Write::Create, &Compat::lenient())?;
    /// assert_eq!(out.resource, json!({
    ///     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    ///     "externalId": "0a21f0f2",
    ///     "userName": "Test_User@example.com",
    ///     "active": true,
    ///     "emails": [{"primary": true, "type": "work", "value": "Test_User@example.com"}],
    ///     "name": {"familyName": "Bloggs", "givenName": "Joe"}
    /// }));
    /// assert_eq!(out.unique[0].path, "userName");
    /// # Ok::<(), scimkit::schema::SchemaError>(())
    /// ```
    pub fn normalize(
        &self,
        input: Value,
        write: Write<'_>,
        compat: &Compat,
    ) -> Result<Normalized, SchemaError> {
        normalize::normalize(*self, input, write, compat)
    }

    /// The values of `resource` (a normalised resource) that the store must keep unique.
    pub fn unique_values(&self, resource: &Value) -> Vec<UniqueValue> {
        normalize::unique_values(*self, resource)
    }

    /// `resource` with only the attributes the projection and the `returned`
    /// characteristics allow: `schemas` and `id` always, `returned: never` attributes
    /// never, `returned: request` ones only when named in `attributes`. Attributes are
    /// removed in place; nothing is copied.
    pub fn project(&self, resource: Value, projection: &Projection) -> Value {
        self.projector(projection).project(resource)
    }

    /// `projection` resolved against this resource type once, to project many resources.
    pub(crate) fn projector(&self, projection: &Projection) -> project::Projector<'r> {
        project::Projector::new(*self, projection)
    }

    /// Whether the default projection (no `attributes`, no `excludedAttributes`) takes
    /// anything out of `resource`; when not, the resource is its own response.
    pub(crate) fn hides_by_default(&self, resource: &Value) -> bool {
        project::hides_by_default(*self, resource)
    }

    /// Applies `request` to `resource`, all or nothing (RFC 7644 §3.5.2).
    ///
    /// The operations apply in order to a copy; the first that fails returns its error,
    /// naming the operation and its path, and `resource` is left as it was. What
    /// [`Compat`] tolerates is applied as the identity provider meant it.
    pub fn patch(
        &self,
        resource: &Value,
        request: &PatchRequest,
        compat: &Compat,
    ) -> Result<Patched, PatchError> {
        self.patch_owned(resource.clone(), request, compat)
    }

    /// Applies `request` to a resource the caller owns, such as a server's copy read from
    /// its store: no copy is made. On error the resource is dropped, half-patched, and the
    /// caller writes nothing; the stored resource stays as it was.
    pub fn patch_owned(
        &self,
        resource: Value,
        request: &PatchRequest,
        compat: &Compat,
    ) -> Result<Patched, PatchError> {
        crate::patch::apply(*self, resource, request, compat)
    }

    /// The request as [`MemberChanges`], when every operation adds elements to, or removes
    /// elements by value from, one core attribute identified by `value` (Entra ID's, Okta's
    /// and JumpCloud's group membership PATCHes). `None` for anything else, including
    /// requests this would answer differently from [`patch`](Self::patch): a store that
    /// cannot take the changes, or a request that is not of this shape, goes through the
    /// whole-resource PATCH, which also reports any error.
    pub fn member_changes(&self, request: &PatchRequest, compat: &Compat) -> Option<MemberChanges> {
        crate::patch::member_changes(*self, request, compat)
    }

    /// The attributes that differ between two states of a resource (`before` `Null` for a
    /// resource just created), as a PUT or a POST changed them: core attributes and each
    /// extension's attributes by name, lists identified by `value` by membership. `id`,
    /// `meta` and `schemas` are not attributes a client changes and are left out.
    ///
    /// ```
    /// use scimkit::patch::AttributeChange;
    /// use scimkit::schema::Registry;
    /// use serde_json::json;
    ///
    /// let registry = Registry::scim_default();
    /// let groups = registry.resource_type("Group").unwrap();
    /// let before = json!({"displayName": "Ops", "members": [{"value": "a"}, {"value": "b"}]});
    /// let after = json!({"displayName": "Ops", "members": [{"value": "b"}, {"value": "c"}]});
    /// let changes = groups.changes(&before, &after);
    /// let AttributeChange::Members { name, net, .. } = &changes[0] else { panic!() };
    /// assert_eq!(name, "members");
    /// assert_eq!((net.added_values(), net.removed_values()), (vec!["c".to_owned()], vec!["a".to_owned()]));
    /// ```
    pub fn changes(&self, before: &Value, after: &Value) -> Vec<AttributeChange> {
        crate::patch::changes(*self, before, after)
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
