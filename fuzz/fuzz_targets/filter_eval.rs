//! A filter and a JSON resource from the input (split at the first NUL byte): compiling and
//! matching never panic, and `not (f)` always gives the opposite answer to `f`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::eval::{AttributeTypes, Matcher, TypeMap, Untyped};
use scimkit::Filter;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (Ok(text), Ok(resource)) = (
        std::str::from_utf8(&data[..split]),
        serde_json::from_slice::<serde_json::Value>(&data[split + 1..]),
    ) else {
        return;
    };
    let Ok(filter) = text.parse::<Filter>() else {
        return;
    };
    let negation = filter.clone().not();
    let core = TypeMap::scim_core();
    let typings: [&dyn AttributeTypes; 2] = [&core, &Untyped];
    for types in typings {
        let Ok(matcher) = Matcher::new(&filter, types) else {
            continue;
        };
        let negated = Matcher::new(&negation, types).expect("the negation compiles too");
        assert_ne!(
            matcher.matches(&resource),
            negated.matches(&resource),
            "{text}"
        );
    }
});
