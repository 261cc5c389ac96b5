#!/usr/bin/env python3
"""Write a run's checkpoint as a slim copy to commit (float16 weights, no optimizer state).

A long CPU training run outlives the machine through the repository: at the end of a session

    python3 tools/slim_checkpoint.py /work/runs/base_lite0_s5000/checkpoint.pt research/checkpoints/base_lite0_s5000.pt

and at the start of the next, copy it back to RUN_DIR/checkpoint.pt and run the same `desghost
train ... --resume` command (``docs/experiments/`` names the run's options).
"""
import argparse

from desghost.training.train import slim_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="a run's checkpoint.pt")
    parser.add_argument("output", help="the slim copy")
    args = parser.parse_args()
    step = slim_checkpoint(args.checkpoint, args.output)
    print(f"{args.output}: step {step}")


if __name__ == "__main__":
    main()
