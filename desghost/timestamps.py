"""Times written into products: FITS ``DATE`` values and ISO stamps, always UTC."""
from datetime import datetime, timezone

__all__ = ["fits_utc_now"]


def fits_utc_now():
    """The current UTC time as a FITS ``DATE`` value, ``YYYY-MM-DDThh:mm:ss``.

    The FITS standard (4.0, section 4.4.2.1) allows no time-zone suffix: UTC is implied.
    """
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
