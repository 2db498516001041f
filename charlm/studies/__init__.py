"""Studies: many runs, and what is measured across them.

Built on the core (:mod:`charlm.config`, :mod:`charlm.train`, :mod:`charlm.runs`...), never on
:mod:`charlm.report`.

- :mod:`~charlm.studies.runner`: run a list of configs on a local pool or a Dask cluster into a
  resumable CSV log (``run_study``);
- :mod:`~charlm.studies.settings`: which configs a study runs (one parameter at a time, settings
  files, list parameters);
- :mod:`~charlm.studies.summary`: loss-curve statistics, the study table, the best run;
- :mod:`~charlm.studies.selection`: what choosing on the text you report on costs;
- :mod:`~charlm.studies.temperature`: samples at several temperatures and their measures;
- :mod:`~charlm.studies.cells`: LSTM, GRU and RNN at equal size and equal time;
- :mod:`~charlm.studies.operators`: the operators PyTorch runs for one training step, counted;
- :mod:`~charlm.studies.python_corpus`: the same setting on Python source, and part 4.5 whole;
- :mod:`~charlm.studies.backends`: the same study on the pool and on a Dask cluster.
"""
