//! How much of what identity providers really send is accepted.
//!
//! RFC behaviour applies wherever the identity providers agree with it. Where a known
//! provider deviates, [`Compat::lenient`] (the default) accepts the deviation and
//! [`Compat::strict`] answers with the RFC's error. Each switch can be set on its own:
//!
//! ```
//! use scimkit::Compat;
//!
//! let mut compat = Compat::lenient();
//! compat.ignore_unknown_attributes = false; // reject typos, keep the rest lenient
//! assert!(compat.coerce_booleans);
//! assert!(!Compat::strict().coerce_booleans);
//! ```

/// The compatibility profile: one switch per tolerated deviation. It serialises as a JSON
/// object of its switches (camelCase); switches missing when it is read back take their
/// lenient value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct Compat {
    /// `"True"`, `"false"` (any case) accepted for boolean attributes (Microsoft Entra ID).
    pub coerce_booleans: bool,
    /// Numeric strings accepted for integer and decimal attributes, and numbers or booleans
    /// for string attributes (written as their JSON text).
    pub coerce_numbers: bool,
    /// Attributes no schema defines are dropped instead of rejected.
    pub ignore_unknown_attributes: bool,
    /// Schema URNs the resource type does not know, in `schemas` or as extension keys, are
    /// dropped instead of rejected (Entra's ADSCIM group URN, for one).
    pub ignore_unknown_schemas: bool,
    /// A missing `schemas` list is taken to be the resource type's core schema.
    pub infer_missing_schemas: bool,
    /// A lone value where a multi-valued attribute is expected becomes a one-element list
    /// (OneLogin's `"emails": {…}`).
    pub wrap_single_values: bool,
    /// A one-element list where a single complex value is expected is unwrapped, and a bare
    /// string becomes `{"value": …}` (Entra's `manager`).
    pub unwrap_single_complex: bool,
    /// Several `primary: true` elements keep the first; otherwise they are rejected.
    pub first_primary_wins: bool,
    /// Values outside an attribute's `canonicalValues` are rejected.
    pub enforce_canonical_values: bool,
    /// PATCH bodies: `op` in any case (`"Add"`, Entra), `Operations` in any case, and a
    /// missing `schemas` or an empty `Operations` accepted.
    pub patch_lenient_body: bool,
    /// PATCH without a path: value keys that are paths (`name.givenName`, or
    /// URN-qualified like `urn:…:enterprise:2.0:User:employeeNumber`) are expanded
    /// (Okta, Entra's `aadOptscim062020`).
    pub patch_expand_keys: bool,
    /// PATCH without a path: read-only attributes in the value (`id`, `meta`) are ignored
    /// even when they differ; otherwise only unchanged ones are.
    pub ignore_read_only_in_patch: bool,
    /// `add` or `replace` through a filter that matches nothing creates the element the
    /// filter describes (`emails[type eq "work"].value` creates a work email, Entra);
    /// otherwise `noTarget`.
    pub patch_create_on_filter_miss: bool,
    /// `remove` of a multi-valued attribute with a `value` list removes exactly the listed
    /// elements (Entra, JumpCloud removing group members); otherwise the whole attribute.
    pub patch_remove_by_value: bool,
    /// `remove` of something already absent succeeds; otherwise `noTarget`.
    pub patch_remove_missing_is_noop: bool,
    /// The pre-2018 path form `urn:…:enterprise:2.0:User.manager` is read as
    /// `urn:…:enterprise:2.0:User:manager`.
    pub patch_legacy_paths: bool,
}

impl Compat {
    /// Every tolerated deviation accepted; canonical values not enforced.
    pub fn lenient() -> Compat {
        Compat {
            coerce_booleans: true,
            coerce_numbers: true,
            ignore_unknown_attributes: true,
            ignore_unknown_schemas: true,
            infer_missing_schemas: true,
            wrap_single_values: true,
            unwrap_single_complex: true,
            first_primary_wins: true,
            enforce_canonical_values: false,
            patch_lenient_body: true,
            patch_expand_keys: true,
            ignore_read_only_in_patch: true,
            patch_create_on_filter_miss: true,
            patch_remove_by_value: true,
            patch_remove_missing_is_noop: true,
            patch_legacy_paths: true,
        }
    }

    /// The RFC to the letter: every deviation is an error, canonical values enforced.
    pub fn strict() -> Compat {
        Compat {
            coerce_booleans: false,
            coerce_numbers: false,
            ignore_unknown_attributes: false,
            ignore_unknown_schemas: false,
            infer_missing_schemas: false,
            wrap_single_values: false,
            unwrap_single_complex: false,
            first_primary_wins: false,
            enforce_canonical_values: true,
            patch_lenient_body: false,
            patch_expand_keys: false,
            ignore_read_only_in_patch: false,
            patch_create_on_filter_miss: false,
            patch_remove_by_value: false,
            patch_remove_missing_is_noop: false,
            patch_legacy_paths: false,
        }
    }
}

impl Default for Compat {
    fn default() -> Compat {
        Compat::lenient()
    }
}
