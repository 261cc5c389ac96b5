"""Query results written the ways ``desghost query`` offers: an aligned table, CSV, FITS, a ray-tracing list."""
import io

from astropy.table import MaskedColumn, Table

from desghost import __version__
from desghost.products.exclusion import raytrace_lines, write_exclusion_fits
from desghost.products.exclusion_rule import CCDExclusion

__all__ = ["as_csv", "as_raytrace", "as_table", "COMPACT_COLUMNS", "exclusion_rows", "FORMATS", "rows_to_table",
           "select_columns", "write_fits"]

FORMATS = ("table", "csv", "fits", "raytrace")
#: The columns the aligned table shows by default, per kind of row (``--columns all`` shows every one).
COMPACT_COLUMNS = {
    "ccds": ("expnum", "ccdnum", "detpos", "class", "score", "area_frac", "nite", "source"),
    "instances": ("expnum", "instance_id", "class", "score", "area_px", "ccdnums", "nite"),
    "exposures": ("expnum", "status", "band", "nite", "n_artifacts", "n_instances", "n_excluded", "seconds"),
    "failures": ("expnum", "exit_code", "reason", "input"),
    "reviewed": ("expnum", "ccdnum", "reason", "analyst", "class", "score", "decided_at", "comment"),
    "position-instances": ("target", "distance_arcsec", "expnum", "instance_id", "class", "score", "hit_ccdnum", "nite"),
    "position-ccds": ("target", "distance_arcsec", "expnum", "ccdnum", "detpos", "class", "score", "nite"),
    "position-exposures": ("target", "distance_arcsec", "expnum", "band", "nite", "n_hits", "classes"),
}


def select_columns(rows, what, columns, table_format):
    """Rows restricted to the asked columns.

    ``columns`` is None (the compact set for the aligned table, every column otherwise), ``"all"``,
    or a comma-separated list of names.

    Raises
    ------
    ValueError
        A name that is not a column of these rows (the message lists them).
    """
    if columns == "all" or (columns is None and not table_format) or not rows:
        return rows
    names = COMPACT_COLUMNS[what] if columns is None else tuple(c.strip() for c in columns.split(",") if c.strip())
    unknown = [c for c in names if c not in rows[0]]
    if unknown:
        raise ValueError(f"--columns: no column {', '.join(unknown)}; the columns are {', '.join(rows[0])}")
    return [{c: r[c] for c in names} for r in rows]


def rows_to_table(rows):
    """Catalog rows (dicts with the same keys) as an astropy Table; NULLs become masked values."""
    table = Table()
    for name in rows[0]:
        values = [r[name] for r in rows]
        fill = next((v for v in values if v is not None), "")
        table[name] = MaskedColumn([fill if v is None else v for v in values], mask=[v is None for v in values])
    return table


def _written(table, fmt):
    buf = io.StringIO()
    table.write(buf, format=fmt)
    return buf.getvalue()


def as_table(rows):
    """Rows as an aligned text table (astropy's ``ascii.fixed_width_two_line``), floats to 3 decimals."""
    if not rows:
        return "(no rows)\n"
    table = rows_to_table(rows)
    for column in table.columns.values():
        if column.dtype.kind == "f":
            column.info.format = ".3f"
    return _written(table, "ascii.fixed_width_two_line")


def as_csv(rows):
    """Rows as CSV with a header line (astropy's ``ascii.csv``; NULLs empty; empty text for no rows)."""
    return _written(rows_to_table(rows), "ascii.csv") if rows else ""


def exclusion_rows(rows):
    """Excluded-CCD catalog rows as CCDExclusion records (NULLs as empty values)."""
    return [CCDExclusion.from_row({"nite": None, **r}) for r in rows]


def as_raytrace(rows):
    """Excluded-CCD rows as a ray-tracing list (``#date expnum ccd id ccdnum``)."""
    return "\n".join(raytrace_lines(exclusion_rows(rows))) + "\n"


def write_fits(path, rows, query_text):
    """Excluded-CCD rows as a desghost exclusion table (BINTABLE ``EXCLUDE``), written atomically."""
    cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
             {"name": "DGQUERY", "value": query_text[-68:]}]
    return write_exclusion_fits(path, exclusion_rows(rows), cards)
