"""desghost: find ghosting and scattered-light artifacts in DECam exposures.

The public API is a few nouns:

- :func:`desghost.layout.load_layout` -- the camera geometry (data files in ``ccd_layout/``).
- :func:`desghost.reading.exposure.open_exposure` -- any DECam exposure flavor, streamed one CCD at a time.
- :func:`desghost.focalplane.assembly.assemble_exposure` -- an exposure as the 400x400 focal-plane image.
- :func:`desghost.simulate.exposure.write_simulated_exposure` -- a realistic synthetic exposure.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
