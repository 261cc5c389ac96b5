"""Research code: operating-point scans, image statistics, diagnostics, model files. Not installed; tools/, benchmarks/ and tests import it."""
