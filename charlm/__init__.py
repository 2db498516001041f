"""charlm: a character-level LSTM language model trained on Dickens."""

__version__ = "0.1.0"  # before the imports: charlm.machine reads it

from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import VOCAB, VOCAB_SIZE, decode, encode, read_text
from .errors import CharlmError, CheckpointError, ConfigError, DataError, ModelError
from .evaluate import bpc
from .model import CharRNN, build_model
from .sample import generate
from .train import TrainResult, train

__all__ = [
    "Checkpoint", "CharRNN", "CharlmError", "CheckpointError", "ConfigError", "DataError", "ModelError",
    "TrainConfig", "TrainResult", "VOCAB", "VOCAB_SIZE", "bpc", "build_model", "decode",
    "encode", "generate", "load_checkpoint", "read_text", "save_checkpoint", "train",
]
