"""``desghost report``: the HTML report of a night's output folder."""
from desghost.catalog.location import CATALOG_HELP, catalog_path
from desghost.cli.common import add_parser, log
from desghost.report.html import write_report

__all__ = ["cmd_report", "register"]


def register(sub):
    """Add ``report`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "report", cmd_report, help="write the HTML report of a night's output folder",
        description="Write a static HTML report of an output folder of `desghost night`, `desghost run` or the "
                    "ceci stage: a summary, pictures (CCD exclusions on the focal plane, instance scores by "
                    "class, the masked sky when a HEALPix map is there), a sortable table of the exposures with "
                    "overlay thumbnails and the failures with their reasons, and a page per exposure. It opens "
                    "from the local disk with no network. `desghost night` writes it at the end by itself; "
                    "running this again replaces it.",
        epilog="examples:\n"
               "  desghost report out/20171201                        # -> out/20171201/report/index.html\n"
               "  desghost report out/ --catalog survey.sqlite -o /www/nights/20171201\n"
               "  desghost report out/ --healpix out/ghosts_nside1024.fits\n")
    p.add_argument("outdir", help="the output folder (products, night_summary.json)")
    p.add_argument("--catalog", help=CATALOG_HELP)
    p.add_argument("-o", "--output", help="report folder (default OUTDIR/report); replaced when it exists")
    p.add_argument("--healpix", metavar="MAP",
                   help="a HEALPix map of masked area to show (default: one found in OUTDIR, if any)")


def cmd_report(args):
    index = write_report(args.outdir, catalog_path(args.catalog, args.outdir), args.output, args.healpix)
    log(args, f"report: {index}")
    return 0
