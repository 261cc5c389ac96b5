"""``desghost review`` (the review page, or decisions from a file) and ``desghost export-via``."""
import sys

from desghost.catalog.location import CATALOG_HELP
from desghost.cli.common import add_parser, log, warn
from desghost.errors import UsageError
from desghost.review.app import ReviewNight, check_loopback, create_app
from desghost.review.checks import check_against_night
from desghost.review.decisions_file import DECISION_COLUMNS, read_decisions
from desghost.review.via_export import export_via

__all__ = ["cmd_export_via", "cmd_review", "register", "register_export"]


def register(sub):
    """Add ``review`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "review", cmd_review, help="review a night's detections in a web page, or apply decisions from a file",
        description="Serve the review page of a night's output folder on this machine (127.0.0.1): per exposure "
                    "the overlay with numbered instances, confirm or reject each instance, mark the exposure clean, "
                    "click CCDs to add an artifact the model missed, with a comment; keyboard shortcuts and a "
                    "queue with the least certain exposures first. Each decision goes to the catalog at once "
                    "(never overwriting an earlier one; the newest per target counts) and feeds the reviewed "
                    "exclusion list (`desghost query --review reviewed`). Without --analyst the page is "
                    "read-only. With --apply, the decisions of a CSV file are checked and written all together "
                    "or not at all, and nothing is served.",
        epilog="examples:\n"
               "  desghost review out/20171201 --analyst 'A. Drlica-Wagner'     # then open http://127.0.0.1:8765/\n"
               "  ssh -L 8765:127.0.0.1:8765 pipeline-host                      # review a remote night from a laptop\n"
               "  desghost review out/20171201 --analyst ann --apply decisions.csv\n"
               f"decisions file columns: {','.join(DECISION_COLUMNS)} (see docs/usage.md)\n")
    p.add_argument("outdir", help="the night's output folder (products and catalog)")
    p.add_argument("--analyst", default="", help="who decides (recorded on every decision and as ANALYST of the rows "
                                                 "a person confirmed or added); required to write")
    p.add_argument("--catalog", help=CATALOG_HELP)
    p.add_argument("--port", type=int, default=8765, help="TCP port of the page (default 8765; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to bind (default 127.0.0.1; any other interface is refused)")
    p.add_argument("--apply", metavar="CSV", help="apply the decisions of this CSV file instead of serving the page")


def cmd_review(args):
    check_loopback(args.host)
    night = ReviewNight(args.outdir, args.catalog)
    if args.apply:
        if not args.analyst.strip():
            raise UsageError("--apply needs --analyst NAME (who decided); nothing was written")
        decisions = read_decisions(args.apply, args.analyst.strip(),
                                   lambda d: check_against_night(d, night.exposures, night.layout))
        night.record(decisions)
        log(args, f"review: {len(decisions)} decisions applied from {args.apply} by {args.analyst.strip()}")
        return 0
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, create_app(night, args.analyst))
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"desghost review: http://{host}:{server.server_port}/  ({len(night.exposures)} exposures; "
          f"{'analyst ' + args.analyst.strip() if args.analyst.strip() else 'read-only: no --analyst'}; "
          "Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register_export(sub):
    """Add ``export-via`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "export-via", cmd_export_via, help="write a reviewed night as a VIA 2.0 project (training data)",
        description="Write the night's 400x400 focal-plane images (JPEG, Ghost_img_D<expnum>.jpg, as the real "
                    "training images) and a VIA 2.0 project (via_project.json) with the reviewed instances as "
                    "polygon regions: Type = Bright/Faint/Rays and the score; instances a person rejected are left "
                    "out, artifacts a person added are in. Open the project in VIA 2 (one offline HTML file), "
                    "correct the regions, save it, and fine-tune on it with `desghost train --real-images DIR "
                    "--real-annotations project.json`.",
        epilog="examples:\n"
               "  desghost export-via out/20171201 -o via/20171201\n"
               "  desghost train runs/ft --init-model default --steps 150 --real-images via/20171201 \\\n"
               "      --real-annotations via/20171201/via_project.json --real-fraction 0.5\n")
    p.add_argument("outdir", help="the night's output folder (overlays and catalog)")
    p.add_argument("-o", "--output", required=True, help="folder for the images and via_project.json")
    p.add_argument("--catalog", help=CATALOG_HELP)
    p.add_argument("--name", help="the VIA project's name (default desghost_<folder name>)")


def cmd_export_via(args):
    night = ReviewNight(args.outdir, args.catalog)
    done = export_via(night, args.output, args.name)
    for expnum in done["skipped"]:
        warn(f"EXPNUM {expnum} has no overlay (written with --no-overlay?): not exported")
    log(args, f"export-via: {done['images']} images, {done['regions']} regions -> {done['project']}")
    return 0
