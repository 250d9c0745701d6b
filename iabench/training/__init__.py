"""Training: the IA-ViT objective, the training loop and the checkpoint cache."""

from .cache import TrainedModel, checkpoint_path, train_or_load
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .evaluation import evaluate
from .losses import (
    encoder_attention_summary,
    interpreter_attention_summary,
    kd_loss,
    mmd2,
    notebook_alignment,
    objective,
)
from .trainer import train

__all__ = [
    "TrainedModel", "checkpoint_path", "encoder_attention_summary", "evaluate", "interpreter_attention_summary",
    "kd_loss", "load_checkpoint", "mmd2", "notebook_alignment", "objective", "read_checkpoint", "save_checkpoint",
    "train", "train_or_load",
]
