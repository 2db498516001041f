"""The regularisers of the recurrent layers: dropout masks and weight drop.

The model (:mod:`charlm.model`) keeps one parameter layout, a fused multi-layer ``nn.LSTM``
(``GRU``, ``RNN``), whatever the regularisers are. torch's own dropout runs inside that fused
call. The other masks, and weight drop, need the layers one at a time: :func:`run_layers` runs
each layer with its own weights of the fused module, as a one-layer module of the same kind
would, with a dropout module between the layers and, in training, DropConnect on each layer's
hidden-to-hidden weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # one layer's, in torch's order


class FastDropout(nn.Module):
    """Element-wise dropout, as ``nn.Dropout``, whose mask is cut from 16-bit random integers.

    torch's CPU dropout draws one Bernoulli value per element, which at 32 x 100 x 256
    activations costs about 13 ms per call, forward and backward, nearly as much as a layer.
    Here one 64-bit draw gives four elements their 16-bit random value, and an element is kept
    when its value lies above a threshold: the same independent masks with a quarter of the
    draws (about 4.5 ms). ``p`` is rounded to a multiple of 1/65536 (0.2 becomes 0.199997), and
    kept elements are scaled by the exact inverse of the keep probability, so the expected
    activation is unchanged.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        dropped = round(p * 65536)  # of the 65536 values of a 16-bit integer
        self.threshold = dropped - 32768  # keep int16 values >= this: 65536 - dropped of them
        self.scale = 65536 / (65536 - dropped)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.p:
            return x
        n = x.numel()
        words = torch.randint(-2**63, 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64,
                              device=x.device)
        values = words.view(torch.int16)[:n].view(x.shape)
        return x * (values >= self.threshold).to(x.dtype).mul_(self.scale)


class LockedDropout(nn.Module):
    """Dropout with ONE mask per sequence, shared by all its positions (locked, or variational,
    dropout: Gal & Ghahramani, 2016; Merity et al., 2018).

    Each ``(batch, hidden)`` unit of a ``(batch, seq, hidden)`` input is either kept (scaled by
    ``1 / (1 - p)``) or zeroed for the whole sequence. Drawing ``batch x hidden`` values instead
    of ``batch x seq x hidden`` makes it far cheaper than element-wise dropout, and a unit
    that is off stays off, so the next layer cannot rely on it anywhere in the chunk.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or not self.p:
            return x
        mask = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1 - self.p)
        return x * mask / (1 - self.p)


# How dropout's masks are drawn (TrainConfig.dropout_masks)
DROPOUTS = {"torch": nn.Dropout, "fast": FastDropout, "locked": LockedDropout}


def one_layer(rnn: nn.RNNBase) -> nn.RNNBase:
    """A one-layer module of ``rnn``'s kind and width, on the meta device: it holds no weights
    and draws no random numbers; :func:`run_layers` calls it with each layer's weights."""
    return type(rnn)(rnn.hidden_size, rnn.hidden_size, 1, batch_first=True, device="meta")


def layer_weights(rnn: nn.RNNBase, i: int) -> dict[str, torch.Tensor]:
    """Layer ``i``'s weights of the fused ``rnn``, named as a one-layer module names them."""
    return {f"{name}_l0": getattr(rnn, f"{name}_l{i}") for name in WEIGHTS}


def run_layers(rnn: nn.RNNBase, shape: nn.RNNBase, x: torch.Tensor, state: State | None,
               between: nn.Module, weight_drop: float) -> tuple[torch.Tensor, State]:
    """``rnn(x, state)`` with its layers run one at a time: ``between`` (a dropout module) on
    each layer's input but the first, and, in training, each layer's hidden-to-hidden weights
    dropped with probability ``weight_drop`` (DropConnect, one mask per call: Wan et al., 2013;
    Merity et al., 2018). ``shape`` is :func:`one_layer` of ``rnn``.

    Weight drop regularises the recurrent connections, which dropout on activations must leave
    alone; dropping the weights, not the state, keeps each layer's fused kernel. States are
    ``(n_layers, batch, hidden)``, as the fused call takes and returns them."""
    lstm = isinstance(rnn, nn.LSTM)
    finals = []
    for i in range(rnn.num_layers):
        if i:
            x = between(x)  # the top layer's output is dropped by the model
        layer_state = None if state is None else (
            (state[0][i:i + 1], state[1][i:i + 1]) if lstm else state[i:i + 1])
        weights = layer_weights(rnn, i)
        if rnn.training and weight_drop:
            weights["weight_hh_l0"] = F.dropout(weights["weight_hh_l0"], weight_drop,
                                                training=True)
        x, final = functional_call(shape, weights, (x, layer_state))
        finals.append(final)
    if lstm:
        return x, (torch.cat([h for h, _ in finals]), torch.cat([c for _, c in finals]))
    return x, torch.cat(finals)
