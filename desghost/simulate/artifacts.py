"""Ghost and scattered-light artifacts: drawing them and rendering them (pure numpy).

Artifacts live in focal-plane image pixel coordinates (continuous ``col``, ``row`` of the
400x400 image; the camera layout converts them to mm and to CCD pixels).  Brightness is in
units of the noise of one binned focal-plane pixel, so the same artifact looks the same in a
400x400 training image and in a full-resolution exposure assembled by the reader.

Morphology follows DECam's ghosts: Bright and Faint ghosts are out-of-focus images of the
pupil, i.e. soft-edged discs or annuli (the secondary-mirror obscuration) crossed by the
dark spider vanes, often nested and offset along the radial line from a bright star; Rays
are streaks and fans of scattered light.  Positions, sizes, shapes and counts are drawn
from whole images of the paper's annotations (``artifact_stats.json``).
"""
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from skimage.draw import polygon as draw_polygon

from desghost.family_geometry import AXIS_PX, LARGE_R_PX, family_stats, find_families

__all__ = ["AMPLITUDE_RANGE", "amplitude_range", "Artifact", "complete_family", "draw_artifacts", "extent_px",
           "family_disc", "FAMILY_DISC_AMPLITUDE_RANGE", "family_disc_probability", "FAMILY_DISC_PROBABILITY", "family_regions", "far_from",
           "footprint_mask", "footprint_polygon", "load_stats", "NESTED_COMPANION_PROBABILITY", "RAY_GLOW", "render",
           "SMALL_BRIGHT_AMPLITUDE_RANGE", "SMALL_BRIGHT_AREA_PX", "surface"]

#: Peak surface brightness (binned-noise units), drawn log-uniformly in these ranges.  Rule:
#: the contrast inside the annotations (median grey level above sky, in units of the pixel
#: noise) matches the 30 real images by class; ``benchmarks/compare_sim_real.py`` prints it by
#: class and size.  Measured target: real Faint ghosts 0.06-0.64; real Rays are thin bright
#: streaks over a dim glow (median 0.44, 90th percentile 6.1 above sky), which rays drawn as
#: such streaks (``Artifact.streaks``) with peaks of 8-40 give as 0.44 and 4.9.
AMPLITUDE_RANGE = {"Bright": (2.0, 9.0), "Faint": (0.35, 2.2), "Rays": (8.0, 40.0)}
#: Small Bright ghosts (an annotation record's ellipse area below ``SMALL_BRIGHT_AREA_PX``;
#: nested companions keep their ghost's amplitude) are drawn from their own, wider and dimmer
#: range.  Target: the real ones' median contrast 2.0 (p16 0.6, p84 6.8) and edge step 1.6;
#: with this range, and the source star's glow under the ghosts near it, the simulator gives
#: 2.9 (0.6, 5.7) and 2.8 in ``benchmarks/compare_sim_real.py``.
SMALL_BRIGHT_AREA_PX = 1000.0
SMALL_BRIGHT_AMPLITUDE_RANGE = (0.5, 7.0)
#: Chance that a drawn ghost gets extra nested companions.  The annotated records already
#: carry most ghost families (each nested ring was annotated as its own region), so this only
#: tops them up: with it, 26-29% of synthetic ghosts lie inside a larger ghost of their class,
#: against 28% for the eight annotators of the 30 real images and 19% in the paper's training
#: and validation annotations (``benchmarks/compare_sim_real.py`` prints the comparison).
NESTED_COMPANION_PROBABILITY = 0.05
#: Rays: brightness of the glow between the streaks, as a fraction of the streaks' peak.
RAY_GLOW = 0.03
#: Chance that a drawn image whose ghosts form a family but hold no big Faint disc gets the
#: family's disc (:func:`family_disc`); None: the measured rule, :func:`family_disc_probability`.
FAMILY_DISC_PROBABILITY = None
#: Peak brightness (binned-noise units, log-uniform) of an added family disc: below the drawn
#: Faint ghosts' range, because the annotators mark these discs where their edge is hardly
#: visible (real edge step 0.09 noise units, rendered Faint ghosts 0.43).
FAMILY_DISC_AMPLITUDE_RANGE = (0.12, 0.6)


@dataclass
class Artifact:
    """One artifact.

    Attributes
    ----------
    cls : str
        ``Bright``, ``Faint`` or ``Rays``.
    col_px, row_px : float
        Centre in focal-plane image pixels.
    a_px, b_px : float
        Semi-axes (ghosts) or half-length and half-width (rays), image pixels.
    angle_deg : float
        Direction of the major axis, counter-clockwise from +col towards -row... in image
        coordinates as (col, row) vectors: ``(cos, sin)``.
    amplitude : float
        Peak surface brightness in binned-noise units.
    hole_frac : float
        Inner (obscured) radius as a fraction of the outer one; 0 for a plain disc.
    rim : float
        Extra brightness at the edge, as a fraction of ``amplitude``.
    softness_px : float
        Width of the soft edge.
    spider : bool
        Whether the dark spider vanes cross the ghost.
    taper : float
        Rays only: width at the narrow end as a fraction of the wide end.
    streaks : int
        Rays only: number of bright streaks fanning out from the narrow end; 0 gives a soft
        cosine striation instead.
    streak_seed : int
        Rays only: seeds the streaks' positions, widths and brightnesses.
    """

    cls: str
    col_px: float
    row_px: float
    a_px: float
    b_px: float
    angle_deg: float
    amplitude: float
    hole_frac: float = 0.0
    rim: float = 0.0
    softness_px: float = 1.0
    spider: bool = False
    taper: float = 1.0
    streaks: int = 0
    streak_seed: int = 0

    def to_dict(self):
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@lru_cache(maxsize=1)
def load_stats():
    """The per-image annotation statistics shipped with the package."""
    text = resources.files("desghost.simulate").joinpath("artifact_stats.json").read_text()
    return json.loads(text)


def _local(art, col, row):
    """Coordinates along (u) and across (v) the artifact's major axis."""
    t = np.radians(art.angle_deg)
    dc = np.asarray(col, dtype=float) - art.col_px
    dr = np.asarray(row, dtype=float) - art.row_px
    return dc * np.cos(t) + dr * np.sin(t), -dc * np.sin(t) + dr * np.cos(t)


def _smoothstep_inside(dist, softness):
    """1 well inside (dist << 0), 0 well outside (dist >> 0), soft over ``softness``."""
    return 1.0 / (1.0 + np.exp(np.clip(dist / max(softness, 1e-3), -50, 50)))


def surface(art, col, row):
    """Surface brightness (binned-noise units) of one artifact at image coordinates."""
    u, v = _local(art, col, row)
    if art.cls == "Rays":
        return _rays_surface(art, u, v)
    rad = np.sqrt((u / art.a_px) ** 2 + (v / art.b_px) ** 2)  # 1 at the outer edge
    scale = np.sqrt(art.a_px * art.b_px)
    edge = (rad - 1.0) * scale
    val = _smoothstep_inside(edge, art.softness_px)
    val = val * (1.0 + art.rim * np.exp(-0.5 * (edge / max(2 * art.softness_px, 0.6)) ** 2))
    if art.hole_frac > 0:
        inner = (rad - art.hole_frac) * scale
        val = val * (1.0 - _smoothstep_inside(inner, art.softness_px))
    if art.spider:
        w = max(0.025 * scale, 0.4)
        d1 = np.abs(u + v) / np.sqrt(2)
        d2 = np.abs(u - v) / np.sqrt(2)
        val = val * (1.0 - 0.8 * np.exp(-0.5 * (np.minimum(d1, d2) / w) ** 2))
    return art.amplitude * val


def _rays_surface(art, u, v):
    s = np.clip((u + art.a_px) / (2 * art.a_px), 0.0, 1.0)  # 0 at the narrow end, 1 at the wide end
    half_w = art.b_px * (art.taper + (1 - art.taper) * s)
    inside = _smoothstep_inside(np.abs(v) - half_w, art.softness_px)
    inside = inside * _smoothstep_inside(np.abs(u) - art.a_px, art.softness_px)
    fade = 0.4 + 0.6 * (1 - s)
    striae = _streak_profile(art, v / np.maximum(half_w, 1e-3))
    return art.amplitude * inside * fade * striae


def _streak_profile(art, t):
    """Brightness across a ray at normalised transverse position ``t`` (-1..1 edge to edge).

    Real scattered-light rays are fans of thin bright streaks over a dim glow; lines of constant
    ``t`` converge towards the narrow end, so the streaks fan out as they do on the sky.
    """
    if art.streaks <= 0:
        return 0.75 + 0.25 * np.cos(np.pi * 3.0 * t)
    rng = np.random.default_rng(art.streak_seed)
    centres = rng.uniform(-0.9, 0.9, art.streaks)
    widths = rng.uniform(0.015, 0.07, art.streaks)
    peaks = rng.uniform(0.3, 1.0, art.streaks)
    peaks[rng.integers(art.streaks)] = 1.0
    lines = np.zeros(np.shape(t))
    for c, w, b in zip(centres, widths, peaks):
        lines = np.maximum(lines, b * np.exp(-0.5 * ((t - c) / w) ** 2))
    return RAY_GLOW + (1.0 - RAY_GLOW) * lines


def footprint_polygon(art, n_vertices=64):
    """Outline of the artifact's footprint in image pixels, shape (N, 2) as (col, row)."""
    t = np.radians(art.angle_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    if art.cls == "Rays":
        a, b = art.a_px, art.b_px
        local = np.array([[-a, -b * art.taper], [a, -b], [a, b], [-a, b * art.taper]])
    else:
        phi = np.linspace(0, 2 * np.pi, n_vertices, endpoint=False)
        local = np.column_stack([art.a_px * np.cos(phi), art.b_px * np.sin(phi)])
    return local @ rot.T + np.array([art.col_px, art.row_px])


def footprint_mask(art, shape=(400, 400)):
    """Boolean footprint in an image of ``shape`` (rows, cols), clipped to the image."""
    poly = footprint_polygon(art)
    rr, cc = draw_polygon(poly[:, 1] - 0.5, poly[:, 0] - 0.5, shape=shape)
    mask = np.zeros(shape, dtype=bool)
    mask[rr, cc] = True
    return mask


def amplitude_range(cls, area_px):
    """Range of the log-uniform peak brightness draw for a ghost of class ``cls`` and ellipse area."""
    if cls == "Bright" and area_px < SMALL_BRIGHT_AREA_PX:
        return SMALL_BRIGHT_AMPLITUDE_RANGE
    return AMPLITUDE_RANGE[cls]


def _artifact_from_record(rng, rec):
    cls, cx, cy, _r_eq, major, minor, angle = rec
    lo, hi = amplitude_range(cls, np.pi * major * minor / 4)
    amp = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    if cls == "Rays":
        return Artifact(cls, cx, cy, max(major / 2, 3.0), max(minor / 2, 1.5), angle, amp,
                        softness_px=float(rng.uniform(0.6, 1.5)), taper=float(rng.uniform(0.05, 0.6)),
                        streaks=int(rng.integers(1, 6)), streak_seed=int(rng.integers(2 ** 31)))
    a, b = max(major / 2, 2.0), max(minor / 2, 2.0)
    hole = float(rng.uniform(0.3, 0.45)) if rng.random() < 0.6 else 0.0
    return Artifact(cls, cx, cy, a, b, angle, amp, hole_frac=hole,
                    rim=float(rng.uniform(0.0, 0.8)), softness_px=float(rng.uniform(0.5, 0.04 * a + 0.6)),
                    spider=bool(hole > 0 and rng.random() < 0.6))


def _nested_companions(rng, art):
    """DECam ghosts come in families: smaller, offset copies along the radial line."""
    out = []
    if art.cls == "Rays" or rng.random() > NESTED_COMPANION_PROBABILITY:
        return out
    radial = np.array([art.col_px - 200.0, art.row_px - 200.0])
    norm = np.linalg.norm(radial) or 1.0
    for _ in range(int(rng.integers(1, 3))):
        f = float(rng.uniform(0.35, 0.7))
        shift = float(rng.uniform(-0.3, 0.3)) * art.a_px
        out.append(Artifact(art.cls, art.col_px + shift * radial[0] / norm,
                            art.row_px + shift * radial[1] / norm, art.a_px * f, art.b_px * f,
                            art.angle_deg, art.amplitude * float(rng.uniform(0.8, 1.4)),
                            hole_frac=art.hole_frac, rim=art.rim, softness_px=art.softness_px,
                            spider=art.spider))
    return out


def _two_sided_normal(rng, spread):
    """A draw with the median and 16/84 percentiles of ``spread`` (``{"median", "p16", "p84"}``)."""
    z = float(rng.standard_normal())
    return spread["median"] + z * ((spread["p84"] - spread["median"]) if z > 0 else (spread["median"] - spread["p16"]))


def family_disc(rng, family, stats, axis=AXIS_PX):
    """A family's huge faint pupil ghost, placed with the measured family geometry.

    Parameters
    ----------
    rng : numpy.random.Generator
    family : dict
        From :func:`desghost.detection.families.find_families` (``angle_deg``, ``distance_px``).
    stats : dict
        One set of ``family_stats.json`` (``along``, ``across``, ``r_vs_distance``).

    Returns
    -------
    Artifact
        A Faint disc or annulus: centre at ``along`` times the family's distance on its radial
        line (plus the ``across`` scatter), radius ``a + b * distance`` with the measured rms,
        at least ``LARGE_R_PX``, peak in ``FAMILY_DISC_AMPLITUDE_RANGE``.
    """
    angle = np.radians(family["angle_deg"])
    u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    d = family["distance_px"]
    centre = np.array(axis) + d * (_two_sided_normal(rng, stats["along"]) * u + _two_sided_normal(rng, stats["across"]) * v)
    fit = stats["r_vs_distance"]
    r = max(fit["a_px"] + fit["b"] * d + fit["rms_px"] * float(rng.standard_normal()), LARGE_R_PX + 1.0)
    lo, hi = FAMILY_DISC_AMPLITUDE_RANGE
    hole = float(rng.uniform(0.3, 0.45)) if rng.random() < 0.6 else 0.0
    return Artifact("Faint", float(centre[0]), float(centre[1]), r, r * float(rng.uniform(0.92, 1.0)),
                    float(rng.uniform(0, 180)), float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), hole_frac=hole,
                    rim=float(rng.uniform(0.0, 0.8)), softness_px=float(rng.uniform(2.0, 8.0)),
                    spider=bool(hole > 0 and rng.random() < 0.6))


def family_regions(arts):
    """``(class, col_px, row_px, equivalent radius)`` of each artifact (:func:`find_families`' input)."""
    return [(a.cls, a.col_px, a.row_px, float(np.sqrt(a.a_px * a.b_px))) for a in arts]


def complete_family(rng, arts, probability=None, stats=None):
    """With ``probability`` (default ``FAMILY_DISC_PROBABILITY``, else :func:`family_disc_probability`
    of the family's largest member), the big faint disc of the outermost family of ``arts`` when
    none is drawn.

    Returns
    -------
    list of Artifact
        Empty, or one disc (:func:`family_disc`).
    """
    regions = family_regions(arts)
    if any(cls == "Faint" and r >= LARGE_R_PX for cls, _, _, r in regions):
        return []
    families = find_families(regions)
    if not families:
        return []
    family = max(families, key=lambda f: f["distance_px"])
    if probability is None:
        probability = FAMILY_DISC_PROBABILITY
    if probability is None:
        probability = family_disc_probability(max(regions[i][3] for i in family["members"]))
    if rng.random() >= probability:
        return []
    return [family_disc(rng, family, stats or family_stats())]


def family_disc_probability(largest_member_px, drawn=None, target=None):
    """The chance to add a big faint disc to a drawn family that has none.

    The drawn images are the paper's annotations, whose outermost families come with a disc in
    a share that depends on the family's largest small ghost: 0.39 under 30 px, 0.84 over (734
    families); the eight annotators of the 30 real images: 0.64 and 0.84.  Adding a disc with
    probability ``(target - drawn) / (1 - drawn)`` (0 to 1) brings each class to the real share.

    Parameters
    ----------
    largest_member_px : float
        The family's largest small ghost (equivalent radius, image px).
    drawn, target : dict, optional
        ``disc_by_member_radius`` of ``family_stats.json`` (default ``paper_2000`` and
        ``real_30_per_annotator``).

    Examples
    --------
    >>> round(family_disc_probability(12.0, {"split_px": 30.0, "small": {"p": 0.25}, "large": {"p": 0.5}},
    ...                               {"split_px": 30.0, "small": {"p": 0.4}, "large": {"p": 0.5}}), 6)
    0.2
    """
    drawn = drawn or family_stats("paper_2000")["disc_by_member_radius"]
    target = target or family_stats()["disc_by_member_radius"]
    key = "large" if largest_member_px >= drawn["split_px"] else "small"
    p_drawn, p_target = drawn[key]["p"], target[key]["p"]
    return float(np.clip((p_target - p_drawn) / (1.0 - p_drawn), 0.0, 1.0)) if p_drawn < 1.0 else 0.0


def draw_artifacts(rng, n_artifacts=None, stats=None, family_disc_probability=None):
    """Draw the artifacts of one exposure.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_artifacts : int, optional
        How many annotated regions to draw; ``None`` takes one whole annotated image (its
        count, classes, positions and sizes), ``0`` gives a clean exposure.
    stats : dict, optional
        Defaults to the shipped annotation statistics.
    family_disc_probability : float, optional
        As ``probability`` of :func:`complete_family`.

    Returns
    -------
    list of Artifact
        Nested companions of a ghost share its class and count as separate instances.  A whole
        image's draw may end with its family's big faint disc (:func:`complete_family`).
    """
    stats = stats or load_stats()
    images = [im for im in stats["images"] if im]
    if n_artifacts is None:
        records = images[int(rng.integers(len(images)))]
    else:
        pool = [r for im in images for r in im]
        records = [pool[int(i)] for i in rng.integers(len(pool), size=int(n_artifacts))] if n_artifacts else []
    arts = []
    for rec in records:
        art = _artifact_from_record(rng, rec)
        arts.append(art)
        arts.extend(_nested_companions(rng, art))
    if n_artifacts is None:
        arts.extend(complete_family(rng, arts, family_disc_probability))
    return arts


def extent_px(art):
    """Radius around the centre beyond which the artifact adds nothing visible."""
    return float(np.hypot(art.a_px, art.b_px)) + 8.0 * art.softness_px + 2.0


def far_from(center_col, center_row, radius, col, row):
    """True when the box spanned by ``col``/``row`` lies farther than ``radius`` from the centre."""
    dc = max(col.min() - center_col, 0.0, center_col - col.max())
    dr = max(row.min() - center_row, 0.0, center_row - row.max())
    return np.hypot(dc, dr) > radius


def render(artifacts, col, row):
    """Summed surface brightness of ``artifacts`` at image coordinates ``col``, ``row``."""
    col = np.asarray(col, dtype=float)
    row = np.asarray(row, dtype=float)
    total = np.zeros(np.broadcast(col, row).shape, dtype=float)
    for art in artifacts:
        if not far_from(art.col_px, art.row_px, extent_px(art), col, row):
            total += surface(art, col, row)
    return total
