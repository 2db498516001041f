"""``charlm compress`` and ``decompress``: the model's code length as a real file.

Range coding (``constriction.stream.queue``, Bamler 2022) of each character with the
distribution :class:`~charlm.coding.Predictor` gives it, so the file's payload is the code
length :func:`~charlm.coding.code_lengths` predicts plus a few bytes. The first character is
coded uniformly. Each distribution is handed to the coder as float64
(``Categorical(p, perfect=False)``), which quantises it the same way on both sides.

The file (little-endian)::

    "CLM", format version (1 byte), mode (1 byte: 1 dynamic, 2 mix), torch threads (1 byte),
    text length (4), CRC-32 of the text (4), digest of the checkpoint's weights (8),
    digest of the training text (8; zeros when static), digest of the coding settings (8),
    length of the settings' changes from their defaults (2), those changes as JSON,
    payload length (4), payload (32-bit words), CRC-32 of everything before it (4)

that is 48 bytes plus the payload when the settings are the defaults.

A decoder must compute exactly the probabilities the encoder did. Guaranteed: the same
machine (CPU), the same versions of torch, numpy, charlm and constriction, one torch thread
(forced while coding, and recorded). Not guaranteed: another CPU or another version of any of
them may round differently; the decoded text then fails the text's CRC and nothing is
written. A wrong checkpoint, training text or settings is refused before decoding (by their
digests), and a damaged file by the file's CRC.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from dataclasses import dataclass

import constriction
import numpy as np
import torch
from torch import nn

from .coding import (CODER_DYNAMIC, FIRST_CHAR_BITS, CodingSettings, Predictor, coding_threads,
                     progress_bar, text_indices)
from .context_model import as_indices
from .data import VOCAB, VOCAB_SIZE
from .dynamic import torch_threads
from .errors import CharlmError
from .mix import MixSettings

MAGIC = b"CLM"
VERSION = 1
DYNAMIC, MIX = 1, 2  # mode bits
_HEAD = struct.Struct("<3sBBBII8s8s8sH")  # up to the settings' changes
_TAIL = struct.Struct("<I")  # payload length; and the file's CRC at the end
OVERHEAD = _HEAD.size + 2 * _TAIL.size  # bytes besides the payload, with default settings


class CodecError(CharlmError):
    """A compressed file that cannot be decoded (damaged, foreign, or for another model)."""


@dataclass
class Header:
    """What a compressed file says about itself."""

    version: int
    settings: CodingSettings
    threads: int
    length: int  # characters of the text
    crc: int  # CRC-32 of the text (ASCII bytes)
    weights: bytes  # digest of the checkpoint's weights
    train: bytes  # digest of the training text (zeros when static)
    payload: bytes
    changes: int  # bytes of the settings' changes from their defaults (JSON)


@dataclass
class Compressed:
    """A compressed text: the file's bytes and the code length that predicted them."""

    data: bytes
    bits: np.ndarray  # -log2 p of characters 2..N (code_lengths' numbers)
    length: int  # characters

    @property
    def predicted_bytes(self) -> float:
        """The ideal size of the payload: the code length in bytes."""
        total = self.bits.sum() + (FIRST_CHAR_BITS if self.length else 0.0)
        return float(total) / 8


def weights_digest(model: nn.Module) -> bytes:
    """8 bytes of the SHA-256 of the model's weights (names, dtypes, shapes and values)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.digest()[:8]


def text_digest(train) -> bytes:
    """8 bytes of the SHA-256 of a training text (as vocabulary indices)."""
    if train is None:
        return bytes(8)
    ids = train.numpy() if isinstance(train, torch.Tensor) else np.asarray(train)
    return hashlib.sha256(ids.astype(np.uint8).tobytes()).digest()[:8]


def _settings_digest(settings: CodingSettings) -> bytes:
    blob = json.dumps(settings.to_dict(), sort_keys=True).encode()
    return hashlib.sha256(blob).digest()[:8]


def _defaults(mode: int) -> CodingSettings:
    return CodingSettings(CODER_DYNAMIC if mode & DYNAMIC else None,
                          MixSettings() if mode & MIX else None)


def _changes(have: dict, default: dict) -> dict:
    """The entries of ``have`` that differ from ``default`` (recursively)."""
    out = {}
    for key, value in have.items():
        if isinstance(value, dict) and isinstance(default.get(key), dict):
            sub = _changes(value, default[key])
            if sub:
                out[key] = sub
        elif value != default.get(key):
            out[key] = value
    return out


def _merged(default: dict, changes: dict) -> dict:
    out = dict(default)
    for key, value in changes.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and \
            isinstance(out.get(key), dict) else value
    return out


def _mode(settings: CodingSettings) -> int:
    return (DYNAMIC if settings.dynamic is not None else 0) | (MIX if settings.mix is not None else 0)


def _model(p: np.ndarray):
    return constriction.stream.model.Categorical(p, perfect=False)


_UNIFORM = np.full(VOCAB_SIZE, 1.0 / VOCAB_SIZE)


def compress(model: nn.Module, text, train=None, settings: CodingSettings | None = None,
             progress: bool | None = None, threads: int | None = None) -> Compressed:
    """Compress ``text`` (a string in the vocabulary, taken as it is, or indices).

    ``train``: the text ``model`` learnt from (its training split), needed for dynamic
    evaluation and mixing. ``threads``: torch threads (default :func:`~charlm.coding.coding_threads`;
    recorded in the file, and the decoder uses the same). Returns the file's bytes and the code
    length of each character.
    """
    threads = threads or coding_threads()
    settings = settings or CodingSettings()
    data = text_indices(text)
    if settings.needs_train and train is None:
        raise CharlmError(f"{settings.name} coding needs the training text")
    train_ids = as_indices(train) if settings.needs_train else None
    bits = np.empty(max(len(data) - 1, 0))
    encoder = constriction.stream.queue.RangeEncoder()
    if len(data):
        with torch_threads(threads):
            predictor = Predictor(model, train_ids, settings)
            encoder.encode(int(data[0]), _model(_UNIFORM))
            predictor.start(int(data[0]))
            for t, symbol in enumerate(progress_bar(data[1:].tolist(), progress, "compress")):
                p = predictor.distribution()
                bits[t] = -math.log2(p[symbol])
                encoder.encode(symbol, _model(p))
                predictor.update(symbol)
    payload = encoder.get_compressed().astype("<u4").tobytes()
    default = _defaults(_mode(settings)).to_dict()
    changes = json.dumps(_changes(settings.to_dict(), default), sort_keys=True,
                         separators=(",", ":")).encode() if settings.to_dict() != default else b""
    body = _HEAD.pack(MAGIC, VERSION, _mode(settings), threads, len(data),
                      zlib.crc32(_ascii(data)), weights_digest(model), text_digest(train_ids),
                      _settings_digest(settings), len(changes))
    body += changes + _TAIL.pack(len(payload)) + payload
    return Compressed(body + _TAIL.pack(zlib.crc32(body)), bits, len(data))


def _ascii(data: np.ndarray) -> bytes:
    return "".join(VOCAB[i] for i in data.tolist()).encode("ascii")


def read_header(blob: bytes, source: str = "the file") -> Header:
    """Parse and check a compressed file's bytes; :class:`CodecError` says what is wrong."""
    if not blob:
        raise CodecError(f"{source} is empty")
    if not (blob.startswith(MAGIC) or MAGIC.startswith(blob)):
        raise CodecError(f"{source} is not a charlm compressed file (it does not start with "
                         f"{MAGIC.decode()})")
    if len(blob) < OVERHEAD:
        raise CodecError(f"{source} is truncated: {len(blob)} bytes, fewer than a header takes "
                         f"({OVERHEAD})")
    magic, version, mode, threads, length, crc, weights, train, digest, n_changes = \
        _HEAD.unpack_from(blob)
    if version != VERSION:
        raise CodecError(f"{source} has format version {version}; this charlm reads {VERSION}")
    at = _HEAD.size + n_changes
    payload_len = _TAIL.unpack_from(blob, at)[0] if len(blob) >= at + 4 else -1
    expected = at + 4 + payload_len + 4
    if payload_len < 0 or len(blob) < expected:
        raise CodecError(f"{source} is truncated: {len(blob)} bytes"
                         + (f", its header says {expected}" if payload_len >= 0 else ""))
    if len(blob) > expected:
        raise CodecError(f"{source} has {len(blob) - expected} bytes after its end "
                         f"(its header says {expected} bytes)")
    if zlib.crc32(blob[:-4]) != _TAIL.unpack_from(blob, len(blob) - 4)[0]:
        raise CodecError(f"{source} is damaged: its checksum (CRC-32) does not match its "
                         f"contents")
    if mode & ~(DYNAMIC | MIX) or payload_len % 4:
        raise CodecError(f"{source} is damaged: mode {mode}, payload of {payload_len} bytes")
    try:
        changes = json.loads(blob[_HEAD.size:at]) if n_changes else {}
        settings = CodingSettings.from_dict(_merged(_defaults(mode).to_dict(), changes))
    except (ValueError, TypeError, CharlmError) as exc:
        raise CodecError(f"{source}: its coding settings cannot be read ({exc})") from None
    if _settings_digest(settings) != digest:
        raise CodecError(f"{source} was coded with settings that this charlm does not "
                         f"reproduce (their defaults changed: made by another version?)")
    return Header(version, settings, threads, length, crc, weights, train,
                  blob[at + 4:at + 4 + payload_len], n_changes)


def decompress(model: nn.Module, blob: bytes, train=None, source: str = "the file",
               progress: bool | None = None) -> str:
    """The text a :func:`compress` file holds; :class:`CodecError` if it cannot be had exactly.

    ``train``: the text ``model`` learnt from, when the file was coded with dynamic evaluation
    or mixing (:func:`read_header` tells). The checkpoint and the training text must be those
    the file was made with (their digests are compared first).
    """
    head = read_header(blob, source)
    check_model(head, model, source)
    settings = head.settings
    train_ids = as_indices(train) if settings.needs_train and train is not None else None
    if settings.needs_train:
        if train_ids is None:
            raise CodecError(f"{source} was coded with {settings.name}: it needs the training text")
        if text_digest(train_ids) != head.train:
            raise CodecError(f"{source} was compressed knowing a training text with digest "
                             f"{head.train.hex()}; the one given has {text_digest(train_ids).hex()}")
    words = np.frombuffer(head.payload, dtype="<u4").astype(np.uint32)
    decoder = constriction.stream.queue.RangeDecoder(words)
    out = np.empty(head.length, dtype=np.int64)
    try:
        if head.length:
            with torch_threads(head.threads):
                predictor = Predictor(model, train_ids, settings)
                out[0] = decoder.decode(_model(_UNIFORM))
                predictor.start(int(out[0]))
                for t in progress_bar(list(range(1, head.length)), progress, "decompress"):
                    out[t] = decoder.decode(_model(predictor.distribution()))
                    predictor.update(int(out[t]))
    except (AssertionError, ValueError, RuntimeError) as exc:
        raise CodecError(_differed(source, f"the decoder failed: {exc}")) from None
    raw = _ascii(out) if head.length else b""
    if zlib.crc32(raw) != head.crc:
        raise CodecError(_differed(source, "the decoded text fails its CRC-32"))
    return raw.decode("ascii")


def check_model(head: Header, model: nn.Module, source: str = "the file") -> None:
    """:class:`CodecError` unless ``model`` has the weights the file was compressed with."""
    have = weights_digest(model)
    if have != head.weights:
        raise CodecError(f"{source} was compressed with a checkpoint whose weights have digest "
                         f"{head.weights.hex()}; this checkpoint's have {have.hex()}")


def _differed(source: str, what: str) -> str:
    return (f"{source}: {what}, although the file, the checkpoint and the training text are "
            f"the ones it was made with: this machine's arithmetic differs from the one that "
            f"compressed it (another CPU, or another version of torch, numpy, charlm or "
            f"constriction); nothing was written")
