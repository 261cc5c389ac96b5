"""Stars for simulated exposures, in focal-plane image pixels and binned-noise units."""
from dataclasses import dataclass

import numpy as np

from desghost.simulate.artifacts import far_from

__all__ = ["BRIGHT_FIELD_FLUX_RANGE", "draw_stars", "GLOW_FRACTION", "GLOW_SIGMA_PER_SQRT_FLUX", "HALO_FRACTION",
           "HALO_MIN_FLUX", "halo_sigma_px", "render_halos", "render_spikes", "render_stars_image",
           "SPIKE_LENGTH_PER_SQRT_FLUX", "SPIKE_MIN_FLUX", "spike_pattern", "SPIKE_PEAK_FRACTION", "SPIKE_WIDTH_PX",
           "StarField"]


@dataclass
class StarField:
    """Stars: positions in image pixels and total fluxes in binned-noise x bin units.

    A star of flux F, if all its light fell in one binned pixel, would raise it by F
    noise units.
    """

    col_px: np.ndarray
    row_px: np.ndarray
    flux: np.ndarray

    def __len__(self):
        return len(self.flux)


#: Flux range (log-uniform) of the few bright field stars of every image.  They saturate 15-50
#: pixels of a 400x400 image, as the largest stars of the real images without a ghost family do
#: (the 10^4.5-10^5.5 used before saturated about 100 in every image, which real images show only
#: where a ghost family's source star is; see :mod:`desghost.simulate.source`).
BRIGHT_FIELD_FLUX_RANGE = (10 ** 3.8, 10 ** 4.6)


def draw_stars(rng, n_stars=1500, flux_min=1.5, flux_max=3e4, slope=0.65, n_bright=3):
    """A power-law star field over the focal plane plus ``n_bright`` bright stars.

    The bright stars are placed first.
    """
    u = rng.random(n_stars)
    a = -slope
    flux = (flux_min ** a + u * (flux_max ** a - flux_min ** a)) ** (1 / a)
    bright = np.exp(rng.uniform(*np.log(BRIGHT_FIELD_FLUX_RANGE), size=n_bright))
    flux = np.concatenate([bright, flux])
    n = flux.size
    col = rng.uniform(-10, 410, size=n)
    row = rng.uniform(5, 395, size=n)
    return StarField(col, row, flux)


HALO_FRACTION = 0.03
HALO_MIN_FLUX = 1e3
#: Stars at least this bright get diffraction spikes and a wide, faint glow (the saturated
#: starbursts of ghost-source stars on the real images).  Kept modest: a first version (glow
#: peak 8 noise units, spikes saturated over 90 px) buried the small ghost next to the star.
SPIKE_MIN_FLUX = 1e5
#: Fraction of a spiked star's flux in its wide glow, and the glow's width per sqrt(flux).
GLOW_FRACTION = 0.006
GLOW_SIGMA_PER_SQRT_FLUX = 0.02
#: Diffraction spikes: peak (fraction of the flux), length scale per sqrt(flux) in image pixels,
#: and half-width in image pixels.
SPIKE_PEAK_FRACTION = 2e-5
SPIKE_LENGTH_PER_SQRT_FLUX = 0.01
SPIKE_WIDTH_PX = 0.8


def halo_sigma_px(flux):
    """Width (image pixels) of a star's scattered-light halo."""
    return np.maximum(3.0, 0.002 * np.sqrt(flux))


def spike_pattern(flux):
    """A spiked star's spikes: the four of the spider plus up to six weaker ones.

    Deterministic in ``flux`` so that every renderer of one scene draws the same starburst.

    Returns
    -------
    angles_deg, strengths : ndarray
        Direction of each spike and its peak relative to the spider's.
    """
    rng = np.random.default_rng(int(flux) % (2 ** 31))
    extra = rng.uniform(0.0, 360.0, int(rng.integers(0, 7)))
    return np.concatenate([[0.0, 90.0, 180.0, 270.0], extra]), np.concatenate([np.ones(4), rng.uniform(0.2, 0.6, extra.size)])


def render_spikes(c, r, f, col, row):
    """Diffraction spikes and wide glow of one star of flux ``f`` at (``c``, ``r``), noise units."""
    dc, dr = col - c, row - r
    glow_sigma = GLOW_SIGMA_PER_SQRT_FLUX * np.sqrt(f)
    out = f * GLOW_FRACTION * np.exp(-0.5 * (dc ** 2 + dr ** 2) / glow_sigma ** 2) / (2 * np.pi * glow_sigma ** 2)
    length = SPIKE_LENGTH_PER_SQRT_FLUX * np.sqrt(f)
    for angle, strength in zip(*spike_pattern(f)):
        t = np.radians(angle)
        along = dc * np.cos(t) + dr * np.sin(t)
        across = -dc * np.sin(t) + dr * np.cos(t)
        out = out + np.where(along > 0, f * SPIKE_PEAK_FRACTION * strength * np.exp(-along / length)
                             * np.exp(-0.5 * (across / SPIKE_WIDTH_PX) ** 2), 0.0)
    return out


def render_halos(stars, col, row):
    """Smooth halos of the bright stars (noise units) at image coordinates ``col``, ``row``.

    Stars of at least ``SPIKE_MIN_FLUX`` add diffraction spikes and a wide glow.
    """

    col = np.asarray(col, dtype=float)
    row = np.asarray(row, dtype=float)
    out = np.zeros(np.broadcast(col, row).shape, dtype=float)
    for c, r, f in zip(stars.col_px, stars.row_px, stars.flux):
        if f < HALO_MIN_FLUX:
            continue
        s = halo_sigma_px(f)
        reach = 6 * s if f < SPIKE_MIN_FLUX else max(6 * s, 8 * SPIKE_LENGTH_PER_SQRT_FLUX * np.sqrt(f))
        if far_from(c, r, reach, col, row):
            continue
        d2 = (col - c) ** 2 + (np.asarray(row) - r) ** 2
        out += f * HALO_FRACTION * np.exp(-0.5 * d2 / s ** 2) / (2 * np.pi * s ** 2)
        if f >= SPIKE_MIN_FLUX:
            out += render_spikes(c, r, f, col, row)
    return out


def render_stars_image(stars, shape=(400, 400), psf_sigma_px=0.7):
    """Stars rendered on the focal-plane image grid (noise units), halos included."""
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    img = render_halos(stars, cols, rows)
    h = int(np.ceil(4 * psf_sigma_px)) + 1
    for c, r, f in zip(stars.col_px, stars.row_px, stars.flux):
        core = f * (1 - HALO_FRACTION) if f >= HALO_MIN_FLUX else f
        r0, r1 = max(int(r) - h, 0), min(int(r) + h + 1, shape[0])
        c0, c1 = max(int(c) - h, 0), min(int(c) + h + 1, shape[1])
        if r0 >= r1 or c0 >= c1:
            continue
        d2 = (rows[r0:r1, c0:c1] - r) ** 2 + (cols[r0:r1, c0:c1] - c) ** 2
        img[r0:r1, c0:c1] += core * np.exp(-0.5 * d2 / psf_sigma_px ** 2) / (2 * np.pi * psf_sigma_px ** 2)
    return img
