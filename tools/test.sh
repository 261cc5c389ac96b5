#!/usr/bin/env bash
# Install what the tests need on a fresh machine (Open MPI for the MPI stage test, Chromium and
# ChromeDriver for the report's browser test, HEASARC fitsverify for the products' FITS check, the
# package with its test extras), build the documentation (warnings as errors), check the import
# layers, then run every test tier.  `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mpirun >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null
    else
        echo "note: mpirun not found and cannot apt-get it; the MPI stage test will be skipped" >&2
    fi
fi
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
        echo "note: chromium/chromedriver not found and cannot apt-get them; the report's browser test will be skipped" >&2
    fi
fi
if ! command -v fitsverify >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fitsverify >/dev/null
    else
        echo "note: fitsverify not found and cannot apt-get it; the fitsverify tests will be skipped" >&2
    fi
fi
python3 -m pip install -q -e '.[test]'
python3 -m sphinx -W -q -b html docs docs/_build/html   # the documentation site, warnings as errors
vulture desghost tools/vulture_whitelist.py --min-confidence 60   # no dead code (names only libraries use are in the whitelist)
python3 tools/function_lengths.py --limit 75 >/dev/null   # no function over 75 lines (argparse declarations aside)
lint-imports --no-cache   # the layer contracts in .importlinter: subpackages in flow order, no training/evaluation in the masking chain
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
python3 -m pytest -q -m "" "$@"   # every tier: fast, slow, e2e, browser, real_data, gpu (the last two skip with a reason where absent)
