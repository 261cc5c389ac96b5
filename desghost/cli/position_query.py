"""``desghost query --ra/--dec`` and ``--region``: what covers a place on the sky."""
import sys

from desghost import __version__
from desghost.catalog.location import catalog_path
from desghost.catalog.position import footprint_coverage, position_rows
from desghost.catalog.query_output import as_csv, as_raytrace, as_table, exclusion_rows, select_columns
from desghost.catalog.store import Catalog
from desghost.catalog.targets import parse_box, read_targets, single_target
from desghost.cli.common import emit_text, log, warn, writing
from desghost.errors import UsageError
from desghost.products.exclusion import write_exclusion_fits

__all__ = ["cmd_position_query"]

#: Exposures pointed within this many degrees of a position may hold it on a CCD (DECam's field
#: reaches about 1.1 degrees from the axis).
FIELD_RADIUS_DEG = 1.1
def _targets(args):
    if args.region and (args.ra is not None or args.dec is not None):
        raise UsageError("give --ra/--dec or --region, not both")
    if args.region:
        if args.region.startswith("box:"):
            if args.radius:
                raise UsageError("--radius does not apply to a box: widen the box instead")
            return [parse_box(args.region)]
        return read_targets(args.region, args.radius)
    if args.ra is None or args.dec is None:
        raise UsageError("a position query needs both --ra and --dec (degrees)")
    return [single_target(args.ra, args.dec, args.radius)]


def _check_options(args):
    args.what = args.what or "instances"
    if args.what == "failures":
        raise UsageError("a position query returns instances, ccds or exposures, not failures")
    if args.review:
        raise UsageError("--review does not combine with a position query; query the reviewed list by --expnum")
    if args.format in ("fits", "raytrace") and args.what != "ccds":
        raise UsageError(f"--format {args.format} needs --what ccds")
    if args.format == "fits" and not args.output:
        raise UsageError("--format fits needs -o FILE")


def _report_coverage(args, counts, migrated):
    """Say on stderr which exposures could not be searched (no footprint) or only partly."""
    if not counts.get("complete") and not counts.get("partial"):
        warn(f"source '{args.source}' has no exposure with a sky footprint (imported lists name CCDs, not "
             "places; desghost's own rows have one from catalog schema 6 on): nothing to search")
    if migrated:
        warn(f"the catalog is of schema {migrated} and was read through an in-memory copy of schema 6; any "
             "writing command (run, night, import-raytrace, review) migrates the file itself")
    if counts.get("none"):
        warn(f"{counts['none']} processed exposures have no sky footprint (recorded before catalog schema 6, or "
             "their CCDs' WCS could not be used): not searched; run them again to add them")
    if counts.get("partial"):
        warn(f"{counts['partial']} exposures have a partial sky footprint (a CCD without WCS): "
             "their parts on such CCDs are not searched")


def cmd_position_query(args):
    _check_options(args)
    targets = _targets(args)
    with Catalog(catalog_path(args.catalog), readonly=True) as cat:
        _report_coverage(args, footprint_coverage(cat.conn, args.source), cat.migrated_from)
        rows = position_rows(cat, targets, args.what, args.source, expnum=args.expnum, ccdnums=args.ccdnum,
                             bands=args.band, since=args.since, until=args.until, classes=args.classes,
                             min_score=args.min_score, category=args.category)
        if not rows and len(targets) == 1 and targets[0].box_deg is None:
            log(args, _nothing_found(cat, args.source, targets[0]))
    if args.format == "fits":
        cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
                 {"name": "DGQUERY", "value": " ".join(sys.argv[1:])[-68:]}]
        with writing(args.output):
            write_exclusion_fits(args.output, exclusion_rows(rows), cards, extra_columns=[
                ("TARGET", "S40", [str(r["target"]) for r in rows]),
                ("TARGET_RA", ">f8", [r["target_ra"] for r in rows]),
                ("TARGET_DEC", ">f8", [r["target_dec"] for r in rows]),
                ("DIST_ARCSEC", ">f4", [r["distance_arcsec"] for r in rows])])
        log(args, f"{len(rows)} row{'s' * (len(rows) != 1)} -> {args.output}")
        return 0
    if args.format == "raytrace":   # a list of CCDs: each once, whichever targets it holds
        unique = {(r["expnum"], r["ccdnum"]): r for r in rows}
        _count(args, targets, rows)
        return emit_text(args, as_raytrace(list(unique.values())))
    try:
        rows = select_columns(rows, f"position-{args.what}", args.columns, args.format == "table")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _count(args, targets, rows)
    return emit_text(args, as_table(rows) if args.format == "table" else as_csv(rows))


def _count(args, targets, rows):
    log(args, f"{len(targets)} target{'s' * (len(targets) != 1)}: {len(rows)} row{'s' * (len(rows) != 1)}")


def _nothing_found(cat, source, target):
    """Whether a position nothing covers was observed at all: exposures pointed within 1.1 degrees of it."""
    import numpy as np

    from desghost.sky.tangent_plane import angular_distance_deg

    rows = cat.conn.execute("SELECT tel_ra, tel_dec FROM exposures WHERE source=? AND status='ok' AND tel_ra IS"
                            " NOT NULL", (source,)).fetchall()
    near = 0
    if rows:
        ra, dec = np.array(rows, dtype=float).T
        near = int((angular_distance_deg(target.ra_deg, target.dec_deg, ra, dec) <= FIELD_RADIUS_DEG).sum())
    return (f"nothing covers it; {near} processed exposure{'s' * (near != 1)} with a recorded pointing "
            f"pointed within {FIELD_RADIUS_DEG} degrees of it (DECam's field radius)")
