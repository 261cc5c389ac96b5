#!/usr/bin/env python3
"""Record the golden product digests of tests/test_products_unchanged.py again.

Run it only when a change of the model, the simulator or a product format changes the products
on purpose, and say why in the commit message:

    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 python3 tools/record_golden.py

It makes the demo's and the golden night's products through the ``desghost`` command (real
processes, as the test does), digests them and rewrites ``tests/data/products_golden.json``.
The 2-rank ceci stage is never recorded: the test compares it with the night's digest.
"""
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers import GOLDEN, golden_demo_digest, golden_night_digest, write_golden_night  # noqa: E402


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = write_golden_night(tmp / "inputs")
        golden = {"demo": golden_demo_digest(tmp), "night": golden_night_digest(inputs, tmp)}
    before = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")
    for name in golden:
        changed = sorted(k for k in golden[name] if before.get(name, {}).get(k) != golden[name][k])
        print(f"{name}: {len(golden[name])} exposures, changed: {', '.join(changed) or 'none'}")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
