"""The driver: one exposure through the chain, and many exposures with the work overlapped."""

from desghost.driver.exposure import ExposureResult, RunConfig, process_exposure
from desghost.driver.many import process_exposures

__all__ = ["ExposureResult", "process_exposure", "process_exposures", "RunConfig"]
