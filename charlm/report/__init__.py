"""The report: what the notebooks show, and how ``make report`` builds it.

The top layer below the command line: it may use the core and :mod:`charlm.studies`, and
nothing below imports it.

- :mod:`~charlm.report.build`: the whole build and its command line (``python -m charlm.report``);
- :mod:`~charlm.report.params`: the notebooks' declared parameters, parameters files, typed values;
- :mod:`~charlm.report.execute`: papermill runs, execution keys (from the code each notebook
  imports), the kernel, the lock;
- :mod:`~charlm.report.schedule`: which notebooks execute, side by side on the cores, with progress
  and the time left;
- :mod:`~charlm.report.myst`: the ``{eval}`` values of the prose, evaluated as the notebook runs
  and rendered into the page;
- :mod:`~charlm.report.assemble`: the executed notebooks merged into one offline HTML file
  (the template: ``templates/charlm_report.html.j2``);
- :mod:`~charlm.report.errors`: the build's exceptions, and the error outputs of a notebook;
- :mod:`~charlm.report.furniture`: captions, alt text, references, anchors, the contents;
- :mod:`~charlm.report.display`: escaped text and tables;
- :mod:`~charlm.report.plots`: every figure;
- :mod:`~charlm.report.sections`: each section's tables and views;
- :mod:`~charlm.report.slider`: the static and live temperature sliders;
- :mod:`~charlm.report.mathml`: LaTeX formulas of the markdown as MathML (the page is offline).

The build's time (and the test suite's) is recorded by :mod:`charlm.timings`.
"""
