

from desghost.simulate.exposure import SimulationConfig, write_simulated_exposure

__all__ = ["SimulationConfig", "write_simulated_exposure"]
