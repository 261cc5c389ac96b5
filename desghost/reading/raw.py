"""Raw DECam CCDs (``DECam_*.fits.fz``, PROCTYPE = RAW): data section, overscan and gain.

A raw CCD HDU is uint16 with two amplifiers side by side and overscan columns.  The data
section (DATASEC) is what the focal plane shows; each amplifier's overscan (BIASSECA/B) is
subtracted row-block by row-block as its median, and each amplifier is put in electrons with
GAINA/B.  A header with one BIASSEC and no per-amplifier keywords gets one overscan value.
"""
import numpy as np

from desghost.errors import MissingKeywordError
from desghost.reading.records import DataExtent, FlavorReader
from desghost.reading.sections import parse_section

__all__ = ["data_section", "RawReader", "read_raw_ccd", "section"]


def section(header, key, source):
    """``(row slice, col slice)`` of the section keyword ``key``.

    Raises
    ------
    MissingKeywordError
        The keyword is missing or not a section (exit code 6), naming ``source`` and ``key``.
    """
    try:
        return parse_section(header[key])
    except KeyError:
        raise MissingKeywordError(f"{key} missing", path=source, keyword=key) from None
    except ValueError as exc:
        raise MissingKeywordError(str(exc), path=source, keyword=key) from None


def data_section(header, source):
    """The DATASEC of a raw CCD as ``(row slice, col slice)`` in HDU pixels (0-based)."""
    return section(header, "DATASEC", source)


def read_raw_ccd(read_rows, header, nx, row_step, source):
    """Overscan-subtracted, gain-corrected data section of a raw CCD.

    Parameters
    ----------
    read_rows : callable
        ``read_rows(range) -> ndarray (len(range), nx)``: the HDU's pixels of those rows, every
        column (fitsio, or :func:`desghost.reading.rice.read_rice_rows`).
    header : dict
        The CCD's (merged) header: DATASEC, DATASECA/B, BIASSECA/B, GAINA/B.
    nx : int
        Columns of the HDU (data and overscan).
    row_step : int
        Read every ``row_step``-th row of the data section.
    source : str
        ``file[HDU]`` for messages.

    Returns
    -------
    pixels : ndarray of float32, shape (ceil(ny_data / row_step), nx_data)
        In electrons where GAINA/B are given, else in ADU.
    full_shape : tuple of int
        ``(ny_data, nx_data)`` of the whole data section.
    """
    rows, cols = data_section(header, source)
    block = read_rows(range(rows.start, rows.stop, row_step))
    if block.dtype.kind not in "iu":
        block = block.astype(np.float32)
    # One float32 pass per amplifier straight from the integer pixels: the same values as
    # converting the whole block to float32 first (integers below 2**24 convert exactly, and
    # the median of integers is exact in float32), without the block-sized copies.
    out = np.empty((block.shape[0], cols.stop - cols.start), dtype=np.float32)
    amps = [a for a in ("A", "B") if f"DATASEC{a}" in header]
    if not amps:
        bias = np.float32(np.median(block[:, section(header, "BIASSEC", source)[1]])) if "BIASSEC" in header else 0
        np.subtract(block[:, cols], np.float32(bias), out=out, dtype=np.float32)
    covered = 0
    for amp in amps:
        _, dcols = section(header, f"DATASEC{amp}", source)
        _, bcols = section(header, f"BIASSEC{amp}", source)
        bias = np.float32(np.median(block[:, bcols]))
        gain = np.float32(float(header.get(f"GAIN{amp}", 1.0) or 1.0))
        if not covered and (dcols.stop - dcols.start) < out.shape[1]:
            np.copyto(out, block[:, cols], casting="unsafe")  # columns no amplifier claims stay as read
        dst = out[:, dcols.start - cols.start:dcols.stop - cols.start]
        np.subtract(block[:, dcols], bias, out=dst, dtype=np.float32)
        dst *= gain
        covered += dcols.stop - dcols.start
    return out, (rows.stop - rows.start, cols.stop - cols.start)


class RawReader(FlavorReader):
    """Raw ``DECam_*.fits.fz``: integer CCDs with overscan; DATASEC is the data, Rice tiles are decoded directly."""

    name = "raw"
    decodes_rice_tiles = True

    def data_extent(self, entry):
        """DATASEC (the one place that rule lives), else the whole image."""
        if "DATASEC" not in entry.header:
            return super().data_extent(entry)
        rows, cols = data_section(entry.header, f"{entry.path}[{entry.extname}]")
        return DataExtent(rows.stop - rows.start, cols.stop - cols.start, rows.start, cols.start)

    def integer_pixels(self, header):
        """Raw integer pixels minus a median, times a header number, are finite."""
        return int(header.get("ZBITPIX", header.get("BITPIX", -32))) > 0

    def read_pixels(self, fits, entry, row_step, source, rice=None):
        """Overscan-subtracted, gain-corrected data section (:func:`read_raw_ccd`)."""
        if rice is not None:
            from desghost.reading.rice import read_rice_rows

            rice_path, data_start, layout = rice
            return read_raw_ccd(lambda rows: read_rice_rows(rice_path, data_start, layout, rows),
                                entry.header, layout.nx_px, row_step, source)
        hdu = fits[entry.hdu_index]
        nx = hdu.get_dims()[1]
        return read_raw_ccd(lambda rows: hdu[rows.start:rows.stop:rows.step, 0:nx], entry.header, nx, row_step, source)

