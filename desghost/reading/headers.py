"""What the headers of a DECam file say: its flavor, its instrument, each HDU's CCD, EXPNUM and band.

Pure functions of header dicts (as :func:`desghost.reading.fitsfile.header_to_dict` gives
them); errors name the file, the HDU and the keyword.
"""
import re
from datetime import datetime, timedelta

import numpy as np

from desghost.errors import InconsistentExposureError, MissingKeywordError, NotDecamError
from desghost.reading.des import MASK_EXTNAME, SCIENCE_EXTNAME, is_des_file

__all__ = ["band_of", "cd_matrix", "check_instrument", "check_numeric_cards", "detect_flavor", "expnum_of",
           "identify_ccd", "MAX_EXPNUM", "MJD_EPOCH", "NUMERIC_KEYWORDS", "observing_night", "telescope_pointing"]


def detect_flavor(primary, extnames, image_headers, path=None):
    """``"des"``, ``"raw"`` or ``"ooi"`` from the headers, never from the file name.

    Parameters
    ----------
    primary : dict
        The primary header.
    extnames : list of str
        Every HDU's EXTNAME, upper case.
    image_headers : list of dict
        The headers of the HDUs holding image data, in file order.
    path : str, optional
        The file, for messages.

    Raises
    ------
    MissingKeywordError
        A DES per-CCD file (it has a MSK HDU) without a SCI HDU, for example because the SCI
        HDU carries a second EXTNAME card that cfitsio reads first (exit code 6).
    """
    if is_des_file(extnames):
        return "des"
    if MASK_EXTNAME in extnames and SCIENCE_EXTNAME not in extnames:
        names = ", ".join(n or "(none)" for n in extnames)
        raise MissingKeywordError(f"a DES per-CCD file (it has a {MASK_EXTNAME} HDU) without a {SCIENCE_EXTNAME} "
                                  f"HDU: EXTNAMEs are {names}; is an EXTNAME card missing or written twice?",
                                  path=path, keyword="EXTNAME")
    proctype = str(primary.get("PROCTYPE", "")).strip().upper()
    if not proctype and image_headers:
        proctype = str(image_headers[0].get("PROCTYPE", "")).strip().upper()
    if proctype == "RAW" or any("BIASSECA" in h for h in image_headers[:1]):
        return "raw"
    return "ooi"


def check_instrument(path, primary, image_headers, layout):
    """Raise NotDecamError (exit code 5) unless INSTRUME names the layout's camera."""
    want = layout.config["instrument_keyword"].upper()
    inst = primary.get("INSTRUME")
    if inst is None and image_headers:
        inst = image_headers[0].get("INSTRUME")
    if inst is None:
        raise NotDecamError("no INSTRUME keyword: cannot tell the instrument", path=path, keyword="INSTRUME")
    if str(inst).strip().upper() != want:
        raise NotDecamError(f"instrument is {str(inst).strip()!r}, not {layout.name}", path=path, keyword="INSTRUME")


def identify_ccd(header, extname, layout, path, hdu_index):
    """``(ccdnum, detpos)`` of a science CCD HDU, or None for focus/guide CCDs and non-CCD HDUs.

    CCDNUM wins; DETPOS (or the EXTNAME) must agree with the layout's name for that CCDNUM.

    Raises
    ------
    MissingKeywordError
        No CCDNUM and an unknown DETPOS, or a CCDNUM that is not an integer (exit code 6).
    InconsistentExposureError
        CCDNUM and DETPOS disagree (exit code 8).
    """
    hdu = extname or hdu_index
    detpos = str(header.get("DETPOS", extname)).strip().upper()
    if detpos[:1] in ("F", "G") and detpos not in layout.detpos_to_ccdnum:
        return None  # focus and guide CCDs
    ccdnum = header.get("CCDNUM")
    if ccdnum is None:
        if detpos in layout.detpos_to_ccdnum:
            return layout.detpos_to_ccdnum[detpos], detpos
        if not detpos:
            return None
        raise MissingKeywordError("no CCDNUM and unknown DETPOS", path=path, hdu=hdu, keyword="CCDNUM")
    try:
        ccdnum = int(ccdnum)
    except (TypeError, ValueError) as exc:
        raise MissingKeywordError(f"CCDNUM is not an integer: {ccdnum!r}", path=path, hdu=hdu,
                                  keyword="CCDNUM") from exc
    if ccdnum not in layout.ccds:
        return None  # focus/guide CCDs carry CCDNUM 63..70
    expected = layout.ccds[ccdnum].detpos
    if detpos and detpos != expected.upper():
        raise InconsistentExposureError(
            f"CCDNUM {ccdnum} is {expected} in the camera layout but DETPOS says {detpos}",
            path=path, hdu=hdu, keyword="DETPOS")
    return ccdnum, expected


#: Largest EXPNUM: the exclusion table's EXPNUM column is a 32-bit signed integer (>i4).
MAX_EXPNUM = 2 ** 31 - 1


def expnum_of(header, path, hdu):
    """EXPNUM of a (merged) CCD header as an int.

    Returns
    -------
    int
        In 1 .. :data:`MAX_EXPNUM`.

    Raises
    ------
    MissingKeywordError
        EXPNUM is missing, not a whole number (``500001.5``, ``"abc"``), not positive, or above
        :data:`MAX_EXPNUM` (exit code 6).
    """
    if "EXPNUM" not in header:
        raise MissingKeywordError("EXPNUM missing from the primary and CCD headers", path=path, hdu=hdu,
                                  keyword="EXPNUM")
    value = header["EXPNUM"]
    expnum = None
    if isinstance(value, int) and not isinstance(value, bool):
        expnum = value
    elif isinstance(value, float) and value.is_integer():
        expnum = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        expnum = int(value)
    if expnum is None:
        raise MissingKeywordError(f"EXPNUM is not an integer: {value!r}", path=path, keyword="EXPNUM")
    if not 1 <= expnum <= MAX_EXPNUM:
        raise MissingKeywordError(f"EXPNUM {expnum} is outside 1..{MAX_EXPNUM} (the exclusion table's >i4 column)",
                                  path=path, keyword="EXPNUM")
    return expnum


def band_of(header):
    """The filter band: BAND, else the first word of FILTER (``"r DECam SDSS c0002 ..."`` -> ``"r"``)."""
    band = header.get("BAND")
    if band:
        return str(band).strip()
    filt = str(header.get("FILTER", "")).strip()
    return filt.split()[0] if filt else ""


def cd_matrix(header):
    """The CD matrix (deg/px) of a header with a celestial WCS, else None.

    Returns
    -------
    ndarray of float, shape (2, 2), or None
        From CD1_1..CD2_2, or from PC*CDELT; None without CTYPE1 = RA*, or when singular.
    """
    if not str(header.get("CTYPE1", "")).upper().startswith("RA"):
        return None
    try:
        if all(k in header for k in ("CD1_1", "CD1_2", "CD2_1", "CD2_2")):
            cd = np.array([[header["CD1_1"], header["CD1_2"]], [header["CD2_1"], header["CD2_2"]]], dtype=float)
        elif "CDELT1" in header and "CDELT2" in header:
            pc = np.array([[header.get("PC1_1", 1.0), header.get("PC1_2", 0.0)],
                           [header.get("PC2_1", 0.0), header.get("PC2_2", 1.0)]], dtype=float)
            cd = np.diag([float(header["CDELT1"]), float(header["CDELT2"])]) @ pc
        else:
            return None
    except (TypeError, ValueError):
        return None
    if not np.all(np.isfinite(cd)) or np.linalg.det(cd) == 0:
        return None
    return cd


#: Header keywords desghost reads as numbers (WCS, gains, time): each, when present, must hold one.
NUMERIC_KEYWORDS = ("CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CDELT1",
                    "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "GAINA", "GAINB", "EXPTIME", "MJD-OBS")


def check_numeric_cards(header, path, hdu):
    """Refuse a header whose numeric keywords (:data:`NUMERIC_KEYWORDS`) hold something else.

    Raises
    ------
    MissingKeywordError
        Names the file, the HDU and the keyword, and quotes the value (exit code 6).
    """
    for key in NUMERIC_KEYWORDS:
        value = header.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MissingKeywordError(f"{key} holds {str(value)[:30]!r}, not a number", path=path, hdu=hdu,
                                      keyword=key)


#: MJD 0 as a datetime (UTC).
MJD_EPOCH = datetime(1858, 11, 17)


def observing_night(header):
    """The observing night of an exposure, ``YYYYMMDD`` (DES's NITE), or ``""`` when nothing tells.

    DTCALDAT (the Community Pipeline's calendar date of the night, ``YYYY-MM-DD``) when present;
    else the date of the exposure's start minus 12 hours (DES's NITE rule), from DATE-OBS, else
    MJD-OBS.  DECam nights cross 00:00 UTC: exposure 695765 (DATE-OBS 2017-11-13T06:03:40,
    DTCALDAT 2017-11-12) is listed under 20171112 in the DELVE ghost lists.

    Parameters
    ----------
    header : mapping
        Header cards (the primary merged with the CCD's).

    Returns
    -------
    str
        Eight digits, or ``""``.
    """
    dtcaldat = str(header.get("DTCALDAT", "")).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", dtcaldat):
        return dtcaldat.replace("-", "")
    start = None
    date_obs = str(header.get("DATE-OBS", "")).strip()
    try:
        start = datetime.fromisoformat(date_obs[:19]) if date_obs else None
    except ValueError:
        start = None
    mjd = header.get("MJD-OBS")
    try:
        if start is None and isinstance(mjd, (int, float)) and not isinstance(mjd, bool) and np.isfinite(mjd):
            start = MJD_EPOCH + timedelta(days=float(mjd))
        return "" if start is None else (start - timedelta(hours=12)).strftime("%Y%m%d")
    except OverflowError:   # a date outside years 1-9999
        return ""


def _sexagesimal(text, hours):
    """``'22:46:24.726'`` -> degrees (hours when ``hours``); a number is taken as degrees already."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        parts = str(text).strip().split(":")
        if len(parts) != 3:
            return None
        sign = -1.0 if parts[0].strip().startswith("-") else 1.0
        try:
            d, m, sec = abs(float(parts[0])), float(parts[1]), float(parts[2])
        except ValueError:
            return None
        value = sign * (d + m / 60.0 + sec / 3600.0) * (15.0 if hours else 1.0)
    return value if np.isfinite(value) else None


def telescope_pointing(header):
    """TELRA/TELDEC in degrees, or None when either is missing or unreadable.

    DECam writes them sexagesimal: TELRA in hours (``'22:46:24.726'``), TELDEC in degrees
    (``'-02:18:01.098'``); a number is taken as degrees.

    Examples
    --------
    >>> telescope_pointing({"TELRA": "03:00:00.000", "TELDEC": "-00:30:00.0"})
    (45.0, -0.5)
    """
    ra = _sexagesimal(header.get("TELRA"), hours=True) if header.get("TELRA") is not None else None
    dec = _sexagesimal(header.get("TELDEC"), hours=False) if header.get("TELDEC") is not None else None
    if ra is None or dec is None or not -90.0 <= dec <= 90.0:
        return None
    return ra % 360.0, dec
