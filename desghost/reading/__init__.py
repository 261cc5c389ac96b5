"""Reading: DECam FITS files of every flavor, their sections and headers, input discovery, annotations."""
