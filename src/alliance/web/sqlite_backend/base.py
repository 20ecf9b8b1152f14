"""SQLite with one queue for writers across every thread and process.

Each transaction here begins with ``BEGIN IMMEDIATE`` (it takes the write lock at once). When
another connection holds it, SQLite's busy handler sleeps and retries with growing pauses (up to
100 ms each), so under a burst of submits from several server processes a writer can sleep long
after the lock was freed: 20 submits at once took p95 ~1 s with two processes. An exclusive
``flock`` on a file beside the database, taken before ``BEGIN`` and released after ``COMMIT`` or
``ROLLBACK``, makes writers wait in the kernel instead, which wakes the next one the moment the
lock is free. The kernel drops the lock if a process dies, so a killed server never leaves it held.

A database file this backend creates is private (0600) from the start, whatever the umask: it
will hold health data, and SQLite gives its write-ahead log the database file's mode. It is made
only on connecting, so merely loading the settings never leaves a file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_fd: int | None = None
        self._queued = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        name = str(conn_params.get("database", ""))
        if name and not self.is_in_memory_db() and not name.startswith("file:"):
            with contextlib.suppress(OSError):  # exists, or no folder: SQLite reports what matters
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return super().get_new_connection(conn_params)

    def _start_transaction_under_autocommit(self) -> None:
        self._enter_queue()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._leave_queue()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._leave_queue()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._leave_queue()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._leave_queue()
            if self._queue_fd is not None:
                os.close(self._queue_fd)
                self._queue_fd = None

    def _enter_queue(self) -> None:
        if self.is_in_memory_db() or self._queued:
            return
        if self._queue_fd is None:
            path = f"{self.settings_dict['NAME']}-writers"
            self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._queue_fd, fcntl.LOCK_EX)
        self._queued = True

    def _leave_queue(self) -> None:
        if self._queued and self._queue_fd is not None:
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)
        self._queued = False
