"""The examples in the pure modules' docstrings run and give what they show."""
import doctest
import importlib

import pytest

#: Modules of pure computation whose docstrings carry examples.
PURE_MODULES = ["desghost.agreement", "desghost.mask_geometry", "desghost.focalplane.annotated_set",
                "desghost.focalplane.orientation", "desghost.layout", "desghost.products.label_layout",
                "desghost.reading.sections", "desghost.runners.night", "desghost.catalog.review",
                "desghost.products.exclusion_rule", "desghost.products.exclusion", "desghost.products.sparse_map",
                "desghost.products.region_table",
                "desghost.review.queue",
                "desghost.review.checks"]


@pytest.mark.parametrize("name", PURE_MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring example"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
