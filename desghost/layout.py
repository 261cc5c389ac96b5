"""Camera geometry loaded from the data files in ``ccd_layout/``.

Nothing about DECam is written in code here: another camera is another
``<name>_camera.json`` with its CCD table and bad-region table.
"""
import csv
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["BadRegion", "CameraLayout", "CCDGeometry", "load_layout", "shipped_layout_dir"]


@dataclass(frozen=True)
class CCDGeometry:
    """One science CCD.

    Attributes
    ----------
    ccdnum, detpos : int, str
        The CCD's number and position name.
    row, col : int
        Position in the row arrangement (row 1 at the top of the image).
    xmin_mm, xmax_mm, ymin_mm, ymax_mm : float
        Corners in focal-plane mm.
    box_px : tuple of float
        ``(x0, y0, x1, y1)``: the box the CCD occupies in the focal-plane image; x is the
        image column, y the image row, both in image pixels (may extend past the edges).
    amp_a_side : str
        ``"right"`` when amplifier A reads CCD x >= nx/2, else ``"left"``.
    """

    ccdnum: int
    detpos: str
    row: int
    col: int
    x_center_mm: float
    y_center_mm: float
    xmin_mm: float
    xmax_mm: float
    ymin_mm: float
    ymax_mm: float
    detsec_x0: int
    detsec_y0: int
    amp_a_side: str
    box_px: tuple


@dataclass(frozen=True)
class BadRegion:
    """A known-bad CCD region with an optional EXPNUM validity range (inclusive)."""

    ccdnum: int
    region: str  # "all" or "amp_a" or "amp_b"
    expnum_min: int | None
    expnum_max: int | None
    reason: str

    def applies_to(self, expnum):
        """True when this region is bad for exposure ``expnum`` (None: unknown, assume bad)."""
        if expnum is None:
            return self.expnum_min is None and self.expnum_max is None
        lo_ok = self.expnum_min is None or expnum >= self.expnum_min
        hi_ok = self.expnum_max is None or expnum <= self.expnum_max
        return lo_ok and hi_ok


class CameraLayout:
    """The geometry of one camera: its CCDs, their image boxes and its known-bad regions."""

    def __init__(self, config, ccds, bad_regions):
        self.config = config
        self.name = config["camera"]
        self.ccds = {c.ccdnum: c for c in ccds}
        self.detpos_to_ccdnum = {c.detpos: c.ccdnum for c in ccds}
        self.bad_regions = list(bad_regions)
        self.image_shape_px = tuple(config["image_shape_px"])
        self.fill_value = config["fill_value"]
        self.ccd_nx_px = config["ccd_shape_px"]["nx"]
        self.ccd_ny_px = config["ccd_shape_px"]["ny"]
        self.pixel_size_mm = config["pixel_size_mm"]
        self.pixel_scale_arcsec = config["pixel_scale_arcsec"]["value"]
        self._map = config["mm_to_image_px"]

    @property
    def ccdnums(self):
        """All science CCDNUMs, sorted."""
        return sorted(self.ccds)

    def mm_to_image_px(self, x_mm, y_mm):
        """Focal-plane mm to image (column, row) pixel coordinates (continuous, pixel edges at integers)."""
        x_mm = np.asarray(x_mm, dtype=float)
        y_mm = np.asarray(y_mm, dtype=float)
        col = self._map["col0"] + self._map["col_per_y_mm"] * y_mm
        row = self._map["row0"] + self._map["row_per_x_mm"] * x_mm
        return col, row

    def image_px_to_mm(self, col, row):
        """Inverse of :meth:`mm_to_image_px`: returns ``(x_mm, y_mm)``."""
        y_mm = (np.asarray(col, dtype=float) - self._map["col0"]) / self._map["col_per_y_mm"]
        x_mm = (np.asarray(row, dtype=float) - self._map["row0"]) / self._map["row_per_x_mm"]
        return x_mm, y_mm

    def box_from_mm(self, ccdnum):
        """The CCD's image box derived from its mm corners: ``(x0, y0, x1, y1)``."""
        c = self.ccds[ccdnum]
        cols, rows = self.mm_to_image_px([c.xmin_mm, c.xmax_mm], [c.ymin_mm, c.ymax_mm])
        return (float(min(cols)), float(min(rows)), float(max(cols)), float(max(rows)))

    def ccd_pixel_to_mm(self, ccdnum, x_px, y_px, nx_px=None, ny_px=None):
        """CCD pixel (0-based, x along the 2048 axis) to focal-plane mm.

        CCD x runs along focal-plane x (down the image); CCD y runs along focal-plane y
        (to the left of the image), the DETSEC convention shared by every DECam CCD.
        ``nx_px``/``ny_px`` give the array size when it is not the full CCD (small simulations).
        """
        c = self.ccds[ccdnum]
        nx = nx_px or self.ccd_nx_px
        ny = ny_px or self.ccd_ny_px
        x_mm = c.xmin_mm + (np.asarray(x_px, dtype=float) + 0.5) / nx * (c.xmax_mm - c.xmin_mm)
        y_mm = c.ymin_mm + (np.asarray(y_px, dtype=float) + 0.5) / ny * (c.ymax_mm - c.ymin_mm)
        return x_mm, y_mm

    def dead_regions(self, expnum):
        """Known-bad regions that apply to exposure ``expnum``, as ``{ccdnum: [region, ...]}``."""
        out = {}
        for r in self.bad_regions:
            if r.applies_to(expnum):
                out.setdefault(r.ccdnum, []).append(r)
        return out

    def dead_ccds(self, expnum):
        """CCDNUMs that are wholly dead for exposure ``expnum``."""
        return sorted(n for n, regs in self.dead_regions(expnum).items()
                      if any(r.region == "all" for r in regs))

    def blank_dead_regions(self, pixels, ccdnum, expnum):
        """Set the known-bad regions of one CCD to NaN, in place (whole CCD or one amplifier half).

        Parameters
        ----------
        pixels : ndarray of float, shape (ny, nx)
            The CCD's data section, indexed ``[y, x]``; amplifier A is the half on the CCD's
            ``amp_a_side`` of x.
        ccdnum : int
        expnum : int
            Selects the bad regions that apply (from ``bad_regions.csv``).
        """
        for region in self.dead_regions(expnum).get(ccdnum, []):
            half = pixels.shape[1] // 2
            if region.region == "all":
                pixels[:] = np.nan
                continue
            side = self.ccds[ccdnum].amp_a_side
            if region.region == "amp_b":
                side = "left" if side == "right" else "right"
            if side == "right":
                pixels[:, half:] = np.nan
            else:
                pixels[:, :half] = np.nan


def _opt_int(text):
    text = (text or "").strip()
    return int(text) if text else None


def shipped_layout_dir():
    """The folder of the shipped layouts, the package ``desghost.ccd_layout``.

    In a source checkout ``desghost/ccd_layout`` is a link to ``ccd_layout/`` at the
    repository root, so an installed package and a checkout read the same files.
    """
    return resources.files("desghost.ccd_layout")


@lru_cache(maxsize=8)
def load_layout(name="decam"):
    """Load a camera layout: one shipped in ``ccd_layout/``, or any ``*_camera.json`` file.

    Parameters
    ----------
    name : str or Path
        A shipped camera (the prefix of ``<name>_camera.json``), or the path of a camera
        JSON file whose CCD and bad-region tables sit beside it.

    Returns
    -------
    CameraLayout

    Examples
    --------
    >>> layout = load_layout()
    >>> len(layout.ccds), layout.ccds[1].detpos
    (62, 'S29')
    """
    if str(name).endswith(".json"):
        path = Path(name)
        base, config = path.parent, json.loads(path.read_text())
    else:
        base = shipped_layout_dir()
        config = json.loads((base / f"{name}_camera.json").read_text())
    ccds = []
    with (base / config["ccd_table"]).open() as fh:
        for r in csv.DictReader(fh):
            ccds.append(CCDGeometry(
                ccdnum=int(r["ccdnum"]), detpos=r["detpos"].strip(),
                row=int(r["row"]), col=int(r["col"]),
                x_center_mm=float(r["x_center_mm"]), y_center_mm=float(r["y_center_mm"]),
                xmin_mm=float(r["xmin_mm"]), xmax_mm=float(r["xmax_mm"]),
                ymin_mm=float(r["ymin_mm"]), ymax_mm=float(r["ymax_mm"]),
                detsec_x0=int(r["detsec_x0"]), detsec_y0=int(r["detsec_y0"]),
                amp_a_side=r["amp_a_side"].strip(),
                box_px=tuple(float(r[k]) for k in ("box_x0_px", "box_y0_px", "box_x1_px", "box_y1_px")),
            ))
    bad = []
    with (base / config["bad_regions_table"]).open() as fh:
        for r in csv.DictReader(fh):
            bad.append(BadRegion(ccdnum=int(r["ccdnum"]), region=r["region"].strip(),
                                 expnum_min=_opt_int(r["expnum_min"]),
                                 expnum_max=_opt_int(r["expnum_max"]), reason=r["reason"].strip()))
    return CameraLayout(config, ccds, bad)
