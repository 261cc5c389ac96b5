"""Sphinx configuration of desghost's documentation (built by tools/test.sh with warnings as errors)."""
import desghost

project = "desghost"
author = "the desghost developers"
release = desghost.__version__
extensions = ["myst_parser", "numpydoc", "sphinx.ext.autodoc", "sphinx.ext.doctest"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
numpydoc_show_class_members = False
numpydoc_validation_checks = set()
autodoc_mock_imports = ["ceci"]      # the ceci stage documents without the pipeline extra
autodoc_member_order = "bysource"
suppress_warnings = ["myst.xref_missing"]   # links to repository files outside docs/ (tests/, benchmarks/)
html_theme = "alabaster"
