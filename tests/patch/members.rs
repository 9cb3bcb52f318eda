//! Group membership changes a store applies without the whole group
//! (`ResourceTypeView::member_changes` and `MemberChanges::apply`) mean exactly what the
//! PATCH engine does, for every request of that shape, under both profiles.

use proptest::prelude::*;
use scimkit::patch::{AttributeChange, MemberChanges, MemberOp, PatchRequest};
use scimkit::schema::Registry;
use scimkit::Compat;
use serde_json::{json, Value};

fn group(members: &[&str]) -> Value {
    let mut g = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1", "displayName": "Ops",
        "meta": {"resourceType": "Group", "created": "2026-01-01T00:00:00Z"}
    });
    if !members.is_empty() {
        g["members"] = members.iter().map(|m| json!({"value": m})).collect();
    }
    g
}

fn changes(ops: Value, compat: &Compat) -> Option<MemberChanges> {
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let request = PatchRequest::from_json(
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        compat,
    )
    .unwrap();
    groups.member_changes(&request, compat)
}

#[test]
fn the_idps_membership_requests_are_recognised() {
    let lenient = Compat::lenient();
    // Entra: capitalised op, `$ref: null`.
    let entra = changes(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}]}]),
        &lenient,
    )
    .unwrap();
    assert_eq!(entra.attribute, "members");
    assert_eq!(entra.ops, vec![MemberOp::Add(vec![json!({"value": "u1"})])]);
    // A bare id is read as the member's value, as the engine reads it.
    let bare = changes(
        json!([{"op": "add", "path": "members", "value": "u7"}]),
        &lenient,
    )
    .unwrap();
    assert_eq!(bare.ops, vec![MemberOp::Add(vec![json!({"value": "u7"})])]);
    // Entra and JumpCloud: remove with a value list.
    let remove = changes(
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
        &lenient,
    )
    .unwrap();
    assert_eq!(
        remove.ops,
        vec![MemberOp::Remove(vec!["u1".into(), "u2".into()])]
    );
    // Okta: a filter.
    let okta = changes(
        json!([{"op": "remove", "path": "members[value eq \"u9\"]"},
               {"op": "add", "path": "members", "value": [{"value": "u3", "display": "c@okta.local"}]}]),
        &lenient,
    )
    .unwrap();
    assert_eq!(
        okta.ops,
        vec![
            MemberOp::Remove(vec!["u9".into()]),
            MemberOp::Add(vec![json!({"value": "u3", "display": "c@okta.local"})])
        ]
    );
}

#[test]
fn other_requests_go_through_the_engine() {
    let lenient = Compat::lenient();
    for ops in [
        json!([{"op": "replace", "path": "members", "value": []}]),
        json!([{"op": "remove", "path": "members"}]),
        json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]},
               {"op": "replace", "path": "displayName", "value": "x"}]),
        json!([{"op": "add", "value": {"members": [{"value": "u1"}]}}]),
        json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
        json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
        json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]),
        json!([{"op": "add", "path": "displayName", "value": "x"}]),
    ] {
        assert_eq!(changes(ops.clone(), &lenient), None, "{ops}");
    }
    // Strict: a remove must find its member, and a value list does not name members.
    let strict = Compat::strict();
    assert_eq!(
        changes(
            json!([{"op": "remove", "path": "members[value eq \"u1\"]"}]),
            &strict
        ),
        None
    );
    assert_eq!(
        changes(
            json!([{"op": "remove", "path": "members", "value": [{"value": "u1"}]}]),
            &strict
        ),
        None
    );
}

fn op_strategy() -> impl Strategy<Value = Value> {
    let member = prop::sample::select(vec!["a", "b", "c", "d", "e"]);
    let display = prop::option::of(prop::sample::select(vec!["A", "B"]));
    let element = (member.clone(), display).prop_map(|(m, d)| match d {
        Some(d) => json!({"value": m, "display": d}),
        None => json!({"value": m}),
    });
    let kind = prop::sample::select(vec!["add", "Add", "remove", "Remove"]);
    prop_oneof![
        (kind.clone(), prop::collection::vec(element.clone(), 0..4))
            .prop_map(|(op, v)| json!({"op": op, "path": "members", "value": v})),
        (kind.clone(), element.clone())
            .prop_map(|(op, v)| json!({"op": op, "path": "members", "value": v})),
        member.prop_map(|m| json!({"op": "remove", "path": format!("members[value eq \"{m}\"]")})),
        Just(json!({"op": "replace", "path": "members", "value": [{"value": "a"}]})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Wherever `member_changes` takes a request, applying its changes gives the engine's
    /// resource and the engine's `changed`.
    #[test]
    fn member_changes_mean_what_the_engine_does(
        start in prop::collection::btree_set(prop::sample::select(vec!["a", "b", "c", "d"]), 0..4),
        ops in prop::collection::vec(op_strategy(), 1..5),
        strict in any::<bool>(),
    ) {
        let compat = if strict { Compat::strict() } else { Compat::lenient() };
        let start: Vec<&str> = start.into_iter().collect();
        let stored = group(&start);
        let registry = Registry::scim_default();
        let groups = registry.resource_type("Group").unwrap();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(request) = PatchRequest::from_json(body, &compat) else {
            return Ok(());
        };
        let Some(changes) = groups.member_changes(&request, &compat) else {
            return Ok(());
        };
        let engine = groups.patch(&stored, &request, &compat);
        prop_assert!(engine.is_ok(), "the engine refused what was pushed down: {:?}", engine);
        let engine = engine.unwrap();
        let mut pushed = stored.clone();
        let net = changes.apply(&mut pushed);
        prop_assert_eq!(&pushed, &engine.resource);
        prop_assert_eq!(net.changed(), engine.changed);
        // Both report the same members added and removed.
        let reported = engine.changes.iter().find_map(|c| match c {
            AttributeChange::Members { name, net, .. } if name == "members" => {
                Some((net.added_values(), net.removed_values()))
            }
            _ => None,
        });
        let expected = (net.added_values(), net.removed_values());
        let empty = (Vec::<String>::new(), Vec::<String>::new());
        prop_assert_eq!(reported.unwrap_or_else(|| empty.clone()), expected);
    }

    /// Whatever mix of member operations a request holds, the members it reports added and
    /// removed are those a comparison of before and after finds.
    #[test]
    fn reported_member_changes_are_the_net(
        start in prop::collection::btree_set(prop::sample::select(vec!["a", "b", "c", "d"]), 0..4),
        ops in prop::collection::vec(op_strategy(), 1..6),
    ) {
        let compat = Compat::lenient();
        let start: Vec<&str> = start.into_iter().collect();
        let stored = group(&start);
        let registry = Registry::scim_default();
        let groups = registry.resource_type("Group").unwrap();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let Ok(request) = PatchRequest::from_json(body, &compat) else {
            return Ok(());
        };
        let Ok(patched) = groups.patch(&stored, &request, &compat) else {
            return Ok(());
        };
        // Membership only: a value taken out and put back is a change of the list whose
        // element may or may not differ, which the engine does not compare.
        let members = |changes: &[AttributeChange]| {
            changes.iter().find_map(|c| match c {
                AttributeChange::Members { net, .. } if net.membership_changed() => {
                    Some((net.added_values(), net.removed_values()))
                }
                _ => None,
            })
        };
        let compared = members(&groups.changes(&stored, &patched.resource));
        prop_assert_eq!(members(&patched.changes), compared);
    }
}

/// An add through the index and then a replacement of the whole list with what the add
/// made: the group changed (its first version had no "b"), and the change says so. This
/// request once read as unchanged, which would have skipped its write.
#[test]
fn an_add_then_a_replace_of_the_same_list_is_a_change() {
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let stored = group(&["a"]);
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": "b"}]},
        {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]}
    ]});
    let compat = Compat::lenient();
    let request = PatchRequest::from_json(body, &compat).unwrap();
    let patched = groups.patch(&stored, &request, &compat).unwrap();
    assert_ne!(patched.resource, stored);
    assert!(patched.changed);
    let [AttributeChange::Members { name, net, .. }] = &patched.changes[..] else {
        panic!("{:?}", patched.changes);
    };
    assert_eq!(
        (name.as_str(), net.added_values(), net.removed_values()),
        ("members", vec!["b".to_owned()], vec![])
    );
}

/// Changes reported by a request mixing indexed and whole-list operations are the net of
/// all of them, as a comparison of before and after gives them.
#[test]
fn mixed_member_operations_report_their_net() {
    let registry = Registry::scim_default();
    let groups = registry.resource_type("Group").unwrap();
    let compat = Compat::lenient();
    let stored = group(&["a", "b", "c"]);
    for ops in [
        json!([{"op": "remove", "path": "members[value eq \"a\"]"},
               {"op": "replace", "path": "members[value eq \"b\"].display", "value": "B"},
               {"op": "add", "path": "members", "value": [{"value": "d"}]}]),
        json!([{"op": "add", "path": "members", "value": [{"value": "d"}]},
               {"op": "remove", "path": "members", "value": [{"value": "d"}, {"value": "c"}]},
               {"op": "add", "path": "members", "value": [{"value": "c"}, {"value": "e"}]}]),
        json!([{"op": "remove", "path": "members[value eq \"a\"]"},
               {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "z"}]}]),
    ] {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let request = PatchRequest::from_json(body, &compat).unwrap();
        let patched = groups.patch(&stored, &request, &compat).unwrap();
        let by_diff = groups.changes(&stored, &patched.resource);
        let nets = |changes: &[AttributeChange]| -> Vec<(Vec<String>, Vec<String>)> {
            changes
                .iter()
                .filter_map(|c| match c {
                    AttributeChange::Members { net, .. } => {
                        Some((net.added_values(), net.removed_values()))
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(nets(&patched.changes), nets(&by_diff), "{ops}");
    }
}
