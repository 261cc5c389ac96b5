"""Training: data (synthetic and real annotated images), the training loop, batch prefetching."""
