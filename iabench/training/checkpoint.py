"""Checkpoints: state dict + configs + metrics, written atomically, read with ``weights_only=True``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import DataConfig, ModelConfig, TrainConfig, from_dict, to_dict
from ..errors import UserError
from ..models import create_model

FORMAT = "iabench-checkpoint-v1"


def atomic_torch_save(payload: Any, path: Path) -> None:
    """Write to a temporary file beside ``path`` and rename: a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def save_checkpoint(path: Path, model: nn.Module, kind: str, model_config: ModelConfig,
                    train_config: TrainConfig, data_config: DataConfig, metrics: dict[str, float],
                    history: list[dict[str, float]], test: dict[str, torch.Tensor] | None = None) -> None:
    """``test``: the test images' ``test_index`` and ``test_correct`` (per-image correctness), kept beside the
    metrics (a checkpoint written before they existed has none; ``train_or_load`` adds them once)."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save(dict(format=FORMAT, kind=kind, model_config=to_dict(model_config),
                           train_config=to_dict(train_config), data_config=to_dict(data_config),
                           state_dict=state, metrics=metrics, history=history, **(test or {})), Path(path))


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's payload; a missing, corrupted or foreign file is one UserError line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint '{path}' does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle refused by weights_only, wrong file type...
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise UserError(f"checkpoint '{path}' is corrupted or not an iabench checkpoint ({reason}); "
                        "delete it to retrain") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"'{path}' is not an iabench checkpoint ({FORMAT}); delete it or pass another file")
    return payload


def load_checkpoint(path: Path, kind: str | None = None,
                    model_config: ModelConfig | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model stored at ``path``. ``kind``/``model_config``, when given, must match."""
    payload = read_checkpoint(path)
    if kind is not None and payload["kind"] != kind:
        raise UserError(f"checkpoint '{path}' holds a '{payload['kind']}' model, not '{kind}'")
    stored = from_dict(ModelConfig, payload["model_config"], "checkpoint.model")
    if model_config is not None and to_dict(stored) != to_dict(model_config):
        diff = [f.name for f in dataclasses.fields(ModelConfig)
                if getattr(stored, f.name) != getattr(model_config, f.name)]
        raise UserError(f"checkpoint '{path}' was trained with a different model config ({', '.join(diff)}); "
                        "delete it to retrain")
    # The weights are in the checkpoint: never fetch pretrained ones again when rebuilding.
    model = create_model(payload["kind"], dataclasses.replace(stored, pretrained=""))
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise UserError(f"checkpoint '{path}' does not fit its model ({str(err).splitlines()[0][:120]}); "
                        "delete it to retrain") from None
    return model, payload
