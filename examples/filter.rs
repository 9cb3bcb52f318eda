//! Parse a SCIM filter, print its canonical form, and test it against JSON resources.
//!
//! ```text
//! cargo run --example filter -- 'emails[type eq "work"].value co "@example.com"' \
//!     '{"userName":"bjensen","emails":[{"type":"work","value":"bjensen@example.com"}]}'
//! ```
//!
//! With no resource argument, resources are read from standard input, one JSON object per
//! line. A filter that does not parse is shown with a caret under the offending byte, and
//! as the SCIM error a server would answer with.

use std::io::BufRead;
use std::process::ExitCode;

use scimkit::eval::{Matcher, TypeMap};
use scimkit::{Filter, ScimError};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(text) = args.next() else {
        eprintln!("usage: filter '<SCIM filter>' ['<JSON resource>' ...]");
        return ExitCode::from(2);
    };
    let filter: Filter = match text.parse() {
        Ok(filter) => filter,
        Err(err) => {
            eprintln!("{}", err.render());
            println!("{}", ScimError::from(err).to_json());
            return ExitCode::from(1);
        }
    };
    println!("canonical: {filter}");
    let matcher = match Matcher::new(&filter, &TypeMap::scim_core()) {
        Ok(matcher) => matcher,
        Err(err) => {
            println!("{}", ScimError::from(err).to_json());
            return ExitCode::from(1);
        }
    };
    let resources: Vec<String> = args.collect();
    let lines: Box<dyn Iterator<Item = String>> = if resources.is_empty() {
        Box::new(std::io::stdin().lock().lines().map_while(Result::ok))
    } else {
        Box::new(resources.into_iter())
    };
    for line in lines.filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(resource) => {
                let verdict = if matcher.matches(&resource) {
                    "match"
                } else {
                    "no match"
                };
                println!("{verdict}: {line}");
            }
            Err(err) => println!("invalid JSON ({err}): {line}"),
        }
    }
    ExitCode::SUCCESS
}
