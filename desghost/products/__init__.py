"""Per-exposure products: bad-region mask FITS, exclusion tables, ray-tracing lists, overlays."""
