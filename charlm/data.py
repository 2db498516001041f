"""Text, vocabulary and training chunks.

The vocabulary is Python's ``string.printable`` (100 symbols); a character is encoded as
its index in that string. Text is first transliterated to ASCII with ``unidecode`` (so
"cafe" with an accent becomes "cafe"); a character that is still outside the vocabulary
afterwards (a control character, say) is an error naming the character and its position,
never silently mapped to some index.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import torch
from unidecode import unidecode

from .errors import DataError

VOCAB: str = string.printable
VOCAB_SIZE: int = len(VOCAB)  # 100
_LUT = np.full(256, -1, dtype=np.int64)  # code point -> vocabulary index (-1: not in it)
_LUT[[ord(ch) for ch in VOCAB]] = np.arange(VOCAB_SIZE)


def normalise(text: str, what: str = "text", transliterate: bool = True) -> str:
    """Transliterate ``text`` to ASCII and check every character is in :data:`VOCAB`.

    Raises :class:`DataError` naming the first offending character and its 0-based position
    (in the transliterated text) and ``what`` the text was. With ``transliterate=False`` the
    text is checked as it is (what a lossless coder needs: ``compress`` must give back the
    very characters it was given).
    """
    return _checked(text, what, transliterate)[0]


def encode(text: str, what: str = "text") -> torch.Tensor:
    """Normalise ``text`` and return its character indices, shape ``(len,)``, dtype long."""
    return torch.from_numpy(_checked(text, what)[1].astype(np.int64))


def encode_compact(text: str, what: str = "text", transliterate: bool = True) -> np.ndarray:
    """:func:`encode` as a numpy array of int8 (the vocabulary has 100 symbols): one byte per
    character instead of eight, for texts too long to hold as long indices (:func:`~charlm.
    evaluate.char_bits` converts a slice at a time). ``transliterate``: as for :func:`normalise`."""
    return _checked(text, what, transliterate)[1]


def _checked(text: str, what: str, transliterate: bool = True) -> tuple[str, np.ndarray]:
    """The transliterated text and its indices (int8), or :class:`DataError` (see :func:`normalise`)."""
    ascii_text = unidecode(text) if transliterate else text
    indices = _indices(ascii_text)
    bad = np.flatnonzero(indices < 0)
    if len(bad):
        pos = int(bad[0])
        ch = ascii_text[pos]
        raise DataError(
                f"{what} contains character {ch!r} (code {ord(ch)}) at position {pos}, "
                f"which is not in the vocabulary (string.printable, 100 symbols)"
                + ("" if transliterate else "; charlm's other commands transliterate such "
                   "text with unidecode first, but a lossless coder cannot")
            )
    return ascii_text, indices


_BLOCK = 1 << 16  # characters looked up at a time: the lookup's temporaries stay about 2 MB


def _indices(text: str) -> np.ndarray:
    """Vocabulary indices of ``text`` as int8 (-1 where a character is not in the vocabulary),
    a block at a time, so that memory is one byte per character whatever the length."""
    out = np.empty(len(text), dtype=np.int8)
    for start in range(0, len(text), _BLOCK):
        out[start:start + _BLOCK] = _lookup(text[start:start + _BLOCK])
    return out


def _lookup(text: str) -> np.ndarray:
    """Vocabulary indices of ``text`` (-1 where a character is not in the vocabulary)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    return np.where(codes < 256, _LUT[np.minimum(codes, 255)], -1)


def decode(indices: torch.Tensor | list[int]) -> str:
    """Inverse of :func:`encode` for in-vocabulary indices."""
    if isinstance(indices, torch.Tensor):
        indices = indices.tolist()
    return "".join(VOCAB[i] for i in indices)


def read_text(path: str | Path, min_len: int = 2, transliterate: bool = True) -> str:
    """Read a UTF-8 text file, transliterate and validate it.

    Raises :class:`DataError` when the file is missing, a directory, not UTF-8 text (e.g. a
    binary file), shorter than ``min_len`` characters, or contains out-of-vocabulary
    characters. ``transliterate=False``: the text must be in the vocabulary as it is (see
    :func:`normalise`).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"text file {path} does not exist")
    if not path.is_file():
        raise DataError(f"text file {path} is not a regular file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"text file {path} cannot be read ({exc.strerror or exc})") from None
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise DataError(f"{path} is not a text file (it contains a NUL byte at offset {nul})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (invalid byte at offset {exc.start})") from None
    text = normalise(text, what=str(path), transliterate=transliterate)
    if len(text) < min_len:
        raise DataError(f"{path} holds {len(text)} characters; at least {min_len} are needed")
    return text


def random_chunks(
    data: torch.Tensor, chunk_len: int, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``batch_size`` random chunks of ``chunk_len + 1`` characters from ``data``.

    Returns ``(inputs, targets)``, both of shape ``(batch_size, chunk_len)``: the input is the
    first ``chunk_len`` characters of a chunk and the target is the same chunk shifted by
    one (chunk "abc" gives input "ab", target "bc").
    """
    if len(data) < chunk_len + 1:
        raise DataError(
            f"chunk_len {chunk_len} needs a corpus of at least {chunk_len + 1} characters; "
            f"this one has {len(data)}"
        )
    starts = torch.randint(0, len(data) - chunk_len, (batch_size,), generator=generator)
    offsets = torch.arange(chunk_len + 1)
    chunks = data[starts[:, None] + offsets]  # (batch, chunk_len + 1)
    return chunks[:, :-1], chunks[:, 1:]


SPLIT_BLOCK = 10_000  # characters per validation block
SPLIT_SEED = 0  # fixed, so every run (whatever its own seed) holds out the same blocks


def split_corpus(data: torch.Tensor, valid_frac: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Hold out ``valid_frac`` of ``data`` as validation: whole blocks of 10,000 characters.

    Contiguous blocks (not scattered characters) keep the held-out text readable and make
    leakage through overlapping chunks impossible except at the few block seams. The blocks are
    chosen with a fixed seed, the same for every run. Returns ``(train, valid)``, each the
    concatenation of its blocks in corpus order; ``valid`` is None when ``valid_frac`` is 0.
    """
    if valid_frac <= 0:
        return data, None
    n_blocks = -(-len(data) // SPLIT_BLOCK)
    n_valid = max(1, round(valid_frac * n_blocks))
    if n_valid >= n_blocks:
        raise DataError(f"the corpus ({len(data)} characters) is too short to hold out "
                        f"{valid_frac:.0%} in blocks of {SPLIT_BLOCK}")
    chosen = torch.randperm(n_blocks, generator=torch.Generator().manual_seed(SPLIT_SEED))[:n_valid]
    is_valid = torch.zeros(n_blocks, dtype=torch.bool)
    is_valid[chosen] = True
    blocks = torch.split(data, SPLIT_BLOCK)
    train = torch.cat([b for b, v in zip(blocks, is_valid) if not v])
    valid = torch.cat([b for b, v in zip(blocks, is_valid) if v])
    return train, valid


def sequential_chunks(
    data: torch.Tensor, chunk_len: int, batch_size: int, step: int, shift_seed: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Chunk number ``step`` of each of ``batch_size`` parallel streams through ``data``.

    The corpus is cut into ``batch_size`` equal contiguous streams; row b of the batch reads
    its stream from start to end ``chunk_len`` characters at a time, so consecutive steps
    continue where the last one stopped and the recurrent state can be carried over (truncated
    backpropagation through time). Returns ``(inputs, targets, restart)``, where ``restart`` is
    True when the streams wrapped around to their starts (the state must then be reset).

    With ``shift_seed`` each pass over the streams starts at an offset drawn from 0 to
    ``chunk_len - 1`` (from the seed and the pass number, so a run is reproducible), and every
    pass reads one chunk fewer: the chunk boundaries then fall elsewhere on every pass, so a
    model trained for many passes does not see the same chunks again and again.
    """
    stream_len = len(data) // batch_size
    per_stream = (stream_len - 1) // chunk_len - (shift_seed is not None)
    if per_stream < 1:
        raise DataError(f"chunk_len {chunk_len} x batch_size {batch_size} needs a longer corpus "
                        f"than {len(data)} characters")
    index = step % per_stream
    pos = index * chunk_len
    if shift_seed is not None:
        gen = torch.Generator().manual_seed(shift_seed * 1_000_003 + step // per_stream)
        pos += int(torch.randint(chunk_len, (1,), generator=gen))
    starts = torch.arange(batch_size) * stream_len + pos
    chunks = data[starts[:, None] + torch.arange(chunk_len + 1)]
    return chunks[:, :-1], chunks[:, 1:], index == 0
