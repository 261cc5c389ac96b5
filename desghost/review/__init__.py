"""The review step: operators confirm or overrule detections, and corrections become training data.

:mod:`.queue` orders a night's exposures for review, :mod:`.checks` validates a decision
against the night, :mod:`.decisions_file` reads decisions from a CSV file (``review --apply``),
:mod:`.app` is the review web page (``desghost review``) and :mod:`.via_export` writes the
reviewed night as a VIA 2.0 project (``desghost export-via``).
"""
