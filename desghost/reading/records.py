"""The named records the readers return: where a CCD is in a file, its data extent, its pixels."""
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CCDEntry", "CCDFrame", "DataExtent", "ExposureMeta", "FlavorReader"]


@dataclass(frozen=True)
class ExposureMeta:
    """What the headers say of an exposure: made once by the reader and carried through the chain.

    Attributes
    ----------
    expnum : int
    band : str
    date_obs : str
        DATE-OBS as written.
    nite : str
        The observing night, ``YYYYMMDD`` (:func:`desghost.reading.headers.observing_night`).
    mjd_obs : float or None
    exptime : float or None
        Seconds.
    flavor : str
        ``raw``, ``ooi`` or ``des``.
    source : str
        The input path (file or directory).
    pointing_deg : (float, float) or None
        TELRA, TELDEC in degrees (:func:`desghost.reading.headers.telescope_pointing`).
    """

    expnum: int
    band: str
    date_obs: str
    nite: str
    mjd_obs: float | None
    exptime: float | None
    flavor: str
    source: str
    pointing_deg: tuple | None = None


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


class FlavorReader:
    """How one flavor of DECam file is read; the base reads one float image per CCD HDU, all data.

    Subclasses (one per flavor module) override what their files do differently; the table is
    :data:`desghost.reading.flavors.READERS`.
    """

    #: The flavor's name, as :func:`desghost.reading.headers.detect_flavor` gives it.
    name = ""
    #: CCDs whose Rice tiles :mod:`desghost.reading.rice` decodes (in threads) instead of cfitsio.
    decodes_rice_tiles = False
    #: Non-finite pixels are counted and reported as an input warning.
    reports_nonfinite = True
    #: Infinite pixels are flagged silently (set to NaN), as the flavor's own mask would.
    flags_infinite = False
    #: What flags pixels, in the message about a CCD whose every pixel is flagged.
    flag_name = "its data-quality mask or NaN"

    def is_science_hdu(self, extname):
        """True when an image HDU named ``extname`` holds a CCD's science pixels."""
        return True

    def data_extent(self, entry):
        """The :class:`DataExtent` of a CCD from its header alone: here, the whole image."""
        header = entry.header
        return DataExtent(int(header.get("ZNAXIS2", header.get("NAXIS2"))), int(header.get("ZNAXIS1", header.get("NAXIS1"))))

    def integer_pixels(self, header):
        """True when the pixels come from integers, so that they are finite without a scan."""
        return False

    def dq_masks(self, files):
        """``{image file: its data-quality mask file}`` of an exposure's files (none here)."""
        return {}

    def read_pixels(self, fits, entry, row_step, source, rice=None):
        """One CCD's pixels, every ``row_step``-th row.

        Parameters
        ----------
        fits : fitsio.FITS
            The open file holding ``entry``.
        entry : CCDEntry
        row_step : int
        source : str
            ``file[HDU]`` for messages.
        rice : tuple, optional
            ``(path, data_start, RiceLayout)`` when the CCD is decoded from its tiles.

        Returns
        -------
        pixels : ndarray of float32, shape (ceil(ny / row_step), nx)
        full_shape : tuple of int
            ``(ny, nx)`` of the whole data.
        """
        raise NotImplementedError(f"the {self.name or 'base'} reader has no pixel reader")

