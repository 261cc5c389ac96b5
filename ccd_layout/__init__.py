"""The camera layouts shipped as data: DECam's CCD table, camera description and known-bad regions."""
__all__ = []
