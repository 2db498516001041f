"""Section 4.5 and Appendix D, Python source: the tables and sample blocks (the sentences are
the notebooks' markdown). Every generated character is escaped."""

from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

from ...corpora import PythonCorpus
from ...studies.fine_tuning import SCRATCH, SOURCE, TEXTS, TUNED, FineTuning
from ...studies.python_corpus import DOMAIN_MODELS, DOMAIN_TEXTS, DomainScores, PythonSamples
from ..display import sample, table


def domain_table(d: DomainScores):
    """BPC of each model on each text, with its 95% interval, one row per model."""
    rows = []
    for model in DOMAIN_MODELS:
        row = {"model trained on": model}
        for text in DOMAIN_TEXTS:
            hit = d.scores[(d.scores["model"] == model) & (d.scores["text"] == text)].iloc[0]
            row[text] = f"{hit['bpc']:.3f} [{hit['low']:.3f}, {hit['high']:.3f}]"
        rows.append(row)
    return table(pd.DataFrame(rows))


def fine_tune_table(f: FineTuning):
    """BPC of the fine-tuned model, the model trained from scratch and the Dickens model on
    each text with its 95% interval, then the fine-tuned model's paired gap to each other."""
    rows = [{"model": m} | {t: "{:.3f} [{:.3f}, {:.3f}]".format(*f.bpc(m, t)) for t in TEXTS}
            for m in (TUNED, SCRATCH, SOURCE)]
    rows += [{"model": f"{TUNED} minus {other} (paired)"}
             | {t: "{:+.3f} [{:+.3f}, {:+.3f}]".format(*f.gaps[other, t]) for t in TEXTS}
             for other in (SCRATCH, SOURCE)]
    return table(pd.DataFrame(rows))


def show_samples(s: PythonSamples):
    """Each sample under a bold line with its temperature, priming string and seed; the
    priming string in blue, all escaped."""
    return HTML("\n".join(
        f"<p><strong>T = {t:g}</strong>, primed with <code>{html.escape(repr(prime))}</code>, "
        f"seed {seed}</p>\n{sample(prime, text).data}" for prime, t, seed, text in s.samples))


def skipped_table(rec: PythonCorpus):
    """The files left out of the corpus, with the reason (one row saying none when none)."""
    rows = sorted(rec.skipped.items()) or [("(none)", "")]
    return table(pd.DataFrame(rows, columns=["file skipped", "why"]))


__all__ = ["domain_table", "fine_tune_table", "show_samples", "skipped_table"]
