"""The bright star behind a family of ghosts: where it is and how bright (pure numpy).

DECam's ghosts of one bright star lie on the radial line through the star and the optical
axis, at nearly fixed fractions of the star's distance from the axis.  Measured on the 12 real
DeepGhostBusters images that hold a large saturated star (``benchmarks/compare_sim_real.py``
prints the saturated areas): ghost centres lie within 0.1 star-radii of that line, and the
outermost ghost on the star's side sits at 1.03-1.15 times the star's distance (a small, bright
ghost hugging the star), with larger ones at about 0.75, 0.5 and 0.2, and others on the far side
at -0.5 to -1.1.  Images with several ghosts hold a star saturating 100-750 pixels of the 400x400
image; images without one saturate at most about 50.  The renderer draws its ghosts from whole
annotated images, so the star is placed where that family of ghosts says it must be.
"""
import numpy as np

from desghost.simulate.stars import StarField, draw_stars

__all__ = ["draw_source_star", "GHOST_RADIUS_RATIOS", "LONE_SOURCE_PROBABILITY", "MIN_SOURCE_RADIUS_PX",
           "OUTER_GHOST_RADIUS_RATIO", "scene_stars", "SOURCE_FLUX_RANGE", "source_position_px"]

#: Where the outermost ghost on the star's side sits, in units of the star's distance from the
#: optical axis (measured: 1.03-1.15, median 1.08).
OUTER_GHOST_RADIUS_RATIO = (1.03, 1.15)
#: Total flux of a source star, binned-noise units x image pixels (log-uniform).  With its
#: ghosts, images with at least 3 instances then have a largest saturated patch of median 193
#: pixels (p16-p84 99-227; real: 214, 71-345), the others 30 (real: 34); printed by
#: ``benchmarks/compare_sim_real.py``.
SOURCE_FLUX_RANGE = (10 ** 5.6, 10 ** 6.4)
#: Chance that an image with no ghost still holds a source-bright star (its ghosts off the
#: focal plane, or not annotated), so that a bright star alone never means "ghost".
LONE_SOURCE_PROBABILITY = 0.1
#: Positions of a star's ghosts along its radial line, in units of the star's distance from the
#: optical axis (the clusters seen on the real images); used to tell which way the star lies.
GHOST_RADIUS_RATIOS = (1.08, 0.75, 0.5, 0.2, -0.55, -1.0)
#: Closest the star is placed to the optical axis, image pixels (a star on the axis puts its
#: ghosts on top of itself).
MIN_SOURCE_RADIUS_PX = 15.0


def source_position_px(ghost_cols_px, ghost_rows_px, ghost_areas_px, center_px=(200.0, 200.0),
                       outer_ratio=1.08):
    """Position of the star whose ghosts are centred at the given points.

    The radial line is the area-weighted principal axis of the ghost centres about the optical
    axis.  Of its two directions, the star's is the one whose ghost positions, in units of the
    star's distance (the outermost ghost on that side at ``outer_ratio``), fall closest (weighted by the
    square root of their areas) to the measured ratios ``GHOST_RADIUS_RATIOS``; the star sits at
    that outermost ghost's distance over ``outer_ratio``.  On the real images with a source
    star this puts it within 30 pixels of the saturated core for 91% of the annotations (median
    9 pixels); it misses where an annotator left out the ghost hugging the star.

    Parameters
    ----------
    ghost_cols_px, ghost_rows_px, ghost_areas_px : array_like
        Centres and areas of the Bright and Faint ghosts (at least one).
    center_px : (float, float)
        Optical axis in image pixels (col, row).
    outer_ratio : float
        Outermost ghost distance / star distance.

    Returns
    -------
    (float, float)
        Star position (col, row) in image pixels.
    """
    v = np.column_stack([np.asarray(ghost_cols_px, float) - center_px[0],
                         np.asarray(ghost_rows_px, float) - center_px[1]])
    w = np.sqrt(np.asarray(ghost_areas_px, float))
    if len(v) == 0:
        raise ValueError("source_position_px needs at least one ghost")
    if np.any(np.linalg.norm(v, axis=1) > 1e-6):  # its sign is chosen below
        axis = np.linalg.svd(v * w[:, None], full_matrices=False)[2][0]
    else:
        axis = np.array([1.0, 0.0])
    along = v @ axis
    ratios = np.asarray(GHOST_RADIUS_RATIOS)
    best = None
    for sign in (1.0, -1.0):  # the side whose ghost pattern fits the measured ratios best
        a = sign * along
        if a.max() <= 0:
            continue
        k = a / (a.max() / outer_ratio)
        cost = float(np.sum(w * np.min(np.abs(k[:, None] - ratios[None, :]), axis=1)))
        if best is None or cost < best[0]:
            best = (cost, sign, float(a.max()))
    if best is None:  # every ghost on the axis itself
        best = (0.0, 1.0, 0.0)
    _, sign, outermost = best
    axis = sign * axis
    radius = max(outermost / outer_ratio, MIN_SOURCE_RADIUS_PX)
    return center_px[0] + radius * axis[0], center_px[1] + radius * axis[1]


def draw_source_star(rng, artifacts, lone_probability=LONE_SOURCE_PROBABILITY):
    """The bright source star of one image's ghosts, or ``None``.

    Parameters
    ----------
    rng : numpy.random.Generator
    artifacts : list of Artifact
        The image's artifacts; only Bright and Faint ghosts place the star.
    lone_probability : float
        Chance of a source star in an image without ghosts (placed anywhere on the focal plane).

    Returns
    -------
    StarField or None
        One star.
    """
    ghosts = [a for a in artifacts if a.cls in ("Bright", "Faint")]
    flux = float(np.exp(rng.uniform(*np.log(SOURCE_FLUX_RANGE))))
    if ghosts:
        col, row = source_position_px([a.col_px for a in ghosts], [a.row_px for a in ghosts],
                                      [np.pi * a.a_px * a.b_px for a in ghosts],
                                      outer_ratio=float(rng.uniform(*OUTER_GHOST_RADIUS_RATIO)))
    elif rng.random() < lone_probability:
        r, t = 190.0 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        col, row = 200.0 + r * np.cos(t), 200.0 + r * np.sin(t)
    else:
        return None
    return StarField(np.array([col]), np.array([row]), np.array([flux]))


def scene_stars(rng, artifacts):
    """The stars of one simulated image: the field (:func:`draw_stars`) plus the ghosts' source.

    Parameters
    ----------
    rng : numpy.random.Generator
    artifacts : list of Artifact

    Returns
    -------
    StarField
    """
    field = draw_stars(rng)
    source = draw_source_star(rng, artifacts)
    if source is None:
        return field
    return StarField(*(np.concatenate([getattr(source, k), getattr(field, k)]) for k in ("col_px", "row_px", "flux")))
