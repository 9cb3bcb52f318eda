//! Properties over generated input: printed trees parse back to themselves, arbitrary text
//! never panics the parser, and deep trees stay within a small thread stack.

use proptest::prelude::*;
use scimkit::eval::{Matcher, TypeMap, Untyped};
use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter, Limits};
use serde_json::json;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-zA-Z][a-zA-Z0-9_-]{0,7}",
        1 => Just("$ref".to_owned()),
        1 => prop_oneof![Just("and"), Just("or"), Just("not"), Just("pr"), Just("eq"), Just("true"), Just("null")]
            .prop_map(str::to_owned),
    ]
}

fn attr_path() -> impl Strategy<Value = AttrPath> {
    let urn = prop_oneof![
        3 => Just(None),
        1 => "urn:[a-z]{1,5}(:[A-Za-z0-9.-]{1,6}){0,4}".prop_map(Some),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned())),
    ];
    (urn, name(), proptest::option::of(name())).prop_map(|(urn, name, sub_attr)| AttrPath {
        urn,
        name,
        sub_attr,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::String),
        "[\\\\\"\\n\\t\\u{0}-\\u{1f}a-z😀é]{0,12}".prop_map(CompValue::String),
    ]
}

fn op() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        (attr_path(), op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare {
            path,
            op,
            value
        }),
        attr_path().prop_map(Filter::Present),
    ];
    leaf.prop_recursive(6, 64, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..5).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..5).prop_map(Filter::Or),
            inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
            (attr_path(), inner).prop_map(|(path, f)| Filter::ValuePath {
                path,
                filter: Box::new(f)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn printed_trees_parse_back_to_themselves(f in filter()) {
        let printed = f.to_string();
        let parsed = printed.parse::<Filter>().map_err(|e| TestCaseError::fail(e.render()))?;
        prop_assert_eq!(&parsed, &f, "{}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    #[test]
    fn compiling_and_matching_never_panic(f in filter()) {
        let resource = json!({
            "userName": "x", "active": true, "emails": [{"value": "a@b", "type": "work"}],
            "and": [1, "2", null, {"value": 3}], "meta": {"created": "2020-01-01T00:00:00Z"}
        });
        if let Ok(m) = Matcher::new(&f, &TypeMap::scim_core()) {
            let _ = m.matches(&resource);
        }
        let m = Matcher::new(&f, &Untyped);
        // Untyped compilation refuses only what no type could allow.
        if let Ok(m) = m {
            let negated = Matcher::new(&f.clone().not(), &Untyped).expect("negation compiles");
            prop_assert_ne!(m.matches(&resource), negated.matches(&resource));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        match text.parse::<Filter>() {
            Ok(f) => prop_assert_eq!(f.to_string().parse::<Filter>(), Ok(f.clone())),
            Err(e) => {
                prop_assert!(e.span().start <= e.span().end && e.span().end <= text.len());
                prop_assert!(text.is_char_boundary(e.offset()));
                let _ = e.render();
            }
        }
    }

    #[test]
    fn filter_shaped_text_never_panics(text in "[a-z\\[\\]() \"\\\\.:$0-9-]{0,40}( (and|or|eq|pr|not) )?[a-z\\[\\]() \"0-9eE.+-]{0,20}") {
        if let Ok(f) = text.parse::<Filter>() {
            prop_assert_eq!(f.to_string().parse::<Filter>(), Ok(f.clone()));
        }
    }
}

/// Trees as deep as the depth limit allows are parsed, printed, evaluated, cloned,
/// compared and dropped on a 2 MiB thread stack.
#[test]
fn deep_trees_fit_a_two_mebibyte_stack() {
    const DEPTH: usize = 256;
    let limits = Limits {
        max_depth: DEPTH,
        ..Limits::default()
    };
    let nots = format!("{}a pr{}", "not (".repeat(DEPTH), ")".repeat(DEPTH));
    let brackets = format!("{}a pr{}", "x[".repeat(DEPTH), "]".repeat(DEPTH));
    let mixed = format!(
        "{}a pr{}",
        "not (b pr or x[".repeat(DEPTH / 2),
        "])".repeat(DEPTH / 2)
    );
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            for text in [nots, brackets, mixed] {
                let f = Filter::parse_with(&text, &limits).unwrap();
                assert_eq!(f.to_string(), text);
                let m = Matcher::new(&f, &TypeMap::scim_core()).unwrap();
                let _ = m.matches(&json!({"a": 1, "x": {"x": {"a": 2}}}));
                let copy = f.clone();
                assert_eq!(copy, f);
                drop(m);
                drop(copy);
                drop(f);
            }
            // One more level is refused, not overflowed.
            let deeper = format!("{}a pr{}", "not (".repeat(DEPTH + 1), ")".repeat(DEPTH + 1));
            assert!(Filter::parse_with(&deeper, &limits).is_err());
        })
        .unwrap()
        .join()
        .unwrap();
}
