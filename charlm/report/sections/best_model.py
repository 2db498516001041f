"""Section "the best model in a fixed CPU budget" (notebook 06): its tables and sentences.

The section compares two trained runs, the ``best`` preset and the coursework's defaults on the
same validation split, both given as :class:`~charlm.checkpoint.Checkpoint` objects: every
setting is read from ``ckpt.config`` and every measurement from ``ckpt.meta`` (``status``,
``iterations``, ``wall_time`` in seconds, ``threads``, ``n_params``, ``valid_bpc``,
``valid_curve``), so nothing here assumes how long the preset trains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...checkpoint import Checkpoint
from ...config import TrainConfig, printing_fields
from ...corpora import TEST_FILE, TEST_LARGE_FILE, corpus
from ...evaluate import bits_interval, char_bits, paired_difference_interval
from ...presets import REASONS, SEARCHED_FIELDS, search_results
from ...runs import cached_run, torch_threads
from ...sample import generate
from ...studies.sanity import SANITY_SAMPLES
from ...studies.summary import valid_bpc_at
from ..claims import Check
from ..display import bullets, md, plural, sample, table

BEST = "best"  # how the two runs are named in tables and sentences
DEFAULT = "coursework settings (4.2 base)"  # trained with the validation split held out, unlike 4.1
BLOCK = 200  # characters per bootstrap block
LEVEL = 0.95  # of the bootstrap intervals
IGNORED = printing_fields()  # settings that change printing or placement only: not "changes"

CHANGES_CAPTION = ("The settings of the preset that differ from the coursework's defaults (the "
                   "default run here also holds out the validation split)")
SEARCH_CAPTION = ("The search (results/budget_search.csv): each setting trained alone, with every "
                  "core, for the budget in minutes of training time; the iterations it reached "
                  "and its validation BPC at the end. The test files were not scored.")

def _num(x: float) -> str:
    """A setting as written: ``2.0``, ``1.95``, ``0.006`` (a whole float keeps one decimal)."""
    text = f"{x:g}"
    return text if any(c in text for c in ".e") else f"{x:.1f}"


# ---------------------------------------------------------------- the runs


def train_or_load(best_cfg: TrainConfig, default_cfg: TrainConfig, threads: int = 0
                  ) -> tuple[Checkpoint, Checkpoint]:
    """The two runs from the run cache, or trained here with ``threads`` torch threads (0: one
    per CPU core) when the cache does not have them."""
    with torch_threads(threads):
        return cached_run(best_cfg), cached_run(default_cfg)


# ---------------------------------------------------------------- what changes


def changed_settings(default: TrainConfig, best: TrainConfig,
                     reasons: Mapping[str, str] = REASONS) -> pd.DataFrame:
    """One row per setting where ``best`` differs from ``default`` (in ``best``'s field order,
    printing-only settings left out): the two values and the reason from ``reasons``."""
    a, b = default.to_dict(), best.to_dict()

    def shown(value: Any) -> Any:
        return f"{value:g}" if isinstance(value, float) else value

    rows = [{"setting": k, "coursework default": shown(a[k]), "best": shown(b[k]),
             "why": reasons.get(k, "")} for k in b if a[k] != b[k] and k not in IGNORED]
    return pd.DataFrame(rows, columns=["setting", "coursework default", "best", "why"])


def changes_table(default: Checkpoint, best: Checkpoint, caption: str = CHANGES_CAPTION):
    """:func:`changed_settings` of the two runs' configs, as a table."""
    return table(changed_settings(default.config, best.config), caption=caption)


def changes_sentence(default: TrainConfig, best: TrainConfig) -> str:
    """The settings that differ from the coursework's, in one sentence: ``name value (was
    value)``, in the preset's field order."""
    rows = changed_settings(default, best)
    listed = ", ".join(f"{r.setting} {r.best} (was {r['coursework default']})"
                       for _, r in rows.iterrows())
    return f"The preset changes {len(rows)} settings of the coursework's: {listed}."


# ---------------------------------------------------------------- the recorded search


SETTING_COLUMNS = (*SEARCHED_FIELDS, "budget_minutes")  # what makes two search runs one setting


def untested_sentence(results: pd.DataFrame, default: TrainConfig, best: TrainConfig) -> str:
    """The preset's changes that the search never varied (one value in every run), so that no
    run of it is evidence for them."""
    changed = set(changed_settings(default, best).setting)
    fixed = [c for c in results.columns if c in changed and results[c].astype(str).nunique() == 1]
    others = sorted(changed - set(results.columns))
    names = fixed + others
    if not names:
        return "Every setting the preset changes was varied in the search."
    return (f"The search never varied {', '.join(names)}: their values come from the first, "
            "fixed-iteration search and from common practice, not from this search.")


def search_limits(results: pd.DataFrame, default: TrainConfig, best: TrainConfig) -> str:
    """What the search cannot show: :func:`repeat_sentence`, then :func:`untested_sentence`."""
    return repeat_sentence(results) + " " + untested_sentence(results, default, best)


def repeat_sentence(results: pd.DataFrame, columns: Sequence[str] = SETTING_COLUMNS) -> str:
    """What training one setting twice did to its validation BPC (the noise that a single
    training per setting cannot see), against the lead of the chosen run; '' when no setting
    was trained twice."""
    cols = [c for c in columns if c in results.columns]
    ok = results[results["status"] == "ok"]
    twice = ok[ok.duplicated(subset=cols, keep=False)]
    if twice.empty:
        return ("Each setting was trained once, with one seed: the search cannot tell apart "
                "settings whose validation BPC differs by a few hundredths.")
    key = twice[cols].astype(str).agg("|".join, axis=1)
    spreads = twice.groupby(key)["valid_bpc"].agg(lambda v: v.max() - v.min())
    group = twice[key == spreads.idxmax()]
    values = " and ".join(f"{v:.3f}" for v in group["valid_bpc"])
    its = " and ".join(f"{i:,}" for i in group["iterations"])
    return (f"One setting was trained twice, on two occasions (reaching {its} iterations in "
            f"the same budget): its validation BPC came out {values}, {spreads.max():.3f} apart: settings closer "
            "than that are not told apart by the search.")




def search_table(results: pd.DataFrame | None = None, caption: str = SEARCH_CAPTION):
    """The recorded search (:func:`charlm.presets.search_results`) as a table, one row per run:
    its setting in words, the budget, the minutes, iterations and validation BPC it reached."""
    df = search_results() if results is None else results
    shown = pd.DataFrame({
        "setting": [_setting(row) for _, row in df.iterrows()],
        "budget (min)": df["budget_minutes"].map("{:g}".format),
        "minutes": df["train_minutes"], "iterations": df["iterations"],
        "validation BPC": df["valid_bpc"],
        "derailed samples": df["derailed"].map(
            lambda d: "not measured" if pd.isna(d) else f"{int(d)} of {SANITY_SAMPLES}"),
        "chosen": df["chosen"].map({True: "chosen", False: ""}),
    })
    return table(shown, floatfmt="{:.3f}", formats={"minutes": "{:.1f}", "iterations": "{:,}"},
                 caption=caption)


def _setting(row: Mapping[str, Any]) -> str:
    """A searched setting in words: the fields every run sets, then those a run adds."""
    masks = {"torch": "", "fast": " (fast masks)", "locked": " (locked)"}[row["dropout_masks"]]
    extra = [f"dropout {row['dropout']:g}{masks}" if row["dropout"] else "",
             f"weight drop {row['weight_drop']:g}" if row["weight_drop"] else "",
             f"weight average {row['ema']:g}" if row["ema"] else "",
             f"weight decay {row['weight_decay']:g}" if row["weight_decay"] else "",
             "shifted chunks" if _true(row["shift_chunks"]) else "",
             f"stream resets {_num(row['reset_prob'])}" if row["reset_prob"] else "",
             "no decay on biases and embedding" if row["decay_params"] == "matrices" else "",
             f"ensemble of {row['ensemble']}" if row["ensemble"] > 1 else ""]
    return ", ".join([f"hidden {row['hidden_size']}", f"{row['n_layers']} layers",
                      f"batch {row['batch_size']}",
                      f"chunk {row['chunk_len']}", f"lr {_num(row['lr'])}", str(row["precision"]),
                      *filter(None, extra)])


def _true(value: Any) -> bool:
    """A boolean read back from a CSV file (``True``/``False``, or their text)."""
    return value is True or str(value) == "True"


def search_sentence(results: pd.DataFrame) -> str:
    """Which setting the search chose (the lowest validation BPC among the runs given the full
    budget, and among those whose samples derail least where that was measured) and by how
    much it led; runs given less time are named as an earlier stage."""
    chosen = results[results["chosen"]].iloc[0]
    at_budget = full = results["budget_minutes"] == chosen["budget_minutes"]
    measured = full & results["derailed"].notna()
    pool = (f"{plural(int(full.sum()), 'run')} given the full {chosen['budget_minutes']:g}-minute "
            "budget")
    if measured.any():
        fewest = int(results.loc[measured, "derailed"].min())
        full = measured & (results["derailed"] == fewest)
        pool = (f"{plural(int(full.sum()), 'run')} given the full "
                f"{chosen['budget_minutes']:g}-minute budget whose samples were measured and "
                f"derailed least ({fewest} of {SANITY_SAMPLES}; "
                f"{plural(int((measured & ~full).sum()), 'other measured run')} derailed more "
                "and could not be chosen, however they scored)")
    ok = results[full & (results["status"] == "ok") & ~results["chosen"]].sort_values("valid_bpc")
    text = (f"The chosen setting ({_setting(chosen)}) has the lowest validation BPC of the "
            f"{pool}: {chosen['valid_bpc']:.3f} after {chosen['iterations']:,} iterations in "
            f"{chosen['train_minutes']:.1f} minutes")
    if ok.empty:
        text += "."
    else:
        second = ok.iloc[0]
        text += (f", {second['valid_bpc'] - chosen['valid_bpc']:.3f} below the next best "
                 f"({_setting(second)}: {second['valid_bpc']:.3f}). One training per setting: a "
                 "lead of a few hundredths could change with another seed.")
    earlier = results[~at_budget]
    if not earlier.empty:
        budgets = ", ".join(f"{b:g}" for b in sorted(earlier["budget_minutes"].unique()))
        one = len(earlier) == 1
        text += (f" The {'run' if one else plural(len(earlier), 'run')} with less time ({budgets} "
                 f"minutes) {'was' if one else 'were'} an earlier stage of the search, shown for "
                 f"what {'it' if one else 'they'} taught, not "
                 f"{'a candidate' if one else 'candidates'}.")
    return text


# ---------------------------------------------------------------- the run


BUDGET_TOLERANCE = 0.05  # a budget run may overrun by its last iteration: this share of it


def run_sentence(best: Checkpoint, default: Checkpoint, budget_minutes: float
                 ) -> tuple[str, Check]:
    """How the best run trained (status, iterations, minutes against the budget, characters
    read) next to the default run, and the budget as a :class:`Check`: a run defined by a
    budget must use the whole of it; a run of fixed iterations must fit inside it."""
    m, d = best.meta, default.meta
    b_cfg, d_cfg = best.config, default.config
    minutes = m["wall_time"] / 60
    budget = b_cfg.budget_minutes or budget_minutes
    if b_cfg.budget_minutes:
        ok = abs(minutes - budget) <= BUDGET_TOLERANCE * budget
        used = (f"It trained for its whole {budget:g}-minute budget" if ok else
                f"It did **not** train for its whole {budget:g}-minute budget")
        how = (f"{used}, so the iterations it reached depend on this machine's speed: on a "
               "faster or slower one the same command trains more or fewer, and the numbers "
               "below are reproducible only up to that count.")
        claim = (f"the best run trains for its whole budget of {budget:g} minutes "
                 f"(within {BUDGET_TOLERANCE:.0%}; evaluation not counted)")
    else:
        ok = minutes <= budget
        how = (f"That is inside the {budget:g}-minute budget." if ok else
               f"That is **over the {budget:g}-minute budget** on this machine.")
        claim = f"the best run trains within the budget of {budget:g} minutes (evaluation not counted)"
    text = (f"The best run ended with status **{m['status']}** after **{m['iterations']:,} "
            f"iterations** and **{minutes:.1f} minutes of training** "
            f"({plural(m['threads'], 'torch thread')}, {m['n_params']:,} parameters; evaluating "
            f"the validation split every {b_cfg.eval_every} iterations is not counted). "
            f"{members_sentence(m.get('member_iterations') or [], b_cfg)}{how}"
            f" Each iteration reads {b_cfg.batch_size} x {b_cfg.chunk_len} characters, "
            f"{m['iterations'] * b_cfg.batch_size * b_cfg.chunk_len / 1e6:.1f} million in all, "
            f"against {d['iterations'] * d_cfg.batch_size * d_cfg.chunk_len / 1e6:.1f} million "
            f"for the default run ({d['wall_time'] / 60:.1f} minutes, "
            f"{plural(d['threads'], 'thread')}).")
    return text, Check(claim, f"{minutes:.1f} minutes with {plural(m['threads'], 'torch thread')}", ok)


def members_sentence(member_iterations: Sequence[int], cfg: TrainConfig) -> str:
    """For an ensemble: how many models, each on what share, with its iterations ('' for one)."""
    n = len(member_iterations)
    if n < 2:
        return ""
    share = (f"{cfg.budget_minutes / n:.3g} minutes" if cfg.budget_minutes
             else "an equal share of the iterations")
    return (f"It is an ensemble of {n} models of the same setting (seeds {cfg.seed} to "
            f"{cfg.seed + n - 1}), trained one after another for {share} each "
            f"({', '.join(f'{i:,}' for i in member_iterations)} iterations); the ensemble "
            "averages their predicted probabilities. ")


# ---------------------------------------------------------------- learning curves


def curve_runs(best: Checkpoint, default: Checkpoint) -> list[dict[str, Any]]:
    """The two runs as :func:`charlm.report.plots.plot_valid_curves` takes them."""
    best_label = f"{BEST} ({best.config.hidden_size} hidden, batch {best.config.batch_size})"
    return [{"label": label, "curve": ck.meta["valid_curve"],
             "chars_per_iteration": ck.config.batch_size * ck.config.chunk_len,
             "members": ck.meta.get("member_iterations") or []}
            for label, ck in ((best_label, best), (DEFAULT, default))]


def curve_title(cfg: TrainConfig) -> str:
    """Title of the learning-curve figure: which validation split."""
    return f"Validation BPC ({cfg.valid_frac:.0%} of {Path(cfg.corpus).name}) during training"


def threads_sentence(best_threads: int, default_threads: int) -> str:
    """Whether a comparison at equal training minutes favours one run (from the runs'
    recorded torch thread counts)."""
    b, d = best_threads, default_threads
    if b > d:
        return (f"The comparison at equal minutes favours the best run: it trained with "
                f"{plural(b, 'torch thread')}, the default run with {d}, so a minute of its "
                "training had more processor time behind it.")
    if b < d:
        return (f"The comparison at equal minutes favours the default run: it trained with "
                f"{plural(d, 'torch thread')}, the best run with {b}, so a minute of its "
                "training had more processor time behind it.")
    return (f"Both runs trained with {plural(b, 'torch thread')}, so the thread counts favour "
            "neither at equal minutes.")


def comparison_bullets(best: Checkpoint, default: Checkpoint) -> str:
    """Validation BPC at the default run's training time, and whether equal minutes are a
    fair comparison."""
    m, d = best.meta, default.meta
    t_default = d["wall_time"] / 60
    best_then = valid_bpc_at(m["valid_curve"], t_default)
    then = (f"the best run was at {best_then:.3f} at that time" if best_then is not None
            else "the best run had not been evaluated yet by then")
    return bullets([
        (f"After its {t_default:.1f} minutes the default run reaches validation BPC "
         f"{d['valid_bpc']:.3f}; {then}, and ends at **{m['valid_bpc']:.3f}**."),
        threads_sentence(m["threads"], d["threads"]),
    ])


# ---------------------------------------------------------------- the test files


@dataclass(frozen=True)
class Scores:
    """Both runs scored on the test files: per-character bits, BPC and intervals."""

    files: tuple[str, ...]
    bits: dict[tuple[str, str], np.ndarray]  # (run, file) -> bits of each character
    intervals: dict[tuple[str, str], tuple[float, float, float]]  # (run, file) -> (BPC, low, high)
    valid_bpc: dict[str, float]  # run -> validation BPC at the end of training
    minutes: dict[str, float]  # run -> training minutes
    block: int = BLOCK
    level: float = LEVEL

    def table(self) -> pd.DataFrame:
        """One row per run: minutes, validation BPC, and BPC with its interval per file."""
        rows = []
        for run in (BEST, DEFAULT):
            row: dict[str, Any] = {"run": run, "minutes": self.minutes[run],
                                   "BPC (valid)": self.valid_bpc[run]}
            for name in self.files:
                value, lo, hi = self.intervals[run, name]
                row[name] = value
                row[f"{self.level:.0%} interval ({name})"] = f"{lo:.3f} - {hi:.3f}"
            rows.append(row)
        return pd.DataFrame(rows)

    def difference(self, name: str) -> tuple[float, float, float]:
        """BPC of the best run minus the default run on ``name``, with its paired interval."""
        return paired_difference_interval(self.bits[BEST, name], self.bits[DEFAULT, name],
                                          block=self.block, level=self.level)


def score_runs(best: Checkpoint, default: Checkpoint,
               files: Sequence[str] = (TEST_FILE, TEST_LARGE_FILE),
               load: Callable[[str], Any] = corpus) -> Scores:
    """Score both runs on ``files`` (read with ``load``): bits per character and block-bootstrap
    intervals."""
    bits, intervals = {}, {}
    for run, ck in ((BEST, best), (DEFAULT, default)):
        for name in files:
            bits[run, name] = char_bits(ck.model, load(name))
            intervals[run, name] = bits_interval(bits[run, name], block=BLOCK, level=LEVEL)
    return Scores(tuple(files), bits, intervals,
                  {BEST: best.meta["valid_bpc"], DEFAULT: default.meta["valid_bpc"]},
                  {BEST: best.meta["wall_time"] / 60, DEFAULT: default.meta["wall_time"] / 60})


def results_table(scores: Scores, caption: str | None = None):
    """:meth:`Scores.table` as a table, with a caption naming the intervals."""
    caption = caption or (f"BPC of the two runs; the intervals are {scores.level:.0%} block "
                          f"bootstraps over {scores.block}-character blocks")
    return table(scores.table(), floatfmt="{:.3f}", formats={"minutes": "{:.1f}"}, caption=caption)


def target_sentence(best_bpc: float, default_bpc: float, low: float, high: float,
                    target: float, name: str = TEST_LARGE_FILE,
                    level: float = LEVEL) -> tuple[str, Check]:
    """Whether the best model's BPC on ``name`` meets the target of at most ``target``: met,
    met narrowly (the interval ``low``-``high`` reaches above it) or not met."""
    head = (f"On `{name}` the best model scores **{best_bpc:.3f}** bits per character against "
            f"{default_bpc:.3f} for the coursework's settings: ")
    interval = f"{level:.0%} interval {low:.3f} - {high:.3f}"
    if best_bpc > target:
        text = (f"the target of at most {_num(target)} is **not met** (short by "
                f"{best_bpc - target:.3f}).")
    elif high > target:
        text = (f"the target of at most {_num(target)} is **met**, narrowly: the {level:.0%} "
                f"interval ({low:.3f} - {high:.3f}) reaches above it, so this text alone does not "
                f"show that the model is below {_num(target)}.")
        interval += f", reaching above {_num(target)}"
    else:
        text = (f"the target of at most {_num(target)} is **met with margin**: the whole "
                f"{level:.0%} interval ({low:.3f} - {high:.3f}) is below it.")
    check = Check(f"the issue's target: BPC at most {_num(target)} on {name}",
                  f"{best_bpc:.3f} ({interval})", best_bpc <= target)
    return head + text, check


def difference_sentence(diffs: Mapping[str, tuple[float, float, float]], block: int = BLOCK,
                        level: float = LEVEL) -> str:
    """The paired differences, best minus default, per file."""
    return (f"Paired difference, best minus default, on the same {block}-character blocks: "
            + "; ".join(f"{dv:+.3f} on {name} ({level:.0%} interval {lo:+.3f} to {hi:+.3f})"
                        for name, (dv, lo, hi) in diffs.items()) + ".")


def valid_test_sentence(valid: float, test: float, large: float) -> str:
    """Validation BPC against the two test files (the validation split is training text)."""
    return (f"Validation BPC {valid:.3f}, {TEST_FILE} {test:.3f}, {TEST_LARGE_FILE} {large:.3f}. "
            "The validation split is blocks of the training file itself; the test files are "
            "later chapters of two of the training novels (David Copperfield and A Tale of Two "
            f"Cities) that share no passage with the training file, and {TEST_FILE} is the "
            f"first part of {TEST_LARGE_FILE}"
            + (", on which the model does worse." if large > valid else "."))


def results_bullets(scores: Scores, target: float) -> tuple[str, Check]:
    """The target, the paired differences and validation against test, as bullets; and the
    target's :class:`Check`."""
    large, lo, hi = scores.intervals[BEST, TEST_LARGE_FILE]
    target_text, check = target_sentence(large, scores.intervals[DEFAULT, TEST_LARGE_FILE][0],
                                         lo, hi, target, level=scores.level)
    diffs = {name: scores.difference(name) for name in scores.files}
    return bullets([
        target_text,
        difference_sentence(diffs, scores.block, scores.level),
        valid_test_sentence(scores.valid_bpc[BEST], scores.intervals[BEST, TEST_FILE][0], large),
    ]), check


def answer(best: Checkpoint, scores: Scores, frame: pd.DataFrame, dynamic: str, yardstick: str,
           target: float, large: str = TEST_LARGE_FILE) -> str:
    """The section's answer: what the budget bought on both test files against the
    coursework's settings, against the ``yardstick`` rung of the ladder ``frame``, and what
    dynamic evaluation (the rung ``dynamic``) adds."""
    m, cfg = best.meta, best.config
    b_small, b_large = scores.intervals[BEST, TEST_FILE][0], scores.intervals[BEST, large]
    d_small, d_large = scores.intervals[DEFAULT, TEST_FILE][0], scores.intervals[DEFAULT, large][0]
    y, d = frame.set_index("name").loc[yardstick, large], frame.set_index("name").loc[dynamic, large]
    minutes = cfg.budget_minutes or m["wall_time"] / 60
    return (f"**Answer.** Trained for {minutes:g} minutes on this machine ({m['iterations']:,} "
            f"iterations of {cfg.batch_size} streams of {cfg.chunk_len} characters), the best "
            f"setting scores **{b_small:.3f}** bits per character on {TEST_FILE} and "
            f"**{b_large[0]:.3f}** (95% interval {b_large[1]:.3f}-{b_large[2]:.3f}) on {large}, "
            f"against {d_small:.3f} and {d_large:.3f} for the coursework's settings with the same "
            f"text held out: {d_large - b_large[0]:.2f} bits per character less. The target of "
            f"at most {_num(target)} on {large} is "
            + ("met" if b_large[0] <= target else "**not met**")
            + f". It beats {yardstick} ({y:.3f}) by {y - b_large[0]:.3f}; adapting to the test "
            f"text as that compressor does (dynamic evaluation) takes it to {d:.3f}.")


# ---------------------------------------------------------------- samples


def samples(best: Checkpoint, default: Checkpoint, prime: str, predict_len: int,
            temperature: float, seed: int) -> list:
    """For each run, a heading and its sample from ``prime`` (same seed), for ``display(*...)``."""
    shown = []
    for label, ck in ((BEST, best), (DEFAULT, default)):
        text = generate(ck.model, prime, predict_len, temperature, seed=seed)
        shown += [md(f"**{label}**, T = {temperature:g}"), sample(prime, text[len(prime):])]
    return shown


__all__ = ["answer", "changes_sentence", "search_limits", "repeat_sentence", "untested_sentence", "BEST", "BLOCK", "BUDGET_TOLERANCE", "CHANGES_CAPTION", "DEFAULT", "LEVEL", "SEARCH_CAPTION", "Scores",
           "changed_settings", "changes_table", "members_sentence", "comparison_bullets", "curve_runs", "curve_title",
           "difference_sentence", "results_bullets", "results_table",
           "run_sentence", "samples", "score_runs", "search_sentence", "search_table",
           "target_sentence", "threads_sentence", "train_or_load", "valid_test_sentence"]
