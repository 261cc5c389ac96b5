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
from matplotlib.ticker import FuncFormatter, MaxNLocator

from desghost.atomic import atomic_path
from desghost.classes import CLASS_COLORS, CLASS_ORDER

__all__ = ["DPI", "exclusion_map", "masked_sky", "score_histogram"]

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
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, 1)
    ax.legend(fontsize=8, frameon=False)
    ax.set_facecolor("0.97")
    return _save(fig, path)


def _sky_window(ra, dec, pad_deg, max_px=1200):
    """Where to draw: ``(ra_c, lonra, latra, step_deg)``, RA offsets from ``ra_c`` (unwrapped at 0/360)."""
    ra_c = float(np.degrees(np.angle(np.exp(1j * np.radians(ra)).mean()))) % 360
    d_ra = (ra - ra_c + 180) % 360 - 180
    lonra = [float(d_ra.min()) - pad_deg, float(d_ra.max()) + pad_deg]
    latra = [max(float(dec.min()) - pad_deg, -90.0), min(float(dec.max()) + pad_deg, 90.0)]
    step = max(pad_deg / 6, (lonra[1] - lonra[0]) / max_px, (latra[1] - latra[0]) / max_px)
    return ra_c, lonra, latra, step


def _coarser(healpix_map, pix, nside_out):
    """The map at ``nside_out`` (areas of merged pixels summed), from its non-empty pixels ``pix``."""
    import healpy as hp

    nside = hp.npix2nside(healpix_map.size)
    parent = hp.ring2nest(nside, pix) >> (2 * int(round(np.log2(nside // nside_out))))
    out = np.zeros(hp.nside2npix(nside_out))
    np.add.at(out, hp.nest2ring(nside_out, parent), healpix_map[pix])
    return out


def _projected_fraction(healpix_map, pix, ra_c, lonra, latra, step):
    """The masked fraction of each pixel on a plate carree grid (pixels merged until the grid fills them)."""
    import healpy as hp

    nside = hp.npix2nside(healpix_map.size)
    while nside > 1 and hp.nside2resol(nside, arcmin=True) / 60 < 2 * step:
        nside //= 2
    values = healpix_map if nside == hp.npix2nside(healpix_map.size) else _coarser(healpix_map, pix, nside)
    proj = hp.projector.CartesianProj(rot=(ra_c, 0, 0), lonra=lonra, latra=latra,
                                      xsize=max(2, int(np.ceil((lonra[1] - lonra[0]) / step))),
                                      ysize=max(2, int(np.ceil((latra[1] - latra[0]) / step))))
    grid = proj.projmap(values, lambda x, y, z: hp.vec2pix(nside, x, y, z))
    return np.ma.masked_less_equal(grid / hp.nside2pixarea(nside, degrees=True), 0)


def masked_sky(path, healpix_map):
    """The masked area of a HEALPix map (deg^2 per pixel), each pixel filled at its place on the sky.

    The map is projected on an RA, Dec grid (healpy's Cartesian projection; RA grows to the
    left, Dec axis scaled by cos Dec), with pixels merged where the grid is coarser than them.

    Parameters
    ----------
    path : str or Path
    healpix_map : ndarray of float64
        A RING-ordered HEALPix map as ``desghost healpix`` writes it.
    """
    import healpy as hp

    nside = hp.npix2nside(healpix_map.size)
    pix = np.flatnonzero(healpix_map > 0)
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    ax.set_title(f"masked sky: {healpix_map.sum():.4f} deg$^2$ in {pix.size} pixels (nside {nside})", fontsize=9)
    if not pix.size:
        ax.text(0.5, 0.5, "no masked pixel", ha="center", va="center", transform=ax.transAxes)
        return _save(fig, path)
    ra, dec = hp.pix2ang(nside, pix, lonlat=True)
    ra_c, lonra, latra, step = _sky_window(ra, dec, 2 * hp.nside2resol(nside, arcmin=True) / 60)
    grid = _projected_fraction(healpix_map, pix, ra_c, lonra, latra, step)
    shown = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                      extent=(ra_c + lonra[1], ra_c + lonra[0], latra[0], latra[1]))
    ax.set_aspect(1 / max(np.cos(np.radians(np.mean(latra))), 0.05))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x % 360:g}"))
    fig.colorbar(shown, ax=ax, label="masked fraction of the pixel")
    ax.set_facecolor("0.93")
    ax.set_xlabel("RA (deg)")
    ax.set_ylabel("Dec (deg)")
    return _save(fig, path)
