"""Write (and read back) focal-plane images as FITS, PNG or NPY, atomically, with provenance."""
import json
from pathlib import Path

import fitsio
import numpy as np
from PIL import Image, PngImagePlugin

from desghost import __version__
from desghost.atomic import atomic_path
from desghost.errors import OutputError, UsageError
from desghost.reading.fitsfile import cfitsio_name
from desghost.timestamps import fits_utc_now

__all__ = ["as_focal_plane_uint8", "check_output_format", "FITS_CARDS", "IMAGE_SUFFIXES", "provenance",
           "read_focal_plane_image", "read_provenance", "write_focal_plane"]

IMAGE_SUFFIXES = (".fits", ".fits.fz", ".png", ".npy", ".jpg", ".jpeg")


def _suffix(path):
    name = str(path).lower()
    for s in IMAGE_SUFFIXES:
        if name.endswith(s):
            return s
    raise ValueError(f"{path}: unknown image format (use .fits, .png or .npy)")


def check_output_format(path):
    """Raise a UsageError unless ``path`` ends in a writable image suffix."""
    try:
        suffix = _suffix(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if suffix in (".jpg", ".jpeg"):
        raise UsageError(f"{path}: JPEG is lossy; write .png, .fits or .npy")
    return suffix


def provenance(fp, extra=None):
    """Provenance of a focal-plane image as an ordered dict of short keys."""
    prov = {
        "software": f"desghost {__version__}",
        "created": fits_utc_now(),
        "input": fp.source,
        "expnum": fp.expnum, "band": fp.band, "date_obs": fp.date_obs, "flavor": fp.flavor,
        "row_step": fp.row_step, "noise_per_bin": fp.noise_per_bin,
        "ccds_present": len(fp.ccds_present), "ccds_missing": fp.ccds_missing, "ccds_dead": fp.ccds_dead,
    }
    prov.update(extra or {})
    return prov


#: The FITS cards of a focal-plane image's provenance (written by :func:`write_focal_plane`, read back by
#: :func:`read_provenance`).
FITS_CARDS = {"software": "DGVERS", "created": "DATE", "input": "INPUT", "expnum": "EXPNUM", "band": "BAND",
              "date_obs": "DATE-OBS", "nite": "NITE", "flavor": "FLAVOR", "row_step": "ROWSTEP",
              "noise_per_bin": "NOISEBIN", "ccds_present": "NCCDS"}


def _read_first_image(path, header=False):
    """The pixels (or, with ``header``, the header) of a FITS file's first image HDU with data."""
    with cfitsio_name(path) as name, fitsio.FITS(name) as f:
        hdu = next(h for h in f if h.get_exttype() == "IMAGE_HDU" and h.get_dims())
        return hdu.read_header() if header else hdu.read()


def _fits_cards(prov):
    cards = []
    for k, card in FITS_CARDS.items():
        v = prov.get(k)
        if v is None:
            continue
        if isinstance(v, float) and not np.isfinite(v):
            continue
        cards.append({"name": card, "value": v, "comment": k.replace("_", " ")})
    for k, card in (("ccds_missing", "MISSCCD"), ("ccds_dead", "DEADCCD")):
        cards.append({"name": card, "value": ",".join(str(c) for c in prov.get(k, [])) or "none",
                      "comment": k.replace("_", " ")})
    if any(isinstance(c["value"], str) and len(c["value"]) > 68 for c in cards):
        # a string over 68 characters is continued with CONTINUE cards: declare the convention
        cards.insert(0, {"name": "LONGSTRN", "value": "OGIP 1.0", "comment": "CONTINUE cards may follow"})
    return cards


def write_focal_plane(fp, path, extra=None):
    """Write a :class:`~desghost.focalplane.assembly.FocalPlaneImage` to ``path`` (.fits, .png or .npy).

    The write goes to a temporary name in the same directory and is renamed into place, so
    a reader never sees a half-written file.  ``.npy`` gets a ``.json`` sidecar with the
    provenance; FITS and PNG carry it inside.
    """
    path = Path(path)
    suffix = _suffix(path)
    prov = provenance(fp, extra)
    try:
        with atomic_path(path) as tmp:
            _write(fp, path, tmp, suffix, prov)
    except OSError as exc:
        raise OutputError(f"cannot write ({' '.join(str(exc).split())[:160]})", path=path) from exc
    return str(path)


def _write(fp, path, tmp, suffix, prov):
    """Write the image to ``tmp`` in its format (a .npy also gets its .json sidecar)."""
    if suffix in (".fits", ".fits.fz"):
        with fitsio.FITS(str(tmp), "rw", clobber=True) as f:
            f.write(fp.image, header=_fits_cards(prov), extname="FOCALPLANE")
    elif suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text("desghost", json.dumps(prov))
        Image.fromarray(fp.image).save(tmp, format="PNG", pnginfo=info)
    elif suffix == ".npy":
        with open(tmp, "wb") as fh:
            np.save(fh, fp.image)
        with atomic_path(path.with_suffix(".json")) as side_tmp:
            side_tmp.write_text(json.dumps(prov, indent=1))
    else:
        raise ValueError(f"{path}: cannot write {suffix}")


def as_focal_plane_uint8(arr, path):
    """A 400x400 focal-plane image as uint8, converted the documented way, or refused.

    - RGB(A) images, ``(400, 400, 3|4)`` (the published JPEGs): the first channel;
    - 8-bit integers: as they are; 16-bit unsigned integers (16-bit PNG, uint16 arrays):
      scaled by 255/65535;
    - floats with every value in 0..1: scaled by 255; floats within 0..255: rounded.

    Returns
    -------
    ndarray of uint8, shape (400, 400)
    conversion : str
        What was done (empty when nothing was).

    Raises
    ------
    UsageError
        Any other shape, NaN/inf values, or values outside those ranges (exit code 2); the
        message names the file, the shape or range found and the one expected.
    """
    arr = np.asarray(arr)
    conversion, shape = "", arr.shape
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr, conversion = arr[..., 0], "first channel"
    if arr.shape != (400, 400):
        raise UsageError(f"a {'x'.join(map(str, shape))} image; the detector reads 400x400 focal-plane images "
                         "(or give an exposure)", path=path)
    if arr.dtype == np.uint8:
        return arr, conversion
    if arr.dtype.kind == "b":
        raise UsageError("a boolean image; the detector reads 400x400 grey images (0-255)", path=path)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise UsageError("the image has NaN or inf values", path=path)
    lo, hi = float(arr.min()), float(arr.max())
    if arr.dtype == np.uint16 and hi > 255:
        return np.rint(arr * (255.0 / 65535.0)).astype(np.uint8), "16-bit scaled by 255/65535"
    if arr.dtype.kind == "f" and lo >= 0 and hi <= 1:
        return np.rint(arr * 255.0).astype(np.uint8), "0..1 floats scaled by 255"
    if lo >= 0 and hi <= 255:
        return np.rint(arr).astype(np.uint8), conversion
    raise UsageError(f"{arr.dtype} values from {lo:g} to {hi:g}; expected 0..255 (8-bit), 0..65535 (16-bit) or "
                     "0..1 (floats)", path=path)


def read_provenance(path):
    """What a focal-plane image file written by :func:`write_focal_plane` says of its exposure.

    Returns
    -------
    dict
        ``expnum``, ``band``, ``date_obs``, ``nite`` and ``flavor`` where the file (a FITS header,
        a PNG text chunk, or a .npy's .json sidecar) records them; empty for other files.
    """
    keys = ("expnum", "band", "date_obs", "nite", "flavor")
    path = Path(path)
    suffix = _suffix(path)
    try:
        if suffix in (".fits", ".fits.fz"):
            header = _read_first_image(path, header=True)
            found = {k: header[FITS_CARDS[k]] for k in keys if FITS_CARDS[k] in header}
        elif suffix == ".npy":
            sidecar = path.with_suffix(".json")
            found = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        elif suffix == ".png":
            with Image.open(path) as img:
                found = json.loads(img.info.get("desghost", "{}"))
        else:
            found = {}
    except (OSError, ValueError, StopIteration):
        return {}
    out = {k: found[k] for k in keys if isinstance(found, dict) and found.get(k) not in (None, "")}
    if "expnum" in out:
        try:
            out["expnum"] = int(out["expnum"])
        except (TypeError, ValueError):
            del out["expnum"]
    return out


def read_focal_plane_image(path):
    """Read a 400x400 focal-plane image (.fits, .png, .jpg or .npy) as a 2-D uint8 array.

    See :func:`as_focal_plane_uint8` for the conversions.

    Returns
    -------
    image : ndarray of uint8, shape (400, 400)
    conversion : str
        What was done to the file's values (empty when nothing was).

    Raises
    ------
    UsageError
        The file cannot be read as an image, or holds something else (exit code 2).
    """
    suffix = _suffix(path)
    try:
        if suffix in (".fits", ".fits.fz"):
            arr = _read_first_image(path)
        elif suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            with Image.open(path) as img:
                arr = np.asarray(img)
                if img.mode.startswith("I") and arr.size and 0 <= arr.min() and arr.max() <= 65535:
                    arr = arr.astype(np.uint16)  # PIL reads 16-bit PNGs as 32-bit integers
    except FileNotFoundError:
        raise UsageError("no such file", path=path) from None
    except (OSError, ValueError, StopIteration) as exc:  # PIL's UnidentifiedImageError is an OSError
        raise UsageError(f"cannot read as an image ({' '.join(str(exc).split())[:120]})", path=path) from None
    return as_focal_plane_uint8(arr, path)
