"""The sentences of the report whose content depends on the data, one module per section.

Each function takes computed results and returns markdown (and, where the sentence makes a
claim, its :class:`~charlm.report.claims.Check`); the notebooks only display it.
"""
