"""Runners around the driver: the nightly batch runner and the ceci pipeline stage."""
