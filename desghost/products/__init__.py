"""Per-exposure products: bad-region mask FITS, exclusion tables, ray-tracing lists, overlays."""

from desghost.products.exclusion import write_exclusion_fits, write_raytrace_list
from desghost.products.maskfits import write_mask_fits
from desghost.products.overlay import write_overlay

__all__ = ["write_exclusion_fits", "write_mask_fits", "write_overlay", "write_raytrace_list"]
