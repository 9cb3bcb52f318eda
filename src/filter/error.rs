use std::fmt;
use std::ops::Range;

use crate::error::{ScimError, ScimType};

/// Why a filter or attribute path failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// The input holds nothing but white space.
    Empty,
    /// Something other than what the grammar allows here; the string says what was expected.
    Expected(&'static str),
    /// A word in operator position that is not `eq ne co sw ew gt lt ge le pr`.
    UnknownOperator,
    /// A string literal with no closing quote.
    UnterminatedString,
    /// A backslash escape that JSON does not define, or a malformed `\uXXXX`.
    InvalidEscape,
    /// A `\uXXXX` surrogate that is not part of a valid pair.
    LoneSurrogate,
    /// A raw control character (below U+0020) inside a string literal.
    ControlCharacter,
    /// A number that is not a JSON number or does not fit in a double.
    InvalidNumber,
    /// An attribute path with more than one `.sub` part, or a bad character in a name.
    InvalidAttrPath,
    /// A `(` or `[` that is never closed; the offset is the opening character's.
    Unclosed(char),
    /// A `)` or `]` with no matching opening character.
    Unmatched(char),
    /// The input is longer than [`Limits::max_length`](super::Limits::max_length) bytes.
    TooLong {
        /// The limit in force.
        limit: usize,
    },
    /// Groups (`(…)`, `not (…)`, `[…]`) nest deeper than
    /// [`Limits::max_depth`](super::Limits::max_depth).
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// More attribute expressions than [`Limits::max_clauses`](super::Limits::max_clauses).
    TooManyClauses {
        /// The limit in force.
        limit: usize,
    },
}

impl fmt::Display for FilterErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterErrorKind::Empty => f.write_str("the filter is empty"),
            FilterErrorKind::Expected(what) => write!(f, "expected {what}"),
            FilterErrorKind::UnknownOperator => f.write_str(
                "unknown operator: expected one of eq, ne, co, sw, ew, gt, lt, ge, le, pr",
            ),
            FilterErrorKind::UnterminatedString => f.write_str("string literal is not closed"),
            FilterErrorKind::InvalidEscape => f.write_str("invalid escape in string literal"),
            FilterErrorKind::LoneSurrogate => {
                f.write_str("unpaired UTF-16 surrogate in \\u escape")
            }
            FilterErrorKind::ControlCharacter => {
                f.write_str("control character in string literal must be escaped")
            }
            FilterErrorKind::InvalidNumber => f.write_str("invalid number"),
            FilterErrorKind::InvalidAttrPath => f.write_str("invalid attribute path"),
            FilterErrorKind::Unclosed(c) => write!(f, "'{c}' is never closed"),
            FilterErrorKind::Unmatched(c) => write!(f, "'{c}' has no matching opening"),
            FilterErrorKind::TooLong { limit } => {
                write!(f, "the filter is longer than {limit} bytes")
            }
            FilterErrorKind::TooDeep { limit } => {
                write!(f, "groups nest deeper than {limit} levels")
            }
            FilterErrorKind::TooManyClauses { limit } => {
                write!(f, "the filter has more than {limit} attribute expressions")
            }
        }
    }
}

/// A filter or attribute path that does not parse: what went wrong and where.
///
/// The offset is a byte offset into the input. [`Display`](fmt::Display) gives a one-line
/// message; [`FilterError::render`] adds the input with a caret under the offending byte.
///
/// ```
/// use scimkit::filter::{Filter, FilterErrorKind};
///
/// let err = "userName eqq \"bjensen\"".parse::<Filter>().unwrap_err();
/// assert_eq!(err.kind(), &FilterErrorKind::UnknownOperator);
/// assert_eq!(err.span(), 9..12);
/// assert_eq!(
///     err.render(),
///     "unknown operator: expected one of eq, ne, co, sw, ew, gt, lt, ge, le, pr at byte 9\n\
///      userName eqq \"bjensen\"\n\
///      \x20        ^^^"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    kind: FilterErrorKind,
    span: Range<usize>,
    input: Box<str>,
}

impl FilterError {
    pub(crate) fn new(kind: FilterErrorKind, span: Range<usize>, input: &str) -> FilterError {
        FilterError {
            kind,
            span,
            input: input.into(),
        }
    }

    /// This error, found in a part of `outer` starting at byte `start`, as an error of
    /// `outer`.
    pub(crate) fn within(self, outer: &str, start: usize) -> FilterError {
        FilterError {
            kind: self.kind,
            span: self.span.start + start..self.span.end + start,
            input: outer.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &FilterErrorKind {
        &self.kind
    }

    /// The byte offset at which the error was found.
    pub fn offset(&self) -> usize {
        self.span.start
    }

    /// The bytes the error is about (empty at the end of the input).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The input that failed to parse.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The message, the input, and carets under the offending bytes on a third line.
    ///
    /// Control characters in the input are shown as spaces so that the caret stays aligned,
    /// and the caret is placed by characters, not bytes.
    pub fn render(&self) -> String {
        let shown: String = self
            .input
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let start = self.span.start.min(self.input.len());
        let end = self.span.end.clamp(start, self.input.len());
        let col = self.input.get(..start).map_or(start, |s| s.chars().count());
        let width = self
            .input
            .get(start..end)
            .map_or(1, |s| s.chars().count())
            .max(1);
        format!("{self}\n{shown}\n{}{}", " ".repeat(col), "^".repeat(width))
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.span.start)
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for ScimError {
    /// `400 invalidFilter`, with the message and the byte offset as the detail.
    fn from(err: FilterError) -> ScimError {
        ScimError::bad_request(ScimType::InvalidFilter, err.to_string())
    }
}
