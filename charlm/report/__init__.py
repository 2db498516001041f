"""The report: what the notebooks show, and how ``make report`` builds it.

The top layer below the command line: it may use the core and :mod:`charlm.studies`, and
nothing below imports it.

- :mod:`~charlm.report.build`: the whole build and its command line (``python -m charlm.report``);
- :mod:`~charlm.report.params`: the notebooks' declared parameters, parameters files, typed values;
- :mod:`~charlm.report.execute`: papermill runs with progress, execution keys, the kernel, the lock;
- :mod:`~charlm.report.assemble`: the executed notebooks merged into one offline HTML file
  (the template: ``templates/charlm_report.html.j2``);
- :mod:`~charlm.report.errors`: the build's exceptions, and the error outputs of a notebook;
- :mod:`~charlm.report.furniture`: captions, alt text, references, anchors, the contents;
- :mod:`~charlm.report.display`: escaped text, tables, markdown;
- :mod:`~charlm.report.plots`: every figure;
- :mod:`~charlm.report.claims`: claims of the coursework and the reference, checked;
- :mod:`~charlm.report.sections`: the sentences of each section whose content depends on the data;
- :mod:`~charlm.report.slider`: the static and live temperature sliders;
- :mod:`~charlm.report.mathml`: LaTeX formulas of the markdown as MathML (the page is offline);
- :mod:`~charlm.report.timings`: the build and test times in ``results/timings.json``, and the
  README's timing lines rendered from them.
"""
