"""The model: embedding -> recurrent layer(s) -> linear decoder over the vocabulary."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from .data import VOCAB_SIZE
from .errors import ModelError

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


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
_DROPOUTS = {"torch": nn.Dropout, "fast": FastDropout, "locked": LockedDropout}


class LayerStack(nn.Module):
    """Stacked recurrent layers run one at a time, with a dropout module between them and
    optional weight drop (DropConnect on each layer's hidden-to-hidden weights, one mask per
    forward call: Wan et al., 2013; Merity et al., 2018).

    Called like a multi-layer ``nn.LSTM`` (``batch_first``): ``(x, state) -> (out, state)`` with
    states ``(n_layers, batch, hidden)``. Weight drop regularises the recurrent connections,
    which dropout on activations must leave alone; dropping the weights, not the state, keeps
    each layer's fused kernel. Each layer is a one-layer ``nn.LSTM`` (GRU, RNN), so the
    parameters are named ``layers.<i>.weight_hh_l0`` and so on.
    """

    def __init__(self, cell: str, hidden_size: int, n_layers: int, between: nn.Module,
                 weight_drop: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_CELLS[cell](hidden_size, hidden_size, 1, batch_first=True)
                                    for _ in range(n_layers))
        self.between = between  # the dropout applied to each layer's output but the last
        self.weight_drop = weight_drop

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        lstm = isinstance(self.layers[0], nn.LSTM)
        finals = []
        for i, layer in enumerate(self.layers):
            if i:
                x = self.between(x)  # the top layer's output is dropped by the model
            layer_state = None if state is None else (
                (state[0][i:i + 1], state[1][i:i + 1]) if lstm else state[i:i + 1])
            if self.training and self.weight_drop:
                dropped = F.dropout(layer.weight_hh_l0, self.weight_drop, training=True)
                x, final = functional_call(layer, {"weight_hh_l0": dropped}, (x, layer_state))
            else:
                x, final = layer(x, layer_state)
            finals.append(final)
        if lstm:
            return x, (torch.cat([h for h, _ in finals]), torch.cat([c for _, c in finals]))
        return x, torch.cat(finals)


class CharRNN(nn.Module):
    """Character-level language model.

    ``forward`` runs a whole sequence through the recurrent layer in ONE call (no Python loop
    over characters). With ``state=None`` the hidden (and, for the LSTM, cell) state starts
    as zero vectors, as the coursework asks.
    """

    def __init__(
        self,
        hidden_size: int = 128,
        n_layers: int = 2,
        cell: str = "lstm",
        dropout: float = 0.0,
        vocab_size: int = VOCAB_SIZE,
        dropout_masks: str = "torch",
        weight_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.cell = cell
        self.vocab_size = vocab_size
        self.encoder = nn.Embedding(vocab_size, hidden_size)
        # dropout on the non-recurrent connections only (Zaremba et al., 2014): between the
        # stacked layers and on the top layer's output; the recurrent state is never dropped
        # (weight drop thins the recurrent weights instead). torch's dropout keeps the one fused
        # multi-layer call and its checkpoint layout; other masks and weight drop need the
        # layers one at a time.
        drop = _DROPOUTS[dropout_masks]
        if dropout_masks != "torch" or weight_drop:
            self.rnn = LayerStack(cell, hidden_size, n_layers, drop(dropout), weight_drop)
        else:
            self.rnn = _CELLS[cell](
                hidden_size, hidden_size, n_layers, batch_first=True,
                dropout=dropout if n_layers > 1 else 0.0,
            )
        self.drop = drop(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, indices: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Scores for the next character at every position.

        indices: ``(batch, seq)`` long. Returns logits ``(batch, seq, vocab)`` and the final
        state (``(h, c)`` for the LSTM, ``h`` otherwise; each ``(n_layers, batch, hidden)``).
        """
        emb = self.encoder(indices)  # (batch, seq, hidden)
        out, state = self.rnn(emb, state)  # (batch, seq, hidden)
        return self.decoder(self.drop(out)), state

    def n_params(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class Ensemble(nn.Module):
    """Several :class:`CharRNN` members whose predicted distributions are averaged.

    ``forward`` takes and returns the same shapes as a member's, so sampling, BPC and
    checkpoints use an ensemble as they use one model. Its "logits" are the log of the mean of
    the members' next-character probabilities (a softmax of them gives that mean back, and a
    temperature applies to the mixture); its state is the tuple of the members' states.
    """

    def __init__(self, members: Sequence[CharRNN]) -> None:
        super().__init__()
        if not members:
            raise ModelError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        first = members[0]
        self.hidden_size, self.n_layers, self.cell = first.hidden_size, first.n_layers, first.cell
        self.vocab_size = first.vocab_size

    def forward(self, indices: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        """Log of the members' mean probabilities ``(batch, seq, vocab)`` and their states."""
        states = state if state is not None else (None,) * len(self.members)
        log_probs, new_states = [], []
        for member, member_state in zip(self.members, states):
            logits, new_state = member(indices, member_state)
            log_probs.append(F.log_softmax(logits.float(), dim=-1))
            new_states.append(new_state)
        mixed = torch.logsumexp(torch.stack(log_probs), dim=0) - math.log(len(log_probs))
        return mixed, tuple(new_states)

    def n_params(self) -> int:
        """Number of trainable parameters, all members together."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build_member(cfg) -> CharRNN:
    """One model of the architecture a :class:`~charlm.config.TrainConfig` describes."""
    return CharRNN(cfg.hidden_size, cfg.n_layers, cfg.cell, cfg.dropout,
                   dropout_masks=cfg.dropout_masks, weight_drop=cfg.weight_drop)


def build_model(cfg) -> CharRNN | Ensemble:
    """The model a :class:`~charlm.config.TrainConfig` describes (on the CPU): one
    :class:`CharRNN`, or an :class:`Ensemble` of ``cfg.ensemble`` of them."""
    if cfg.ensemble > 1:
        return Ensemble([build_member(cfg) for _ in range(cfg.ensemble)])
    return build_member(cfg)


def _non_finite(what: str) -> ModelError:
    return ModelError(f"{what} gives non-finite scores (its weights contain NaN or inf; "
                      f"was it trained to divergence?)")


def finite_weights(model: nn.Module) -> bool:
    """Whether every weight (and floating-point buffer) of ``model`` is finite.

    Sums each tensor (a NaN or inf anywhere makes its sum non-finite) and syncs once, which is
    far cheaper than ``isfinite`` on every element, so it can run before every use. A sum can
    also overflow, but only for weights near the float limit, whose scores would overflow too.
    """
    with torch.no_grad():
        sums = [t.sum() for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
        return not sums or bool(torch.isfinite(torch.stack(sums)).all())


def check_finite(model: nn.Module, what: str = "the model") -> None:
    """Raise :class:`~charlm.errors.ModelError` unless every weight of ``model`` is finite.

    A diverged run can save NaN weights; this says so in one sentence instead of letting
    sampling crash or BPC come out as NaN. Finite weights give finite scores: the recurrent
    output is bounded by tanh, so each logit is bounded by the decoder's absolute row sum plus
    its bias.
    """
    if not finite_weights(model):
        raise _non_finite(what)


def check_finite_scores(scores: torch.Tensor, what: str = "the model") -> None:
    """Raise :class:`~charlm.errors.ModelError` unless every value of ``scores`` is finite."""
    if not bool(torch.isfinite(scores).all()):
        raise _non_finite(what)
