"""What part 4.5 and Appendix D state about the cells and the Python corpus: facts and
verdicts, no sentences (the notebooks' markdown says it; see :mod:`charlm.facts`).

The verdicts, each a small function with its rule:

- a comparison is **separated** when the 95% paired interval of every cell's gap to the best
  excludes zero (:func:`separated`);
- the small test file gives **the same order** as the large one, or another (:func:`order_phrase`);
- where the plain RNN comes (:func:`place_phrase`);
- which text is easier for the model trained on it (:func:`direction`: ``less``/``more``);
- each model is **worse on the other's text, yet below a uniform guess** (:func:`cross_phrase`);
- the LSTM runs as the **fused kernel** and the others step through time (:func:`kernel_phrase`);
- of two models on one text, one is **better** when the 95% paired interval of their difference
  in BPC excludes zero, else **the two tie** (:func:`paired_verdict`);
- how long one loss curve stays **lower** than another: until the first point at which its
  moving average is not below the other's (:func:`lower_until`, :func:`lead_phrase`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paths
from ..data import VOCAB
from ..facts import Int, Num, bits, count, nats, num
from .cells import CellComparison, Ranking
from .fine_tuning import PYTHON_TEXT, SCRATCH, SOURCE, TUNED, FineTuning
from .operators import FUSED_KERNEL
from .python_corpus import DOMAIN_TEXTS, BonusStudy, PythonSamples
from .sampling_facts import Phrase, listing
from .summary import curve_stats, smooth

PYTHON, SMALL, LARGE = DOMAIN_TEXTS
WHITESPACE_NAMES = {" ": "space", "\t": "tab", "\n": "newline", "\r": "carriage return",
                    "\x0b": "vertical tab", "\x0c": "form feed"}
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth"}


# ---------------------------------------------------------------------------------------------
# verdicts


def separated(gaps: Mapping[str, tuple[float, float, float]]) -> bool:
    """Does every gap's 95% interval ``(gap, low, high)`` exclude zero? (Gaps to the best are
    positive, so: is every ``low`` above zero?)"""
    return all(low > 0 or high < 0 for _, low, high in gaps.values())


def separation_phrase(gaps: Mapping[str, tuple[float, float, float]]) -> Phrase:
    """``every gap's 95% interval excludes zero`` or ``not every ...``."""
    return Phrase(("every" if separated(gaps) else "not every") + " gap's 95% interval excludes zero")


def order_phrase(order: Sequence[str], other: Sequence[str]) -> Phrase:
    """``the same order``, or ``another order: GRU, LSTM, RNN`` (``other``, best first)."""
    if list(order) == list(other):
        return Phrase("the same order")
    return Phrase("another order: " + ", ".join(c.upper() for c in other))


def place_phrase(order: Sequence[str], cell: str = "rnn") -> Phrase:
    """Where ``cell`` comes in ``order`` (best first): ``last``, ``first``, ``second of 3``..."""
    place, n = list(order).index(cell) + 1, len(order)
    if place == n:
        return Phrase("last")
    return Phrase(ORDINALS.get(place, f"number {place}") + ("" if place == 1 else f" of {n}"))


def direction(a: float, b: float) -> Phrase:
    """``less`` when ``a`` is below ``b``, else ``more``."""
    return Phrase("less" if a < b else "more")


def cross_phrase(pp: float, pd_: float, dp: float, dd: float, uniform: float) -> Phrase:
    """Does each model do worse on the other's text than the model trained on it, while both
    stay below a uniform guess? (``pd_``: the Python model on Dickens, ``dp``: the reverse.)"""
    if dp > pp and pd_ > dd and max(dp, pd_) < uniform:
        return Phrase("each model is worse on the other's text, but well below a uniform guess")
    return Phrase("it is not the case that each model is worse on the other's text while both "
                  "stay below a uniform guess")


def kernel_phrase(fused: Mapping[str, int], first: str = "lstm") -> Phrase:
    """How PyTorch ran the cells: ``first`` as the fused kernel and the others step by step, or
    not."""
    others = [c.upper() for c in fused if c != first]
    if fused.get(first) and not any(fused[c] for c in fused if c != first):
        return Phrase(f"each {first.upper()} layer runs as one fused kernel, while the "
                      f"{' and the '.join(others)} step through the characters")
    if fused.get(first):
        return Phrase("every cell runs as a fused kernel here")
    return Phrase(f"the {first.upper()} does not run as the fused kernel in this PyTorch build")


def paired_verdict(low: float, high: float, first: str, second: str) -> Phrase:
    """Which of two models is better on a text, from the 95% paired interval ``[low, high]`` of
    ``first``'s BPC minus ``second``'s: ``first`` when the interval lies below zero, ``second``
    when above, else ``the two tie``."""
    if high < 0:
        return Phrase(f"{first} is better")
    if low > 0:
        return Phrase(f"{second} is better")
    return Phrase("the two tie")


def lower_until(a: Sequence[float], b: Sequence[float], plot_every: int, window: int = 10
                ) -> int | None:
    """The iteration of the first point at which the moving average (:func:`~charlm.studies
    .summary.smooth`, ``window`` points) of loss curve ``a`` is not below ``b``'s (0: the first
    point; None: it stays below to the end). Point ``i`` of a curve ends at iteration
    ``(i + 1) * plot_every``."""
    below = smooth(a, window) < smooth(b, window)
    return None if below.all() else (int(np.argmin(below)) + 1) * plot_every


def lead_phrase(until: int | None, plot_every: int) -> Phrase:
    """How long a curve stays lower (:func:`lower_until`): ``to the end``, ``at no point`` (not
    even at its first point, which ends at iteration ``plot_every``) or ``until iteration
    1,520``."""
    if until is None:
        return Phrase("to the end")
    return Phrase("at no point" if until <= plot_every else f"until iteration {until:,}")


# ---------------------------------------------------------------------------------------------
# facts


@dataclass(frozen=True)
class CellRow:
    """One run of a comparison, as the report shows it."""

    name: Phrase  # "LSTM"
    hidden: Int
    params: Int
    iterations: Int
    chars_read: Int
    seconds: Num
    ms: Num  # milliseconds per iteration
    final: Num
    bpc_test: Num
    bpc_large: Num
    share_chars: Num  # characters read, as a share of the LSTM's


def _row(r: Ranking, cell: str, first: str = "lstm") -> CellRow:
    x = r.rows.loc[cell]
    return CellRow(Phrase(cell.upper()), count(x["hidden size"]), count(x["parameters"]),
                   count(x["iterations"]), count(x["characters read"]), num(x["seconds"], ".0f"),
                   num(x["ms per iteration"], ".1f"), num(x["final loss"], ".3f"),
                   bits(x["BPC (test)"]), bits(x["BPC (test_large)"]),
                   num(x["characters read"] / r.rows.loc[first, "characters read"], ".0%"))


@dataclass(frozen=True)
class ComparisonFacts:
    """One comparison (equal data, or equal time): each cell's row, the best cell, whether the
    gaps are separated, the small test file's order and where the RNN comes."""

    lstm: CellRow
    gru: CellRow
    rnn: CellRow
    best: Phrase
    separation: Phrase
    small_order: Phrase
    rnn_place: Phrase


def comparison_facts(r: Ranking) -> ComparisonFacts:
    """:class:`ComparisonFacts` of a ranking of the three cells."""
    return ComparisonFacts(_row(r, "lstm"), _row(r, "gru"), _row(r, "rnn"), Phrase(r.best.upper()),
                           separation_phrase(r.gaps), order_phrase(r.order, r.small_order),
                           place_phrase(r.order))


@dataclass(frozen=True)
class CellFacts:
    """Part 4.5's cells: the shared setting, both comparisons (``d``: equal data, ``t``: equal
    time, ``minutes`` of training time each), the operators behind the times, and how much of
    the large test file was scored (``large``)."""

    d: ComparisonFacts
    t: ComparisonFacts
    params: Int  # the cells' mean parameter count, to the thousand
    n_epochs: Int
    chars_read: Int
    seed: Num
    n_layers: Int
    lr: Num
    chunk_len: Int
    n_runs: Int
    minutes: Num
    budget_s: Num
    gru_slower: Num  # time per iteration at equal time, as a multiple of the LSTM's
    rnn_slower: Num
    lstm_calls: Int
    gru_calls: Int
    rnn_calls: Int
    gru_per_char: Num
    rnn_per_char: Num
    kernel: Phrase
    kernel_name: Phrase
    fused_calls: Int  # calls of the fused kernel in the LSTM's pass
    n_test: Int
    large: Phrase


def cell_facts(runs: CellComparison) -> CellFacts:
    """:class:`CellFacts` of a :class:`~charlm.studies.cells.CellComparison`."""
    b, d, t = runs.base, runs.equal_data_ranking, runs.equal_time_ranking
    calls = {cell: sum(c.values()) for cell, c in runs.operators.items()}
    ms = t.rows["ms per iteration"]
    return CellFacts(
        d=comparison_facts(d), t=comparison_facts(t),
        params=count(round(d.rows["parameters"].mean(), -3)), n_epochs=count(b.n_epochs),
        chars_read=count(b.n_epochs * b.chunk_len * b.batch_size), seed=num(b.seed, ".0f"),
        n_layers=count(b.n_layers), lr=num(b.lr, "g"), chunk_len=count(b.chunk_len),
        n_runs=count(len(runs.equal_data)), minutes=num(runs.minutes, "g"),
        budget_s=num(60 * runs.minutes, ".0f"),
        gru_slower=num(ms["gru"] / ms["lstm"], ".1f"), rnn_slower=num(ms["rnn"] / ms["lstm"], ".1f"),
        lstm_calls=count(calls["lstm"]), gru_calls=count(calls["gru"]), rnn_calls=count(calls["rnn"]),
        gru_per_char=num(calls["gru"] / b.chunk_len, ".0f"),
        rnn_per_char=num(calls["rnn"] / b.chunk_len, ".0f"),
        kernel=kernel_phrase(runs.fused), kernel_name=Phrase(FUSED_KERNEL.split(".")[-1]),
        fused_calls=count(runs.fused.get("lstm", 0)),
        n_test=count(runs.n_test), large=scored_phrase(runs.n_large, runs.n_large_total))


def scored_phrase(n: int, total: int) -> Phrase:
    """How much of a file was scored: ``all 180,000 characters`` or ``the first 20,000 of
    180,000 characters``."""
    return Phrase(f"all {n:,} characters" if n == total else f"the first {n:,} of {total:,} characters")


@dataclass(frozen=True)
class DomainFacts:
    """The Dickens model and the Python model on each other's text (``pp``: the Python model on
    held-out Python, ``pd``: on Dickens, ``dp``: the Dickens model on Python, ``dd``: on
    Dickens, the large test file), the verdicts on them, the corpus and the Python run."""

    pp: Num
    pd: Num
    dp: Num
    dd: Num
    uniform: Num
    own: Phrase  # the Python model on Python needs less/more than the Dickens model on Dickens
    dp_gap: Num
    dp_dir: Phrase
    pd_gap: Num
    pd_dir: Phrase
    cross: Phrase
    large: Phrase
    implementation: Phrase
    version: Phrase
    stdlib: Phrase
    candidates: Int
    train_files: Int
    train_chars: Int
    heldout_files: Int
    heldout_chars: Int
    skipped: Int
    python_chars: Int
    dickens_chars: Int
    vocab_size: Int
    run_layers: Int
    run_cell: Phrase
    run_hidden: Int
    run_iterations: Int
    run_minutes: Num
    run_status: Phrase
    train_path: Phrase  # the corpus file, relative to the repository when inside it


def domain_facts(bonus: BonusStudy, root: str | Path = paths.ROOT) -> DomainFacts:
    """:class:`DomainFacts` of a :class:`~charlm.studies.python_corpus.BonusStudy`."""
    d, rec, c = bonus.domains, bonus.corpus, bonus.python_config
    run = bonus.runs.row(c)
    pp, pd_, dp, dd = (d.bpc(m, x) for m, x in (("Python", PYTHON), ("Python", LARGE),
                                                ("Dickens", PYTHON), ("Dickens", LARGE)))
    path, root = Path(rec.train_path), Path(root)
    return DomainFacts(
        pp=bits(pp), pd=bits(pd_), dp=bits(dp), dd=bits(dd), uniform=num(d.uniform, ".2f"),
        own=direction(pp, dd), dp_gap=num(abs(dp - pp), ".2f"), dp_dir=direction(dp, pp),
        pd_gap=num(abs(pd_ - dd), ".2f"), pd_dir=direction(pd_, dd),
        cross=cross_phrase(pp, pd_, dp, dd, d.uniform),
        large=scored_phrase(d.n_large, d.n_large_total), implementation=Phrase(rec.implementation),
        version=Phrase(rec.python_version), stdlib=Phrase(rec.stdlib),
        candidates=count(rec.candidates), train_files=count(len(rec.train_files)),
        train_chars=count(rec.train_chars), heldout_files=count(len(rec.heldout_files)),
        heldout_chars=count(rec.heldout_chars), skipped=count(len(rec.skipped)),
        python_chars=count(d.python_chars), dickens_chars=count(d.dickens_chars),
        vocab_size=count(d.vocab_size), run_layers=count(c.n_layers),
        run_cell=Phrase(c.cell.upper()), run_hidden=count(c.hidden_size),
        run_iterations=count(run["iterations"]), run_minutes=num(run["minutes"], ".1f"),
        run_status=Phrase(run["status"]),
        train_path=Phrase(str(path.relative_to(root) if path.is_relative_to(root) else path)))


@dataclass(frozen=True)
class Score:
    """A BPC with its 95% interval."""

    bpc: Num
    low: Num
    high: Num


@dataclass(frozen=True)
class Gap:
    """The fine-tuned model's BPC minus another's on one text: signed (``diff``) with its 95%
    paired interval, as a size and a direction (``less``/``more``), and the verdict."""

    diff: Num
    low: Num
    high: Num
    size: Num
    dir: Phrase
    verdict: Phrase


@dataclass(frozen=True)
class RunFacts:
    """One run of the fine-tuning comparison: its training time, the time per iteration, and
    the first and final points of its loss curve (nats per character; final: the mean of the
    last tenth)."""

    seconds: Num
    ms: Num
    start: Num
    final: Num


@dataclass(frozen=True)
class FineTuneFacts:
    """The Dickens model fine-tuned on Python against the same run from scratch
    (:class:`~charlm.studies.fine_tuning.FineTuning`): scores on held-out Python (``*_py``) and
    on dickens_test.txt (``*_dk``), the fine-tuned model's gaps to the run from scratch
    (``py``, ``dk``) and to the Dickens model on Dickens (``forget``), each run's time and
    curve, how long the fine-tuned run's loss stays lower (``lead``, moving averages of
    ``window`` points), and where it started (``digest``: the first hex digits of the weights'
    SHA-256 its checkpoint records)."""

    iterations: Int
    tuned_py: Score
    scratch_py: Score
    source_py: Score
    tuned_dk: Score
    scratch_dk: Score
    source_dk: Score
    py: Gap
    dk: Gap
    forget: Gap
    tuned: RunFacts
    scratch: RunFacts
    source: RunFacts
    total_s: Num  # the Dickens model's training and the fine-tuning together
    lead: Phrase
    window: Int
    digest: Phrase
    n_python: Int
    n_dickens: Int


NAMES = {TUNED: "the fine-tuned model", SCRATCH: "the model trained from scratch",
         SOURCE: "the Dickens model"}


def _score(f: FineTuning, model: str, text: str) -> Score:
    return Score(*(bits(v) for v in f.bpc(model, text)))


def _gap(f: FineTuning, other: str, text: str) -> Gap:
    diff, low, high = f.gaps[other, text]
    tuned, theirs = f.bpc(TUNED, text)[0], f.bpc(other, text)[0]
    return Gap(num(diff, "+.3f"), num(low, "+.3f"), num(high, "+.3f"), num(abs(diff), ".3f"),
               direction(tuned, theirs), paired_verdict(low, high, NAMES[TUNED], NAMES[other]))


def _run(r: dict) -> RunFacts:
    stats = curve_stats(r["history"], r["plot_every"])
    return RunFacts(num(r["seconds"], ".0f"), num(1000 * r["seconds"] / max(1, r["iterations"]), ".1f"),
                    nats(stats["start"]), nats(stats["final"]))


def fine_tune_facts(f: FineTuning, window: int = 10) -> FineTuneFacts:
    """:class:`FineTuneFacts` of a :class:`~charlm.studies.fine_tuning.FineTuning` (``window``:
    the points of the moving average the loss curves are compared by)."""
    dk, tuned, scratch = SMALL, f.runs[TUNED], f.runs[SCRATCH]
    return FineTuneFacts(
        iterations=count(tuned["iterations"]),
        tuned_py=_score(f, TUNED, PYTHON_TEXT), scratch_py=_score(f, SCRATCH, PYTHON_TEXT),
        source_py=_score(f, SOURCE, PYTHON_TEXT), tuned_dk=_score(f, TUNED, dk),
        scratch_dk=_score(f, SCRATCH, dk), source_dk=_score(f, SOURCE, dk),
        py=_gap(f, SCRATCH, PYTHON_TEXT), dk=_gap(f, SCRATCH, dk), forget=_gap(f, SOURCE, dk),
        tuned=_run(tuned), scratch=_run(scratch), source=_run(f.runs[SOURCE]),
        total_s=num(f.runs[SOURCE]["seconds"] + tuned["seconds"], ".0f"),
        lead=lead_phrase(lower_until(tuned["history"], scratch["history"], tuned["plot_every"],
                                     window), tuned["plot_every"]),
        window=count(window),
        digest=Phrase(f.source["sha256"][:12]), n_python=count(f.chars[PYTHON_TEXT]),
        n_dickens=count(f.chars[dk]))


@dataclass(frozen=True)
class SamplesFacts:
    """How the Python model's samples were drawn, and what one seed for all would have done
    (``shared``: the most final characters the continuations share at any temperature)."""

    predict_len: Int
    temps: Phrase
    seeds: Phrase  # "'def ' with seed 0, 'class ' with seed 1"
    shared: Int
    seed_note: Phrase


def python_samples_facts(s: PythonSamples) -> SamplesFacts:
    """:class:`SamplesFacts` of :class:`~charlm.studies.python_corpus.PythonSamples`."""
    return SamplesFacts(count(s.predict_len), listing(s.temps),
                        Phrase(", ".join(f"{p!r} with seed {s.seed + i}" for i, p in enumerate(s.primes))),
                        count(max(s.shared.values(), default=0)),
                        seed_note(max(s.shared.values(), default=0), s.predict_len))


def seed_note(shared: int, predict_len: int) -> Phrase:
    """What one seed for every priming string would have done to ``predict_len``-character
    continuations whose last ``shared`` characters it made identical."""
    if shared == 0:
        return Phrase("here one seed for all would have left every continuation different to "
                      "its last character")
    which = f"all {predict_len}" if shared >= predict_len else f"the last {shared} of {predict_len}"
    return Phrase(f"with one seed for all, the continuations came out identical in {which} characters")


@dataclass(frozen=True)
class VocabularyFacts:
    """The vocabulary by kind of character."""

    n: Int
    letters: Int
    digits: Int
    punctuation: Int
    whitespace: Int
    whitespace_names: Phrase


def vocabulary_facts(vocab: str = VOCAB) -> VocabularyFacts:
    """:class:`VocabularyFacts` of ``vocab``: letters, digits, whitespace, and the rest
    (punctuation marks)."""
    letters = sum(ch.isalpha() for ch in vocab)
    digits = sum(ch.isdigit() for ch in vocab)
    spaces = [WHITESPACE_NAMES.get(ch, repr(ch)) for ch in vocab if ch.isspace()]
    names = ", ".join(spaces[:-1]) + (" and " if len(spaces) > 1 else "") + spaces[-1] if spaces else ""
    return VocabularyFacts(count(len(vocab)), count(letters), count(digits),
                           count(len(vocab) - letters - digits - len(spaces)), count(len(spaces)),
                           Phrase(names))


__all__ = ["CellFacts", "CellRow", "ComparisonFacts", "DomainFacts", "FineTuneFacts", "Gap",
           "RunFacts", "SamplesFacts", "Score", "VocabularyFacts", "cell_facts",
           "comparison_facts", "cross_phrase", "direction", "domain_facts", "fine_tune_facts",
           "kernel_phrase", "lead_phrase", "lower_until", "order_phrase", "paired_verdict",
           "place_phrase", "python_samples_facts", "scored_phrase", "seed_note", "separated",
           "separation_phrase", "vocabulary_facts"]
