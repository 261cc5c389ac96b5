"""``desghost query``, ``import-raytrace`` and ``compare``: ask the catalog, load ray-tracing lists, compare sources."""
import os
import sys

from desghost import __version__
from desghost.catalog.location import CATALOG_HELP, catalog_path
from desghost.catalog.queries import build_query, compare_sources
from desghost.catalog.query_output import FORMATS, as_csv, as_raytrace, as_table, select_columns, write_fits
from desghost.catalog.raytrace import list_category, read_list
from desghost.catalog.reviewed import REVIEW_FILTERS, reviewed_list, reviewed_row_dict
from desghost.catalog.store import Catalog
from desghost.classes import CLASS_ORDER
from desghost.cli.common import (
    add_parser,
    emit_text,
    format_metric,
    json_line,
    json_parent,
    log,
    writing,
)
from desghost.cli.position_query import cmd_position_query
from desghost.errors import UsageError
from desghost.options import ccdnum, check_date_order, expnum_range, fraction, obs_date
from desghost.products.exclusion import raytrace_lines, write_exclusion_fits

__all__ = ["cmd_compare", "cmd_import_raytrace", "cmd_query", "register"]


def register(sub):
    """Add ``query``, ``import-raytrace`` and ``compare`` to the subcommands ``sub``."""
    catalog_help = CATALOG_HELP
    p = add_parser(
        sub, "query", cmd_query, help="ask the catalog which CCDs/exposures are affected",
        description="Query the catalog. Rows are excluded CCDs (default), instances, exposures or failures.",
        epilog="examples:\n"
               "  desghost query --expnum 229388                       # excluded CCDs of one exposure\n"
               "  desghost query --what instances --class Rays --band r --since 2017 --until 2017\n"
               "  desghost query --expnum 500000-600000 --format fits -o excl.fits\n"
               "  desghost query --source raytrace --category ghost-scatter --format raytrace\n"
               "  desghost query --what exposures --columns expnum,nite,input  # or --columns all\n"
               "  desghost query --review reviewed --format raytrace > ghost-scatter-reviewed.txt\n"
               "  desghost query --review unreviewed-only --expnum 700000-700100   # what is left to check\n"
               "  desghost query --ra 44.25 --dec -30.3                 # instances whose mask covers a position\n"
               "  desghost query --ra 44.25 --dec -30.3 --radius 30 --what ccds --format fits -o here.fits\n"
               "  desghost query --region targets.csv --radius 5 --what exposures --format csv\n"
               "  desghost query --region box:44,45,-31,-30 --what instances --class Faint\n")
    p.add_argument("--catalog", default=None, help=catalog_help)
    p.add_argument("--source", default="desghost", help="desghost, raytrace, ...")
    p.add_argument("--what", choices=("ccds", "instances", "exposures", "failures"),
                   help="what a row is (default ccds: excluded CCDs; instances for a position query)")
    p.add_argument("--expnum", type=expnum_range, help="one EXPNUM N, or a range A-B (inclusive)")
    p.add_argument("--ccdnum", type=ccdnum, nargs="+", help="only these CCDNUMs (1-62)")
    p.add_argument("--band", nargs="+", help="only these filter bands")
    p.add_argument("--since", type=obs_date, help="DATE-OBS >= this (2017, 2017-03, 2017-03-05)")
    p.add_argument("--until", type=obs_date, help="DATE-OBS up to and including this")
    p.add_argument("--class", dest="classes", nargs="+", choices=CLASS_ORDER, help="only these artifact classes")
    p.add_argument("--min-score", type=fraction, help="only detections scoring at least this (0 to 1)")
    p.add_argument("--category", help="exclusion category (ghost-scatter, streak, ...)")
    p.add_argument("--review", choices=REVIEW_FILTERS,
                   help="the reviewed list of desghost's excluded CCDs (operators' decisions applied; ANALYST per "
                        "row: the person, or desghost-<model> where nobody reviewed it), or only its rows a person "
                        "has reviewed (reviewed-only) or not yet (unreviewed-only); --what ccds, --source desghost")
    p.add_argument("--ra", type=float, help="position query: right ascension, degrees (ICRS); with --dec. Rows are "
                                            "the instances (default) whose mask covers it, the exposures with such "
                                            "an instance, or (--what ccds) the excluded CCDs whose whole area covers "
                                            "it, as the exclusion list removes them")
    p.add_argument("--dec", type=float, help="position query: declination, degrees; with --ra")
    p.add_argument("--radius", type=float, default=0.0,
                   help="position query: also what comes within this many arcseconds of the position (default 0)")
    p.add_argument("--region", help="position query for many targets: a CSV or FITS file with RA and DEC columns "
                                    "(degrees; ID or NAME names each target), one row per target and hit; or "
                                    "box:RA_MIN,RA_MAX,DEC_MIN,DEC_MAX for everything meeting an RA/Dec box")
    p.add_argument("--format", default="table", choices=FORMATS,
                   help="aligned table, CSV, FITS exclusion table (needs -o) or ray-tracing list (default table)")
    p.add_argument("-o", "--output", help="write to this file instead of stdout (required for fits)")
    p.add_argument("--columns", help="comma-separated columns to show, or 'all' (default: a compact set for "
                                     "--format table, every column for csv)")

    p = add_parser(
        sub, "import-raytrace", cmd_import_raytrace, help="load ray-tracing exclusion lists into the catalog",
        description="Load DELVE/DES ray-tracing lists (ghost-scatter, streak, noise, problem, ccdNN ...) as their "
                    "own source; the category comes from the file name. Re-importing a file replaces its rows.",
        epilog="example:\n  desghost import-raytrace ../shared/data/raytrace/y*/*.txt --catalog cat.sqlite\n")
    p.add_argument("files", nargs="+", help="ray-tracing list files")
    p.add_argument("--catalog", default=None, help=catalog_help)
    p.add_argument("--source", default="raytrace", help="the source name the rows get (default raytrace)")

    p = add_parser(
        sub, "compare", cmd_compare, parents=[json_parent("print the comparison as JSON")],
        help="CCD-level precision/recall/F1 between two catalog sources",
        description="Compare the excluded CCDs of two sources over the exposures both cover (the paper's "
                    "Mask R-CNN vs ray-tracing comparison).",
        epilog="example:\n  desghost compare --truth raytrace --pred desghost --since 2016-08 --until 2017-02\n")
    p.add_argument("--catalog", default=None, help=catalog_help)
    p.add_argument("--truth", default="raytrace", help="the source taken as truth (default raytrace)")
    p.add_argument("--pred", default="desghost", help="the source scored against it (default desghost)")
    p.add_argument("--category", default="ghost-scatter", help="the truth source's category")
    p.add_argument("--since", type=obs_date, help="DATE-OBS >= this (2017, 2017-03, 2017-03-05)")
    p.add_argument("--until", type=obs_date, help="DATE-OBS up to and including this")


def cmd_query(args):
    check_date_order(args.since, args.until)
    if args.ra is not None or args.dec is not None or args.region:
        return cmd_position_query(args)
    if args.radius:
        raise UsageError("--radius applies to a position query: give --ra and --dec, or --region")
    args.what = args.what or "ccds"
    try:
        sql, params = build_query(args.what, args.source, args.expnum, args.ccdnum, args.band, args.since,
                                  args.until, args.classes, args.min_score, args.category)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with Catalog(catalog_path(args.catalog), readonly=True) as cat:
        rows = cat.query(sql, params)
        if args.review:
            if args.what != "ccds" or args.source != "desghost":
                raise UsageError("--review lists desghost's excluded CCDs: use it with --what ccds --source desghost")
            reviewed = [r for r in reviewed_list(cat, rows, args.expnum)
                        if args.review == "reviewed" or r.reviewed == (args.review == "reviewed-only")]
    if args.review:
        return _write_reviewed(args, reviewed)
    if args.format in ("fits", "raytrace") and args.what != "ccds":
        raise UsageError(f"--format {args.format} needs --what ccds")
    if args.format == "fits":
        if not args.output:
            raise UsageError("--format fits needs -o FILE")
        with writing(args.output):
            write_fits(args.output, rows, " ".join(sys.argv[1:]))
        log(args, f"{len(rows)} rows -> {args.output}")
        return 0
    if args.format in ("table", "csv"):
        try:
            rows = select_columns(rows, args.what, args.columns, args.format == "table")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    text = {"raytrace": as_raytrace, "csv": as_csv, "table": as_table}[args.format](rows)
    return emit_text(args, text)


def cmd_import_raytrace(args):
    total = parsed = 0
    for path in args.files:
        if not os.path.isfile(path):
            raise UsageError("no such file", path=path)
    with Catalog(catalog_path(args.catalog)) as cat:
        for path in args.files:
            category, season = list_category(path)
            rows = read_list(path)
            n = cat.import_exclusions(rows, args.source, category, os.path.basename(path))
            total += n
            parsed += len(rows)
            log(args, f"{path}: {len(rows)} rows read, {n} new ({category}, {season or 'no season'})")
        by_cat = cat.query("SELECT category, COUNT(*) AS n FROM excluded_ccds WHERE source = ? GROUP BY category "
                           "ORDER BY n DESC", (args.source,))
    print(f"read {parsed} rows from {len(args.files)} files; {total} distinct (category, EXPNUM, CCDNUM) rows "
          f"in source '{args.source}': "
          + ", ".join(f"{r['category']} {r['n']}" for r in by_cat))
    return 0


def cmd_compare(args):
    check_date_order(args.since, args.until)
    with Catalog(catalog_path(args.catalog), readonly=True) as cat:
        known = {r["source"] for r in cat.query("SELECT source FROM exposures UNION SELECT source FROM excluded_ccds "
                                                "UNION SELECT source FROM coverage")}
        for option, source in (("--truth", args.truth), ("--pred", args.pred)):
            if source not in known:
                raise UsageError(f"{option} {source}: no such source in {cat.path}; it has "
                                 + (", ".join(sorted(known)) or "none"))
        s = compare_sources(cat, args.truth, args.pred, args.category, args.since, args.until)
    if not s["n_exposures"]:
        if args.json:   # the record still goes to stdout (metrics null) for scripts that read it
            print(json_line(s))
        raise UsageError(f"no exposure is covered by both {args.pred} and {args.truth} ({args.category}"
                         + (f", {args.since or '...'} to {args.until or '...'}" if args.since or args.until else "")
                         + "): nothing to compare")
    if args.json:
        print(json_line(s))
    else:
        print(f"{args.pred} vs {args.truth} ({args.category}), {s['n_exposures']} exposures covered by both:")
        print(f"  CCD-level precision {format_metric(s['precision'])}  recall {format_metric(s['recall'])}  F1 {format_metric(s['f1'])}"
              f"  (tp {s['tp']}, fp {s['fp']}, fn {s['fn']})")
    return 0


def _write_reviewed(args, reviewed):
    """``query --review``: the reviewed rows in the asked format."""
    if args.format == "fits":
        if not args.output:
            raise UsageError("--format fits needs -o FILE")
        cards = [{"name": "DGVERS", "value": f"desghost {__version__}"},
                 {"name": "DGREVIEW", "value": args.review, "comment": "reviewed list (operators' decisions applied)"}]
        decided = [r.decision for r in reviewed]
        with writing(args.output):
            write_exclusion_fits(args.output, [r.exclusion for r in reviewed], cards, extra_columns=[
                ("DECIDED_AT", "S25", [d.decided_at if d else "" for d in decided]),
                ("COMMENT", "S200", [d.comment if d else "" for d in decided])])
        log(args, f"{len(reviewed)} rows -> {args.output}")
        return 0
    if args.format == "raytrace":
        text = "\n".join(raytrace_lines([r.exclusion for r in reviewed])) + "\n"
    else:
        rows = [reviewed_row_dict(r) for r in reviewed]
        try:
            rows = select_columns(rows, "reviewed", args.columns, args.format == "table")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        text = as_table(rows) if args.format == "table" else as_csv(rows)
    return emit_text(args, text)
