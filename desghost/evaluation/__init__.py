"""Evaluation: detection metrics the paper's way and COCO's, and evaluation runs."""

from desghost.evaluation.evaluate import evaluate_against_annotators, score_predictions

__all__ = ["evaluate_against_annotators", "score_predictions"]
