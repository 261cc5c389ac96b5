"""``python -m desghost``: the desghost CLI, or a ceci stage when ceci launches one by name."""
import sys

from desghost.cli import main

__all__ = []

CECI_STAGES = ("DesghostMasking", "DesghostSimulateNight")


def _main():
    if len(sys.argv) > 1 and sys.argv[1] in CECI_STAGES:
        # ceci is heavy and optional for the CLI: imported only when ceci launches a stage
        from ceci import PipelineStage

        from desghost.runners import ceci_stage  # noqa: F401  (registers the stages with ceci)
        return PipelineStage.main()
    return main()


if __name__ == "__main__":
    sys.exit(_main())
