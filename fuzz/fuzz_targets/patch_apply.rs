//! Arbitrary PatchOp bodies applied to a fixed user and group, in both profiles: never a
//! panic; a success is a valid resource equal to applying the operations one at a time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::patch::PatchRequest;
use scimkit::schema::{Registry, Write};
use scimkit::Compat;
use serde_json::{json, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let registry = Registry::scim_default();
    let resources = [
        (
            "User",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "id": "u1", "userName": "bjensen",
                "name": {"givenName": "Barbara"}, "active": true,
                "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}}
            }),
        ),
        (
            "Group",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "displayName": "G",
                "members": [{"value": "a"}, {"value": "b"}]
            }),
        ),
    ];
    for (name, stored) in resources {
        let view = registry.resource_type(name).expect("built in");
        for compat in [Compat::lenient(), Compat::strict()] {
            let Ok(request) = PatchRequest::from_json(body.clone(), &compat) else {
                continue;
            };
            let Ok(out) = view.patch(&stored, &request, &compat) else {
                continue;
            };
            // `changed` is exact, but for a member taken out and put back, which counts
            // as a change of the list (the element may differ; the engine does not compare).
            let put_back = out.changes.iter().any(|c| {
                matches!(c, scimkit::patch::AttributeChange::Members { net, .. } if !net.membership_changed())
            });
            if !put_back {
                assert_eq!(out.changed, out.resource != stored, "changed is exact");
            }
            assert!(
                out.changed || out.resource == stored,
                "a change is never missed"
            );
            // What is reported changed is what a comparison finds (membership for lists).
            let membership = |changes: &[scimkit::patch::AttributeChange]| -> Vec<String> {
                let mut paths: Vec<String> = changes
                    .iter()
                    .filter(|c| !matches!(c, scimkit::patch::AttributeChange::Members { net, .. } if !net.membership_changed()))
                    .map(|c| c.path())
                    .collect();
                paths.sort();
                paths
            };
            assert_eq!(
                membership(&out.changes),
                membership(&view.changes(&stored, &out.resource)),
                "the changes reported"
            );
            let mut again = view
                .normalize(out.resource.clone(), Write::Create, &compat)
                .expect("a patched resource is valid")
                .resource;
            again["id"] = out.resource["id"].clone();
            assert_eq!(again, out.resource);
            let mut step = stored.clone();
            for op in &request.operations {
                let one = scimkit::patch::PatchRequest {
                    operations: vec![op.clone()],
                };
                step = view
                    .patch(&step, &one, &compat)
                    .expect("each step succeeds")
                    .resource;
            }
            assert_eq!(step, out.resource);
        }
    }
});
