//! Typed views of SCIM resources and messages for application code.
//!
//! The core works on JSON resources; these structs are for the application's side: read a
//! normalised resource into a [`User`] to update the app's own user table, or build a
//! [`ListResponse`]. Field names follow RFC 7643, and every view converts to and from the
//! JSON resource.
//!
//! ```
//! use scimkit::resource::{Resource, User};
//! use serde_json::json;
//!
//! let user = User::from_resource(&json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
//!                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen", "active": true,
//!     "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}],
//!     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
//!         "department": "Tour Operations", "manager": {"value": "26118915"}
//!     }
//! }))?;
//! assert_eq!(user.user_name, "bjensen");
//! assert_eq!(user.primary_email(), Some("bjensen@example.com"));
//! assert_eq!(user.enterprise.unwrap().manager.unwrap().value.as_deref(), Some("26118915"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ScimError, ERROR_SCHEMA};
use crate::schema::{ENTERPRISE_USER, GROUP, USER};

/// The schema URN of a list response (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Conversions between a typed view and the JSON resource.
pub trait Resource: Serialize + DeserializeOwned {
    /// Reads a (normalised) JSON resource.
    fn from_resource(resource: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(resource)
    }

    /// The JSON resource.
    fn to_resource(&self) -> Value {
        serde_json::to_value(self).expect("typed views serialise")
    }
}

/// `meta` (RFC 7643 §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The resource type's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// When the resource was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<FixedOffset>>,
    /// When the resource was last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<FixedOffset>>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The resource's version, a weak entity tag such as `W/"3"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `name` (RFC 7643 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Name {
    /// The `formatted` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The `familyName` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// The `givenName` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// The `middleName` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// The `honorificPrefix` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    /// The `honorificSuffix` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// An element of a multi-valued attribute such as `emails` or `groups` (RFC 7643 §2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiValue {
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The value's function, e.g. `work`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether this is the preferred value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// The URI of a referenced resource.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// An element of `addresses` (RFC 7643 §4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// The `formatted` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    /// The `streetAddress` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    /// The `locality` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// The `region` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The `postalCode` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// The `country` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The `type` attribute.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The `primary` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// `manager` of the Enterprise User extension (RFC 7643 §4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manager {
    /// The manager's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The URI of the manager's resource.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The manager's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The Enterprise User extension (RFC 7643 §4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnterpriseUser {
    /// The `employeeNumber` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// The `costCenter` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    /// The `organization` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// The `division` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    /// The `department` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The `manager` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

fn user_schemas() -> Vec<String> {
    vec![USER.to_owned()]
}

/// A User (RFC 7643 §4.1) with the Enterprise User extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The `schemas` attribute.
    #[serde(default = "user_schemas")]
    pub schemas: Vec<String>,
    /// The `id` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `externalId` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The `userName` attribute.
    pub user_name: String,
    /// The `name` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    /// The `displayName` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The `nickName` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// The `profileUrl` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    /// The `title` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The `userType` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    /// The `preferredLanguage` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    /// The `locale` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The `timezone` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The `active` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The `emails` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<MultiValue>,
    /// The `phoneNumbers` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<MultiValue>,
    /// The `ims` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ims: Vec<MultiValue>,
    /// The `photos` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<MultiValue>,
    /// The `addresses` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// The `groups` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<MultiValue>,
    /// The `entitlements` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entitlements: Vec<MultiValue>,
    /// The `roles` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<MultiValue>,
    /// The `x509Certificates` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub x509_certificates: Vec<MultiValue>,
    /// The Enterprise User extension, when the resource carries it.
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    /// The `None` attribute.
    pub enterprise: Option<EnterpriseUser>,
    /// The `meta` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl User {
    /// A user with only a `userName`.
    pub fn new(user_name: impl Into<String>) -> User {
        User {
            schemas: user_schemas(),
            user_name: user_name.into(),
            ..User::default()
        }
    }

    /// The primary email address, else the first.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| self.emails.first())
            .and_then(|e| e.value.as_deref())
    }
}

impl Resource for User {
    fn to_resource(&self) -> Value {
        let mut user = self.clone();
        let has_ext = user
            .schemas
            .iter()
            .any(|s| s.eq_ignore_ascii_case(ENTERPRISE_USER));
        if user.enterprise.is_some() && !has_ext {
            user.schemas.push(ENTERPRISE_USER.to_owned());
        }
        serde_json::to_value(user).expect("a user serialises")
    }
}

/// An element of a group's `members` (RFC 7643 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's `id`.
    pub value: String,
    /// The URI of the member's resource.
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The member's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `User` or `Group`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

fn group_schemas() -> Vec<String> {
    vec![GROUP.to_owned()]
}

/// A Group (RFC 7643 §4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The `schemas` attribute.
    #[serde(default = "group_schemas")]
    pub schemas: Vec<String>,
    /// The `id` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The `externalId` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The `displayName` attribute.
    #[serde(default)]
    pub display_name: String,
    /// The `members` attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// The `meta` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Resource for Group {}

fn list_schemas() -> Vec<String> {
    vec![LIST_RESPONSE.to_owned()]
}

/// A page of query results (RFC 7644 §3.4.2, with RFC 9865 cursors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Value> {
    /// `urn:ietf:params:scim:api:messages:2.0:ListResponse`.
    #[serde(default = "list_schemas")]
    pub schemas: Vec<String>,
    /// How many resources match in all.
    pub total_results: u64,
    /// The 1-based index of the first resource of this page (index paging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// How many resources this page holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// The cursor of the next page (RFC 9865).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The cursor of the previous page (RFC 9865).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
    /// The resources of this page.
    #[serde(rename = "Resources", default)]
    pub resources: Vec<T>,
}

impl<T> ListResponse<T> {
    /// An index-paged response.
    pub fn new(total_results: u64, start_index: u64, resources: Vec<T>) -> ListResponse<T> {
        ListResponse {
            schemas: list_schemas(),
            total_results,
            start_index: Some(start_index),
            items_per_page: Some(resources.len() as u64),
            next_cursor: None,
            previous_cursor: None,
            resources,
        }
    }
}

/// A SCIM error response (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// `urn:ietf:params:scim:api:messages:2.0:Error`.
    pub schemas: Vec<String>,
    /// The HTTP status, as a string.
    pub status: String,
    /// The `scimType` keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<String>,
    /// The detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<&ScimError> for ErrorResponse {
    fn from(err: &ScimError) -> ErrorResponse {
        ErrorResponse {
            schemas: vec![ERROR_SCHEMA.to_owned()],
            status: err.status().as_u16().to_string(),
            scim_type: err.scim_type().map(|t| t.as_str().to_owned()),
            detail: Some(err.detail().to_owned()),
        }
    }
}
