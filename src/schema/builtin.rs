//! The schemas RFC 7643 defines: the common attributes (§3.1), User (§4.1), Group (§4.2)
//! and the Enterprise User extension (§4.3), with the characteristics of their §8.7.1
//! representation, plus two sub-attributes that representation leaves out although §2.4
//! defines them for every multi-valued attribute and the RFC's own examples use them:
//! `addresses.primary` and `members.display`.

use super::{AttrKind, Attribute, Mutability, Returned, Schema, Uniqueness};

/// The core User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Enterprise User extension URN.
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The attributes every resource has (RFC 7643 §3.1): `id`, `externalId` and `meta`.
///
/// They belong to no schema document; the registry resolves them for every resource type.
pub fn common_attributes() -> Vec<Attribute> {
    use Mutability::ReadOnly;
    vec![
        Attribute::string("id")
            .describe("The service provider's unique, stable identifier for the resource.")
            .case_exact()
            .mutability(ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        Attribute::string("externalId")
            .describe("The provisioning client's identifier for the resource.")
            .case_exact(),
        Attribute::complex(
            "meta",
            vec![
                Attribute::string("resourceType")
                    .describe("The name of the resource's type.")
                    .case_exact()
                    .mutability(ReadOnly),
                Attribute::new("created", AttrKind::DateTime)
                    .describe("When the resource was added to the service provider.")
                    .mutability(ReadOnly),
                Attribute::new("lastModified", AttrKind::DateTime)
                    .describe("When the resource was last changed.")
                    .mutability(ReadOnly),
                Attribute::reference("location", &["uri"])
                    .describe("The URI of the resource.")
                    .case_exact()
                    .mutability(ReadOnly),
                Attribute::string("version")
                    .describe("The version (entity tag) of the resource.")
                    .case_exact()
                    .mutability(ReadOnly),
            ],
        )
        .describe("Resource metadata, maintained by the service provider.")
        .mutability(ReadOnly),
    ]
}

/// `value`, `display`, `type` (with canonical values) and `primary`: the sub-attributes
/// of most of the User's multi-valued attributes.
fn plural(name: &str, value: Attribute, types: &[&str], description: &str) -> Attribute {
    let mut type_attr =
        Attribute::string("type").describe("A label indicating the value's function.");
    type_attr.canonical_values = types.iter().map(|t| (*t).to_owned()).collect();
    Attribute::complex(
        name,
        vec![
            value,
            Attribute::string("display").describe("A human-readable name for display."),
            type_attr,
            Attribute::boolean("primary")
                .describe("Whether this is the preferred value; at most one is."),
        ],
    )
    .describe(description)
    .multi_valued()
}

/// The core User schema (RFC 7643 §4.1).
pub fn user_schema() -> Schema {
    use Mutability::{ReadOnly, WriteOnly};
    let name_part = |name: &str, description: &str| Attribute::string(name).describe(description);
    let address_part = name_part;
    Schema::new(
        USER,
        "User",
        "User Account",
        vec![
            Attribute::string("userName")
                .describe("The unique identifier the user signs in with.")
                .required()
                .uniqueness(Uniqueness::Server),
            Attribute::complex(
                "name",
                vec![
                    name_part("formatted", "The full name, formatted for display."),
                    name_part("familyName", "The family (last) name."),
                    name_part("givenName", "The given (first) name."),
                    name_part("middleName", "The middle names."),
                    name_part("honorificPrefix", "Titles before the name, e.g. 'Ms.'."),
                    name_part("honorificSuffix", "Suffixes after the name, e.g. 'III'."),
                ],
            )
            .describe("The components of the user's real name."),
            Attribute::string("displayName").describe("The name to display to end users."),
            Attribute::string("nickName").describe("The casual way to address the user."),
            Attribute::reference("profileUrl", &["external"])
                .describe("A URL of the user's online profile."),
            Attribute::string("title").describe("The user's title, e.g. 'Vice President'."),
            Attribute::string("userType")
                .describe("The user's relation to the organisation, e.g. 'Employee'."),
            Attribute::string("preferredLanguage")
                .describe("The user's preferred language, e.g. 'en-US'."),
            Attribute::string("locale").describe("The user's locale for formatting, e.g. 'en-US'."),
            Attribute::string("timezone")
                .describe("The user's time zone, e.g. 'America/Los_Angeles'."),
            Attribute::boolean("active").describe("The user's administrative status."),
            Attribute::string("password")
                .describe("The user's cleartext password, for setting it only.")
                .mutability(WriteOnly)
                .returned(Returned::Never),
            plural(
                "emails",
                Attribute::string("value").describe("An email address."),
                &["work", "home", "other"],
                "Email addresses for the user.",
            ),
            plural(
                "phoneNumbers",
                Attribute::string("value").describe("A phone number."),
                &["work", "home", "mobile", "fax", "pager", "other"],
                "Phone numbers for the user.",
            ),
            plural(
                "ims",
                Attribute::string("value").describe("An instant messaging address."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                "Instant messaging addresses for the user.",
            ),
            plural(
                "photos",
                Attribute::reference("value", &["external"]).describe("A URL of a photo."),
                &["photo", "thumbnail"],
                "URLs of photos of the user.",
            ),
            {
                let mut type_attr = Attribute::string("type")
                    .describe("A label indicating the address's function.");
                type_attr.canonical_values = vec!["work".into(), "home".into(), "other".into()];
                Attribute::complex(
                    "addresses",
                    vec![
                        address_part("formatted", "The full address, formatted for display."),
                        address_part("streetAddress", "The street address."),
                        address_part("locality", "The city or locality."),
                        address_part("region", "The state or region."),
                        address_part("postalCode", "The postal code."),
                        address_part("country", "The country."),
                        type_attr,
                        // Not in the §8.7.1 representation, but §2.4 gives every
                        // multi-valued attribute `primary` and the §8.2 example uses it.
                        Attribute::boolean("primary")
                            .describe("Whether this is the preferred address; at most one is."),
                    ],
                )
                .describe("Physical mailing addresses for the user.")
                .multi_valued()
            },
            Attribute::complex(
                "groups",
                vec![
                    Attribute::string("value")
                        .describe("The id of a group of the user.")
                        .mutability(ReadOnly),
                    Attribute::reference("$ref", &["User", "Group"])
                        .describe("The URI of the group.")
                        .mutability(ReadOnly),
                    Attribute::string("display")
                        .describe("The group's display name.")
                        .mutability(ReadOnly),
                    Attribute::string("type")
                        .describe("How the user is a member: 'direct' or 'indirect'.")
                        .canonical(&["direct", "indirect"])
                        .mutability(ReadOnly),
                ],
            )
            .describe("The groups the user belongs to, maintained by the service provider.")
            .multi_valued()
            .mutability(ReadOnly),
            plural(
                "entitlements",
                Attribute::string("value").describe("An entitlement."),
                &[],
                "Entitlements of the user: things the user has.",
            ),
            plural(
                "roles",
                Attribute::string("value").describe("A role."),
                &[],
                "Roles of the user: who the user is.",
            ),
            plural(
                "x509Certificates",
                Attribute::new("value", AttrKind::Binary).describe("A DER certificate, base64."),
                &[],
                "X.509 certificates issued to the user.",
            ),
        ],
    )
}

/// The core Group schema (RFC 7643 §4.2).
pub fn group_schema() -> Schema {
    use Mutability::Immutable;
    Schema::new(
        GROUP,
        "Group",
        "Group",
        vec![
            Attribute::string("displayName").describe("The group's name, for display."),
            Attribute::complex(
                "members",
                vec![
                    Attribute::string("value")
                        .describe("The id of a member.")
                        .mutability(Immutable),
                    Attribute::reference("$ref", &["User", "Group"])
                        .describe("The URI of the member.")
                        .mutability(Immutable),
                    Attribute::string("type")
                        .describe("The member's resource type: 'User' or 'Group'.")
                        .canonical(&["User", "Group"])
                        .mutability(Immutable),
                    // Not in the §8.7.1 representation, but §2.4 gives every multi-valued
                    // attribute `display`, the §8.4 example uses it and IdPs send it.
                    Attribute::string("display").describe("The member's display name."),
                ],
            )
            .describe("The members of the group.")
            .multi_valued(),
        ],
    )
}

/// The Enterprise User extension (RFC 7643 §4.3).
pub fn enterprise_user_schema() -> Schema {
    let text = |name: &str, description: &str| Attribute::string(name).describe(description);
    Schema::new(
        ENTERPRISE_USER,
        "EnterpriseUser",
        "Enterprise User",
        vec![
            text(
                "employeeNumber",
                "The organisation's identifier for the user.",
            ),
            text("costCenter", "The user's cost center."),
            text("organization", "The user's organisation."),
            text("division", "The user's division."),
            text("department", "The user's department."),
            Attribute::complex(
                "manager",
                vec![
                    Attribute::string("value").describe("The id of the user's manager."),
                    Attribute::reference("$ref", &["User"])
                        .describe("The URI of the manager's User resource."),
                    Attribute::string("displayName")
                        .describe("The manager's display name.")
                        .mutability(Mutability::ReadOnly),
                ],
            )
            .describe("The user's manager."),
        ],
    )
}
