//! The documents a store read or wrote lately, by row and version: a row whose version
//! has not changed is handed out as the same [`Document`], so its JSON is neither parsed
//! nor rendered again. Any write gives a row a new version, so nothing kept is ever
//! served for it again.

use std::collections::HashMap;

use crate::store::Document;

/// What one byte of a row's JSON text costs kept: a parsed `serde_json::Value` takes about
/// 6.3 times the bytes of its text (measured on users of the benchmarks, 507 bytes of
/// JSON each), more with the allocator's rounding, and the service's rendering beside it
/// about once more.
const COST_PER_BYTE: usize = 9;

/// Documents by row: emptied whole when a new one would take it past its budget.
pub(super) struct Documents {
    budget: usize,
    used: usize,
    by_seq: HashMap<i64, Kept>,
}

struct Kept {
    version: i64,
    doc: Document,
    cost: usize,
}

impl Documents {
    pub(super) fn new(budget: usize) -> Documents {
        Documents {
            budget,
            used: 0,
            by_seq: HashMap::new(),
        }
    }

    /// The document of row `seq` at `version`, when kept.
    pub(super) fn get(&self, seq: i64, version: i64) -> Option<Document> {
        self.by_seq
            .get(&seq)
            .filter(|k| k.version == version)
            .map(|k| k.doc.clone())
    }

    /// Keeps `doc` as row `seq` at `version`; `text_len` is the length of its JSON.
    pub(super) fn put(&mut self, seq: i64, version: i64, doc: &Document, text_len: usize) {
        let cost = text_len.saturating_mul(COST_PER_BYTE);
        if cost > self.budget / 16 {
            // A large group: read afresh each time rather than crowd out the rest.
            self.forget(seq);
            return;
        }
        if self.used + cost > self.budget {
            self.by_seq.clear();
            self.used = 0;
        }
        self.used += cost;
        let kept = Kept {
            version,
            doc: doc.clone(),
            cost,
        };
        if let Some(old) = self.by_seq.insert(seq, kept) {
            self.used -= old.cost;
        }
    }

    /// Forgets row `seq`.
    pub(super) fn forget(&mut self, seq: i64) {
        if let Some(old) = self.by_seq.remove(&seq) {
            self.used -= old.cost;
        }
    }
}
