"""The focal plane: binning each CCD into its box of the 400x400 image, orientation, stretch."""
