//! The writer thread: every write of a store runs there, and what queued during one commit
//! goes into the next transaction, each write in a savepoint of its own (a write that
//! fails leaves the others alone), each caller answered once its transaction committed.
//! Under load one commit serves many writes; a caller awaiting a write never blocks the
//! async runtime.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::{classify, lock};
use crate::store::StoreError;

/// The queue of the writer thread, which runs until the queue is dropped.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(super) fn start(conn: Arc<Mutex<Connection>>) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("scimkit-sqlite-writer".into())
            .spawn(move || write_groups(conn, queue))?;
        Ok(Writer { jobs })
    }

    /// Runs `f` on the writer thread, in a savepoint of the transaction of its group: its
    /// changes stay when it returns `Ok` and the transaction commits, and are undone when
    /// it returns an error. The answer comes once the transaction has ended.
    pub(super) async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, answer) = futures_channel::oneshot::channel();
        let job: Box<dyn Job> = Box::new(Write { f, done });
        let gone = || StoreError::unavailable("the SQLite writer has stopped");
        self.jobs.send(job).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// The most writes one transaction takes.
const MAX_GROUP: usize = 256;

/// A write for the writer thread: run in a savepoint of the open transaction, or refused.
trait Job: Send {
    /// Runs the write; what it gives is answered once the transaction has ended.
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish>;
    /// The write cannot run: no transaction could be begun.
    fn refuse(self: Box<Self>, err: &rusqlite::Error);
}

/// A write that ran, waiting for its transaction to commit.
trait Finish: Send {
    /// Answers the caller: the write's own result if the transaction committed, else the
    /// commit's failure.
    fn finish(self: Box<Self>, committed: Result<(), &rusqlite::Error>);
}

struct Write<T, F> {
    f: F,
    done: futures_channel::oneshot::Sender<Result<T, StoreError>>,
}

struct Ran<T> {
    result: Result<T, StoreError>,
    done: futures_channel::oneshot::Sender<Result<T, StoreError>>,
}

/// A failure of the database, by its message (the error itself stays with the writer).
fn failed(err: &rusqlite::Error) -> StoreError {
    classify(err, err.to_string())
}

impl<T, F> Job for Write<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Box<dyn Finish> {
        let Write { f, done } = *self;
        let result = match control(conn, "SAVEPOINT write") {
            Err(e) => Err(failed(&e)),
            Ok(()) => {
                let result = catch_unwind(AssertUnwindSafe(|| f(conn)))
                    .unwrap_or_else(|_| Err(StoreError::internal("the write panicked")));
                let ended = match result {
                    Ok(_) => control(conn, "RELEASE write"),
                    Err(_) => control(conn, "ROLLBACK TO write")
                        .and_then(|()| control(conn, "RELEASE write")),
                };
                match ended {
                    Ok(()) => result,
                    Err(e) => Err(failed(&e)),
                }
            }
        };
        Box::new(Ran { result, done })
    }

    fn refuse(self: Box<Self>, err: &rusqlite::Error) {
        let _ = self.done.send(Err(failed(err)));
    }
}

impl<T: Send> Finish for Ran<T> {
    fn finish(self: Box<Self>, committed: Result<(), &rusqlite::Error>) {
        let result = match (self.result, committed) {
            (Ok(_), Err(e)) => Err(failed(e)),
            (result, _) => result,
        };
        let _ = self.done.send(result);
    }
}

/// A transaction statement, from the statement cache: a group of writes runs several.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// The writer thread: takes the writes queued, runs them in one transaction, commits,
/// answers them; until the store is dropped.
fn write_groups(conn: Arc<Mutex<Connection>>, jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let conn = lock(&conn);
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            group.into_iter().for_each(|job| job.refuse(&e));
            continue;
        }
        let ran: Vec<Box<dyn Finish>> = group.into_iter().map(|job| job.run(&conn)).collect();
        match control(&conn, "COMMIT") {
            Ok(()) => ran.into_iter().for_each(|r| r.finish(Ok(()))),
            Err(e) => {
                let _ = control(&conn, "ROLLBACK");
                ran.into_iter().for_each(|r| r.finish(Err(&e)));
            }
        }
    }
}
