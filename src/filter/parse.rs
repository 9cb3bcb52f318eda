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

/// A recogniser of one lexeme at the start of the input, over bytes: every lexeme of the
/// grammar outside string literals is ASCII.
type Lexeme = fn(&[u8]) -> IResult<&[u8], &[u8]>;

/// Bytes that may appear in an attribute path token, URN prefix included.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b':' | b'.' | b'-' | b'_' | b'$' | b'+' | b'%' | b'@' | b'/' | b'~'
        )
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'$'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A keyword: `and`, `or`, `not`, an operator, `true`, `false`, `null`.
fn word(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphabetic()).parse(i)
}

/// The longest run of attribute-path bytes; [`Cursor::attr_path`] splits it.
fn path_token(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_path_byte).parse(i)
}

/// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number(i: &[u8]) -> IResult<&[u8], &[u8]> {
    // Not nom's digit0: inside `recognize`, nom 8.0 measures "42" at the end of input as "4".
    let digit0 = || take_while(|b: u8| b.is_ascii_digit());
    let digit1 = || take_while1(|b: u8| b.is_ascii_digit());
    recognize((
        opt(char('-')),
        nom::branch::alt((
            tag(&b"0"[..]),
            recognize((satisfy(|c| ('1'..='9').contains(&c)), digit0())),
        )),
        opt((char('.'), digit1())),
        opt((one_of("eE"), opt(one_of("+-")), digit1())),
    ))
    .parse(i)
}

/// The value of a JSON number's text: an integer when it is one that fits, else the
/// correctly rounded double; `None` when that is infinite.
fn json_number_value(text: &str) -> Option<serde_json::Number> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(n) = text.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Some(n.into());
        }
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Root,
    Paren,
    Not,
    /// `attr[…]`; the attribute path waits on the parser's stack of bracket paths.
    Bracket,
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

    /// `term and …`
    fn and(&mut self, term: Filter) {
        self.ands.push(term);
    }

    /// `term or …`
    fn or(&mut self, term: Filter) {
        let term = self.end_and(term);
        self.ors.push(term);
    }

    /// The `and` chain that `last` ends, or `last` alone: a lone term allocates nothing.
    fn end_and(&mut self, last: Filter) -> Filter {
        if self.ands.is_empty() {
            return last;
        }
        let mut ands = std::mem::take(&mut self.ands);
        ands.push(last);
        Filter::And(ands)
    }

    /// Closes the group whose last term is `last`.
    fn finish(mut self, last: Filter) -> Filter {
        let last = self.end_and(last);
        if self.ors.is_empty() {
            last
        } else {
            self.ors.push(last);
            Filter::Or(self.ors)
        }
    }
}

struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the first non-blank byte of `input`, which must be within the length
    /// limit and not blank.
    fn start(input: &'a str, limits: &Limits) -> Result<Cursor<'a>, FilterError> {
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
        Ok(p)
    }

    fn peek(&self) -> Option<char> {
        self.input[self.pos..].chars().next()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    /// The length of the lexeme at the cursor (0 where there is none).
    fn lexeme(&self, lexeme: Lexeme) -> usize {
        lexeme(&self.input.as_bytes()[self.pos..]).map_or(0, |(_, matched)| matched.len())
    }

    /// The keyword at the cursor, if a letter is there; empty otherwise.
    fn keyword(&self) -> &'a str {
        &self.input[self.pos..self.pos + self.lexeme(word)]
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
        let bytes = self.input.as_bytes();
        while self.pos < bytes.len() && is_ws(bytes[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn attr_path(&mut self, expected: &'static str) -> Result<AttrPath, FilterError> {
        let start = self.pos;
        let len = self.lexeme(path_token);
        if len == 0 {
            return Err(self.error_here(K::Expected(expected)));
        }
        // The token is ASCII, so every offset in it is a char boundary.
        let token = &self.input[start..start + len];
        if !is_name_start(token.as_bytes()[0]) {
            return Err(self.error(K::Expected(expected), start, len));
        }
        let (urn, attr_start) = match memchr::memrchr(b':', token.as_bytes()) {
            Some(colon) => (Some(&token[..colon]), colon + 1),
            None => (None, 0),
        };
        let attr = &token[attr_start..];
        let (name, sub) = match attr.split_once('.') {
            Some((name, sub)) => (name, Some(sub)),
            None => (attr, None),
        };
        let name_at = start + attr_start;
        self.check_name(name, name_at)?;
        if let Some(sub) = sub {
            let sub_at = name_at + name.len() + 1;
            if let Some(dot) = sub.find('.') {
                return Err(self.error(K::InvalidAttrPath, sub_at + dot, sub.len() - dot));
            }
            self.check_name(sub, sub_at)?;
        }
        self.pos = start + len;
        Ok(AttrPath {
            urn: urn.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub.map(str::to_owned),
        })
    }

    /// Checks an ASCII name found at byte `at`.
    fn check_name(&self, name: &str, at: usize) -> Result<(), FilterError> {
        let bytes = name.as_bytes();
        if !bytes.first().copied().is_some_and(is_name_start) {
            return Err(self.error(K::Expected("an attribute name"), at, bytes.len().min(1)));
        }
        match bytes[1..].iter().position(|&b| !is_name_byte(b)) {
            Some(bad) => Err(self.error(K::InvalidAttrPath, at + 1 + bad, 1)),
            None => Ok(()),
        }
    }

    /// After an attribute path: `SP "pr"` or `SP compareOp SP compValue`.
    fn attr_exp(&mut self, path: AttrPath) -> Result<Filter, FilterError> {
        if !self.skip_ws() {
            return Err(self.error_here(K::Expected(EXPECT_OPERATOR)));
        }
        let keyword = self.keyword();
        if keyword.is_empty() {
            return Err(self.error_here(K::Expected(EXPECT_OPERATOR)));
        }
        if keyword.eq_ignore_ascii_case("pr") {
            self.pos += 2;
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(keyword) else {
            return Err(self.error(K::UnknownOperator, self.pos, keyword.len()));
        };
        self.pos += keyword.len();
        let spaced = self.skip_ws();
        if !spaced && self.peek_byte() != Some(b'"') {
            return Err(self.error_here(K::Expected(EXPECT_VALUE)));
        }
        let value = self.comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn comp_value(&mut self) -> Result<CompValue, FilterError> {
        match self.peek_byte() {
            Some(b'"') => self.string().map(CompValue::String),
            Some(b) if b == b'-' || b.is_ascii_digit() => self.number(),
            Some(b) if b.is_ascii_alphabetic() => {
                let keyword = self.keyword();
                let value = if keyword.eq_ignore_ascii_case("true") {
                    CompValue::Bool(true)
                } else if keyword.eq_ignore_ascii_case("false") {
                    CompValue::Bool(false)
                } else if keyword.eq_ignore_ascii_case("null") {
                    CompValue::Null
                } else {
                    return Err(self.error(K::Expected(EXPECT_VALUE), self.pos, keyword.len()));
                };
                self.pos += keyword.len();
                Ok(value)
            }
            _ => Err(self.error_here(K::Expected(EXPECT_VALUE))),
        }
    }

    fn number(&mut self) -> Result<CompValue, FilterError> {
        let len = self.lexeme(json_number);
        if len == 0 {
            return Err(self.error_here(K::InvalidNumber));
        }
        let text = &self.input[self.pos..self.pos + len];
        match json_number_value(text) {
            Some(n) => {
                self.pos += len;
                Ok(CompValue::Number(n))
            }
            None => Err(self.error(K::InvalidNumber, self.pos, text.len())),
        }
    }

    /// A JSON string literal starting at the current `"`.
    fn string(&mut self) -> Result<String, FilterError> {
        let open = self.pos;
        let bytes = self.input.as_bytes();
        let mut out = String::new();
        let mut i = open + 1;
        loop {
            let Some(special) = memchr::memchr2(b'"', b'\\', &bytes[i..]).map(|n| i + n) else {
                return Err(self.error(K::UnterminatedString, open, 1));
            };
            // Checked apart from the search, without early exit, so that it vectorises.
            let run = &bytes[i..special];
            if run.iter().fold(false, |seen, &b| seen | (b < 0x20)) {
                let control = run.iter().position(|&b| b < 0x20).unwrap_or_default();
                return Err(self.error(K::ControlCharacter, i + control, 1));
            }
            // Both ends of the run are ASCII bytes, so they are char boundaries.
            let run = &self.input[i..special];
            if bytes[special] == b'"' {
                self.pos = special + 1;
                if out.is_empty() {
                    return Ok(run.to_owned());
                }
                out.push_str(run);
                return Ok(out);
            }
            out.push_str(run);
            i = self.escape(special, &mut out)?;
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
        if !self.keyword().eq_ignore_ascii_case("not") {
            return false;
        }
        let start = self.pos;
        self.pos += 3;
        self.skip_ws();
        if self.peek_byte() == Some(b'(') {
            self.pos += 1;
            true
        } else {
            self.pos = start;
            false
        }
    }
}

pub(crate) fn parse(input: &str, limits: &Limits) -> Result<Filter, FilterError> {
    let mut p = Cursor::start(input, limits)?;
    // The root group lives outside the stack so that a parse allocates no stack at all
    // unless the filter has groups.
    let mut root = Frame::new(Group::Root, 0);
    let mut stack: Vec<Frame> = Vec::new();
    let mut bracket_paths: Vec<AttrPath> = Vec::new();
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
        let opened = if p.peek_byte() == Some(b'(') {
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
                if p.peek_byte() == Some(b'[') {
                    let open = p.pos;
                    p.pos += 1;
                    push(&mut stack, Frame::new(Group::Bracket, open), &p, limits)?;
                    bracket_paths.push(path);
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
            let top = stack.last_mut().unwrap_or(&mut root);
            let Some(c) = p.peek() else {
                if let Some(top) = stack.last() {
                    let open = match top.group {
                        Group::Bracket => '[',
                        _ => '(',
                    };
                    return Err(p.error(K::Unclosed(open), top.open, 1));
                }
                return Ok(root.finish(operand));
            };
            match c {
                ')' | ']' => {
                    let closes = match top.group {
                        Group::Paren | Group::Not => c == ')',
                        Group::Bracket => c == ']',
                        Group::Root => false,
                    };
                    if !closes {
                        return Err(match top.group {
                            Group::Root => p.error_here(K::Unmatched(c)),
                            Group::Bracket => p.error_here(K::Expected("'and', 'or' or ']'")),
                            _ => p.error_here(K::Expected("'and', 'or' or ')'")),
                        });
                    }
                    p.pos += 1;
                    let frame = stack.pop().expect("not the root");
                    let group = frame.group;
                    let inner = frame.finish(operand);
                    operand = match group {
                        Group::Not => Filter::Not(Box::new(inner)),
                        Group::Bracket => {
                            let path = bracket_paths.pop().expect("one path per bracket");
                            if p.peek_byte() == Some(b'.') {
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
                        Group::Paren | Group::Root => inner,
                    };
                }
                _ => {
                    let keyword = p.keyword();
                    if keyword.eq_ignore_ascii_case("and") {
                        p.pos += 3;
                        top.and(operand);
                    } else if keyword.eq_ignore_ascii_case("or") {
                        p.pos += 2;
                        top.or(operand);
                    } else {
                        let expected = match top.group {
                            Group::Root => "'and', 'or' or the end of the filter",
                            Group::Bracket => "'and', 'or' or ']'",
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
    if stack.len() >= limits.max_depth {
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

/// Parses a PATCH path: `attrPath`, `attrPath[valFilter]` or `attrPath[valFilter].subAttr`
/// (RFC 7644 §3.5.2), surrounding white space allowed.
pub(crate) fn parse_patch_path(
    input: &str,
    limits: &Limits,
) -> Result<(AttrPath, Option<Filter>, Option<String>), FilterError> {
    let mut p = Cursor::start(input, limits)?;
    let path = p.attr_path("an attribute path")?;
    let mut filter = None;
    let mut sub = None;
    if p.peek_byte() == Some(b'[') {
        let open = p.pos;
        if path.sub_attr.is_some() {
            return Err(p.error(K::Expected("the end of the path"), open, 1));
        }
        let Some(close) = matching_bracket(input, open) else {
            return Err(p.error(K::Unclosed('['), open, 1));
        };
        let inner = &input[open + 1..close];
        filter = Some(parse(inner, limits).map_err(|e| e.within(input, open + 1))?);
        p.pos = close + 1;
        if p.peek_byte() == Some(b'.') {
            let at = p.pos;
            p.pos += 1;
            let name = p.attr_path("a sub-attribute name after '.'")?;
            if name.urn.is_some() || name.sub_attr.is_some() {
                return Err(p.error(K::InvalidAttrPath, at + 1, p.pos - at - 1));
            }
            sub = Some(name.name);
        }
    }
    p.skip_ws();
    if p.pos != input.len() {
        return Err(p.error_here(K::Expected("the end of the path")));
    }
    Ok((path, filter, sub))
}

/// The offset of the `]` closing the `[` at `open`, skipping string literals.
fn matching_bracket(input: &str, open: usize) -> Option<usize> {
    let bytes = input.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}
