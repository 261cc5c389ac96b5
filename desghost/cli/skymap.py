"""``desghost healpix``: a HEALPix map of masked sky area from desghost mask files."""
import numpy as np

from desghost.cli.common import add_parser, log
from desghost.options import nside, positive_int
from desghost.products.skymap import add_masks_to_map

__all__ = ["cmd_healpix", "register"]


def register(sub):
    """Add ``healpix`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "healpix", cmd_healpix, help="HEALPix map of masked sky area from desghost mask files",
        description="Project the masked pixels of desghost mask files (D*_desghost_mask.fits.fz) onto the sky "
                    "with each CCD's WCS and accumulate the masked area (deg^2) per HEALPix pixel. The output "
                    "is a standard HEALPix FITS map (RING, celestial) that healpy.read_map reads.",
        epilog="examples:\n"
               "  desghost healpix out/D*_desghost_mask.fits.fz -o ghosts_nside1024.fits --nside 1024\n"
               "  desghost healpix out/D00700001_desghost_mask.fits.fz -o map.fits --add   # accumulate\n")
    p.add_argument("masks", nargs="+", help="desghost mask files (D*_desghost_mask.fits.fz)")
    p.add_argument("-o", "--output", required=True, help="the HEALPix map file to write")
    p.add_argument("--nside", type=nside, default=1024, help="HEALPix nside of a new map (default %(default)s)")
    p.add_argument("--step", type=positive_int, default=8, help="sample every N-th CCD pixel (default %(default)s)")
    p.add_argument("--add", action="store_true", help="add to the map in OUTPUT instead of replacing it")


def cmd_healpix(args):
    out, hmap = add_masks_to_map(args.output, args.masks, args.nside, args.step, add=args.add)
    log(args, f"{len(args.masks)} mask files -> {out}: {np.count_nonzero(hmap)} pixels, "
              f"{hmap.sum():.4f} deg2 masked in total")
    return 0
