#!/usr/bin/env python3
"""List the functions of desghost/ longer than a limit (issue 36: none over 75 lines, argparse
declarations aside; the orchestration functions under 60).

    python3 tools/function_lengths.py [--limit 75]

A function's length counts its lines from ``def`` to its last statement, docstring included.
Functions whose name starts with ``register`` (argparse declarations of the CLI) are listed apart.
Exit status 1 when any other function is over the limit.
"""
import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lengths(package=ROOT / "desghost"):
    """``(lines, 'path:line name')`` of every function and method in ``package``."""
    out = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return sorted(out, reverse=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=75, help="longest allowed function, lines (default 75)")
    args = ap.parse_args()
    over = [(n, where) for n, where in lengths() if n > args.limit]
    declarations = [(n, w) for n, w in over if w.split()[-1].startswith("register")]
    others = [(n, w) for n, w in over if (n, w) not in declarations]
    for n, where in others:
        print(f"{n:4d}  {where}")
    for n, where in declarations:
        print(f"{n:4d}  {where}  (argparse declarations)")
    print(f"{len(others)} functions over {args.limit} lines (argparse declarations aside)")
    return 1 if others else 0


if __name__ == "__main__":
    sys.exit(main())
