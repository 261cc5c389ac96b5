"""The driver: one exposure through the chain, and many exposures with the work overlapped."""
