"""Choosing among runs on a noisy text, and what that choice costs (issue 5, part 1).

Picking the best of several runs by their BPC on a text, then quoting that BPC, flatters the
winner: on a small text each run's score is its true quality plus noise, and the minimum of
several noisy scores is biased low. :func:`selection_optimism` measures the bias directly on
the per-character bits of the runs: the text's blocks are split at random into two halves, the
winner is chosen on one half and scored on the other, and the difference is averaged over many
splits. That is why the studies choose on a validation split of the training text and score
the test files once, for the chosen setting. :func:`analyse_selection` gathers, for a finished
study, everything the report says about that choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..errors import DataError
from ..corpora import TEST_FILE, TEST_LARGE_FILE, corpus
from ..evaluate import bits_interval, block_sums, char_bits, paired_difference_interval
from ..runs import cached_run
from .runner import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, evaluate_row
from .summary import varied_label, varied_params


@dataclass(frozen=True)
class Optimism:
    """Result of :func:`selection_optimism` (all in bits per character)."""

    mean: float  # average of (winner's BPC on the other half - its BPC on the choosing half)
    low: float  # 2.5% quantile over the splits
    high: float  # 97.5% quantile over the splits
    agreement: float  # share of splits whose two halves pick the same winner
    chosen: tuple[float, ...]  # per run: share of splits in which the choosing half picks it
    n_splits: int
    half_chars: float  # average characters in one half
    block: int = 200  # characters per block
    level: float = 0.95  # central share of the splits between ``low`` and ``high``


def selection_optimism(bits_by_run: Sequence[np.ndarray], block: int = 200,
                       n_splits: int = 2000, seed: int = 0, level: float = 0.95) -> Optimism:
    """How much lower the chosen run scores on the text it was chosen on than on fresh text.

    ``bits_by_run`` holds, for each run, the per-character bits on one and the same text
    (:func:`charlm.evaluate.char_bits`). Each of ``n_splits`` times, the ``block``-character
    blocks are split at random into halves A and B; the run with the lowest BPC on A is chosen,
    and ``BPC_B(chosen) - BPC_A(chosen)`` is recorded. For any one fixed run that difference
    averages zero (A and B are exchangeable), so a positive mean is the optimism of choosing
    and reporting on the same text, measured at the size of half the text (noise shrinks with
    the square root of the length, so the whole text's optimism is roughly the mean / sqrt 2).
    ``low`` and ``high`` bound the central ``level`` share of the splits.
    """
    if len(bits_by_run) < 2:
        raise DataError(f"selection needs at least 2 runs, got {len(bits_by_run)}")
    lengths = {len(b) for b in bits_by_run}
    if len(lengths) != 1:
        raise DataError(f"every run must be scored on the same text, got lengths {sorted(lengths)}")
    blocks = [block_sums(b, block) for b in bits_by_run]
    sums = np.stack([s for s, _ in blocks])  # (runs, blocks)
    counts = blocks[0][1]
    n_blocks = sums.shape[1]
    if n_blocks < 4:
        raise DataError(f"the text has {n_blocks} blocks of {block} characters; at least 4 are needed")
    rng = np.random.default_rng(seed)
    gaps, agree = np.empty(n_splits), np.empty(n_splits, dtype=bool)
    picks = np.zeros(len(bits_by_run))
    half_chars = 0.0
    for i in range(n_splits):
        in_a = np.zeros(n_blocks, dtype=bool)
        in_a[rng.permutation(n_blocks)[: n_blocks // 2]] = True
        bpc_a = sums[:, in_a].sum(axis=1) / counts[in_a].sum()
        bpc_b = sums[:, ~in_a].sum(axis=1) / counts[~in_a].sum()
        win = int(np.argmin(bpc_a))
        gaps[i] = bpc_b[win] - bpc_a[win]
        agree[i] = win == int(np.argmin(bpc_b))
        picks[win] += 1
        half_chars += counts[in_a].sum() / n_splits
    tail = round((1 - level) / 2, 12)  # 0.025, not 0.025000000000000022
    return Optimism(mean=float(gaps.mean()), low=float(np.quantile(gaps, tail)),
                    high=float(np.quantile(gaps, 1 - tail)), agreement=float(agree.mean()),
                    chosen=tuple(float(p / n_splits) for p in picks), n_splits=n_splits,
                    half_chars=float(half_chars), block=block, level=level)


def run_bits(configs: Sequence[TrainConfig], texts: Sequence[str]) -> dict[str, list[np.ndarray]]:
    """Per-character bits of each run of ``configs`` (from the cache, trained if missing) on
    each corpus file of ``texts``: ``{text: [bits of run 0, bits of run 1, ...]}``."""
    models = [cached_run(c).model for c in configs]
    return {name: [char_bits(m, corpus(name)) for m in models] for name in texts}


def log_rows(configs: Sequence[TrainConfig]) -> pd.DataFrame:
    """The experiment-log rows of ``configs`` (from the run cache; trained if missing), typed as
    :func:`~charlm.studies.runner.run_study` returns them."""
    df = pd.DataFrame([evaluate_row(cached_run(c)) for c in configs], columns=COLUMNS)
    for col in INT_COLUMNS:
        df[col] = pd.to_numeric(df[col]).astype("Int64")
    for col in FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col])
    return df



@dataclass(frozen=True)
class SelectionAnalysis:
    """What choosing among the finished runs of a study on each text gives (see
    :func:`analyse_selection`); BPC in bits per character, rows as in ``scores``."""

    # One row per finished run: setting (its label), bpc_valid, and for each of the two texts
    # bpc_test / test_low / test_high and bpc_large / large_low / large_high (BPC, interval).
    scores: pd.DataFrame
    texts: tuple[str, str]  # the small and the large test file
    chars: tuple[int, int]  # characters of each text
    valid_frac: float  # share of the training text held out for validation
    block: int  # characters per bootstrap block
    n_boot: int  # bootstrap resamples per interval
    level: float  # the intervals' coverage
    by_test: int  # the run with the lowest BPC on the small test text
    by_valid: int | None  # the run with the lowest validation BPC (None: some run has none)
    rho_valid: float  # Spearman rank correlation of validation BPC with BPC on the large text
    rho_test: float  # ... of BPC on the small test text with BPC on the large text
    margin: float  # small-text BPC of the second-best run minus that of the best
    optimism: Optimism  # of choosing on the small text among all runs
    optimism_rest: Optimism | None  # among the runs without ``by_test`` (None: under 3 runs)
    width_test: float  # mean width of the runs' intervals on the small text
    width_large: float  # ... on the large text
    base: int | None  # the base setting's run (None: it did not finish)
    paired: tuple[tuple[float, float, float], ...] | None  # per text: chosen minus base
    # (difference, low, high); None when there is no base run or it is the chosen one

    @property
    def chosen(self) -> int:
        """The run the study picks: by validation BPC when every run has one, else by test."""
        return self.by_valid if self.by_valid is not None else self.by_test


def analyse_selection(df: pd.DataFrame, configs: Sequence[TrainConfig], base: TrainConfig,
                      texts: Sequence[str] = (TEST_FILE, TEST_LARGE_FILE), seed: int = 0,
                      block: int = 200, n_boot: int = 2000, n_splits: int = 2000,
                      level: float = 0.95) -> SelectionAnalysis:
    """Score the finished runs of a study (``df`` from :func:`~charlm.studies.runner.run_study`,
    one row per config of ``configs``) on the two ``texts`` from the run cache, and analyse the
    choice among them: see :func:`selection_analysis`."""
    ok = [i for i in range(len(df)) if df["status"].iloc[i] == "ok"]
    finished = [configs[i] for i in ok]
    bits = run_bits(finished, list(texts))
    return selection_analysis(df.iloc[ok], finished, base, bits, texts, seed, block, n_boot,
                              n_splits, level, varied=varied_params(configs, base))


def selection_analysis(runs: pd.DataFrame, configs: Sequence[TrainConfig], base: TrainConfig,
                       bits: Mapping[str, Sequence[np.ndarray]],
                       texts: Sequence[str] = (TEST_FILE, TEST_LARGE_FILE), seed: int = 0,
                       block: int = 200, n_boot: int = 2000, n_splits: int = 2000,
                       level: float = 0.95, varied: Sequence[str] | None = None
                       ) -> SelectionAnalysis:
    """The analysis of :func:`analyse_selection` from per-character bits already computed.

    ``runs`` are the finished runs' rows (with ``bpc_valid`` and ``valid_frac``), ``configs``
    their settings, ``bits[text]`` their per-character bits on each of the two ``texts``
    (small, large). Intervals are block bootstraps (:func:`~charlm.evaluate.bits_interval`,
    ``block`` characters, ``n_boot`` resamples, ``level`` coverage); the optimism of choosing
    on the small text is :func:`selection_optimism` (``n_splits`` splits, ``seed``), among all
    runs and, with three runs or more, among all but the winner.
    """
    small, large = texts
    varied = list(varied) if varied is not None else varied_params(configs, base)
    if len(runs) < 2:
        raise DataError(f"choosing among runs needs at least 2 finished runs, got {len(runs)}")
    iv = {name: [bits_interval(b, block, n_boot, level) for b in bits[name]] for name in texts}
    scores = pd.DataFrame({
        "setting": [varied_label(r, base.to_dict(), varied) for _, r in runs.iterrows()],
        "bpc_valid": runs["bpc_valid"].to_numpy(dtype=float),
        "bpc_test": [m for m, _, _ in iv[small]], "test_low": [lo for _, lo, _ in iv[small]],
        "test_high": [hi for _, _, hi in iv[small]],
        "bpc_large": [m for m, _, _ in iv[large]], "large_low": [lo for _, lo, _ in iv[large]],
        "large_high": [hi for _, _, hi in iv[large]],
    })
    by_test = int(np.argmin(scores["bpc_test"]))
    by_valid = int(np.nanargmin(scores["bpc_valid"])) if scores["bpc_valid"].notna().all() else None
    rho = scores[["bpc_valid", "bpc_test", "bpc_large"]].corr(method="spearman")["bpc_large"]
    rest = [k for k in range(len(scores)) if k != by_test]
    optimism_rest = (selection_optimism([bits[small][k] for k in rest], block, n_splits, seed, level)
                     if len(scores) > 2 else None)
    base_i = next((k for k, c in enumerate(configs) if c == base), None)
    chosen = by_valid if by_valid is not None else by_test
    paired = None
    if base_i is not None and chosen != base_i:
        paired = tuple(paired_difference_interval(bits[name][chosen], bits[name][base_i], block,
                                                  n_boot, level) for name in texts)
    return SelectionAnalysis(
        scores=scores, texts=(small, large), chars=(len(bits[small][0]) + 1, len(bits[large][0]) + 1),
        valid_frac=float(runs["valid_frac"].iloc[0]), block=block, n_boot=n_boot, level=level,
        by_test=by_test, by_valid=by_valid, rho_valid=float(rho["bpc_valid"]),
        rho_test=float(rho["bpc_test"]),
        margin=float(np.diff(np.sort(scores["bpc_test"])[:2])[0]),
        optimism=selection_optimism(bits[small], block, n_splits, seed, level),
        optimism_rest=optimism_rest,
        width_test=float(np.mean((scores["test_high"] - scores["test_low"]).to_numpy())),
        width_large=float(np.mean((scores["large_high"] - scores["large_low"]).to_numpy())),
        base=base_i, paired=paired)


# ---------------------------------------------------------------- seed to seed


def seed_configs(base: TrainConfig, chosen: TrainConfig | None, n_seeds: int) -> list[TrainConfig]:
    """The extra runs that measure seed-to-seed variation: the chosen setting and the base, each
    with seeds ``base.seed + 1`` to ``base.seed + n_seeds - 1`` (the study trained seed
    ``base.seed``). The chosen setting's runs come first, so that runs of the same size train
    side by side; the base alone when it is the chosen one (or nothing was chosen)."""
    settings = [base] if chosen is None or chosen == base else [chosen, base]
    return [c.replace(seed=base.seed + k) for c in settings for k in range(1, n_seeds)]


__all__ = ["Optimism", "SelectionAnalysis", "analyse_selection", "log_rows", "run_bits", "seed_configs",
           "selection_analysis", "selection_optimism"]
