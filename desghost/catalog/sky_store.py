"""The catalog's sky footprints: what :mod:`desghost.catalog.position` searches.

A mixin of :class:`desghost.catalog.store.Catalog`.  Per exposure the pointing and whether its
footprint is ``complete`` or ``partial`` (a touched CCD without WCS); per excluded CCD its four
corners (``ra_1..ra_4``, ``dec_1..dec_4``, degrees, as decasu's quads); per instance its centre
and radius and, in ``instance_quads``, its mask as convex sky quads (one BLOB of float64
``[ra_1..ra_4, dec_1..dec_4]`` rows per instance and CCD); and in ``sky_cells`` the NUNIQ
index cells (:mod:`desghost.sky.moc`) of every instance and excluded CCD.  Exposures recorded
before schema 6 have no footprint (``footprint`` NULL) until they are run again.
"""
import numpy as np

__all__ = ["quads_blob", "quads_from_blob", "SKY_SCHEMA", "SKY_COLUMNS", "SkyStore"]

#: Columns schema 6 adds to the older tables (name, SQL type) -- also in the CREATE TABLEs.
SKY_COLUMNS = {
    "exposures": (("tel_ra", "REAL"), ("tel_dec", "REAL"), ("pointing_from", "TEXT"), ("footprint", "TEXT")),
    "instances": (("ra_center", "REAL"), ("dec_center", "REAL"), ("radius_deg", "REAL"), ("star", "TEXT")),
    "excluded_ccds": tuple((f"{c}_{k}", "REAL") for c in ("ra", "dec") for k in (1, 2, 3, 4)) + (("star", "TEXT"),),
}
SKY_SCHEMA = """
CREATE TABLE IF NOT EXISTS sky_cells (
    source TEXT NOT NULL, expnum INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('instance', 'ccd')),
    item INTEGER NOT NULL, nuniq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sky_cells_by_nuniq ON sky_cells (nuniq);
CREATE INDEX IF NOT EXISTS sky_cells_by_expnum ON sky_cells (source, expnum);
CREATE TABLE IF NOT EXISTS instance_quads (
    source TEXT NOT NULL, expnum INTEGER NOT NULL, instance_id INTEGER NOT NULL, ccdnum INTEGER NOT NULL,
    quads BLOB NOT NULL, PRIMARY KEY (source, expnum, instance_id, ccdnum));
CREATE TABLE IF NOT EXISTS exposure_stars (
    source TEXT NOT NULL, expnum INTEGER NOT NULL, hr INTEGER NOT NULL, name TEXT, vmag REAL, ra REAL, dec REAL,
    distance_deg REAL, x_mm REAL, y_mm REAL, PRIMARY KEY (source, expnum, hr));
"""
#: The tables holding an exposure's sky rows (deleted with its other rows).
SKY_TABLES = ("sky_cells", "instance_quads", "exposure_stars")


def quads_blob(ra_deg, dec_deg):
    """Quads ``(n, 4)`` RA and Dec as one BLOB of float64 rows ``[ra_1..ra_4, dec_1..dec_4]``."""
    return np.ascontiguousarray(np.hstack([ra_deg, dec_deg]), dtype="<f8").tobytes()


def quads_from_blob(blob):
    """Inverse of :func:`quads_blob`: ``(ra (n, 4), dec (n, 4))`` in degrees."""
    q = np.frombuffer(blob, dtype="<f8").reshape(-1, 8)
    return q[:, :4], q[:, 4:]


class SkyStore:
    """Sky footprint rows in a catalog (needs ``self.conn``, inside ``record_exposure``'s transaction)."""

    def _add_sky_columns(self):
        """Schema 5 -> 6: the footprint columns on the older tables (NULL for exposures recorded before)."""
        for table, columns in SKY_COLUMNS.items():
            for name, kind in columns:
                self._add_column(table, name, kind)

    def _record_footprint(self, source, result):
        """Write an exposure's footprint (``result.footprint``; nothing when it has none)."""
        fp = getattr(result, "footprint", None)
        if fp is None:
            return
        ra_tel, dec_tel = fp.pointing_deg if fp.pointing_deg else (None, None)
        self.conn.execute("UPDATE exposures SET tel_ra=?, tel_dec=?, pointing_from=?, footprint=? WHERE source=?"
                          " AND expnum=?", (ra_tel, dec_tel, fp.pointing_from, fp.status, source, result.expnum))
        for number, (ra, dec, radius) in fp.instance_circles.items():
            self.conn.execute("UPDATE instances SET ra_center=?, dec_center=?, radius_deg=? WHERE source=? AND"
                              " expnum=? AND instance_id=?", (ra, dec, radius, source, result.expnum, number))
        for number, star in fp.instance_stars.items():
            self.conn.execute("UPDATE instances SET star=? WHERE source=? AND expnum=? AND instance_id=?",
                              (star, source, result.expnum, number))
        for ccdnum, (ra, dec) in fp.ccd_corners_deg.items():
            self.conn.execute("UPDATE excluded_ccds SET ra_1=?, ra_2=?, ra_3=?, ra_4=?, dec_1=?, dec_2=?, dec_3=?,"
                              " dec_4=? WHERE source=? AND category='ghost-scatter' AND expnum=? AND ccdnum=?",
                              (*map(float, ra), *map(float, dec), source, result.expnum, ccdnum))
        cells = [(source, result.expnum, "instance", n, int(u)) for n, c in fp.instance_cells.items() for u in c]
        cells += [(source, result.expnum, "ccd", n, int(u)) for n, c in fp.ccd_cells.items() for u in c]
        self.conn.executemany("INSERT INTO sky_cells VALUES (?,?,?,?,?)", cells)
        regions = fp.regions
        ra = np.stack([regions[f"RA_{k}"] for k in (1, 2, 3, 4)], axis=1)
        dec = np.stack([regions[f"DEC_{k}"] for k in (1, 2, 3, 4)], axis=1)
        keys = sorted({(int(i), int(c)) for i, c in zip(regions["INSTANCE"], regions["CCDNUM"])})
        self.conn.executemany("INSERT INTO instance_quads VALUES (?,?,?,?,?)", [
            (source, result.expnum, i, c, quads_blob(ra[m], dec[m]))
            for i, c in keys if (m := (regions["INSTANCE"] == i) & (regions["CCDNUM"] == c)).any()])
        self.conn.executemany("INSERT INTO exposure_stars VALUES (?,?,?,?,?,?,?,?,?,?)",
                              [(source, result.expnum, *s.catalog_row()) for s in fp.stars])

    def _delete_sky(self, source, expnum):
        for table in SKY_TABLES:
            self.conn.execute(f"DELETE FROM {table} WHERE source=? AND expnum=?", (source, expnum))  # noqa: S608
