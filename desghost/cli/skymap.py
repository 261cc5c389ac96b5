"""``desghost healpix``: a HEALPix map of masked sky area from desghost mask files."""
import numpy as np

from desghost.cli.common import add_parser, log
from desghost.errors import UsageError
from desghost.options import nside, positive_int
from desghost.products.skymap import add_masks_to_map
from desghost.products.sparse_map import (
    NSIDE_COVERAGE,
    NSIDE_SPARSE,
    add_masks_to_bitmask_map,
    bitmask_pixels,
    or_by_pixel,
)

__all__ = ["cmd_healpix", "cmd_skymap", "register", "register_skymap"]


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


def register_skymap(sub):
    """Add ``skymap`` to the subcommands ``sub``."""
    p = add_parser(
        sub, "skymap", cmd_skymap, help="healsparse bitmask map of the masked sky (DES Y6 convention)",
        description="OR the mask bits of desghost mask files (D*_desghost_mask.fits.fz) into a healsparse map: "
                    "NEST, nside_coverage 32 and nside_sparse 16384 by default (DES Y6), int32 with sentinel 0, "
                    "bits 15/16/17 = Bright/Faint/Rays as in the mask files, bit names in the metadata. A HEALPix "
                    "pixel is set when its centre falls on a masked CCD pixel (healsparse's own rule), so the "
                    "map's area is the masks' area. An existing map is ORed "
                    "into and replaced atomically: a failed run leaves it as it was. Coarser maps: healsparse's "
                    "map.degrade(nside, reduction='or').",
        epilog="examples:\n"
               "  desghost skymap out/20171201/D*_desghost_mask.fits.fz -o ghosts.hsp\n"
               "  desghost skymap out/20171202/D*_desghost_mask.fits.fz -o ghosts.hsp     # ORs the next night in\n"
               "  desghost skymap out/*/D*_desghost_mask.fits.fz -o ghosts_{band}.hsp --band\n"
               "  desghost skymap out/*/D*_desghost_mask.fits.fz -o excluded.hsp --whole-ccds   # as the list removes\n"
               "  python -c \"import healsparse as h; m = h.HealSparseMap.read('ghosts.hsp'); "
               "print(m.get_values_pos(150.1, 2.2, lonlat=True))\"\n")
    p.add_argument("masks", nargs="+", help="desghost mask files (D*_desghost_mask.fits.fz)")
    p.add_argument("-o", "--output", required=True,
                   help="the healsparse map (.hsp, FITS); with --band a name holding {band}")
    p.add_argument("--nside-sparse", type=nside, default=NSIDE_SPARSE,
                   help="HEALPix nside of the map's pixels (default %(default)s, DES Y6)")
    p.add_argument("--nside-coverage", type=nside, default=NSIDE_COVERAGE,
                   help="healsparse coverage nside (default %(default)s, DES Y6)")
    p.add_argument("--band", action="store_true", help="one map per filter band (the mask files' BAND card)")
    p.add_argument("--replace", action="store_true", help="replace an existing map instead of ORing into it")
    p.add_argument("--whole-ccds", action="store_true",
                   help="mask every CCD the exclusion table beside each mask file excludes, whole (its WCS polygon, "
                        "with the bit of the row's class): the sky the exclusion list removes")


def cmd_skymap(args):
    if args.band and "{band}" not in args.output:
        raise UsageError("--band writes one map per band: give an output name with {band}, e.g. ghosts_{band}.hsp")
    found = bitmask_pixels(args.masks, args.nside_sparse, whole_ccds=args.whole_ccds)
    if not args.band:
        merged = [(p, v) for p, v in found.values()]
        found = {"": or_by_pixel(np.concatenate([p for p, _ in merged] or [np.zeros(0, np.int64)]),
                                  np.concatenate([v for _, v in merged] or [np.zeros(0, np.int32)]))}
    for band, (pixels, values) in sorted(found.items()):
        path = args.output.replace("{band}", band or "none")
        m = add_masks_to_bitmask_map(path, pixels, values, args.nside_coverage, args.nside_sparse,
                                     add=not args.replace)
        log(args, f"{len(args.masks)} mask files -> {path}: {len(pixels)} pixels set by this run, "
                  f"{m.n_valid} in the map")
    return 0
