"""``python -m desghost.cli``: the same as ``python -m desghost`` and the ``desghost`` command."""
import sys

from desghost.cli import main

__all__ = []

if __name__ == "__main__":
    sys.exit(main())
