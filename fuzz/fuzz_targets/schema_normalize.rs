//! Arbitrary JSON through validation and projection, as a User and as a Group, in both
//! profiles: never a panic, and whatever is accepted is a fixed point of normalisation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::schema::{Projection, Registry, Write};
use scimkit::Compat;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let registry = Registry::scim_default();
    for name in ["User", "Group"] {
        let view = registry.resource_type(name).expect("built in");
        for compat in [Compat::lenient(), Compat::strict()] {
            let Ok(out) = view.normalize(input.clone(), Write::Create, &compat) else {
                continue;
            };
            let again = view
                .normalize(out.resource.clone(), Write::Create, &compat)
                .expect("a normalised resource is valid");
            assert_eq!(again.resource, out.resource);
            let _ = view.normalize(input.clone(), Write::Replace(&out.resource), &compat);
            let projection =
                Projection::parse(Some("userName,name.givenName,members"), Some("emails"))
                    .expect("valid lists");
            let _ = view.project(out.resource.clone(), &projection);
            let _ = view.project(input.clone(), &Projection::default());
        }
    }
});
