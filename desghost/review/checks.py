"""Check a review decision against the night it is about: the exposure, instance and CCDs must exist.

Pure computation; what the catalog itself refuses (no analyst, unknown decision) is
:func:`desghost.catalog.review.check_decision`.
"""
from desghost.catalog.review import check_decision

__all__ = ["check_against_night", "parse_ccdnums"]


def parse_ccdnums(text):
    """CCDNUMs typed as ``"5, 12 31"`` (commas or spaces) -> ``(5, 12, 31)``.

    Raises
    ------
    ValueError
        A token that is not a whole number.

    Examples
    --------
    >>> parse_ccdnums(" 5, 12 31,")
    (5, 12, 31)
    """
    out = []
    for token in str(text or "").replace(",", " ").split():
        if not (token.isascii() and token.isdigit()):
            raise ValueError(f"CCDNUM {token!r} is not a whole number")
        out.append(int(token))
    return tuple(out)


def check_against_night(decision, exposures, layout):
    """A decision checked against the night, its CCD target written canonically; raises when refused.

    Parameters
    ----------
    decision : dict
        ``expnum``, ``target_kind``, ``target``, ``decision``, ``analyst`` and optionally
        ``artifact_class``, ``polygon_px``, ``ccdnums`` (as :meth:`Catalog.record_decisions`).
    exposures : dict
        ``{expnum: ExposureEntry}`` of the night (its ``instances`` carry ``id``).
    layout : CameraLayout
        The camera's CCDs, its dead CCDs and the focal-plane image size.

    Returns
    -------
    dict
        The decision, a CCD target as its plain number (``"045"`` -> ``"45"``).

    Raises
    ------
    ValueError
        An EXPNUM not in the night; an instance the exposure does not have; an unknown CCDNUM
        or, for a missed artifact, a dead one; a missed artifact not about the whole exposure;
        a target on a whole-exposure decision; a polygon outside the image; or anything
        :func:`~desghost.catalog.review.check_decision` refuses.
    """
    expnum = decision.get("expnum")
    if expnum not in exposures:
        raise ValueError(f"EXPNUM {expnum} is not an exposure of this night")
    kind, target, verdict = decision.get("target_kind"), str(decision.get("target", "")).strip(), decision.get("decision")
    if verdict == "missed" and (kind != "exposure" or target):
        raise ValueError("a missed artifact is about the whole exposure (target_kind exposure, no target)")
    if kind == "exposure" and target:
        raise ValueError(f"a whole-exposure decision has no target (got {target!r})")
    if kind == "instance":
        known = {str(i["id"]) for i in exposures[expnum].instances}
        if target not in known:
            raise ValueError(f"EXPNUM {expnum} has no instance {target or '(none given)'}"
                             f" (it has {', '.join(sorted(known, key=int)) or 'none'})")
    if kind == "ccd":
        target = str(_ccdnum(target, layout))
    dead = set(layout.dead_ccds(expnum))
    for c in decision.get("ccdnums", ()):
        if _ccdnum(c, layout) in dead:
            raise ValueError(f"CCDNUM {c} is dead in EXPNUM {expnum}: it has no data to mask")
    check_decision(kind, target, verdict, decision.get("analyst"), decision.get("artifact_class", ""),
                   decision.get("polygon_px", ()), decision.get("ccdnums", ()))
    h, w = layout.image_shape_px
    for x, y in decision.get("polygon_px", ()):
        if not (-1.0 <= x <= w and -1.0 <= y <= h):
            raise ValueError(f"polygon point ({x}, {y}) is outside the {w}x{h} focal-plane image")
    return {**decision, "target": target}


def _ccdnum(value, layout):
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) not in layout.ccds:
        raise ValueError(f"CCDNUM {value} is not a CCD of the camera")
    return int(text)
