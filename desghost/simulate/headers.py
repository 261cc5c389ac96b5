"""The headers of simulated DECam files: primary cards, CCD identity, raw sections, a DECam-like WCS."""
from desghost import __version__

__all__ = ["BANDS", "ccd_cards", "date_for_expnum", "PIXEL_SCALE_DEG", "primary_header", "raw_sections", "sexagesimal",
           "wcs_cards"]

PRESCAN_COLS, OVERSCAN_COLS, POSTSCAN_ROWS = 6, 50, 50
PIXEL_SCALE_DEG = 0.263 / 3600.0
BANDS = {"g": "g DECam SDSS c0001 4720.0 1520.0", "r": "r DECam SDSS c0002 6415.0 1480.0",
         "i": "i DECam SDSS c0003 7835.0 1470.0", "z": "z DECam SDSS c0004 9260.0 1520.0",
         "Y": "Y DECam c0005 10095.0 1130.0"}


def date_for_expnum(expnum):
    """A plausible DATE-OBS for an EXPNUM (DECam takes about 330 exposures a night).

    EXPNUMs beyond about 3 million (valid up to 2**31 - 1, but far past DECam's) wrap around, so
    the date stays within a few decades of 2012.
    """
    mjd = 56200.0 + ((expnum - 150000) % 3_000_000) / 330.0
    from astropy.time import Time  # heavy: imported only when an exposure is simulated

    t = Time(mjd, format="mjd")
    return t.isot, float(mjd)


def primary_header(cfg, layout, flavor):
    """Primary header cards of a simulated exposure of ``flavor`` (fitsio records)."""
    date_obs, mjd = date_for_expnum(cfg.expnum)
    hdr = [
        ("INSTRUME", "DECam", "Instrument used to obtain these data"),
        ("TELESCOP", "CTIO 4.0-m telescope", "Telescope name"),
        ("OBSTYPE", "object", "Observation type"),
        ("PROCTYPE", "RAW" if flavor == "raw" else "InstCal", "Data processing level"),
        ("PRODTYPE", "image", "Data product type"),
        ("EXPNUM", int(cfg.expnum), "DECam exposure number"),
        ("FILTER", BANDS.get(cfg.band, cfg.band), "Unique filter identifier"),
        ("EXPTIME", float(cfg.exptime_s), "[s] Exposure duration"),
        ("DATE-OBS", date_obs, "UTC epoch"),
        ("MJD-OBS", round(mjd, 8), "MJD of observation start"),
        ("TELRA", sexagesimal(cfg.pointing_deg[0] / 15.0), "[HH:MM:SS] Telescope RA"),
        ("TELDEC", sexagesimal(cfg.pointing_deg[1]), "[DD:MM:SS] Telescope DEC"),
        ("DESGHSIM", True, "desghost simulated exposure"),
        ("DGVERS", __version__, "desghost version that wrote it"),
        ("DGSEED", int(cfg.seed), "simulation seed"),
    ]
    if flavor == "des":
        hdr.append(("BAND", cfg.band, "Short name for filter"))
    return [{"name": k, "value": v, "comment": c} for k, v, c in hdr]


def sexagesimal(value):
    """``45.5`` -> ``'45:30:00.000'`` (hours or degrees, as DECam writes TELRA and TELDEC).

    Examples
    --------
    >>> sexagesimal(-0.50001)
    '-00:30:00.036'
    """
    sign = "-" if value < 0 else ""
    milli = round(abs(value) * 3600.0 * 1000.0)
    d, rest = divmod(milli, 3600 * 1000)
    m, s_milli = divmod(rest, 60 * 1000)
    return f"{sign}{d:02d}:{m:02d}:{s_milli / 1000.0:06.3f}"


def wcs_cards(layout, ccdnum, nx, ny, col_offset, row_offset, pointing_deg=(45.0, -30.0)):
    """A TAN WCS with DECam's orientation: CCD x runs south, CCD y runs east; the optical axis at ``pointing_deg``."""
    c = layout.ccds[ccdnum]
    scale = PIXEL_SCALE_DEG * layout.ccd_nx_px / nx
    crpix1 = (0.0 - c.xmin_mm) / (c.xmax_mm - c.xmin_mm) * nx + 0.5 + col_offset
    crpix2 = (0.0 - c.ymin_mm) / (c.ymax_mm - c.ymin_mm) * ny + 0.5 + row_offset
    return [("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRVAL1", float(pointing_deg[0])),
            ("CRVAL2", float(pointing_deg[1])),
            ("CRPIX1", round(crpix1, 3)), ("CRPIX2", round(crpix2, 3)),
            ("CD1_1", 0.0), ("CD1_2", scale), ("CD2_1", -scale), ("CD2_2", 0.0),
            ("CUNIT1", "deg"), ("CUNIT2", "deg"), ("RADESYS", "ICRS"), ("EQUINOX", 2000.0)]


def raw_sections(layout, ccdnum, ny, nx):
    """Raw-frame sections of a CCD: DECam's S CCDs put the 50 postscan rows first."""
    south = layout.ccds[ccdnum].detpos.startswith("S")
    width = 2 * (PRESCAN_COLS + OVERSCAN_COLS) + nx
    height = ny + POSTSCAN_ROWS
    y1 = POSTSCAN_ROWS + 1 if south else 1
    y2 = y1 + ny - 1
    d1 = PRESCAN_COLS + OVERSCAN_COLS + 1
    half = nx // 2
    left = (d1, d1 + half - 1)
    right = (d1 + half, d1 + nx - 1)
    bias_left = (PRESCAN_COLS + 1, PRESCAN_COLS + OVERSCAN_COLS)
    bias_right = (d1 + nx, d1 + nx + OVERSCAN_COLS - 1)
    amp_a_right = layout.ccds[ccdnum].amp_a_side == "right"
    a_data, a_bias = (right, bias_right) if amp_a_right else (left, bias_left)
    b_data, b_bias = (left, bias_left) if amp_a_right else (right, bias_right)
    sec = lambda x, y: f"[{x[0]}:{x[1]},{y[0]}:{y[1]}]"  # noqa: E731
    cards = {"DATASEC": sec((d1, d1 + nx - 1), (y1, y2)), "TRIMSEC": sec((d1, d1 + nx - 1), (y1, y2)),
             "DATASECA": sec(a_data, (y1, y2)), "BIASSECA": sec(a_bias, (y1, y2)),
             "DATASECB": sec(b_data, (y1, y2)), "BIASSECB": sec(b_bias, (y1, y2))}
    return cards, (height, width), (y1 - 1, d1 - 1), a_data, b_data


def ccd_cards(layout, ccdnum, extra):
    """A CCD HDU's identity cards (EXTNAME = DETPOS, CCDNUM, DETPOS, INHERIT) plus ``extra`` pairs."""
    detpos = layout.ccds[ccdnum].detpos
    cards = [("EXTNAME", detpos), ("CCDNUM", ccdnum), ("DETPOS", detpos), ("INHERIT", True)]
    return [{"name": k, "value": v} for k, v in cards + list(extra)]
