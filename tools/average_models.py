"""Average the weights of model files of one architecture (a "model soup").

The shipped model is the equal-weight average of two runs, the second continued from the
first; recalibrate the result with ``tools/scan_postprocessing.py`` before shipping it.

    python tools/average_models.py A.safetensors B.safetensors -o SOUP.safetensors [--weights 0.5 0.5]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # research/ lives beside tools/, not installed

from research.model_files import write_weight_average  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="model files (.safetensors) of one architecture")
    ap.add_argument("-o", "--output", required=True, help="model file to write")
    ap.add_argument("--weights", type=float, nargs="+", help="one weight per model (default: equal)")
    args = ap.parse_args()
    print("wrote", write_weight_average(args.models, args.output, args.weights))


if __name__ == "__main__":
    main()
