"""Training smoke tests, determinism, the checkpoint cache and its error lines."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.data import DataLoader

from iabench.config import DataConfig, ModelConfig, TrainConfig
from iabench.data import load_dataset
from iabench.errors import UserError
from iabench.training import checkpoint_path, load_checkpoint, objective, train, train_or_load
from iabench.training.checkpoint import save_checkpoint

FAST = TrainConfig(epochs=1, batch_size=32, eval_batch_size=128, warmup_steps=2, lr=2e-3)


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset(DataConfig(name="synthetic", img_size=16))


@pytest.mark.parametrize("kind", ["vit", "ia-vit"])
def test_one_epoch_smoke(kind: str, micro_config: ModelConfig, synthetic) -> None:
    model, test, history = train(kind, micro_config, synthetic, FAST, torch.device("cpu"), progress=False)
    metrics = test.metrics
    assert len(history) == 1 and history[0]["step"] == len(synthetic.train) // 32
    assert 0.0 <= metrics["test_acc"] <= 1.0
    # per test image, in the split's order, whether the predictor was right: by hand on the same batches
    right = torch.cat([(model.forward_all(batch[0], attention=False).logits.argmax(1) == batch[1]).to(torch.uint8)
                       for batch in DataLoader(synthetic.test, batch_size=256)])
    assert torch.equal(test.correct, right) and torch.equal(test.index, torch.arange(len(synthetic.test)))
    assert metrics["test_acc"] == right.sum().item() / len(right)
    if kind == "ia-vit":
        assert {"kd", "align", "ce"} <= set(history[0]) and "test_agreement" in metrics
    else:
        assert "kd" not in history[0] and "test_agreement" not in metrics
    assert not model.training


def test_training_learns_the_synthetic_task(micro_config: ModelConfig, synthetic) -> None:
    # ViTs from scratch start slowly; 6 short epochs reach ~0.4 here (chance is 0.1).
    config = dataclasses.replace(FAST, epochs=6, lr=3e-3, warmup_steps=5, weight_decay=0.0)
    _, test, history = train("vit", micro_config, synthetic, config, torch.device("cpu"), progress=False)
    assert history[-1]["loss"] < history[0]["loss"] - 0.3
    assert test.metrics["test_acc"] > 0.25


def test_training_is_deterministic_on_cpu(micro_config: ModelConfig, synthetic) -> None:
    a, _, _ = train("ia-vit", micro_config, synthetic, FAST, torch.device("cpu"), progress=False)
    b, _, _ = train("ia-vit", micro_config, synthetic, FAST, torch.device("cpu"), progress=False)
    c, _, _ = train("ia-vit", micro_config, synthetic, dataclasses.replace(FAST, seed=1), torch.device("cpu"),
                    progress=False)
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert not torch.equal(a.state_dict()["interpreter.fc2.weight"], c.state_dict()["interpreter.fc2.weight"])


@pytest.mark.parametrize("align,sim", [("none", "kd"), ("mmd", "none"), ("notebook", "kd")])
def test_ablation_objectives(align: str, sim: str, micro_config: ModelConfig, synthetic) -> None:
    from iabench.models import create_model

    config = dataclasses.replace(FAST, align=align, sim=sim)
    model = create_model("ia-vit", micro_config)
    images, labels = torch.stack([synthetic.train[i][0] for i in range(4)]), torch.tensor([0, 1, 2, 3])
    _, terms = objective("ia-vit", model.forward_all(images, attention=align != "none"), labels, config)
    assert ("align" in terms) == (align != "none") and ("kd" in terms) == (sim == "kd")


def test_checkpoint_cache_round_trip(tmp_path, micro_config: ModelConfig, synthetic) -> None:
    data_cfg = DataConfig(name="synthetic", img_size=16)
    first = train_or_load("ia-vit", micro_config, data_cfg, FAST, synthetic, torch.device("cpu"), tmp_path,
                          progress=False)
    assert not first.cached and first.checkpoint.exists()
    second = train_or_load("ia-vit", micro_config, data_cfg, FAST, None, torch.device("cpu"), tmp_path,
                           progress=False)
    assert second.cached and second.checkpoint == first.checkpoint
    assert second.metrics["test_acc"] == first.metrics["test_acc"]
    x = torch.stack([synthetic.test[i][0] for i in range(4)])
    torch.testing.assert_close(second.model(x), first.model(x))
    # another training config is another cache entry
    other = checkpoint_path(tmp_path, "ia-vit", micro_config, dataclasses.replace(FAST, lr=1e-3), data_cfg)
    assert other != first.checkpoint
    assert not list(tmp_path.rglob("*.tmp"))  # atomic write left no temporary file


def test_corrupted_and_mismatched_checkpoints_are_one_line_errors(tmp_path, micro_config: ModelConfig) -> None:
    from iabench.models import create_model

    model = create_model("vit", micro_config)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, "vit", micro_config, FAST, DataConfig(), {}, [])
    loaded, payload = load_checkpoint(path, "vit", micro_config)
    assert payload["kind"] == "vit"
    with pytest.raises(UserError, match="holds a 'vit' model"):
        load_checkpoint(path, "ia-vit")
    with pytest.raises(UserError, match="different model config .*embed_dim"):
        load_checkpoint(path, "vit", dataclasses.replace(micro_config, embed_dim=64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupted or not an iabench checkpoint") as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match="corrupted"):
        load_checkpoint(path)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(UserError, match="not an iabench checkpoint"):
        load_checkpoint(path)
