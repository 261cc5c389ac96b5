"""Runners around the driver: the nightly batch runner and the ceci pipeline stage."""

from desghost.runners.night import NightSummary, run_night

__all__ = ["NightSummary", "run_night"]
