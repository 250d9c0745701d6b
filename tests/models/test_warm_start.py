"""``train.warm_start``: the source's configs, its checkpoint from the cache, the weights it hands on, its errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from iabench.config import DataConfig, ModelConfig, TrainConfig, config_hash
from iabench.data import dataset_options, load_dataset
from iabench.errors import UserError
from iabench.suites import load_suite
from iabench.training import checkpoint_path, train_or_load
from iabench.training.warm import warm_source

FAST = TrainConfig(epochs=1, batch_size=32, eval_batch_size=128, warmup_steps=2, lr=2e-3)
HEAD = "backbone.head.weight"
EVIDENCE = DataConfig(name="evidence-fashion-mnist", img_size=56, options={"task": "motif", "placement": "anywhere"})


def test_the_source_is_the_configs_the_overrides_give() -> None:
    warmed = dataclasses.replace(FAST, epochs=8, warm_start=["data.placement=cell", "train.epochs=3"])
    source = warm_source("ia-vit", EVIDENCE, warmed)
    data, train = source.data, source.train
    assert source.kind == "ia-vit"
    assert data.options.placement == "cell" and data.options.task == "motif"  # parsed by the dataset, the rest kept
    assert train == dataclasses.replace(FAST, epochs=3)  # its own warm start empty: the key of a plain model
    cell = DataConfig(name="evidence-fashion-mnist", img_size=56, options={"task": "motif"})
    cell = dataclasses.replace(cell, options=dataset_options(cell))  # as a cache key holds it: defaults spelled out
    assert config_hash(data, train) == config_hash(cell, dataclasses.replace(FAST, epochs=3))


def test_an_empty_warm_start_leaves_every_key_as_it_was() -> None:
    assert config_hash(TrainConfig()) == config_hash(dataclasses.replace(TrainConfig(), warm_start=[]))
    assert config_hash(TrainConfig()) != config_hash(dataclasses.replace(TrainConfig(),
                                                                         warm_start=["train.epochs=1"]))


@pytest.mark.parametrize("entry,message", [
    ("model.depth=2", "give data.KEY=VALUE, train.KEY=VALUE or kind=vit"),
    ("data.name=cifar10", "data.name cannot change"),
    ("data.img_size=28", "data.img_size cannot change"),
    ("train.warm_start=[train.epochs=1]", "train.warm_start cannot change"),
    ("train.epochs=0.5", "train.warm_start: train.epochs must be an integer"),
    ("data.placement=sideways", "must be one of cell, anywhere"),
    ("data.placement=anywhere", "changes nothing"),
    ("epochs", "KEY=VALUE"),
    ("kind=resnet", "the source's kind is one of vit, ia-vit"),
    ("kind=vit", "changes nothing"),  # a ViT from the same ViT
])
def test_a_bad_entry_is_one_line(entry: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[")) as caught:
        warm_source("vit", EVIDENCE, dataclasses.replace(FAST, warm_start=[entry]))
    assert "\n" not in str(caught.value)


def test_a_suite_with_a_bad_warm_start_fails_when_read() -> None:
    with pytest.raises(UserError, match="data.name cannot change"):
        load_suite("evidence-motif", ["train.warm_start=[data.name=cifar10]"])


def test_the_warmed_model_starts_from_the_source_weights(tmp_path, micro_config: ModelConfig) -> None:
    data_cfg = DataConfig(name="synthetic", img_size=16)
    loads: list[DataConfig] = []

    def load(config: DataConfig):
        loads.append(config)
        return load_dataset(config)

    synthetic = load_dataset(data_cfg)
    # at lr 1e-12 one step moves no weight by more than ~1e-11: the warmed model is its source, to that tolerance
    still = dataclasses.replace(FAST, lr=1e-12, max_steps=1, warm_start=["data.limit_train=320", "train.lr=2e-3"])
    warmed = train_or_load("vit", micro_config, data_cfg, still, synthetic, torch.device("cpu"), tmp_path,
                           progress=False, load_data=load)
    warm = warm_source("vit", data_cfg, still)
    source_data, source_train = warm.data, warm.train
    assert [c.limit_train for c in loads] == [320]  # the source's own data, loaded once
    source = train_or_load("vit", micro_config, source_data, source_train, None, torch.device("cpu"), tmp_path,
                           progress=False)
    assert source.cached and source.checkpoint == checkpoint_path(tmp_path, "vit", micro_config, source_train,
                                                                  source_data)
    cold = train_or_load("vit", micro_config, data_cfg, dataclasses.replace(still, warm_start=[]), synthetic,
                         torch.device("cpu"), tmp_path, progress=False)
    for name, weight in warmed.model.state_dict().items():
        assert torch.allclose(weight, source.model.state_dict()[name], atol=1e-8), name
    assert not torch.allclose(cold.model.state_dict()[HEAD], source.model.state_dict()[HEAD],
                              atol=1e-3)
    # a second warm start from the same source (its overrides in another order) loads it: no data loaded again
    again = dataclasses.replace(still, warm_start=still.warm_start[::-1])
    train_or_load("vit", micro_config, data_cfg, again, synthetic, torch.device("cpu"), tmp_path, progress=False,
                  load_data=load)
    assert len(loads) == 1


def test_an_ia_vit_starts_from_a_vit_backbone_its_interpreter_fresh(tmp_path, micro_config: ModelConfig) -> None:
    """``kind=vit``: the paper's IA-ViT starts from a pretrained ViT; here from one the warm start trains."""
    from iabench.models import create_model

    data_cfg = DataConfig(name="synthetic", img_size=16)
    synthetic = load_dataset(data_cfg)
    still = dataclasses.replace(FAST, lr=1e-12, max_steps=1, warm_start=["kind=vit", "train.lr=2e-3"])
    warmed = train_or_load("ia-vit", micro_config, data_cfg, still, synthetic, torch.device("cpu"), tmp_path,
                           progress=False)
    warm = warm_source("ia-vit", data_cfg, still)
    assert warm.kind == "vit"
    vit = train_or_load("vit", micro_config, warm.data, warm.train, None, torch.device("cpu"), tmp_path,
                        progress=False)
    assert vit.cached  # trained by the warm start, under its own key
    torch.manual_seed(still.seed)  # seeded as the trainer seeds it: the interpreter's first weights
    fresh = create_model("ia-vit", micro_config)
    for name, weight in warmed.model.state_dict().items():
        reference = (fresh if name.startswith("interpreter.") else vit.model).state_dict()[name]
        assert torch.allclose(weight, reference, atol=1e-8), name


def _assert_warm_started_from_its_vit(cache: Path, suite: Any, source: Any) -> None:
    """Every model of ``suite`` (seed 0) warm-starts from exactly the checkpoint of ``source``'s ViT."""
    from iabench.pipeline.plan import hashable_data

    vit = next(v for v in source.models if v.kind == "vit")
    expected = checkpoint_path(cache, "vit", vit.model, dataclasses.replace(vit.train, seed=0),
                               hashable_data(source.data))
    for variant in suite.models:
        warm = warm_source(variant.kind, hashable_data(suite.data), dataclasses.replace(variant.train, seed=0))
        assert checkpoint_path(cache, warm.kind, variant.model, warm.train, warm.data) == expected, variant.name


def test_evidence_placement_starts_both_straddling_motif_models_from_the_cell_runs_vit(tmp_path) -> None:
    """The suite's sources are the `evidence-motif` run's cached ViT: a changed recipe on either side would train a
    second cell model instead, unseen."""
    from iabench.suites import included_suites

    cell, _, straddling, _ = included_suites(load_suite("evidence-placement"))
    _assert_warm_started_from_its_vit(tmp_path, straddling, cell)
    assert straddling.data.options.placement == "anywhere" and cell.data.options.placement == "cell"


def test_evidence_pair_starts_both_models_from_the_one_motif_vit(tmp_path) -> None:
    """`evidence-pair`'s sources are the `evidence-motif` run's cached ViT (one motif); its own canvases hold two."""
    from iabench.suites import included_suites

    (pair,) = included_suites(load_suite("evidence-pair"))
    one = load_suite("evidence-motif")
    _assert_warm_started_from_its_vit(tmp_path, pair, one)
    assert pair.data.options.motifs == 2 and one.data.options.motifs == 1

