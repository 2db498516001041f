"""The model: embedding -> recurrent layer(s) -> linear decoder over the vocabulary."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data import VOCAB_SIZE
from .errors import ModelError
from .regularisers import DROPOUTS, State, one_layer, run_layers

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


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
        # (weight drop thins the recurrent weights instead). One parameter layout, the fused
        # multi-layer module's, whatever the regularisers: torch's dropout runs inside the
        # fused call, other masks and weight drop run its layers one at a time.
        self.rnn = _CELLS[cell](hidden_size, hidden_size, n_layers, batch_first=True,
                                dropout=dropout if n_layers > 1 else 0.0)
        drop = DROPOUTS[dropout_masks]
        self.drop = drop(dropout)
        self.layered = dropout_masks != "torch" or weight_drop > 0
        if self.layered:
            self.between = drop(dropout)
            self.weight_drop = weight_drop
            self._shape = (one_layer(self.rnn),)  # a tuple: not a submodule, not in the state
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(
        self, indices: torch.Tensor, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """Scores for the next character at every position.

        indices: ``(batch, seq)`` long. Returns logits ``(batch, seq, vocab)`` and the final
        state (``(h, c)`` for the LSTM, ``h`` otherwise; each ``(n_layers, batch, hidden)``).
        """
        emb = self.encoder(indices)  # (batch, seq, hidden)
        if self.layered:
            out, state = run_layers(self.rnn, self._shape[0], emb, state, self.between,
                                    self.weight_drop)
        else:
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
