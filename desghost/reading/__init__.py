"""Reading: DECam FITS files of every flavor, their sections and headers, input discovery, annotations."""

from desghost.reading.annotations import instance_masks, read_via
from desghost.reading.discovery import discover_inputs, group_exposures
from desghost.reading.exposure import open_exposure

__all__ = ["discover_inputs", "group_exposures", "instance_masks", "open_exposure", "read_via"]
