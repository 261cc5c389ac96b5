"""``desghost review`` (the review page, or decisions from a file) and ``desghost export-via``."""
import sys

from desghost.catalog.location import CATALOG_HELP
from desghost.cli.common import add_parser, log
from desghost.errors import UsageError
from desghost.review.app import ReviewNight, check_loopback, create_app
from desghost.review.checks import check_against_night
from desghost.review.decisions_file import DECISION_COLUMNS, read_decisions

__all__ = ["cmd_review", "register"]


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
                                   lambda d: check_against_night(d, night.exposures, set(night.layout.ccdnums)))
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
