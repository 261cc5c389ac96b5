"""What the driver reports per exposure: an Outcome, with the result stripped of its pixels."""
from dataclasses import dataclass, field, replace

__all__ = ["LightInstance", "Outcome", "without_pixels"]


@dataclass
class LightInstance:
    """An instance without its pixels: what the catalog stores and MPI ranks exchange."""

    class_id: int
    class_name: str
    score: float
    bbox_px: tuple
    area_px: int
    outline_px: list = field(default_factory=list)


def without_pixels(result):
    """A copy of an ExposureResult without pixel arrays (``image=None``, :class:`LightInstance` s).

    ``result`` itself is unchanged.
    """
    return replace(result, image=None, instances=[LightInstance(i.class_id, i.class_name, i.score, i.bbox_px,
                                                                i.area_px, i.outline_px) for i in result.instances])


@dataclass
class Outcome:
    """What happened to one exposure.

    Attributes
    ----------
    path : str
        The input, as an absolute path.
    expnum : int or None
    error : str or None
        One line; None when the exposure was done.
    exit_code : int
        0 when done, else the documented code of the failure (1: internal error).
    result : ExposureResult or None
        Without pixels (:func:`without_pixels`), for done exposures.
    timings_s : dict
    in_flight : int
        Exposures in flight when this one completed (bounded by :func:`in_flight_limit`).
    skipped : str or None
        Why it was not processed (another process finished it first); ``error`` is None and
        ``result`` None then.
    """

    path: str
    expnum: int | None = None
    error: str | None = None
    exit_code: int = 0
    result: object = None
    timings_s: dict = field(default_factory=dict)
    in_flight: int = 0
    skipped: str | None = None
