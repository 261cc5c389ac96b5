"""The named records the readers return: where a CCD is in a file, its data extent, its pixels."""
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CCDEntry", "CCDFrame", "DataExtent"]


@dataclass(frozen=True)
class CCDEntry:
    """Where one science CCD of an exposure is, found by scanning the headers.

    Attributes
    ----------
    path : str
        The file.
    hdu_index : int
        The HDU's index in the file.
    extname : str
        The HDU's EXTNAME (or its index as text when it has none).
    ccdnum : int
    detpos : str
        As the camera layout spells it.
    header : dict
        Primary header merged with the CCD's header (CCD keys win).
    """

    path: str
    hdu_index: int
    extname: str
    ccdnum: int
    detpos: str
    header: dict


@dataclass(frozen=True)
class DataExtent:
    """The part of a CCD HDU that holds sky pixels, in HDU pixel coordinates.

    Attributes
    ----------
    ny_px, nx_px : int
        Rows and columns of the data section.
    row0_px, col0_px : int
        Its first row and column (0-based): non-zero for raw CCDs, whose DATASEC skips
        prescan rows and overscan columns.
    """

    ny_px: int
    nx_px: int
    row0_px: int = 0
    col0_px: int = 0


@dataclass
class CCDFrame:
    """One CCD's pixels and header.

    Attributes
    ----------
    ccdnum, detpos : int, str
    pixels : ndarray of float32, shape (n_rows_read, nx)
        The data section, indexed ``[y, x]``; NaN marks excluded pixels (mask, dead
        amplifier, non-finite values).  Rows are every ``row_step``-th row of the section.
        A cut-out (``window`` set) is placed in a whole-CCD array, NaN outside the window.
    header : dict
        Primary header merged with the CCD's header (CCD keys win).
    row_step : int
    full_shape : tuple of int
        ``(ny, nx)`` of the whole data section (of the whole CCD for a cut-out).
    source : str
        ``file[HDU]`` for messages.
    warnings : list of InputWarning
    window : CCDWindow or None
        Where the HDU's pixels lie on the CCD when they are a cut-out of it.
    """

    ccdnum: int
    detpos: str
    pixels: np.ndarray
    header: dict
    row_step: int
    full_shape: tuple
    source: str
    warnings: list = field(default_factory=list)
    window: object = None
