"""The report: what the notebooks show, and how ``make report`` builds it.

The top layer below the command line: it may use the core and :mod:`charlm.studies`, and
nothing below imports it.

- :mod:`~charlm.report.build`: papermill runs, nbconvert assembly, the lock (``python -m
  charlm.report``);
- :mod:`~charlm.report.display`: escaped text, tables, markdown;
- :mod:`~charlm.report.plots`: every figure;
- :mod:`~charlm.report.claims`: claims of the coursework and the reference, checked;
- :mod:`~charlm.report.sections`: the sentences of each section whose content depends on the data;
- :mod:`~charlm.report.slider`: the static and live temperature sliders;
- :mod:`~charlm.report.mathml`: LaTeX formulas of the markdown as MathML (the page is offline).
"""
