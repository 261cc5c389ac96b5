"""The focal plane: binning each CCD into its box of the 400x400 image, orientation, stretch."""

from desghost.focalplane.annotated_set import load_via_images, real_split
from desghost.focalplane.assembly import FocalPlaneImage, assemble_exposure
from desghost.focalplane.ccd_map import ccd_map
from desghost.focalplane.imagefile import read_focal_plane_image, write_focal_plane

__all__ = ["assemble_exposure", "ccd_map", "FocalPlaneImage", "load_via_images", "read_focal_plane_image", "real_split", "write_focal_plane"]
