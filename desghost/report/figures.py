"""The report's pictures, drawn with matplotlib: exclusions per CCD, masked sky, instance scores.

Each function writes one PNG (atomically) and returns its path.  Figures are made with
matplotlib's object API (no pyplot, no global state, no screen).
"""
import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from desghost.atomic import atomic_path
from desghost.classes import CLASS_COLORS, CLASS_ORDER

DPI = 100


def _save(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=DPI, bbox_inches="tight")
    return str(path)


def _rgb(color):
    return tuple(c / 255 for c in color)


def exclusion_map(path, layout, fraction_by_ccd, n_exposures):
    """The focal plane with each CCD coloured by the fraction of the night's exposures that excluded it.

    Parameters
    ----------
    path : str or Path
        The PNG to write.
    layout : CameraLayout
        CCD boxes in focal-plane image pixels (as on the overlays: north up, east left).
    fraction_by_ccd : dict
        ``{ccdnum: fraction in 0..1}``.
    n_exposures : int
        For the title.
    """
    fig = Figure(figsize=(6.4, 6.0))
    ax = fig.subplots()
    cmap = colormaps["magma_r"]
    for ccdnum, geom in layout.ccds.items():
        x0, y0, x1, y1 = geom.box_px
        frac = fraction_by_ccd.get(ccdnum, 0.0)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, facecolor=cmap(0.05 + 0.95 * frac), edgecolor="0.4",
                               linewidth=0.6))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, f"{ccdnum}\n{frac:.0%}" if frac else str(ccdnum), ha="center",
                va="center", fontsize=6.5, color="white" if frac > 0.5 else "black")
    height, width = layout.image_shape_px
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"CCDs excluded, share of {n_exposures} exposures (north up, east left)", fontsize=9)
    fig.colorbar(ScalarMappable(cmap=cmap, norm=Normalize(0, 1)), ax=ax, fraction=0.04, pad=0.02, label="share of exposures")
    return _save(fig, path)


def score_histogram(path, scores_by_class, thresholds):
    """Histogram of the instance scores of the night by class, with the score threshold(s) marked."""
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.subplots()
    bins = np.linspace(0, 1, 21)
    for cls in CLASS_ORDER:
        scores = scores_by_class.get(cls, [])
        ax.hist(scores, bins=bins, histtype="step", linewidth=1.8, color=_rgb(CLASS_COLORS[cls]),
                label=f"{cls} ({len(scores)})")
    for thr in thresholds:
        ax.axvline(thr, color="0.2", linestyle="--", linewidth=1)
        ax.text(thr, ax.get_ylim()[1] * 0.95, f" threshold {thr:.2f}", fontsize=8, va="top")
    ax.set_xlabel("instance score")
    ax.set_ylabel("instances")
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    ax.set_facecolor("0.97")
    return _save(fig, path)


def masked_sky(path, healpix_map):
    """The masked area of a HEALPix map (deg^2 per pixel), each non-empty pixel at its RA, Dec.

    Parameters
    ----------
    path : str or Path
    healpix_map : ndarray of float64
        A RING-ordered HEALPix map as ``desghost healpix`` writes it.
    """
    import healpy as hp

    nside = hp.npix2nside(healpix_map.size)
    pix = np.flatnonzero(healpix_map > 0)
    ra, dec = hp.pix2ang(nside, pix, lonlat=True)
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    points = ax.scatter(ra, dec, c=healpix_map[pix], s=4, cmap="viridis", marker="s")
    fig.colorbar(points, ax=ax, label="masked deg$^2$ per pixel")
    ax.invert_xaxis()
    ax.set_xlabel("RA (deg)")
    ax.set_ylabel("Dec (deg)")
    ax.set_title(f"masked sky: {healpix_map.sum():.4f} deg$^2$ in {pix.size} pixels (nside {nside})", fontsize=9)
    return _save(fig, path)
