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
        if not token.isdigit():
            raise ValueError(f"CCDNUM {token!r} is not a whole number")
        out.append(int(token))
    return tuple(out)


def check_against_night(decision, exposures, ccdnums):
    """Refuse a decision about something the night does not have; returns nothing when it is sound.

    Parameters
    ----------
    decision : dict
        ``expnum``, ``target_kind``, ``target``, ``decision``, ``analyst`` and optionally
        ``artifact_class``, ``polygon_px``, ``ccdnums`` (as :meth:`Catalog.record_decisions`).
    exposures : dict
        ``{expnum: ExposureEntry}`` of the night (its ``instances`` carry ``id``).
    ccdnums : set of int
        The camera's CCDNUMs.

    Raises
    ------
    ValueError
        An EXPNUM not in the night, an instance the exposure does not have, an unknown CCDNUM,
        or anything :func:`~desghost.catalog.review.check_decision` refuses.
    """
    expnum = decision.get("expnum")
    if expnum not in exposures:
        raise ValueError(f"EXPNUM {expnum} is not an exposure of this night")
    kind, target = decision.get("target_kind"), str(decision.get("target", "")).strip()
    if kind == "instance" and decision.get("decision") != "missed":
        known = {str(i["id"]) for i in exposures[expnum].instances}
        if target not in known:
            raise ValueError(f"EXPNUM {expnum} has no instance {target or '(none given)'}"
                             f" (it has {', '.join(sorted(known, key=int)) or 'none'})")
    touched = list(decision.get("ccdnums", ())) + ([target] if kind == "ccd" else [])
    for c in touched:
        if not str(c).isdigit() or int(c) not in ccdnums:
            raise ValueError(f"CCDNUM {c} is not a CCD of the camera")
    check_decision(kind, target, decision.get("decision"), decision.get("analyst"), decision.get("artifact_class", ""),
                   decision.get("polygon_px", ()), decision.get("ccdnums", ()))
