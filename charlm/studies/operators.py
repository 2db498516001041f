"""What PyTorch runs for one training step: the operators behind a model's forward and backward
pass, counted.

:func:`operator_calls` counts them for a config; :data:`FUSED_KERNEL` is the fused oneDNN kernel
by which PyTorch runs a whole LSTM layer on the CPU. :mod:`charlm.studies.cells` uses both to
explain why the cells, at equal parameter count, do not take equal time.

Measured counts are never written here: the report computes and states them.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..config import TrainConfig
from ..model import CharRNN


def operator_calls(cfg: TrainConfig) -> dict[str, int]:
    """How many times each torch operator runs in one forward and backward pass of ``cfg``.

    One chunk of ``chunk_len`` characters through the model of ``cfg`` (random weights and
    characters: the count does not depend on them), then ``backward``; the optimiser step is
    left out. Keys are ATen operator names (``"aten.addmm"``...). A cell that PyTorch runs as
    one fused kernel per layer (the LSTM on the CPU, where oneDNN is available:
    ``aten.mkldnn_rnn_layer``) makes a number of calls that does not grow with the chunk
    length; a cell whose recurrence is computed step by step makes calls in proportion to it.
    Counted with a ``TorchDispatchMode``, which sees every operator below autograd. The model
    is built with torch's global random generator, as any ``CharRNN`` is.
    """
    calls: dict[str, int] = {}

    class _Count(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func.overloadpacket)
            calls[name] = calls.get(name, 0) + 1
            return func(*args, **(kwargs or {}))

    model = CharRNN(cfg.hidden_size, cfg.n_layers, cfg.cell)
    x = torch.randint(0, model.vocab_size, (cfg.batch_size, cfg.chunk_len),
                      generator=torch.Generator().manual_seed(0))
    with _Count():
        logits, _ = model(x)
        logits.sum().backward()
    return calls


FUSED_KERNEL = "aten.mkldnn_rnn_layer"  # the fused oneDNN kernel of a recurrent layer (CPU)


__all__ = ["FUSED_KERNEL", "operator_calls"]
