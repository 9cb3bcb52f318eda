//! Any input: the parser never panics, errors point inside the input, and whatever parses
//! prints to a filter that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimkit::filter::{Filter, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_depth: 64,
        ..Limits::default()
    };
    match Filter::parse_with(text, &limits) {
        Ok(filter) => {
            let printed = filter.to_string();
            let reparsed = Filter::parse_with(&printed, &limits)
                .unwrap_or_else(|e| panic!("{printed:?} does not parse back: {e}"));
            assert_eq!(reparsed, filter, "{printed:?}");
        }
        Err(err) => {
            assert!(err.span().start <= err.span().end && err.span().end <= text.len());
            assert!(text.is_char_boundary(err.offset()));
            let _ = err.render();
        }
    }
});
