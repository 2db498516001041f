"""Section 4.5, another kind of text: the 4.1 setting trained on Python source code.

The sentences and tables whose content depends on the Python corpus
(:func:`charlm.corpora.python_corpus`) and on the scores of
:func:`charlm.studies.python_corpus.score_domains`; the fixed explanations (how the corpus is
chosen, how a file is read) are the notebook's markdown. Each function returns markdown, or what to display.
"""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd

from ... import paths
from ...corpora import PythonCorpus
from ...data import VOCAB
from ...model import CharRNN
from ...sample import generate
from ...studies.python_corpus import DOMAIN_MODELS, DOMAIN_TEXTS, DomainScores
from ...studies.settings import parse_list
from ..display import bullets, md, plural, sample, table
from .cells import LARGE, large_note

PYTHON = DOMAIN_TEXTS[0]
WHITESPACE_NAMES = {" ": "space", "\t": "tab", "\n": "newline", "\r": "carriage return",
                    "\x0b": "vertical tab", "\x0c": "form feed"}


def corpus_description(rec: PythonCorpus) -> str:
    """Which Python the corpus came from, how many files and characters went into each part, and
    the files skipped, with their reasons."""
    skipped = len(rec.skipped)
    text = (f"Here: {rec.implementation} {rec.python_version}, `{rec.stdlib}`. Of "
            f"{rec.candidates:,} eligible files, the first **{len(rec.train_files)} files, "
            f"{rec.train_chars:,} characters** form the training text and the next "
            f"**{len(rec.heldout_files)} other files, {rec.heldout_chars:,} characters** the "
            f"held-out text. {skipped} file(s) were skipped (not UTF-8, or holding a character "
            "outside the vocabulary)")
    if not skipped:
        return text + "."
    return text + ":\n\n" + bullets([f"`{f}`: {why}" for f, why in sorted(rec.skipped.items())])


def corpus_sentence(rec: PythonCorpus) -> str:
    """The Python corpus in one sentence, for the main text."""
    return (f"The corpus is the standard library of the Python running this report "
            f"({rec.implementation} {rec.python_version}): {len(rec.train_files)} whole files "
            f"({rec.train_chars:,} characters) to train the setting of 4.1 on, and "
            f"{len(rec.heldout_files)} other files ({rec.heldout_chars:,} characters) held out.")


def python_run(d: DomainScores) -> str:
    """The characters the Python corpus uses, and the run trained on it."""
    c, run = d.config, d.run
    return (f"The training text uses {d.python_chars} distinct characters of the {d.vocab_size} "
            f"in the vocabulary (Dickens: {d.dickens_chars}). The model is the setting of 4.1 "
            f"with only the corpus changed: {plural(c.n_layers, c.cell.upper() + ' layer')} of "
            f"{c.hidden_size}, {c.n_epochs:,} iterations ({run['minutes']:.1f} minutes, status "
            f"{run['status']}).")


def domain_table(d: DomainScores):
    """BPC of each model on each text, with its interval, one row per model (its caption:
    :func:`domain_caption`)."""
    rows = []
    for model in DOMAIN_MODELS:
        row = {"model trained on": model}
        for text in DOMAIN_TEXTS:
            hit = d.scores[(d.scores["model"] == model) & (d.scores["text"] == text)].iloc[0]
            row[text] = f"{hit['bpc']:.3f} [{hit['low']:.3f}, {hit['high']:.3f}]"
        rows.append(row)
    return table(pd.DataFrame(rows))


def domain_caption(d: DomainScores, table_id: str = "tab-45-domains") -> str:
    """The caption of :func:`domain_table`."""
    return (f"Table {{#{table_id}}}: BPC of the Dickens model and the Python model on "
            "each text, with 95% bootstrap intervals over blocks of the text (held-out Python: "
            f"{d.corpus.heldout_chars:,} characters; {LARGE}: "
            f"{large_note(d.n_large, d.n_large_total)}).")


def _scores(d: DomainScores) -> tuple[float, float, float, float]:
    """(Python on Python, Python on Dickens, Dickens on Python, Dickens on Dickens)."""
    return (d.bpc("Python", PYTHON), d.bpc("Python", LARGE), d.bpc("Dickens", PYTHON),
            d.bpc("Dickens", LARGE))


def own_text(d: DomainScores) -> str:
    """Is unseen Python easier for the Python model than unseen Dickens for the Dickens model?"""
    pp, _, _, dd = _scores(d)
    easier = pp < dd
    return (f"The model trained on Python source needs **{pp:.3f} bits per character on Python it "
            f"has never seen**, {'less' if easier else 'more'} than the Dickens model needs on "
            f"unseen Dickens ({dd:.3f} on {LARGE}): "
            + ("source code is the more predictable text for a model of this size." if easier else
               "for a model of this size, unseen source code is the harder text."))


def cross_domain(d: DomainScores) -> str:
    """Each model on the other's text, against the model trained on it and a uniform guess."""
    pp, pd_, dp, dd = _scores(d)
    text = (f"The Dickens model needs {dp:.3f} bits per character on held-out Python "
            f"({abs(dp - pp):.2f} {'more' if dp > pp else 'less'} than the Python model), the "
            f"Python model {pd_:.3f} on {LARGE} ({abs(pd_ - dd):.2f} "
            f"{'more' if pd_ > dd else 'less'} than the Dickens model); a uniform guess needs "
            f"{d.uniform:.2f}.")
    if dp > pp and pd_ > dd and max(dp, pd_) < d.uniform:
        return text + " Each model is worse on the other's text, but well below a uniform guess."
    return text + (" So here it is not the case that each model is worse on the other's text than "
                   "the model trained on it while both stay below a uniform guess.")


def samples(model: CharRNN, primes: str, temps: str, predict_len: int, seed: int) -> list:
    """Samples of ``model`` after each priming string of ``primes`` (separated by ``|``) at each
    temperature of ``temps`` (comma-separated), the i-th priming string with seed ``seed + i``:
    a line saying how they were drawn, then for each a heading and the sample (priming string
    in bold), to display in turn."""
    prime_list = [p for p in primes.split("|") if p]
    temperatures = parse_list(temps, "temps")
    seeds = ", ".join(f"{p!r} with seed {seed + i}" for i, p in enumerate(prime_list))
    out = [md(f"{predict_len} characters after each priming string, at "
              + " and ".join(f"T = {x:g}" for x in temperatures) + f"; {seeds}.")]
    for i, prime in enumerate(prime_list):
        for temp in temperatures:
            text = generate(model, prime, predict_len=predict_len, temperature=temp, seed=seed + i)
            out += [md(f"**T = {temp:g}**, primed with `{prime!r}`"), sample(prime, text[len(prime):])]
    return out


def shared_tail(texts: list[str]) -> int:
    """The number of final characters that all of ``texts`` share."""
    n = 0
    while n < min(map(len, texts)) and len({t[len(t) - n - 1] for t in texts}) == 1:
        n += 1
    return n


def shared_seed_note(model: CharRNN, primes: str, temps: str, predict_len: int,
                     seed: int) -> str:
    """Why each priming string has a seed of its own: with one seed for all, how many of the
    last characters of the continuations come out the same at each temperature."""
    prime_list = [p for p in primes.split("|") if p]
    if len(prime_list) < 2:
        return ""
    same = {t: shared_tail([generate(model, p, predict_len=predict_len, temperature=t,
                                     seed=seed)[len(p):] for p in prime_list])
            for t in parse_list(temps, "temps")}
    if not any(same.values()):
        return ""
    counts = [f"all {n}" if n == predict_len else f"the last {n}" for n in same.values()]
    where = " and ".join(f"{c} of {predict_len} characters at T = {t:g}"
                         for c, t in zip(counts, same))
    return ("Each priming string has a seed of its own: with one seed for all, the "
            f"continuations came out identical in {where}, since the model's state keeps little "
            "of which keyword started it and the same random draws then pick the same "
            "characters.")


def corpus_command(path: str | Path, root: str | Path = paths.ROOT) -> str:
    """The command line that trains the 4.1 setting on the corpus at ``path`` (shown relative to
    the repository ``root`` when inside it)."""
    path, root = Path(path), Path(root)
    shown = path.relative_to(root) if path.is_relative_to(root) else path
    return f"For example: `python -m charlm --default_train --corpus {shown}`."


def vocabulary(vocab: str = VOCAB) -> str:
    """The vocabulary by kind of character: letters, digits, punctuation, whitespace."""
    letters = sum(ch.isalpha() for ch in vocab)
    digits = sum(ch.isdigit() for ch in vocab)
    spaces = [ch for ch in vocab if ch.isspace()]
    names = [WHITESPACE_NAMES.get(ch, repr(ch)) for ch in spaces]
    named = " and ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))
    source = "Python's `string.printable`" if vocab == string.printable else "the vocabulary"
    return (f"The {len(vocab)} characters of {source}: {letters} letters, {digits} digits, "
            f"{len(vocab) - letters - digits - len(spaces)} punctuation marks and {len(spaces)} "
            f"whitespace characters ({named}).")


__all__ = ["corpus_command", "corpus_description", "corpus_sentence", "cross_domain",
           "domain_caption", "domain_table", "own_text", "python_run", "samples",
           "shared_seed_note", "shared_tail", "vocabulary"]
