"""The neural model read one character at a time, with or without dynamic evaluation.

A decoder knows a character only after decoding it, so it must compute the model's prediction
of character t + 1 from characters 1..t alone, one character at a time, and the encoder must
compute exactly the same numbers: both use :func:`stepper` and nothing else. (A batched
forward pass over many characters rounds differently from single steps, so the encoder may
not use one.)

With dynamic evaluation (:mod:`charlm.dynamic`) the weights take a gradient step after every
``segment`` characters have been predicted, on those characters, exactly as
:func:`~charlm.dynamic.dynamic_char_bits` does: the segment is scored with the weights before
its step, the state carries across segments, and the step is
``W <- W + rate * (W0 - W) - gain * grad`` (:func:`~charlm.dynamic.update_terms`). The decoder
takes the same step once it has decoded the segment's last character.

Two implementations of the same interface:

- :class:`LSTMStepper` for a single LSTM (:class:`~charlm.model.CharRNN` with ``cell="lstm"``):
  a step is one matrix-vector product per layer and the gates' arithmetic in numpy, and the
  gradient of a segment is back-propagated through time by hand from the states the steps
  saved, with the weight gradients as one matrix product per weight. torch's own LSTM backward for a batch of one
  cost about four times as much on this project's CPU.
- :class:`TorchStepper` for any other model (GRU, plain RNN, ensembles): a step is the model's
  own forward pass on one character, and the gradient comes from autograd on the segment.

Both work on float32 copies of the weights; the model is never changed. Run them with a fixed
torch thread count (:func:`~charlm.dynamic.torch_threads`; the codec's is
:func:`charlm.coding.coding_threads`): another thread count may sum in another order.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .dynamic import DynamicSettings, update_terms
from .model import CharRNN, check_finite


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Natural-log probabilities of float ``logits`` in float64 (numpy, no BLAS)."""
    z = logits.astype(np.float64)
    z -= z.max()
    return z - np.log(np.exp(z).sum())


class _Stepper:
    """What both implementations share: the segment bookkeeping of dynamic evaluation.

    :meth:`push` feeds one character; :meth:`log_probs` is then the log-distribution of the
    next one. With dynamic settings, once ``segment`` characters have been predicted and
    pushed, the weights take a step on them before the next character is read.
    """

    def __init__(self, params: list[torch.Tensor], dynamic: DynamicSettings | None,
                 rms: Sequence[torch.Tensor] | None) -> None:
        self.params = params
        self.dynamic = dynamic if dynamic is not None and dynamic.step > 0 else None
        if self.dynamic is not None:
            if rms is None:
                raise ValueError("dynamic evaluation needs the gradient statistics (rms)")
            self._rate, self._gain = update_terms(params, rms, self.dynamic)
            self._trained = [p.detach().clone() for p in params]
        self._logits: np.ndarray | None = None  # (V,) float32: the prediction of the next char
        self._inputs: list[int] = []  # the current segment's inputs
        self._targets: list[int] = []

    def log_probs(self) -> np.ndarray:
        """log P(next character | every character pushed), float64, shape (V,)."""
        if self._logits is None:
            raise ValueError("push a first character before asking for a prediction")
        return log_softmax(self._logits)

    def push(self, symbol: int) -> None:
        """Read ``symbol``: the target of the last prediction, and the next input."""
        symbol = int(symbol)
        if self.dynamic is not None and self._logits is not None:
            self._targets.append(symbol)
            if len(self._targets) == self.dynamic.segment:
                self._adapt()
        if self.dynamic is not None:
            if not self._inputs:
                self._segment_start()
            self._inputs.append(symbol)
        self._logits = self._step(symbol)

    def _adapt(self) -> None:
        grads = self._gradient(self._inputs, self._targets)
        with torch.no_grad():  # W <- W + rate * (W0 - W) - gain * grad
            torch._foreach_lerp_(self.params, self._trained, self._rate)
            torch._foreach_addcmul_(self.params, self._gain, grads, value=-1.0)
        self._inputs, self._targets = [], []
        self._after_update()

    # the implementations
    def _step(self, symbol: int) -> np.ndarray:
        """Read ``symbol``; the scores of the next character, (V,) float32."""
        raise NotImplementedError

    def _segment_start(self) -> None:
        raise NotImplementedError

    def _gradient(self, inputs: list[int], targets: list[int]) -> list[torch.Tensor]:
        raise NotImplementedError

    def _after_update(self) -> None:
        pass


class LSTMStepper(_Stepper):
    """A single-LSTM :class:`~charlm.model.CharRNN`, one character at a time (see the module).

    Each layer keeps its two weight matrices side by side in one ``(4H, in + H)`` matrix, so a
    step is one matrix-vector product per layer (torch) and the gates' arithmetic
    in numpy on the same memory (a numpy call costs a fraction of a torch call on vectors
    this short).
    """

    def __init__(self, model: CharRNN, dynamic: DynamicSettings | None = None,
                 rms: Sequence[torch.Tensor] | None = None) -> None:
        if not is_single_lstm(model):
            raise TypeError("LSTMStepper needs a single-LSTM CharRNN")
        check_finite(model)
        named = {name: p.detach().float().clone().contiguous()
                 for name, p in model.named_parameters()}
        names = [name for name, _ in model.named_parameters()]
        self.n_layers, self.hidden = model.n_layers, model.hidden_size
        H = self.hidden
        self._joined = []  # per layer: [W_ih | W_hh], (4H, in + H); the parameters are views
        for i in range(self.n_layers):
            joined = torch.cat([named[f"rnn.weight_ih_l{i}"], named[f"rnn.weight_hh_l{i}"]], 1)
            named[f"rnn.weight_ih_l{i}"], named[f"rnn.weight_hh_l{i}"] = joined[:, :H], joined[:, H:]
            self._joined.append(joined)
        self.emb = named["encoder.weight"]  # (V, H)
        self.layers = [tuple(named[f"rnn.{w}_l{i}"] for w in
                             ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                       for i in range(self.n_layers)]
        self.dec_w, self.dec_b = named["decoder.weight"], named["decoder.bias"]  # (V, H), (V,)
        super().__init__([named[n] for n in names], dynamic, rms)
        # the update works on the joined matrices (one contiguous tensor per layer): the
        # rates, gains and trained weights computed per parameter are joined the same way
        self._names = [n for n in names if "weight_hh" not in n]
        if self.dynamic is not None:
            by_name = dict(zip(names, self.params))
            self.params = [self._joined[int(n[-1])] if "weight_ih" in n else by_name[n]
                           for n in self._names]
            self._rate, self._gain, self._trained = (
                self._join(dict(zip(names, t))) for t in (self._rate, self._gain, self._trained))
        self._xh = [torch.zeros(2 * H) for _ in range(self.n_layers)]  # [input, h] per layer
        self._z = [torch.zeros(4 * H) for _ in range(self.n_layers)]  # the gates' inputs
        self._logit_buf = torch.zeros(model.vocab_size)
        self.h = [np.zeros(H, dtype=np.float32) for _ in range(self.n_layers)]
        self.c = [np.zeros(H, dtype=np.float32) for _ in range(self.n_layers)]
        self._saved: list[tuple] = []  # per step: h, c (per layer), logits, gates (per layer)
        self._after_update()

    def _join(self, by_name: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Per-parameter tensors in the update's layout: each layer's ``weight_ih`` and
        ``weight_hh`` side by side, as in the joined matrices."""
        return [torch.cat([by_name[n], by_name[n.replace("weight_ih", "weight_hh")]], 1)
                if "weight_ih" in n else by_name[n] for n in self._names]

    def _after_update(self) -> None:
        """The summed biases, after the weights changed."""
        self._bias = [(b_ih + b_hh).numpy() for _, _, b_ih, b_hh in self.layers]

    @torch.no_grad()
    def _step(self, symbol: int) -> np.ndarray:
        H = self.hidden
        x = self.emb[symbol].numpy()
        gates = [None] * self.n_layers  # saved for the gradient with dynamic evaluation
        for i in range(self.n_layers):
            xh, z = self._xh[i].numpy(), self._z[i].numpy()
            xh[:H], xh[H:] = x, self.h[i]
            torch.mv(self._joined[i], self._xh[i], out=self._z[i])
            z += self._bias[i]
            g = np.tanh(z[2 * H:3 * H])
            z *= 0.5  # sigmoid(z) = (tanh(z / 2) + 1) / 2, for the input, forget, output gates
            np.tanh(z, out=z)
            z += 1.0
            z *= 0.5
            z[2 * H:3 * H] = g  # z: the gates i, f, g, o
            c = z[H:2 * H] * self.c[i]
            c += z[:H] * g
            self.h[i], self.c[i] = z[3 * H:] * np.tanh(c), c
            if self.dynamic is not None:
                gates[i] = z.copy()
            x = self.h[i]
        torch.mv(self.dec_w, torch.from_numpy(x), out=self._logit_buf)
        logits = self._logit_buf.numpy() + self.dec_b.numpy()  # a new array: kept if dynamic
        if self.dynamic is not None:
            self._saved.append((list(self.h), list(self.c), logits, gates))
        return logits

    def _segment_start(self) -> None:
        self._start = (list(self.h), list(self.c))
        self._saved = []

    @torch.no_grad()
    def _gradient(self, inputs: list[int], targets: list[int]) -> list[torch.Tensor]:
        """d(mean cross-entropy of the segment)/d(every weight), back-propagated through time
        by hand from the saved states (truncated at the segment's start, as
        :mod:`charlm.dynamic` detaches the state), in the update's layout (:meth:`_join`)."""
        T, H = len(inputs), self.hidden
        idx = torch.tensor(inputs)

        def stacked(first, rows) -> torch.Tensor:
            return torch.from_numpy(np.stack([first, *rows]))

        # per layer: the states before and after each step, (T + 1, H)
        hs = [stacked(self._start[0][i], [s[0][i] for s in self._saved]) for i in range(self.n_layers)]
        cs = [stacked(self._start[1][i], [s[1][i] for s in self._saved]) for i in range(self.n_layers)]
        logits = torch.from_numpy(np.stack([s[2] for s in self._saved]))  # (T, V)
        d_logits = torch.softmax(logits, dim=1)
        d_logits[torch.arange(T), torch.tensor(targets)] -= 1.0
        d_logits /= T
        grads: dict[str, torch.Tensor] = {
            "decoder.weight": d_logits.T @ hs[-1][1:],
            "decoder.bias": d_logits.sum(0),
        }
        d_out = (d_logits @ self.dec_w).numpy()  # (T, H): d loss / d top layer's outputs
        for i in reversed(range(self.n_layers)):
            w_hh = self.layers[i][1]
            x = self.emb[idx] if i == 0 else hs[i - 1][1:]  # (T, in)
            xh = torch.cat([x, hs[i][:-1]], 1)  # (T, in + H): what the joined matrix multiplies
            z = torch.from_numpy(np.stack([s[3][i] for s in self._saved]))  # (T, 4H): the gates
            gi, gf, gg, go = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
            tc = torch.tanh(cs[i][1:])
            through_c = (go * (1 - tc * tc)).numpy()  # d c_t / d h_t
            # d pre-activation / d c (for i, f, g) and / d h (for o), per step
            by_c = torch.stack([gg * gi * (1 - gi), cs[i][:-1] * gf * (1 - gf),
                                gi * (1 - gg * gg)], dim=1).numpy()  # (T, 3, H)
            by_h, forget = (tc * go * (1 - go)).numpy(), gf.numpy()  # (T, H)
            d_gates = torch.empty(T, 4 * H)
            rows, dg = d_gates.unbind(0), d_gates.numpy()
            dh_next_t = torch.zeros(H)
            dh_next, dc_next = dh_next_t.numpy(), np.zeros(H, dtype=np.float32)
            w_hh_t = w_hh.T
            for t in range(T - 1, -1, -1):  # numpy for the arithmetic, torch for the product
                dh = d_out[t] + dh_next
                dc = dh * through_c[t]
                dc += dc_next
                np.multiply(dc, by_c[t], out=dg[t, :3 * H].reshape(3, H))
                np.multiply(dh, by_h[t], out=dg[t, 3 * H:])
                if t:  # the state before the segment gets no gradient (truncated)
                    torch.mv(w_hh_t, rows[t], out=dh_next_t)
                    dc_next = dc * forget[t]
            grads[f"rnn.weight_ih_l{i}"] = d_gates.T @ xh  # the joined matrix's gradient
            grads[f"rnn.bias_ih_l{i}"] = d_gates.sum(0)
            grads[f"rnn.bias_hh_l{i}"] = grads[f"rnn.bias_ih_l{i}"]
            d_out = (d_gates @ self.layers[i][0]).numpy()  # (T, in): d loss / d the inputs
        grads["encoder.weight"] = torch.zeros_like(self.emb).index_add_(0, idx, torch.from_numpy(d_out))
        return [grads[n] for n in self._names]


class TorchStepper(_Stepper):
    """Any charlm model, one character at a time through its own forward pass (see the module)."""

    def __init__(self, model: nn.Module, dynamic: DynamicSettings | None = None,
                 rms: Sequence[torch.Tensor] | None = None) -> None:
        check_finite(model)
        self.model = _frozen_copy(model)
        super().__init__(list(self.model.parameters()), dynamic, rms)
        self.state = None

    @torch.no_grad()
    def _step(self, symbol: int) -> torch.Tensor:
        logits, self.state = self.model(torch.tensor([[symbol]]), self.state)
        return logits[0, 0].float().numpy()

    def _segment_start(self) -> None:
        self._start = self.state

    def _gradient(self, inputs: list[int], targets: list[int]) -> list[torch.Tensor]:
        for p in self.params:
            p.requires_grad_(True)
        try:
            with torch.enable_grad():
                logits, _ = self.model(torch.tensor([inputs]), self._start)
                loss = F.cross_entropy(logits[0].float(), torch.tensor(targets))
                grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        finally:
            for p in self.params:
                p.requires_grad_(False)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]


def _frozen_copy(model: nn.Module) -> nn.Module:
    """A float32, eval-mode deep copy of ``model`` whose weights need no gradient."""
    work = copy.deepcopy(model).float().eval()
    for p in work.parameters():
        p.requires_grad_(False)
    return work


def is_single_lstm(model: nn.Module) -> bool:
    """Whether ``model`` is one LSTM :class:`~charlm.model.CharRNN` (the fast stepper's case)."""
    return isinstance(model, CharRNN) and model.cell == "lstm"


def stepper(model: nn.Module, dynamic: DynamicSettings | None = None,
            rms: Sequence[torch.Tensor] | None = None) -> _Stepper:
    """The step-wise reader of ``model``: :class:`LSTMStepper` for a single LSTM, else
    :class:`TorchStepper`. ``rms``: the gradient statistics (:func:`~charlm.dynamic.grad_rms`),
    needed when ``dynamic`` has a step > 0."""
    if is_single_lstm(model):
        return LSTMStepper(model, dynamic, rms)
    return TorchStepper(model, dynamic, rms)
