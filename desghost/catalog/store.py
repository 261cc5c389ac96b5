"""The catalog: one SQLite file of exposures, instances, excluded CCDs and failures.

Each exposure's rows go in with one transaction; re-running an exposure replaces its rows.
Parallel writers are safe: WAL journal, and every write a ``BEGIN IMMEDIATE`` transaction that
waits for the write lock (SQLite's busy timeout, ``timeout_s``).  All SQL is
parameterised.  A file that is not a desghost catalog is refused, never overwritten.
"""
import json
import os
import sqlite3
from pathlib import Path

from desghost import __version__
from desghost.catalog.decision_store import DecisionStore, now_utc
from desghost.catalog.sky_store import SKY_SCHEMA, SkyStore
from desghost.catalog.sqlite_file import kind_of_database, switch_to_wal
from desghost.errors import DesghostError

__all__ = ["APPLICATION_ID", "Catalog", "CATALOG_TABLES", "CatalogError", "SCHEMA", "SCHEMA_VERSION"]

#: 2: inputs are absolute paths; 3: exposures and excluded CCDs carry the observing night
#: (``nite``, YYYYMMDD), exposures their input's content identity
#: (:func:`desghost.reading.identity.input_identity`); 4: the ``decisions`` table of review
#: decisions (:mod:`desghost.catalog.review`); 5: each decision's ``run_at`` (the ``processed_at`` of
#: the exposure's run it was made on) and each instance's outline (``outline_px``, JSON
#: list of polygons of ``[x, y]`` focal-plane image pixels, :func:`desghost.mask_geometry.mask_outlines`;
#: empty for instances recorded before); 6: sky footprints (:mod:`desghost.catalog.sky_store`)
#: and the bright stars near each exposure.  Older catalogs are migrated when opened.
SCHEMA_VERSION = "6"
#: ``PRAGMA application_id`` of every catalog desghost writes ("DGHC"): how a file is known
#: to be desghost's before anything in it is changed.
APPLICATION_ID = 0x44474843
#: The tables of a desghost catalog; catalogs written before APPLICATION_ID existed are
#: recognised by all of them together with a ``schema_version`` row.
CATALOG_TABLES = frozenset({"meta", "exposures", "instances", "excluded_ccds", "coverage", "failures"})
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS exposures (
    source TEXT NOT NULL, expnum INTEGER NOT NULL, status TEXT NOT NULL,
    band TEXT, date_obs TEXT, mjd_obs REAL, flavor TEXT, input TEXT, model TEXT, threshold REAL,
    area_threshold REAL, software TEXT, processed_at TEXT, n_instances INTEGER, n_excluded INTEGER,
    seconds REAL, nite TEXT, identity TEXT, n_artifacts INTEGER, tel_ra REAL, tel_dec REAL, pointing_from TEXT,
    footprint TEXT, PRIMARY KEY (source, expnum));
CREATE TABLE IF NOT EXISTS instances (
    source TEXT NOT NULL, expnum INTEGER NOT NULL, instance_id INTEGER NOT NULL, class TEXT NOT NULL,
    score REAL NOT NULL, x0 REAL, y0 REAL, x1 REAL, y1 REAL, area_px INTEGER, ccdnums TEXT, outline_px TEXT,
    ra_center REAL, dec_center REAL, radius_deg REAL, star TEXT, PRIMARY KEY (source, expnum, instance_id));
CREATE TABLE IF NOT EXISTS excluded_ccds (
    source TEXT NOT NULL, category TEXT NOT NULL, expnum INTEGER NOT NULL, ccdnum INTEGER NOT NULL,
    detpos TEXT, reason TEXT, analyst TEXT, class TEXT, score REAL, area_frac REAL, model TEXT,
    band TEXT, date_obs TEXT, nite TEXT, ra_1 REAL, ra_2 REAL, ra_3 REAL, ra_4 REAL, dec_1 REAL, dec_2 REAL,
    dec_3 REAL, dec_4 REAL, star TEXT, PRIMARY KEY (source, category, expnum, ccdnum));
CREATE TABLE IF NOT EXISTS coverage (
    source TEXT NOT NULL, label TEXT NOT NULL, expnum_min INTEGER NOT NULL, expnum_max INTEGER NOT NULL,
    PRIMARY KEY (source, label));
CREATE TABLE IF NOT EXISTS failures (
    source TEXT NOT NULL, input TEXT NOT NULL, expnum INTEGER, reason TEXT NOT NULL, exit_code INTEGER,
    at TEXT NOT NULL, PRIMARY KEY (source, input));
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, expnum INTEGER NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('instance', 'ccd', 'exposure')), target TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('confirm', 'reject', 'missed')), class TEXT, polygon_px TEXT,
    ccdnums TEXT, analyst TEXT NOT NULL CHECK (length(trim(analyst)) > 0), comment TEXT, decided_at TEXT NOT NULL,
    run_at TEXT);
CREATE INDEX IF NOT EXISTS decisions_by_expnum ON decisions (source, expnum, target_kind, target);
CREATE INDEX IF NOT EXISTS excluded_by_expnum ON excluded_ccds (expnum, ccdnum);
CREATE INDEX IF NOT EXISTS instances_by_class ON instances (class, expnum);
""" + SKY_SCHEMA


class CatalogError(DesghostError):
    """The catalog file is missing, corrupt, or not a desghost catalog."""

    exit_code = 13


def _iso_date(yyyymmdd):
    """``20160802`` -> ``2016-08-02`` (dates in the catalog are ISO, like DATE-OBS)."""
    t = str(yyyymmdd)
    return f"{t[:4]}-{t[4:6]}-{t[6:8]}" if len(t) == 8 and t.isdigit() else t


class Catalog(DecisionStore, SkyStore):
    """A desghost catalog file.

    Parameters
    ----------
    path : str or Path
    create : bool
        Create the file when it does not exist (otherwise a missing file is an error).
    readonly : bool
        Open for reading only and never write to the file or its folder (catalogs on read-only
        media): SQLite's ``mode=ro``, or ``immutable=1`` when the file or its folder is not
        writable.  A catalog of an older schema is then migrated in a copy in memory.
    """

    def __init__(self, path, create=True, timeout_s=60.0, readonly=False):
        self.path = Path(path)
        self.migrated_from = None   # a read-only open of an older schema: its version (migrated in memory)
        try:
            if readonly:
                self._open_readonly(timeout_s)
            else:
                self._open(create, timeout_s)
        except OSError as exc:  # a folder, an unwritable folder, a vanished file
            raise CatalogError(f"cannot open the catalog ({exc.strerror or exc})", path=self.path) from None
        except sqlite3.Error as exc:  # a read-only folder or file, a locked or damaged database
            raise CatalogError(f"cannot open the catalog ({exc})", path=self.path) from None

    def _open(self, create, timeout_s):
        if self.path.is_dir():
            raise CatalogError("is a directory, not a catalog file", path=self.path)
        if not self.path.exists() and not create:
            raise CatalogError("no catalog file here (run `desghost run --catalog` or `import-raytrace` first)",
                               path=self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            self._identify(timeout_s)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        try:
            switch_to_wal(self.conn, timeout_s)
            self._init_schema()
        except Exception:
            self.conn.close()
            raise

    def _open_readonly(self, timeout_s):
        if self.path.is_dir():
            raise CatalogError("is a directory, not a catalog file", path=self.path)
        if not self.path.exists():
            raise CatalogError("no catalog file here (run `desghost run --catalog` or `import-raytrace` first)",
                               path=self.path)
        if self.path.stat().st_size == 0 or self._identify(timeout_s) == "empty":
            raise CatalogError("an empty file, not yet a catalog (nothing to read)", path=self.path)
        self.conn = sqlite3.connect(self._readonly_uri(), uri=True, timeout=timeout_s, isolation_level=None)
        try:
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                self.migrated_from = version[0] if version else "?"
                memory = sqlite3.connect(":memory:", isolation_level=None)
                self.conn.backup(memory)
                self.conn.close()
                self.conn = memory
                self._init_schema()
        except sqlite3.Error:
            self.conn.close()
            raise

    def _readonly_uri(self):
        """``mode=ro`` for a writable file and folder (WAL readers need the -shm file), else ``immutable=1``."""
        writable = os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        return self.path.resolve().as_uri() + ("?mode=ro" if writable else "?immutable=1")

    def _identify(self, timeout_s=5.0):
        """Refuse, without changing a byte of it, a file that is not a desghost catalog.

        An SQLite file with no schema object, no application id and no user version holds nothing
        of anyone's: it is what a process creating the catalog leaves between its first write (the
        WAL switch) and its schema transaction; it is reported as empty, and opening it for writing
        makes it a catalog (the schema transaction checks it again under its write lock).

        Returns
        -------
        str
            ``"catalog"``, or ``"empty"`` (see above).

        Raises
        ------
        CatalogError
            Not SQLite, unreadable, or an SQLite file of another application (exit code 13).
        """
        with open(self.path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise CatalogError("not an SQLite file; refusing to touch it", path=self.path)
        try:
            conn = sqlite3.connect(self._readonly_uri(), uri=True, timeout=timeout_s)
            try:
                kind = kind_of_database(conn, APPLICATION_ID, CATALOG_TABLES)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"unreadable catalog ({exc})", path=self.path) from None
        if kind == "foreign":
            raise self._foreign()
        return kind

    def _foreign(self):
        return CatalogError("an SQLite file that is not a desghost catalog; refusing to touch it", path=self.path)

    def _init_schema(self):
        """Stamp the application id and create or migrate the schema in one transaction, so another
        process sees either no schema or the whole catalog."""
        with self.transaction():
            if kind_of_database(self.conn, APPLICATION_ID, CATALOG_TABLES) == "foreign":   # another application's, since _identify looked
                raise self._foreign()
            if self.conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            for stmt in SCHEMA.strip().split(";"):
                if stmt.strip():
                    self.conn.execute(stmt)
            version = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                if version is not None and version[0] == "1":
                    self._absolute_inputs()
                if version is not None and version[0] in ("1", "2"):
                    self._add_nights()
                if version is not None and version[0] in ("1", "2", "3", "4"):
                    self._add_column("instances", "outline_px", "TEXT")
                    self._add_column("decisions", "run_at", "TEXT")
                if version is not None and version[0] in ("1", "2", "3", "4", "5"):
                    self._add_sky_columns()
                self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now_utc(),))

    def _absolute_inputs(self):
        """Schema 1 -> 2: inputs recorded as given become absolute paths.

        A relative input is resolved against the catalog's folder when it exists there, else
        against the working directory (``desghost run`` stored it as given on its command line).
        """
        for table in ("exposures", "failures"):
            rows = self.conn.execute(f"SELECT DISTINCT input FROM {table} WHERE input IS NOT NULL")  # noqa: S608
            for (name,) in rows.fetchall():
                if os.path.isabs(name):
                    continue
                beside = self.path.parent / name
                absolute = str(beside.resolve()) if beside.exists() else os.path.abspath(name)
                self.conn.execute(f"UPDATE OR REPLACE {table} SET input=? WHERE input=?", (absolute, name))  # noqa: S608

    def _add_nights(self):
        """Schema 2 -> 3: a ``nite`` column on exposures and excluded CCDs, filled where it can be,
        and ``identity`` and ``n_artifacts`` columns on exposures (empty for exposures processed
        before they existed).

        desghost rows get the night of their DATE-OBS by DES's rule (the date of DATE-OBS - 12 h;
        the DTCALDAT of the input is not in an old catalog); imported list rows already hold
        the list's night in ``date_obs``.
        """
        for table, column in (("exposures", "nite"), ("excluded_ccds", "nite"), ("exposures", "identity"),
                              ("exposures", "n_artifacts")):
            self._add_column(table, column, "INTEGER" if column.startswith("n_") else "TEXT")
        rule = "strftime('%Y%m%d', substr(date_obs, 1, 19), '-12 hours')"
        self.conn.execute(f"UPDATE exposures SET nite = {rule} WHERE nite IS NULL AND date_obs != ''")  # noqa: S608
        self.conn.execute(f"UPDATE excluded_ccds SET nite = {rule} WHERE nite IS NULL AND source = 'desghost'"  # noqa: S608
                          " AND date_obs != ''")
        self.conn.execute("UPDATE excluded_ccds SET nite = replace(substr(date_obs, 1, 10), '-', '')"
                          " WHERE nite IS NULL AND source != 'desghost'")

    def _add_column(self, table, column, kind):
        """Add a column to a table of an older catalog (nothing when it is there)."""
        columns = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}  # noqa: S608
        if column not in columns:
            self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")  # noqa: S608

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ----------------------------------------------------------------------------------
    def transaction(self):
        """A ``BEGIN IMMEDIATE`` transaction; an SQLite error inside it (a full disk, a read-only
        file system, a lock held too long) rolls back and becomes :class:`CatalogError` (exit 13)."""
        return _Transaction(self.conn, self.path)

    def record_exposure(self, result, source="desghost"):
        """Replace all rows of one processed exposure (one transaction; raises CatalogError)."""
        with self.transaction():
            self._delete(source, result.expnum)
            self.conn.execute(
                "INSERT INTO exposures (source, expnum, status, band, date_obs, mjd_obs, flavor, input, model,"
                " threshold, area_threshold, software, processed_at, n_instances, n_excluded, seconds, nite, identity,"
                " n_artifacts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (source, result.expnum, "ok", result.band, result.date_obs, result.mjd_obs, result.flavor,
                 result.source, result.model_name, result.threshold, result.area_threshold,
                 f"desghost {__version__}", now_utc(), len(result.instances), len(result.exclusions),
                 result.timings_s.get("total"), result.nite or None, getattr(result, "identity", None),
                 getattr(result, "n_artifacts", None)))
            self.conn.executemany(
                "INSERT INTO instances (source, expnum, instance_id, class, score, x0, y0, x1, y1, area_px, ccdnums,"
                " outline_px) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(source, result.expnum, i, inst.class_name, inst.score, *inst.bbox_px, inst.area_px,
                  ",".join(str(c.ccdnum) for c in cov), json.dumps(inst.outline_px))
                 for i, (inst, cov) in enumerate(zip(result.instances, result.coverages))])
            self.conn.executemany(
                "INSERT INTO excluded_ccds (source, category, expnum, ccdnum, detpos, reason, analyst, class,"
                " score, area_frac, model, band, date_obs, nite, star) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(source, "ghost-scatter", r.expnum, r.ccdnum, r.detpos, r.reason, r.analyst, r.artifact_class,
                  r.score, r.area_frac, r.model, r.band, r.date_obs, r.nite or None, r.star or None)
                 for r in result.exclusions])
            self._record_footprint(source, result)
            self.conn.execute("DELETE FROM failures WHERE source=? AND input=?", (source, result.source))

    def record_moved(self, expnum, new_input, source="desghost"):
        """An exposure met again at ``new_input`` (its identity matched): its recorded path follows the move."""
        with self.transaction():
            self.conn.execute("UPDATE exposures SET input=? WHERE source=? AND expnum=?", (new_input, source, expnum))
            self.conn.execute("DELETE FROM failures WHERE source=? AND input=?", (source, new_input))

    def withdraw_exposure(self, expnum, source="desghost"):
        """Remove an exposure's rows (its products could not be put in place after they were recorded)."""
        with self.transaction():
            self._delete(source, expnum)

    def record_failure(self, input_name, reason, exit_code=None, expnum=None, source="desghost"):
        """Record a failed exposure (replacing an earlier failure of the same input)."""
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO failures VALUES (?,?,?,?,?,?)",
                              (source, str(input_name), expnum, str(reason), exit_code, now_utc()))

    def _delete(self, source, expnum):
        for table in ("exposures", "instances", "excluded_ccds"):
            self.conn.execute(f"DELETE FROM {table} WHERE source=? AND expnum=?", (source, expnum))  # noqa: S608
        self._delete_sky(source, expnum)

    def import_exclusions(self, rows, source, category, label):
        """Load ray-tracing style rows ``(date, expnum, ccdnum, detpos)``; returns rows inserted."""
        with self.transaction():
            self.conn.execute("DELETE FROM excluded_ccds WHERE source=? AND category=? AND reason=?",
                              (source, category, label))
            before = self.conn.total_changes
            self.conn.executemany(
                "INSERT OR IGNORE INTO excluded_ccds (source, category, expnum, ccdnum, detpos, reason, analyst,"
                " date_obs, nite) VALUES (?,?,?,?,?,?,?,?,?)",
                [(source, category, e, c, d, label, source, _iso_date(dt), str(dt) if str(dt).isdigit() else None)
                 for dt, e, c, d in rows])
            n = self.conn.total_changes - before
            if rows:
                exps = [r[1] for r in rows]
                self.conn.execute("INSERT OR REPLACE INTO coverage VALUES (?,?,?,?)",
                                  (source, label, min(exps), max(exps)))
            return n

    # -- reading ----------------------------------------------------------------------------------
    def query(self, sql, params=()):
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


class _Transaction:
    def __init__(self, conn, path):
        self.conn = conn
        self.path = path

    def __enter__(self):
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise CatalogError(f"cannot write the catalog ({exc})", path=self.path) from None
        return self.conn

    def __exit__(self, exc_type, exc, _traceback):
        try:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        except sqlite3.Error as error:
            if exc_type is None:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise CatalogError(f"cannot write the catalog ({error})", path=self.path) from None
        if exc_type is not None and issubclass(exc_type, sqlite3.Error):
            raise CatalogError(f"cannot write the catalog ({exc})", path=self.path) from None
        return False
