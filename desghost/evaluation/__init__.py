"""Evaluation: detection metrics the paper's way and COCO's, and evaluation runs."""
