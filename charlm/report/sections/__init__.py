"""Each section's tables and views (coloured text, samples): how its results are shown.

The results come from :mod:`charlm.studies`; the sentences are the notebooks' markdown, with the
computed values inline (``{eval}``). Nothing here trains, scores, samples or records.
"""
