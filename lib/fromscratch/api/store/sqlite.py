"""The durable store: SQLite in WAL mode, one transaction per write.

Plays etcd's part for a single machine: a write is acknowledged only after
its transaction committed (``synchronous=FULL`` by default: the write-ahead
log is fsynced, as etcd fsyncs its raft log), so a server killed with
``SIGKILL`` — or a machine that loses power — keeps every acknowledged write.
The global resourceVersion is stored with the data, in the same transaction,
so it keeps increasing across restarts.

Simplified: the watch history is not persisted.  After a restart the history
starts empty at the stored resourceVersion, so a client resuming from an
older version gets ``410 Gone`` and relists — exactly what it would do after
an etcd compaction.
"""

from __future__ import annotations

import sqlite3
import threading

from fromscratch.api.store.interface import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rv INTEGER NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('resourceVersion', 0);
"""


class SQLiteStore(Store):
    """Objects in one SQLite table; the resourceVersion counter in another."""

    def __init__(self, path: str, *, history: int = 10_000, synchronous: str = "FULL") -> None:
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        self.path = path
        self._db_lock = threading.Lock()
        # autocommit mode: we open every transaction ourselves with BEGIN IMMEDIATE
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(SCHEMA)
        super().__init__(history=history)

    def _load_rv(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE name='resourceVersion'").fetchone()
        return int(row[0])

    def _load(self, key: str) -> str | None:
        with self._db_lock:
            row = self._db.execute("SELECT value FROM objects WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _write(self, statement: str, params: tuple[object, ...], rv: int) -> None:
        # the object and the counter change in one transaction: both or neither survive a crash
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(statement, params)
                self._db.execute("UPDATE meta SET value=? WHERE name='resourceVersion'", (rv,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _save(self, key: str, text: str, rv: int) -> None:
        self._write("INSERT INTO objects (key, rv, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET rv=excluded.rv, value=excluded.value",
                    (key, rv, text), rv)

    def _remove(self, key: str, rv: int) -> None:
        self._write("DELETE FROM objects WHERE key=?", (key,), rv)

    def _scan(self, prefix: str) -> list[tuple[str, str]]:
        # keys are compared as text; prefix + U+FFFF bounds the range of keys starting with prefix
        with self._db_lock:
            rows = self._db.execute(
                "SELECT key, value FROM objects WHERE key >= ? AND key < ? ORDER BY key",
                (prefix, prefix + "\uffff")).fetchall()
        return [(k, v) for k, v in rows]

    def close(self) -> None:
        super().close()
        with self._db_lock:
            self._db.close()
