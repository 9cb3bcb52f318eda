//! The filter parser.
//!
//! Lexemes (names, keywords, numbers) are recognised with nom; the logical structure is
//! parsed by a loop over an explicit stack of open groups, so the call stack never grows
//! with the input and every byte is looked at a bounded number of times.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char, one_of, satisfy};
use nom::combinator::{opt, recognize};
use nom::{IResult, Parser as _};

use super::{AttrPath, CompValue, CompareOp, Filter, FilterError, FilterErrorKind as K};

/// Bounds on what the parser accepts, enforced while parsing.
///
/// The defaults are generous for real identity-provider traffic (which sends filters of one
/// to a few clauses) while keeping the cost of any one request small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The longest input accepted, in bytes. Default 16 KiB.
    pub max_length: usize,
    /// How deep `(…)`, `not (…)` and `attr[…]` groups may nest. Default 32.
    pub max_depth: usize,
    /// How many attribute expressions (`attr op value`, `attr pr`) a filter may have.
    /// Default 1,000.
    pub max_clauses: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_length: 16 * 1024,
            max_depth: 32,
            max_clauses: 1000,
        }
    }
}

const EXPECT_OPERAND: &str = "an attribute path, '(' or 'not ('";
const EXPECT_OPERATOR: &str =
    "an operator (eq, ne, co, sw, ew, gt, lt, ge, le, pr) after white space";
const EXPECT_VALUE: &str = "a value: a string, a number, true, false or null";

/// Characters that may appear in an attribute path token, URN prefix included.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, ':' | '.' | '-' | '_' | '$' | '+' | '%' | '@' | '/' | '~')
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphabetic()).parse(i)
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number(i: &str) -> IResult<&str, &str> {
    // Not nom's digit0: inside `recognize`, nom 8.0 measures "42" at the end of input as "4".
    let digit0 = || take_while(|c: char| c.is_ascii_digit());
    let digit1 = || take_while1(|c: char| c.is_ascii_digit());
    recognize((
        opt(char('-')),
        (nom::branch::alt((
            tag("0"),
            recognize((satisfy(|c| ('1'..='9').contains(&c)), digit0())),
        ))),
        opt((char('.'), digit1())),
        opt((one_of("eE"), opt(one_of("+-")), digit1())),
    ))
    .parse(i)
}

enum Group {
    Root,
    Paren,
    Not,
    Bracket(AttrPath),
}

/// An open group: the `or` terms finished so far and the `and` terms of the current one.
struct Frame {
    group: Group,
    open: usize,
    ors: Vec<Filter>,
    ands: Vec<Filter>,
}

impl Frame {
    fn new(group: Group, open: usize) -> Frame {
        Frame {
            group,
            open,
            ors: Vec::new(),
            ands: Vec::new(),
        }
    }

    fn end_and(&mut self) {
        let ands = std::mem::take(&mut self.ands);
        self.ors.push(collapse(ands, Filter::And));
    }

    fn finish(mut self) -> (Group, Filter) {
        if self.ors.is_empty() {
            (self.group, collapse(self.ands, Filter::And))
        } else {
            self.end_and();
            (self.group, Filter::Or(self.ors))
        }
    }
}

fn collapse(mut terms: Vec<Filter>, join: fn(Vec<Filter>) -> Filter) -> Filter {
    if terms.len() == 1 {
        terms.pop().expect("one term")
    } else {
        join(terms)
    }
}

struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn set_rest(&mut self, rest: &'a str) {
        self.pos = self.input.len() - rest.len();
    }

    fn error(&self, kind: K, start: usize, len: usize) -> FilterError {
        let end = (start + len).min(self.input.len());
        FilterError::new(kind, start..end, self.input)
    }

    /// An error about the character (or end) at the current position.
    fn error_here(&self, kind: K) -> FilterError {
        self.error(kind, self.pos, self.peek().map_or(0, char::len_utf8))
    }

    /// Skips white space; says whether there was any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(is_ws);
        self.set_rest(trimmed);
        self.pos > start
    }

    fn attr_path(&mut self, expected: &'static str) -> Result<AttrPath, FilterError> {
        let start = self.pos;
        let Ok((rest, token)) =
            take_while1::<_, _, nom::error::Error<&str>>(is_path_char).parse(self.rest())
        else {
            return Err(self.error_here(K::Expected(expected)));
        };
        if !token.starts_with(is_name_start) {
            return Err(self.error(K::Expected(expected), start, token.len()));
        }
        let (urn, attr, attr_start) = match token.rfind(':') {
            Some(i) => (Some(&token[..i]), &token[i + 1..], start + i + 1),
            None => (None, token, start),
        };
        let mut parts = attr.splitn(3, '.');
        let name = parts.next().unwrap_or_default();
        let sub = parts.next();
        if let Some(extra) = parts.next() {
            let at = attr_start + name.len() + sub.map_or(0, str::len) + 1;
            return Err(self.error(K::InvalidAttrPath, at, 1 + extra.len()));
        }
        self.check_name(name, attr_start)?;
        if let Some(sub) = sub {
            self.check_name(sub, attr_start + name.len() + 1)?;
        }
        self.set_rest(rest);
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        })
    }

    fn check_name(&self, name: &str, at: usize) -> Result<(), FilterError> {
        if !name.starts_with(is_name_start) {
            let len = name.chars().next().map_or(0, char::len_utf8);
            return Err(self.error(K::Expected("an attribute name"), at, len));
        }
        match name[1..].find(|c| !is_name_char(c)) {
            Some(bad) => Err(self.error(K::InvalidAttrPath, at + 1 + bad, 1)),
            None => Ok(()),
        }
    }

    /// After an attribute path: `SP "pr"` or `SP compareOp SP compValue`.
    fn attr_exp(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        if !self.skip_ws() {
            return Err(self.error_here(K::Expected(EXPECT_OPERATOR)));
        }
        let Ok((rest, keyword)) = word(self.rest()) else {
            return Err(self.error_here(K::Expected(EXPECT_OPERATOR)));
        };
        if keyword.eq_ignore_ascii_case("pr") {
            self.set_rest(rest);
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(keyword) else {
            return Err(self.error(K::UnknownOperator, self.pos, keyword.len()));
        };
        self.set_rest(rest);
        let spaced = self.skip_ws();
        if !spaced && self.peek() != Some('"') {
            return Err(self.error_here(K::Expected(EXPECT_VALUE)));
        }
        let value = self.comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn comp_value(&mut self) -> Result<CompValue, FilterError> {
        match self.peek() {
            Some('"') => self.string().map(CompValue::String),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => {
                let (rest, keyword) = word(self.rest()).expect("starts with a letter");
                let value = if keyword.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if keyword.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if keyword.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else {
                    return Err(self.error(K::Expected(EXPECT_VALUE), self.pos, keyword.len()));
                };
                self.set_rest(rest);
                Ok(value)
            }
            _ => Err(self.error_here(K::Expected(EXPECT_VALUE))),
        }
    }

    fn number(&mut self) -> Result<CompValue, FilterError> {
        let Ok((rest, text)) = json_number(self.rest()) else {
            return Err(self.error_here(K::InvalidNumber));
        };
        match text.parse::<serde_json::Number>() {
            Ok(n) => {
                self.set_rest(rest);
                Ok(CompValue::Number(n))
            }
            Err(_) => Err(self.error(K::InvalidNumber, self.pos, text.len())),
        }
    }

    /// A JSON string literal starting at the current `"`.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        let bytes = self.input.as_bytes();
        let mut out = String::new();
        let mut i = open + 1;
        loop {
            let run = bytes[i..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|n| i + n);
            let Some(special) = run else {
                return Err(self.error(K::UnterminatedString, open, 1));
            };
            // Every special byte is ASCII, so both ends of the run are char boundaries.
            out.push_str(&self.input[i..special]);
            match bytes[special] {
                b'"' => {
                    self.pos = special + 1;
                    return Ok(out);
                }
                b'\\' => i = self.escape(special, &mut out)?,
                _ => return Err(self.error(K::ControlCharacter, special, 1)),
            }
        }
    }

    /// Decodes the escape at `at` (a backslash) into `out`; returns the offset after it.
    fn escape(&self, at: usize, out: &mut String) -> Result<usize, FilterError> {
        let bytes = self.input.as_bytes();
        let simple = match bytes.get(at + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let high = self.hex4(at)?;
                if (0xDC00..0xE000).contains(&high) {
                    return Err(self.error(K::LoneSurrogate, at, 6));
                }
                if !(0xD800..0xDC00).contains(&high) {
                    out.push(char::from_u32(high).expect("not a surrogate"));
                    return Ok(at + 6);
                }
                if bytes.get(at + 6..at + 8) != Some(b"\\u") {
                    return Err(self.error(K::LoneSurrogate, at, 6));
                }
                let low = self.hex4(at + 6)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return Err(self.error(K::LoneSurrogate, at, 12));
                }
                let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                out.push(char::from_u32(c).expect("valid surrogate pair"));
                return Ok(at + 12);
            }
            Some(_) => {
                let len = self.input[at + 1..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                return Err(self.error(K::InvalidEscape, at, 1 + len));
            }
            None => return Err(self.error(K::InvalidEscape, at, 1)),
        };
        out.push(simple);
        Ok(at + 2)
    }

    /// The four hex digits of a `\uXXXX` escape starting at `at`.
    fn hex4(&self, at: usize) -> Result<u32, FilterError> {
        self.input
            .get(at + 2..at + 6)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| {
                let len = (self.input.len() - at).min(6);
                self.error(K::InvalidEscape, at, len)
            })
    }

    /// After `not`: optional white space then `(`. Returns whether this is a `not (` group.
    fn not_group(&mut self) -> bool {
        let Ok((rest, keyword)) = word(self.rest()) else {
            return false;
        };
        if !keyword.eq_ignore_ascii_case("not") {
            return false;
        }
        let after = rest.trim_start_matches(is_ws);
        match after.strip_prefix('(') {
            Some(inside) => {
                self.set_rest(inside);
                true
            }
            None => false,
        }
    }
}

pub(crate) fn parse(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    let mut p = Cursor { input, pos: 0 };
    if input.len() > limits.max_length {
        return Err(p.error(
            K::TooLong {
                limit: limits.max_length,
            },
            limits.max_length,
            input.len() - limits.max_length,
        ));
    }
    p.skip_ws();
    if p.pos == input.len() {
        return Err(FilterError::new(K::Empty, 0..input.len(), input));
    }
    let mut stack = vec![Frame::new(Group::Root, 0)];
    let mut clauses = 0usize;
    let mut count_clause = |p: &Cursor<'_>, at: usize| {
        clauses += 1;
        if clauses > limits.max_clauses {
            return Err(p.error(
                K::TooManyClauses {
                    limit: limits.max_clauses,
                },
                at,
                p.pos - at,
            ));
        }
        Ok(())
    };
    loop {
        // Expecting an operand.
        p.skip_ws();
        let start = p.pos;
        let opened = if p.peek() == Some('(') {
            p.pos += 1;
            Some(Group::Paren)
        } else if p.not_group() {
            Some(Group::Not)
        } else {
            None
        };
        let mut operand = match opened {
            Some(group) => {
                push(&mut stack, Frame::new(group, start), &p, limits)?;
                continue;
            }
            None => {
                let path = p.attr_path(EXPECT_OPERAND)?;
                if p.peek() == Some('[') {
                    let open = p.pos;
                    p.pos += 1;
                    push(
                        &mut stack,
                        Frame::new(Group::Bracket(path), open),
                        &p,
                        limits,
                    )?;
                    continue;
                }
                let exp = p.attr_exp(path)?;
                count_clause(&p, start)?;
                exp
            }
        };
        // Expecting an operator, a closing character or the end.
        loop {
            p.skip_ws();
            if p.pos == input.len() && stack.len() == 1 && stack[0].ands.is_empty() {
                if stack[0].ors.is_empty() {
                    return Ok(operand);
                }
            }
            let top = stack.last_mut().expect("the root frame is never popped");
            top.ands.push(operand);
            let Some(c) = p.peek() else {
                if stack.len() > 1 {
                    let top = stack.last().expect("checked");
                    let open = match top.group {
                        Group::Bracket(_) => '[',
                        _ => '(',
                    };
                    return Err(p.error(K::Unclosed(open), top.open, 1));
                }
                let (_, filter) = stack.pop().expect("root").finish();
                return Ok(filter);
            };
            match c {
                ')' | ']' => {
                    let closes = match top.group {
                        Group::Paren | Group::Not => c == ')',
                        Group::Bracket(_) => c == ']',
                        Group::Root => false,
                    };
                    if !closes {
                        return Err(match top.group {
                            Group::Root => p.error_here(K::Unmatched(c)),
                            Group::Bracket(_) => p.error_here(K::Expected("'and', 'or' or ']'")),
                            _ => p.error_here(K::Expected("'and', 'or' or ')'")),
                        });
                    }
                    p.pos += 1;
                    let frame = stack.pop().expect("not the root");
                    operand = match frame.finish() {
                        (Group::Not, inner) => Filter::Not(Box::new(inner)),
                        (Group::Bracket(path), inner) => {
                            if p.peek() == Some('.') {
                                // Entra's `attr[filter].sub op value`.
                                let at = p.pos;
                                p.pos += 1;
                                let sub = p.attr_path("a sub-attribute name after '.'")?;
                                if sub.urn.is_some() {
                                    return Err(p.error(
                                        K::InvalidAttrPath,
                                        at + 1,
                                        p.pos - at - 1,
                                    ));
                                }
                                if sub.sub_attr.is_some() {
                                    let dot = at + 1 + sub.name.len();
                                    return Err(p.error(K::InvalidAttrPath, dot, p.pos - dot));
                                }
                                let exp = p.attr_exp(sub)?;
                                count_clause(&p, at)?;
                                let inner = match inner {
                                    Filter::And(mut terms) => {
                                        terms.push(exp);
                                        Filter::And(terms)
                                    }
                                    other => Filter::And(vec![other, exp]),
                                };
                                Filter::ValuePath {
                                    path,
                                    filter: Box::new(inner),
                                }
                            } else {
                                Filter::ValuePath {
                                    path,
                                    filter: Box::new(inner),
                                }
                            }
                        }
                        (_, inner) => inner,
                    };
                }
                _ => {
                    let keyword = word(p.rest()).map(|(_, w)| w).unwrap_or_default();
                    if keyword.eq_ignore_ascii_case("and") {
                        p.pos += 3;
                    } else if keyword.eq_ignore_ascii_case("or") {
                        p.pos += 2;
                        top.end_and();
                    } else {
                        let expected = match top.group {
                            Group::Root => "'and', 'or' or the end of the filter",
                            Group::Bracket(_) => "'and', 'or' or ']'",
                            _ => "'and', 'or' or ')'",
                        };
                        let len = keyword.len().max(c.len_utf8());
                        return Err(p.error(K::Expected(expected), p.pos, len));
                    }
                    break;
                }
            }
        }
    }
}

fn push(
    stack: &mut Vec<Frame>,
    frame: Frame,
    p: &Cursor<'_>,
    limits: &Limits,
) -> Result<(), FilterError> {
    if stack.len() > limits.max_depth {
        return Err(p.error(
            K::TooDeep {
                limit: limits.max_depth,
            },
            frame.open,
            1,
        ));
    }
    stack.push(frame);
    Ok(())
}

/// Parses a whole string as an attribute path.
pub(crate) fn parse_attr_path(input: &str) -> Result<AttrPath, FilterError> {
    let mut p = Cursor { input, pos: 0 };
    let path = p.attr_path("an attribute path")?;
    if p.pos != input.len() {
        return Err(p.error_here(K::Expected("the end of the attribute path")));
    }
    Ok(path)
}
