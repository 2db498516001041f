"""Choose the mixer's settings on the validation split (never on a test file).

    python benchmarks/mix_search.py                      # the best preset's cached model
    python benchmarks/mix_search.py --checkpoint runs/x.pt --chars 20000

The model's validation split (``valid_frac`` of its corpus, the text its own settings were
chosen on) is read with the training part as the adaptive models' starting counts and the
source of dynamic evaluation's gradient statistics, exactly as ``compress`` reads a test file.

The search goes one group of settings at a time, each time keeping the best so far:

1. the PPM model: longest order x escape estimate (PPMC, PPMD, between);
2. the weight of the coded text's counts against the training text's;
3. the match model's lookup length (or none);
4. a second, low-order PPM input;
5. the mixer: learning rate x the context that selects its weights x starting weights;
6. what the coder can afford: the cheaper variants of that choice (a longer dynamic-evaluation
   segment, no low-order input), cheapest first, and the first within 0.003 BPC of it is taken.

Every setting is scored by the validation BPC of the mixture with the network under dynamic
evaluation (what ``compress --dynamic --mix`` codes), from inputs computed once per setting and
mixed by :func:`charlm.coding.mix_step`, the very function the predictor calls. The chosen
settings are then scored again through :func:`charlm.coding.code_lengths` (static+mix and
dynamic+mix), which must give the search's number. Writes ``results/mix_search.csv`` (every
setting tried) and ``results/mix_search.yaml`` (the choice, the baselines, the machine).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from charlm import paths
from charlm.checkpoint import load_checkpoint
from charlm.coding import CodingSettings, code_lengths, mix_step
from charlm.context_model import PPM, ContextSettings, MatchModel
from charlm.corpora import corpus
from charlm.data import split_corpus
from charlm.dynamic import DynamicSettings, grad_rms, torch_threads
from charlm.machine import environment
from charlm.mix import Mixer, MixSettings
from charlm.presets import preset
from charlm.runs import cache_path
from charlm.stepwise import stepper

RESULTS = paths.ROOT / "results"
ESCAPES = {"PPMC": (1.0, 0.0), "PPMD": (0.0, 0.5), "C/D": (0.5, 0.25), "D+": (0.25, 0.6)}
ORDERS = (4, 5, 6, 7, 8)
ONLINE_WEIGHTS = (1.0, 2.0, 4.0, 8.0)
MATCH_MINS = (0, 5, 6, 7, 8)
LOW_ORDERS = (0, 1, 2, 3)
LRS = (0.0005, 0.001, 0.002, 0.004, 0.008)
WEIGHTS_BY = ("none", "match", "confidence", "order", "match+confidence", "order+match",
              "order+confidence")
INITS = ((1.0, 0.3, 0.1, 0.0), (1.0, 0.0, 0.0, 0.0), (0.7, 0.3, 0.1, 0.1), (0.8, 0.4, 0.1, 0.0))
# cheaper variants, cheapest first: (dynamic segment, low_order; None: as chosen); the coder has
# 90 s for dickens_test_large.txt on this project's 2-core machine
SPEED_ORDER = ((50, 0), (50, None), (20, 0))
SPEED_TOLERANCE = 0.003  # validation BPC a cheaper variant may lose


def network_inputs(model, valid: np.ndarray, dynamic: DynamicSettings | None, rms) -> np.ndarray:
    """The network's log-probabilities of characters 2..N, step by step: ``(N - 1, V)``."""
    net = stepper(model, dynamic, rms)
    out = np.empty((len(valid) - 1, 100))
    net.push(int(valid[0]))
    for t, s in enumerate(valid[1:].tolist()):
        out[t] = net.log_probs()
        net.push(s)
    return out


def ppm_inputs(train: np.ndarray, valid: np.ndarray, ctx: ContextSettings):
    """The PPM model's distributions (and the low-order ones, or None) and the longest order
    found, for characters 2..N."""
    model = PPM(train, ctx)
    out, orders = np.empty((len(valid) - 1, 100)), np.zeros(len(valid) - 1, dtype=int)
    low = np.empty((len(valid) - 1, 100)) if ctx.low_order else None
    model.update(int(valid[0]))
    for t, s in enumerate(valid[1:].tolist()):
        out[t], orders[t] = model.distribution(), model.order_found
        if low is not None:
            low[t] = model.distribution(ctx.low_order)
        model.update(s)
    return out, low, orders


def match_inputs(train: np.ndarray, valid: np.ndarray, min_len: int):
    if not min_len:
        return None, np.zeros(len(valid) - 1, dtype=int)
    model = MatchModel(train, min_len)
    out, lengths = np.empty((len(valid) - 1, 100)), np.zeros(len(valid) - 1, dtype=int)
    model.update(int(valid[0]))
    for t, s in enumerate(valid[1:].tolist()):
        out[t], lengths[t] = model.distribution(), model.prediction()[1]
        model.update(s)
    return out, lengths


def mixed_bpc(valid: np.ndarray, net: np.ndarray, ppm, match, settings: MixSettings) -> float:
    """Validation BPC of the mixture: :func:`mix_step` and :meth:`Mixer.learn` per character."""
    mixer = Mixer(settings)
    (ppm, low, orders), (match, lengths) = ppm, match
    total = 0.0
    for t, s in enumerate(valid[1:].tolist()):
        p = mix_step(mixer, net[t], ppm[t], None if low is None else low[t],
                     None if match is None else match[t], int(lengths[t]), int(orders[t]))
        total -= math.log2(p[s])
        mixer.learn(s)
    return total / (len(valid) - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="checkpoint (default: the best preset's cached run)")
    ap.add_argument("--chars", type=int, default=0, help="use only the first N validation characters")
    ap.add_argument("--out", default=str(RESULTS / "mix_search"), help="results path stem")
    args = ap.parse_args()
    path = Path(args.checkpoint) if args.checkpoint else cache_path(preset("best"))
    ckpt = load_checkpoint(path)
    train_t, valid_t = split_corpus(corpus(ckpt.config.corpus), ckpt.config.valid_frac)
    if valid_t is None:
        raise SystemExit(f"{path} was trained without a validation split (valid_frac 0)")
    train, valid = train_t.numpy(), valid_t.numpy()
    if args.chars:
        valid = valid[:args.chars]
    rows: list[dict] = []
    start = time.perf_counter()

    def record(stage: str, mix: MixSettings, bpc: float) -> None:
        rows.append({"stage": stage, **asdict(mix.context), "lr": mix.lr,
                     "weights_by": mix.weights_by, "init": " ".join(f"{w:g}" for w in mix.init),
                     "valid_bpc": bpc, "seconds": round(time.perf_counter() - start, 1)})
        print(f"{stage:>8}  {bpc:.4f}  {mix}", flush=True)

    dyn = DynamicSettings()
    with torch_threads(1):
        rms = grad_rms(ckpt.model, train_t, dyn.segment, dyn.stat_streams, dyn.stat_chars)
        net_static = network_inputs(ckpt.model, valid, None, None)
        net = network_inputs(ckpt.model, valid, dyn, rms)
    static_bpc = float(-net_static[np.arange(len(valid) - 1), valid[1:]].mean() / math.log(2))
    dynamic_bpc = float(-net[np.arange(len(valid) - 1), valid[1:]].mean() / math.log(2))
    print(f"validation: {len(valid):,} characters; static {static_bpc:.4f}, dynamic "
          f"{dynamic_bpc:.4f} ({time.perf_counter() - start:.0f} s)", flush=True)

    best = MixSettings()
    match = match_inputs(train, valid, best.context.match_min)
    ppm, top = None, math.inf  # the best so far: its inputs and validation BPC

    def consider(stage: str, mix: MixSettings, p, m) -> bool:
        """Score ``mix`` on these inputs; True (and it becomes the best) if it beats the best."""
        nonlocal best, top
        bpc = mixed_bpc(valid, net, p, m, mix)
        record(stage, mix, bpc)
        if bpc < top:
            best, top = mix, bpc
            return True
        return False

    # 1. PPM order x escape
    for order in ORDERS:
        for esc, disc in ESCAPES.values():
            mix = best.replace(max_order=order, escape=esc, discount=disc)
            p = ppm_inputs(train, valid, mix.context)
            if consider("ppm", mix, p, match):
                ppm = p
    # 2. the weight of the coded text's counts
    for w in ONLINE_WEIGHTS:
        mix = best.replace(online_weight=w)
        if mix != best:
            p = ppm_inputs(train, valid, mix.context)
            if consider("online", mix, p, match):
                ppm = p
    # 3. the match model
    for m in MATCH_MINS:
        mix = best.replace(match_min=m)
        if mix != best:
            inputs = match_inputs(train, valid, m)
            if consider("match", mix, ppm, inputs):
                match = inputs
    # 4. a second, low-order PPM input
    for low in LOW_ORDERS:
        mix = best.replace(low_order=low, init=best.init[:3] + (0.1 if low else 0.0,))
        if mix != best:
            p = ppm_inputs(train, valid, mix.context)
            if consider("low", mix, p, match):
                ppm = p
    # 5. the mixer
    for lr in LRS:
        for by in WEIGHTS_BY:
            mix = best.replace(lr=lr, weights_by=by)
            if mix != best:
                consider("mixer", mix, ppm, match)
    for init in INITS:
        mix = best.replace(init=init)
        if mix != best:
            consider("init", mix, ppm, match)
    # 6. what the coder can afford: among the cheaper variants of the choice, in order of cost,
    # the first whose validation BPC is within SPEED_TOLERANCE of it (longer dynamic segments
    # take fewer gradient steps; no low-order input saves a PPM pass)
    chosen_dyn, chosen_top = dyn, top
    nets = {dyn.segment: net}
    for segment, low in SPEED_ORDER:
        trial_dyn = dyn.replace(segment=segment)
        if segment not in nets:
            with torch_threads(1):
                seg_rms = grad_rms(ckpt.model, train_t, segment, dyn.stat_streams, dyn.stat_chars)
                nets[segment] = network_inputs(ckpt.model, valid, trial_dyn, seg_rms)
        mix = best.replace(low_order=low if low is not None else best.context.low_order)
        p = ppm if mix.context == best.context else ppm_inputs(train, valid, mix.context)
        bpc = mixed_bpc(valid, nets[segment], p, match, mix)
        record(f"speed{segment}", mix, bpc)
        if bpc <= top + SPEED_TOLERANCE:
            best, chosen_dyn, chosen_top = mix, trial_dyn, bpc
            break
    dyn, searched = chosen_dyn, chosen_top
    with torch_threads(1):
        rms = grad_rms(ckpt.model, train_t, dyn.segment, dyn.stat_streams, dyn.stat_chars)

    # the choice, through the predictor itself
    check = {}
    for name, dynamic in (("static+mix", None), ("dynamic+mix", dyn)):
        t0 = time.perf_counter()
        bits = code_lengths(ckpt.model, valid, train_t, CodingSettings(dynamic, best),
                            rms=rms if dynamic else None)
        check[name] = {"valid_bpc": float(bits.mean()), "seconds": round(time.perf_counter() - t0, 1)}
        print(f"{name}: {bits.mean():.4f} ({check[name]['seconds']} s)", flush=True)
    stem = Path(args.out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(stem.with_suffix(".csv"), index=False)
    summary = {
        "what": "mixer settings chosen on the validation split (benchmarks/mix_search.py)",
        "checkpoint": str(path), "iterations": ckpt.meta.get("iterations"),
        "valid_chars": int(len(valid)), "train_chars": int(len(train)),
        "valid_bpc": {"static": static_bpc, "dynamic": dynamic_bpc,
                      "dynamic+mix (search)": searched, **{k: v["valid_bpc"] for k, v in check.items()}},
        "chosen": best.to_dict(), "dynamic": dyn.to_dict(), "tried": len(rows),
        "seconds": round(time.perf_counter() - start, 1), "check": check,
        "machine": environment(), "load_average": [round(x, 2) for x in _load()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    stem.with_suffix(".yaml").write_text(yaml.safe_dump(summary, sort_keys=False))
    print(f"chosen: {best}\nwrote {stem.with_suffix('.csv')} and {stem.with_suffix('.yaml')}")


def _load() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (float("nan"),) * 3


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
