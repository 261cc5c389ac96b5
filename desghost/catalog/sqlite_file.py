"""The catalog's SQLite file as a file: what it is, and its switch to WAL mode among processes."""
import sqlite3
import time

__all__ = ["kind_of_database", "switch_to_wal", "WAL_RETRY_S"]

#: Seconds between tries of the WAL switch while another process holds the file.
WAL_RETRY_S = 0.05


def kind_of_database(conn, application_id, required_tables):
    """``"catalog"``, ``"empty"`` or ``"foreign"``: what the SQLite database open on ``conn`` is.

    A catalog carries ``application_id``, or (catalogs written before it) every table of
    ``required_tables`` and a ``meta`` row ``schema_version``.  Empty: no schema object,
    application id 0 and user version 0 (nothing of anyone's: what a process creating the catalog
    leaves between its WAL switch and its schema transaction).

    Parameters
    ----------
    conn : sqlite3.Connection
    application_id : int
        The ``PRAGMA application_id`` a catalog carries.
    required_tables : set of str

    Raises
    ------
    sqlite3.DatabaseError
        The file is unreadable.
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == application_id:
        return "catalog"
    if app_id != 0:
        return "foreign"
    objects = conn.execute("SELECT type, name FROM sqlite_master").fetchall()
    if not objects:
        return "empty" if conn.execute("PRAGMA user_version").fetchone()[0] == 0 else "foreign"
    if not set(required_tables) <= {name for kind, name in objects if kind == "table"}:
        return "foreign"
    if conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() is None:
        return "foreign"
    return "catalog"


def switch_to_wal(conn, timeout_s):
    """``PRAGMA journal_mode=WAL`` on ``conn``, retried while another process holds the file.

    SQLite does not wait (no busy handler) when another connection holds a write lock on a file
    still in rollback mode, so a process opening a new catalog beside another that is creating it
    (two nights started together) gets "database is locked" at once; the switch is retried every
    :data:`WAL_RETRY_S` for up to ``timeout_s``, like any other lock.

    Raises
    ------
    sqlite3.OperationalError
        Still locked after ``timeout_s``, or another error.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)
