"""``python -m desghost``: the desghost CLI, or a ceci stage when ceci launches one by name."""
import sys

CECI_STAGES = ("DesghostMasking", "DesghostSimulateNight")


def _main():
    if len(sys.argv) > 1 and sys.argv[1] in CECI_STAGES:
        from ceci import PipelineStage

        from . import ceci_stage  # noqa: F401  (registers the stage with ceci)
        return PipelineStage.main()
    from .cli import main
    return main()


if __name__ == "__main__":
    sys.exit(_main())
