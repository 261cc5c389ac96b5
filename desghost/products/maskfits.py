"""The bad-region mask FITS of one exposure.

Primary header: provenance.  One PLIO-compressed int32 image per CCD present (EXTNAME =
DETPOS, CCDNUM, EXPNUM, the mask planes declared as ``MP_<NAME> = bit``) at full CCD
resolution; a FOCALPLANE image with the 400x400 mask; an INSTANCES table.
"""
import fitsio
import numpy as np

from ..atomic import atomic_path
from ..project import ccd_mask
from .bits import class_value, plane_cards

#: Rows per PLIO tile of the CCD masks: 64-row tiles make files about 9x smaller than
#: one-row tiles (12 KB instead of 107 KB for a CCD with one ghost) at the same write time.
MASK_TILE_ROWS = 64

INSTANCE_DTYPE = np.dtype([("ID", ">i2"), ("CLASS", "S8"), ("SCORE", ">f4"), ("BBOX", ">f4", (4,)),
                           ("AREA_PX", ">i4"), ("NCCD", ">i2"), ("CCDNUMS", "S200"), ("AREA_FRACS", "S400")])


def focal_plane_mask(instances, shape):
    """The 400x400 bit mask: each instance's class bit OR-ed in."""
    out = np.zeros(shape, dtype=np.int32)
    for inst in instances:
        out[inst.mask] |= class_value(inst.class_name)
    return out


def instance_table(instances, coverages):
    arr = np.zeros(len(instances), dtype=INSTANCE_DTYPE)
    for i, (inst, cov) in enumerate(zip(instances, coverages)):
        ccds = ",".join(str(c.ccdnum) for c in cov)
        fracs = ",".join(f"{c.area_frac:.4f}" for c in cov)  # covered fraction of each CCD, same order
        arr[i] = (i, inst.class_name.encode(), inst.score, inst.bbox_px, inst.area_px, len(cov), ccds[:200].encode(),
                  fracs[:400].encode())
    return arr


def write_mask_fits(path, result, layout, ccd_frames, provenance_cards):
    """Write the mask file atomically.

    Parameters
    ----------
    result : ExposureResult
    ccd_frames : dict
        ``{ccdnum: (ny_px, nx_px, orientation, wcs_cards)}`` of the CCDs present (dead ones are
        skipped); the WCS cards (data-section pixel frame) go into each CCD's header.
    """
    touching = {}
    for inst, cov in zip(result.instances, result.coverages):
        for c in cov:
            touching.setdefault(c.ccdnum, []).append(inst)
    with atomic_path(path) as tmp:
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(None, header=provenance_cards + plane_cards())
            for ccdnum in sorted(ccd_frames):
                if ccdnum in result.dead_ccds:
                    continue
                ny, nx, orientation, wcs = ccd_frames[ccdnum]
                mask = np.zeros((ny, nx), dtype=np.int32)
                for inst in touching.get(ccdnum, []):
                    mask[ccd_mask(inst.mask, layout.ccds[ccdnum].box_px, ny, nx, orientation)] |= class_value(inst.class_name)
                detpos = layout.ccds[ccdnum].detpos
                cards = [{"name": "CCDNUM", "value": ccdnum}, {"name": "DETPOS", "value": detpos},
                         {"name": "EXPNUM", "value": result.expnum}] + plane_cards() + list(wcs)
                f.write(mask, extname=detpos, header=cards, compress="PLIO", tile_dims=[MASK_TILE_ROWS, nx])
            f.write(focal_plane_mask(result.instances, result.image.shape), extname="FOCALPLANE",
                    header=[{"name": "EXPNUM", "value": result.expnum}] + plane_cards(),
                    compress="PLIO", tile_dims=[1, result.image.shape[1]])
            f.write(instance_table(result.instances, result.coverages), extname="INSTANCES")
    return str(path)
