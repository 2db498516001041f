"""Inside the model: where the bits go, and what the LSTM's cells track.

* :func:`surprisal`: the bits paid for every character of a text (:func:`charlm.evaluate.char_bits`
  with the first character, which has no prediction, as NaN), and :func:`char_kinds`,
  :func:`bits_by_kind`: those bits summed by the kind of character predicted.
* :func:`record_states`: the cell and hidden state of every layer after every character, from
  one pass that carries the state from the first character to the last.
* Labellers of properties computed from the text alone (:data:`PROPERTIES`): inside a quotation,
  characters since the last newline, inside a word, inside parentheses; each gives the value
  *after reading* character t, which is what the state at t can know.
* :func:`unit_search`: the unit whose activation follows each property most closely (absolute
  Pearson correlation), and :func:`found_units`, which compares the search on a trained model
  with the same search on an untrained model of the same shape (the control).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .data import encode
from .errors import DataError, ModelError
from .evaluate import char_bits
from .model import CharRNN, check_finite
from .regularisers import layer_weights, one_layer

# ---------------------------------------------------------------- where the bits go

# Every character falls in exactly one kind, tested in this order (the first that applies):
KINDS = ("first letter of a word", "letter inside a word", "capital", "digit", "space", "newline",
         "punctuation and other")
KIND_RULES = {
    "first letter of a word": "a lower-case letter after anything but a letter (or an "
                              "apostrophe inside a word)",
    "letter inside a word": "a lower-case letter after a letter, or after an apostrophe that "
                            "follows a letter (the t of don't)",
    "capital": "any upper-case letter, first in its word or not",
    "digit": "0 to 9",
    "space": "the space character",
    "newline": "the line break",
    "punctuation and other": "everything else: punctuation, quotation marks, apostrophes, "
                             "dashes and other symbols",
}
# Each kind as the prose names many of them ("the saving is largest on letters inside words").
KIND_PLURALS = {"first letter of a word": "first letters of words",
                "letter inside a word": "letters inside words", "capital": "capitals",
                "digit": "digits", "space": "spaces", "newline": "newlines",
                "punctuation and other": "punctuation and other symbols"}


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("latin-1", errors="replace"), dtype=np.uint8)


def _is_letter(c: np.ndarray) -> np.ndarray:
    return ((c >= 65) & (c <= 90)) | ((c >= 97) & (c <= 122))


def char_kinds(text: str) -> np.ndarray:
    """The kind of each character of ``text``: an index into :data:`KINDS` (``int8``, one per
    character), by the first rule of :data:`KIND_RULES` that applies."""
    c = _codes(text)
    letter = _is_letter(c)
    before = np.concatenate([[False], letter[:-1]])  # the character before is a letter
    apostrophe = np.concatenate([[False], c[:-1] == ord("'")])
    before2 = np.concatenate([[False, False], letter[:-2]])[:len(c)]
    in_word = before | (apostrophe & before2)
    lower = (c >= 97) & (c <= 122)
    conditions = [lower & ~in_word, lower & in_word, (c >= 65) & (c <= 90), (c >= 48) & (c <= 57),
                  c == 32, c == 10]
    return np.select(conditions, range(len(conditions)), default=len(conditions)).astype(np.int8)


def surprisal(model: CharRNN, text: str) -> np.ndarray:
    """Bits paid for each character of ``text`` (length ``len(text)``): NaN for the first,
    which has no prediction, then :func:`charlm.evaluate.char_bits`."""
    return np.concatenate([[np.nan], char_bits(model, text)])


def bits_by_kind(bits: Mapping[str, np.ndarray], kinds: np.ndarray) -> pd.DataFrame:
    """Bits summed by kind of predicted character, one row per kind of :data:`KINDS` and a
    total row.

    ``bits``: model name -> bits per character of one text (``len(text) - 1`` values, as
    :func:`charlm.evaluate.char_bits` gives them, or ``len(text)`` with NaN first, as
    :func:`surprisal`); ``kinds``: :func:`char_kinds` of the same text. Columns: ``kind``,
    ``chars``, ``share of chars``, then for each model ``<name> BPC`` (mean bits of that kind)
    and ``<name> share of bits`` (its part of the model's total)."""
    if not bits:
        raise DataError("bits_by_kind needs the bits of at least one model")
    predicted = np.asarray(kinds)[1:]  # the first character is never predicted
    counts = np.bincount(predicted, minlength=len(KINDS))
    cols: dict[str, list] = {"kind": [*KINDS, "all"], "chars": [*counts, counts.sum()],
                             "share of chars": [*(counts / counts.sum()), 1.0]}
    for name, b in bits.items():
        b = np.asarray(b, dtype=float)
        b = b[1:] if len(b) == len(predicted) + 1 else b
        if len(b) != len(predicted):
            raise DataError(f"{name}: {len(b)} bits for a text of {len(predicted) + 1} characters")
        sums = np.bincount(predicted, weights=b, minlength=len(KINDS))
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"{name} BPC"] = [*(sums / counts), b.mean()]
        cols[f"{name} share of bits"] = [*(sums / sums.sum()), 1.0]
    order = ["kind", "chars", "share of chars"] + [k for k in cols if k.endswith(("BPC", "bits"))]
    return pd.DataFrame(cols)[order]


# ---------------------------------------------------------------- the states


def unit_name(j: int, n_cell: int, hidden_size: int) -> str:
    """``"cell 2.37"``: the name of unit ``j`` of a recording with ``n_cell`` cell units (then
    as many hidden ones), ``hidden_size`` per layer: the kind of state, the layer (from 1) and
    the unit in the layer (from 0)."""
    if not 0 <= j < 2 * n_cell:
        raise DataError(f"unit {j} is outside 0..{2 * n_cell - 1}")
    kind, k = ("cell", j) if j < n_cell else ("hidden", j - n_cell)
    return f"{kind} {k // hidden_size + 1}.{k % hidden_size}"


@dataclass
class States:
    """The LSTM's states after each character of a text: ``cell`` and ``hidden``, each
    ``(len(text), n_layers * hidden_size)`` float32, layer 1's units first, and ``bits``, the
    bits paid for each character (as :func:`surprisal`: NaN first). Unit ``j`` of
    :meth:`column` counts the cell units first (``0 .. n - 1``), then the hidden ones.
    ``cell_check``: the largest difference between the rebuilt cell state after the last
    character and the one the LSTM itself returns (float rounding; NaN if not checked)."""

    cell: np.ndarray
    hidden: np.ndarray
    bits: np.ndarray
    hidden_size: int
    cell_check: float = math.nan

    @property
    def n_units(self) -> int:
        return self.cell.shape[1] + self.hidden.shape[1]

    def column(self, j: int) -> np.ndarray:
        n = self.cell.shape[1]
        return self.cell[:, j] if j < n else self.hidden[:, j - n]

    def name(self, j: int) -> str:
        """``"cell 2.37"``: the kind of state, the layer (from 1) and the unit in the layer."""
        return unit_name(j, self.cell.shape[1], self.hidden_size)

    def slice(self, start: int, stop: int) -> States:
        return States(self.cell[start:stop], self.hidden[start:stop], self.bits[start:stop],
                      self.hidden_size, self.cell_check)


def _lstm_layers(model: nn.Module) -> list[nn.LSTM]:
    """One-layer ``nn.LSTM`` modules holding the weights of each of ``model``'s layers."""
    if not isinstance(model, CharRNN) or model.cell != "lstm":
        raise ModelError("recording states needs one LSTM model (not an ensemble, GRU or RNN)")
    layers = []
    for k in range(model.rnn.num_layers):
        one = one_layer(model.rnn)  # on the meta device: no weights of its own, no random draws
        one.load_state_dict(layer_weights(model.rnn, k), assign=True)
        layers.append(one)
    return layers


def _cell_recurrence(forget: np.ndarray, update: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """``c_t = forget_t * c_{t-1} + update_t`` for every row t, from ``c`` (updated in place),
    written into ``out``."""
    for t in range(len(forget)):
        np.multiply(forget[t], c, out=c)
        c += update[t]
        out[t] = c


@torch.no_grad()
def record_states(model: CharRNN, text: str, slice_len: int = 8192) -> States:
    """The cell and hidden state of every layer after every character of ``text``, and the
    bits paid for every character, from ONE pass that starts from the zero state and carries
    it through the whole text, as :func:`charlm.evaluate.char_bits` does (the bits agree with
    it to float rounding; a test checks).

    ``nn.LSTM`` returns the hidden state at every step but the cell state only at the end, so
    each layer's hidden states come from its own fused pass, and the cell states are rebuilt
    from them: the gates at t follow from the layer's input at t and its hidden state at t - 1
    (one matrix product for all t), and ``c_t = f_t * c_{t-1} + i_t * g_t`` is then a cheap
    element-wise recurrence, checked at the end against the last cell state the LSTM itself
    returns (:attr:`States.cell_check`). The text is fed in slices of ``slice_len`` to bound
    memory."""
    data = encode(text, what="text")
    if len(data) < 2:
        raise DataError(f"recording states needs a text of at least 2 characters, got {len(data)}")
    check_finite(model)
    layers = _lstm_layers(model)
    h_size = layers[0].hidden_size
    n = len(data)
    cell = np.empty((n, len(layers) * h_size), dtype=np.float32)
    hidden = np.empty_like(cell)
    bits = np.full(n, np.nan)
    was_training = model.training
    model.eval()
    try:
        states = [None] * len(layers)
        c_prev = np.zeros(len(layers) * h_size, dtype=np.float32)
        for start in range(0, n, slice_len):
            x = model.encoder(data[start:start + slice_len][None, :])  # (1, slice, hidden)
            stop = start + x.shape[1]
            forget, update = [], []
            for k, layer in enumerate(layers):
                h_before = torch.zeros(1, h_size) if states[k] is None else states[k][0][0]
                out, states[k] = layer(x, states[k])  # (1, slice, hidden)
                h_prev = torch.cat([h_before, out[0, :-1]])  # (slice, hidden)
                gates = (x[0] @ layer.weight_ih_l0.T + h_prev @ layer.weight_hh_l0.T
                         + layer.bias_ih_l0 + layer.bias_hh_l0)  # (slice, 4 hidden): i, f, g, o
                i, f, g, _ = gates.chunk(4, dim=1)
                forget.append(torch.sigmoid(f))
                update.append(torch.sigmoid(i) * torch.tanh(g))
                hidden[start:stop, k * h_size:(k + 1) * h_size] = out[0].numpy()
                x = out
            _cell_recurrence(torch.cat(forget, dim=1).numpy(), torch.cat(update, dim=1).numpy(),
                             c_prev, cell[start:stop])
            targets = data[start + 1:stop + 1]  # the character each position predicts
            logits = model.decoder(x[0, :len(targets)]).double()  # (slice, vocab)
            nats = F.cross_entropy(logits, targets, reduction="none")
            bits[start + 1:start + 1 + len(targets)] = nats.numpy() / math.log(2)
    finally:
        model.train(was_training)
    if not np.isfinite(bits[1:]).all():
        raise ModelError("the model gives non-finite scores")
    returned = torch.cat([s[1].reshape(-1) for s in states]).numpy()  # the LSTM's own last cell state
    return States(cell, hidden, bits, h_size, float(np.abs(cell[-1] - returned).max()))


def untrained_like(model: CharRNN, seed: int = 0) -> CharRNN:
    """An untrained LSTM of ``model``'s shape (width, layers, vocabulary), its weights drawn
    by torch's default initialisation under ``seed`` (the global random state is left alone):
    the control of the unit search."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return CharRNN(model.hidden_size, model.n_layers, "lstm", vocab_size=model.vocab_size)


# ---------------------------------------------------------------- the properties


def in_quotation(text: str) -> np.ndarray:
    """1.0 where a quotation is open after reading the character: from its opening mark (which
    counts as inside) up to its closing mark (which does not).

    The text quotes with double marks and with single ones, and a single mark is also an
    apostrophe, so: a double mark opens or closes; a single mark opens when it follows
    anything but a letter or digit and precedes a non-space, and closes a single-quoted
    quotation when it follows a non-space and precedes no letter (so the apostrophes of
    don't and Agnes's change nothing). Only the mark that opened a quotation closes it. A
    blank line closes any open quotation (at its second newline): Dickens opens each paragraph of a long speech anew
    without closing the one before."""
    out = np.zeros(len(text))
    open_mark = ""
    for t, ch in enumerate(text):
        before = text[t - 1] if t else " "
        after = text[t + 1] if t + 1 < len(text) else " "
        if ch == "\n" and before == "\n":  # the blank line is complete
            open_mark = ""
        elif ch == '"':
            open_mark = "" if open_mark == '"' else (open_mark or '"')
        elif ch == "'":
            if open_mark == "'" and not before.isspace() and not after.isalpha():
                open_mark = ""
            elif not open_mark and not before.isalnum() and not after.isspace():
                open_mark = "'"
        out[t] = 1.0 if open_mark else 0.0
    return out


def since_newline(text: str) -> np.ndarray:
    """Characters read since the last newline: 0 at a newline, 1 at the character after it,
    and so on (the first line counts from a newline just before the text)."""
    t = np.arange(len(text))
    last = np.maximum.accumulate(np.where(_codes(text) == 10, t, -1))
    return (t - last).astype(float)


def in_word(text: str) -> np.ndarray:
    """1.0 at a letter (the state has just read a letter, so it is inside a word), else 0."""
    return _is_letter(_codes(text)).astype(float)


def in_parentheses(text: str) -> np.ndarray:
    """1.0 where a parenthesis is open after reading the character: the opening one counts as
    inside, the closing one does not; a closing one with none open is ignored."""
    out = np.zeros(len(text))
    depth = 0
    for t, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        out[t] = 1.0 if depth else 0.0
    return out


PROPERTIES: dict[str, Callable[[str], np.ndarray]] = {
    "inside a quotation": in_quotation,
    "characters since newline": since_newline,
    "inside a word": in_word,
    "inside parentheses": in_parentheses,
}


def label(text: str, properties: Mapping[str, Callable[[str], np.ndarray]] = PROPERTIES
          ) -> dict[str, np.ndarray]:
    """Each property of ``properties`` computed on ``text``: name -> values, one per character."""
    return {name: fn(text) for name, fn in properties.items()}


# ---------------------------------------------------------------- the unit search

FOUND_MARGIN = 0.2  # a unit is found when its |r| beats the control's best |r| by this much


def correlations(acts: np.ndarray, y: np.ndarray, rows: int = 16384) -> np.ndarray:
    """Pearson correlation of every column of ``acts`` ``(N, U)`` with ``y`` ``(N,)``, in
    float64 over blocks of ``rows`` (no copy of the whole matrix); 0 for a constant column
    or a constant ``y``."""
    y = np.asarray(y, dtype=np.float64)
    if acts.ndim != 2 or len(acts) != len(y):
        raise DataError(f"activations {acts.shape} do not match {len(y)} labels")
    yc = y - y.mean()
    n = len(y)
    total = np.zeros(acts.shape[1])
    for start in range(0, n, rows):
        total += acts[start:start + rows].astype(np.float64).sum(axis=0)
    mean = total / n
    var, cov = np.zeros(acts.shape[1]), np.zeros(acts.shape[1])
    for start in range(0, n, rows):
        a = acts[start:start + rows].astype(np.float64) - mean
        var += (a * a).sum(axis=0)
        cov += yc[start:start + rows] @ a
    denom = np.sqrt(var * (yc @ yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denom > 0, cov / denom, 0.0)
    return r


def unit_search(acts: np.ndarray | States, labels: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """For each property of ``labels`` the unit of ``acts`` whose activation follows it most
    closely: the largest absolute correlation. ``acts``: an ``(N, U)`` matrix or
    :class:`States` (cell units, then hidden ones). Columns ``property``, ``unit`` (column
    index), ``name``, ``r`` (signed)."""
    rows = []
    for prop, y in labels.items():
        if isinstance(acts, States):
            r = np.concatenate([correlations(acts.cell, y), correlations(acts.hidden, y)])
        else:
            r = correlations(acts, y)
        j = int(np.argmax(np.abs(r)))
        name = acts.name(j) if isinstance(acts, States) else f"unit {j}"
        rows.append({"property": prop, "unit": j, "name": name, "r": float(r[j])})
    return pd.DataFrame(rows, columns=["property", "unit", "name", "r"])


def found_units(trained: pd.DataFrame, control: pd.DataFrame, margin: float = FOUND_MARGIN
                ) -> pd.DataFrame:
    """The trained model's best unit per property beside the control's best, and whether it
    counts as **found**: its absolute correlation at least ``margin`` above the control's best
    (with hundreds of units, an untrained model has units that correlate by chance, or that
    follow the input character itself). Columns: ``property``, ``unit``, ``name``, ``r``,
    ``control name``, ``control r``, ``found``."""
    merged = trained.merge(control[["property", "name", "r"]], on="property",
                           suffixes=("", " (control)"))
    merged = merged.rename(columns={"name (control)": "control name", "r (control)": "control r"})
    merged["found"] = merged["r"].abs() >= merged["control r"].abs() + margin
    return merged[["property", "unit", "name", "r", "control name", "control r", "found"]]


__all__ = ["FOUND_MARGIN", "KINDS", "KIND_PLURALS", "KIND_RULES", "PROPERTIES", "States", "bits_by_kind",
           "char_kinds", "correlations", "found_units", "in_parentheses", "in_quotation",
           "in_word", "label", "record_states", "since_newline", "surprisal", "unit_name",
           "unit_search", "untrained_like"]
