"""The model: embedding -> recurrent layer(s) -> linear decoder over the vocabulary."""

from __future__ import annotations

import torch
from torch import nn

from .data import VOCAB_SIZE

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]

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
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.cell = cell
        self.vocab_size = vocab_size
        self.encoder = nn.Embedding(vocab_size, hidden_size)
        # dropout on the non-recurrent connections only (Zaremba et al., 2014): between the
        # stacked layers and on the top layer's output; the recurrent state is never dropped
        self.rnn = _CELLS[cell](
            hidden_size, hidden_size, n_layers, batch_first=True,
            dropout=dropout if n_layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
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


def build_model(cfg) -> CharRNN:
    """The model a :class:`~charlm.config.TrainConfig` describes (on the CPU)."""
    return CharRNN(cfg.hidden_size, cfg.n_layers, cfg.cell, cfg.dropout)
