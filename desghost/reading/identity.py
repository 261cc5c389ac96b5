"""The content identity of an input: what stays the same when an exposure's files are moved.

Inputs are recorded by path, but staging and archiving move files: an exposure met again at
another path is the same exposure when its identity matches.  The identity is a SHA-1 over, for
each of the exposure's files, the file's primary header (the raw 2880-byte blocks up to its END
card: EXPNUM, times, pointing, software versions) and the file's length, taken in an order that
does not depend on the files' names.
Reading it costs one header read per file.  A reprocessed file (another length) or an edited
header gives another identity.
"""
import hashlib
import os

from desghost.errors import UsageError
from desghost.reading.discovery import exposure_files
from desghost.reading.fitsfile import is_gzip

__all__ = ["BLOCK_BYTES", "input_identity", "MAX_HEADER_BLOCKS", "primary_header_bytes"]

#: FITS block size in bytes.
BLOCK_BYTES = 2880
#: Most header blocks read per file (a primary header longer than this is cut: still an identity).
MAX_HEADER_BLOCKS = 64


def primary_header_bytes(path):
    """The raw bytes of a file's primary header, up to the block holding its END card."""
    chunks = []
    with open(path, "rb") as fh:
        for _ in range(MAX_HEADER_BLOCKS):
            block = fh.read(BLOCK_BYTES)
            if not block:
                break
            chunks.append(block)
            cards = (block[i:i + 80] for i in range(0, len(block), 80))
            if any(card[:8] == b"END     " for card in cards):
                break
    return b"".join(chunks)


def input_identity(source):
    """The content identity (40 hex digits) of an input, or None when its files cannot be read.

    Independent of the files' names and folders, and of the order they are given in.

    Parameters
    ----------
    source : str, Path or list
        Anything :func:`desghost.reading.discovery.exposure_files` accepts.
    """
    try:
        per_file = []
        for path in exposure_files(source):
            # a gzip stream's header bytes are compressed: its length identifies it with the rest
            header = b"" if is_gzip(path) else primary_header_bytes(path)
            per_file.append(hashlib.sha1(header + b"\0" + str(os.path.getsize(path)).encode()).hexdigest())
        return hashlib.sha1("".join(sorted(per_file)).encode()).hexdigest()
    except (OSError, ValueError, UsageError):
        return None
