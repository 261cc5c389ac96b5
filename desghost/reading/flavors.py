"""The table of per-flavor readers: what differs between raw, Community Pipeline and DES files.

:class:`~desghost.reading.exposure.Exposure` scans headers, checks identity and applies the
common rules (non-finite pixels, all-masked and all-zero CCDs, cut-outs, dead regions) the same
way for every flavor, and asks the flavor's reader for the rest: which HDUs are science CCDs,
where the data section lies, how pixels are read, which pixels are flagged.  A fourth flavor is
one module with a :class:`FlavorReader` subclass, one entry in :data:`READERS`, one branch in
:func:`desghost.reading.headers.detect_flavor`, and its own test file.
"""
from desghost.reading.community import CommunityReader
from desghost.reading.des import DesReader
from desghost.reading.raw import RawReader
from desghost.reading.records import FlavorReader

__all__ = ["FlavorReader", "READERS", "reader_of"]

#: Flavor name (as :func:`desghost.reading.headers.detect_flavor` gives it) -> its reader.
READERS = {reader.name: reader for reader in (RawReader(), CommunityReader(), DesReader())}


def reader_of(flavor):
    """The reader of ``flavor`` (``raw``, ``ooi`` or ``des``).

    Raises
    ------
    KeyError
        A flavor with no reader.
    """
    return READERS[flavor]
