"""Stars for simulated exposures, in focal-plane image pixels and binned-noise units."""
from dataclasses import dataclass

import numpy as np


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


def draw_stars(rng, n_stars=1500, flux_min=1.5, flux_max=3e4, slope=0.65, n_bright=3):
    """A power-law star field over the focal plane plus ``n_bright`` very bright stars.

    The bright stars (the sources of ghosts and halos) are placed first.
    """
    u = rng.random(n_stars)
    a = -slope
    flux = (flux_min ** a + u * (flux_max ** a - flux_min ** a)) ** (1 / a)
    bright = 10 ** rng.uniform(4.5, 5.5, size=n_bright)
    flux = np.concatenate([bright, flux])
    n = flux.size
    col = rng.uniform(-10, 410, size=n)
    row = rng.uniform(5, 395, size=n)
    return StarField(col, row, flux)


HALO_FRACTION = 0.03
HALO_MIN_FLUX = 1e3


def halo_sigma_px(flux):
    """Width (image pixels) of a star's scattered-light halo."""
    return np.maximum(3.0, 0.002 * np.sqrt(flux))


def render_halos(stars, col, row):
    """Smooth halos of the bright stars (noise units) at image coordinates ``col``, ``row``."""
    from .artifacts import far_from

    col = np.asarray(col, dtype=float)
    row = np.asarray(row, dtype=float)
    out = np.zeros(np.broadcast(col, row).shape, dtype=float)
    for c, r, f in zip(stars.col_px, stars.row_px, stars.flux):
        if f < HALO_MIN_FLUX:
            continue
        s = halo_sigma_px(f)
        if far_from(c, r, 6 * s, col, row):
            continue
        d2 = (col - c) ** 2 + (np.asarray(row) - r) ** 2
        out += f * HALO_FRACTION * np.exp(-0.5 * d2 / s ** 2) / (2 * np.pi * s ** 2)
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
