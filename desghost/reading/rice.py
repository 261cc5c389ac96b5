"""Lossless Rice tile-compressed images decoded tile by tile with imagecodecs, in threads.

Raw DECam files are fpack'ed: each CCD is a binary table whose rows are Rice-compressed tiles
of one image row (``ZCMPTYPE = 'RICE_1'``, integer pixels, so lossless).  cfitsio (through
fitsio) decodes them holding the GIL; imagecodecs' RCOMP codec is the same Rice algorithm
(cfitsio's ``ricecomp.c``) and releases the GIL, so threads decode CCDs on every core of one
process.  ``benchmarks/bench_assembly.py`` measures both; the pixels are bit-identical
(``tests/test_reading_rice.py``).

Only the case raw files use takes this path: 2-D integer images (ZBITPIX 16 or 32), whole
rows per tile, one ``COMPRESSED_DATA`` column (no GZIP or uncompressed fallback tiles, no null
value), BSCALE 1 and BZERO 0 or the unsigned-integer offset.  :func:`rice_layout` returns None
for anything else, and the caller reads it with fitsio.

The tiles are located with the FITS variable-length-array layout (FITS Standard 4.0, section
7.3.5): the table's rows hold ``(n_bytes, heap_offset)`` descriptors, big-endian int32 for
``P`` and int64 for ``Q`` columns, and the heap starts ``THEAP`` bytes (default
``NAXIS1 * NAXIS2``) after the table data start.
"""
import os
from typing import NamedTuple

import numpy as np

__all__ = ["read_rice_rows", "rice_layout", "RiceLayout"]

#: ZBITPIX -> the signed type Rice decodes to, and the BZERO that makes it unsigned.
_INTEGER_TYPES = {16: (np.int16, np.uint16, 32768), 32: (np.int32, np.uint32, 2147483648)}


class RiceLayout(NamedTuple):
    """Where the tiles of one Rice-compressed HDU are and what they decode to.

    Attributes
    ----------
    ny_px, nx_px : int
        Image shape (ZNAXIS2, ZNAXIS1).
    rows_per_tile : int
        ZTILE2.
    n_tiles : int
        Rows of the binary table (NAXIS2).
    row_bytes : int
        NAXIS1: bytes of one table row.
    descriptor_dtype : str
        ``>i4`` (``P`` column) or ``>i8`` (``Q`` column).
    heap_offset : int
        Bytes from the table data start to the heap.
    block_size : int
        Rice block size (``BLOCKSIZE``, default 32).
    signed_dtype, unsigned_dtype : numpy dtype
    unsigned : bool
        BZERO is the unsigned offset: pixels are returned as the unsigned type.
    """

    ny_px: int
    nx_px: int
    rows_per_tile: int
    n_tiles: int
    row_bytes: int
    descriptor_dtype: str
    heap_offset: int
    block_size: int
    signed_dtype: object
    unsigned_dtype: object
    unsigned: bool


def _z_parameter(header, name, default):
    for k in range(1, 10):
        if str(header.get(f"ZNAME{k}", "")).strip().upper() == name:
            return int(header.get(f"ZVAL{k}", default))
    return default


def rice_layout(header):
    """The :class:`RiceLayout` of a compressed HDU's header, or None when this path does not apply.

    Parameters
    ----------
    header : dict
        The HDU's raw binary-table header (fitsio's, with the Z keywords, TFORM1, NAXIS1/2).
    """
    try:
        if (str(header.get("ZCMPTYPE", "")).strip() != "RICE_1" or int(header.get("ZNAXIS", 0)) != 2
                or int(header.get("TFIELDS", 0)) != 1
                or str(header.get("TTYPE1", "")).strip() != "COMPRESSED_DATA"
                or "ZBLANK" in header or int(header.get("ZBITPIX", 0)) not in _INTEGER_TYPES
                or float(header.get("BSCALE", 1) or 1) != 1.0):
            return None
        nx, ny = int(header["ZNAXIS1"]), int(header["ZNAXIS2"])
        if int(header.get("ZTILE1", nx)) != nx:
            return None
        form = str(header["TFORM1"]).strip().upper()
        kind = form.lstrip("0123456789")[:2]
        if kind not in ("PB", "QB"):
            return None
        signed, unsigned_type, offset = _INTEGER_TYPES[int(header["ZBITPIX"])]
        bzero = float(header.get("BZERO", 0) or 0)
        if bzero not in (0.0, float(offset)):
            return None
        if _z_parameter(header, "BYTEPIX", np.dtype(signed).itemsize) != np.dtype(signed).itemsize:
            return None
        return RiceLayout(ny_px=ny, nx_px=nx, rows_per_tile=int(header.get("ZTILE2", 1)),
                          n_tiles=int(header["NAXIS2"]), row_bytes=int(header["NAXIS1"]),
                          descriptor_dtype=">i4" if kind == "PB" else ">i8",
                          heap_offset=int(header.get("THEAP", int(header["NAXIS1"]) * int(header["NAXIS2"]))),
                          block_size=_z_parameter(header, "BLOCKSIZE", 32), signed_dtype=signed,
                          unsigned_dtype=unsigned_type, unsigned=bzero != 0.0)
    except (KeyError, TypeError, ValueError):
        return None


def read_rice_rows(path, data_start, layout, rows):
    """Decode the image rows ``rows`` of a Rice-compressed HDU (only the tiles that hold them).

    Parameters
    ----------
    path : str
        The FITS file.
    data_start : int
        Byte offset of the HDU's data (fitsio ``get_offsets()['data_start']``).
    layout : RiceLayout
    rows : range
        Image rows wanted (0-based, ascending, with any step).

    Returns
    -------
    ndarray, shape (len(rows), nx_px)
        The unsigned type when BZERO is the unsigned offset (uint16 for raw DECam), else the
        signed one: the values fitsio returns for the same HDU.

    Raises
    ------
    ValueError
        A tile's descriptor points outside the file, or a tile does not decode.
    """
    import imagecodecs

    per_tile = layout.rows_per_tile
    tiles = sorted({r // per_tile for r in rows})
    n_desc = layout.n_tiles * 2
    with open(path, "rb") as fh:
        fd = fh.fileno()
        table = os.pread(fd, layout.row_bytes * layout.n_tiles, data_start)
        desc = np.frombuffer(table, dtype=layout.descriptor_dtype, count=n_desc).reshape(layout.n_tiles, 2)
        first, last = tiles[0], tiles[-1]
        lo = int(desc[first, 1])
        hi = int(desc[last, 1] + desc[last, 0])
        if first < 0 or last >= layout.n_tiles or hi < lo:
            raise ValueError("tile descriptors out of order")
        heap = os.pread(fd, hi - lo, data_start + layout.heap_offset + lo)
    if len(heap) != hi - lo:
        raise ValueError(f"truncated tile heap ({len(heap)} of {hi - lo} bytes)")
    out = np.empty((len(rows), layout.nx_px), dtype=layout.signed_dtype)
    view = memoryview(heap)
    wanted = {r: i for i, r in enumerate(rows)}
    for t in tiles:
        n_bytes, offset = int(desc[t, 0]), int(desc[t, 1]) - lo
        if offset < 0 or offset + n_bytes > len(heap):
            raise ValueError(f"tile {t} lies outside the heap read")
        row0 = t * per_tile
        n_rows = min(per_tile, layout.ny_px - row0)
        pixels = imagecodecs.rcomp_decode(view[offset:offset + n_bytes], shape=(n_rows * layout.nx_px,),
                                          dtype=layout.signed_dtype, nblock=layout.block_size)
        pixels = pixels.reshape(n_rows, layout.nx_px)
        for j in range(n_rows):
            i = wanted.get(row0 + j)
            if i is not None:
                out[i] = pixels[j]
    if layout.unsigned:
        # BZERO = 2**(bits-1): adding it is flipping the sign bit of the two's complement value
        flipped = out.view(layout.unsigned_dtype)
        flipped ^= np.array(1 << (8 * out.itemsize - 1), dtype=layout.unsigned_dtype)
        return flipped
    return out
