"""Suites whose published numbers rest on a recipe of their own pin it: a change of the default preset's recipe
(the main job's) leaves their models, and so their cache keys and results, as they were."""

from __future__ import annotations

import dataclasses

import pytest

from iabench.config import config_hash
from iabench.models import presets
from iabench.suites import load_suite

PINNED = ("ia-vit-study", "ia-vit-study-full", "ia-vit-study-p2")


def _train_configs(name: str) -> dict[str, str]:
    return {v.name: config_hash(v.train) for v in load_suite(name).models}


@pytest.mark.parametrize("name", PINNED)
def test_study_models_do_not_follow_the_default_preset(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _train_configs(name)
    tiny = presets.PRESETS["vit-tiny-fmnist"]
    changed = dataclasses.replace(tiny.train, lr=1e-4, epochs=1, warmup_steps=7, batch_size=32, weight_decay=0.1)
    monkeypatch.setitem(presets.PRESETS, "vit-tiny-fmnist", dataclasses.replace(tiny, train=changed))
    assert _train_configs(name) == before


def test_the_studies_keep_the_recipes_their_results_came_from() -> None:
    study = {v.name: v.train for v in load_suite("ia-vit-study").models}
    assert (study["ia-vit"].lr, study["ia-vit"].epochs, study["ia-vit"].warmup_steps) == (2e-3, 4, 200)
    assert study["ia-vit-no-align"].epochs == 2
    full = {v.name: v.train for v in load_suite("ia-vit-study-full").models}
    assert (full["ia-vit"].lr, full["ia-vit"].epochs, full["ia-vit"].warmup_steps) == (2e-3, 6, 200)
    assert full["ia-vit-p2"].epochs == 3
    p2 = {v.name: v.train for v in load_suite("ia-vit-study-p2").models}["ia-vit-p2"]
    assert (p2.lr, p2.max_steps, p2.warmup_steps, p2.batch_size) == (2e-3, 600, 50, 128)


def test_the_main_job_trains_the_three_epoch_recipe() -> None:
    models = {v.name: v.train for v in load_suite("faithfulness").models}
    for train in models.values():
        assert (train.optimizer, train.lr, train.epochs, train.max_steps, train.warmup_steps, train.batch_size) == (
            "adamw", 3e-3, 3, 0, 100, 128)
