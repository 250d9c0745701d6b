"""The dataset contract: every plugin declares what it is and keeps it; a data section is split into common keys and
the dataset's options; cache keys of runs on the datasets that existed before the contract stay the same."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from support import write_fmnist

from iabench.config import DataConfig, config_hash
from iabench.contract import NoOptions
from iabench.data import (
    DATASETS,
    DataBundle,
    DatasetPlugin,
    check_dataset,
    dataset_class,
    dataset_options,
    load_dataset,
)
from iabench.data.cluttered import ClutteredOptions
from iabench.data.config_options import data_config
from iabench.errors import UserError
from iabench.pipeline.plan import hashable_data, suite_hash
from iabench.pipeline.records import dataset_record
from iabench.records import DatasetRecord
from iabench.suites import apply_overrides, build_suite, read_suite_yaml
from iabench.training.cache import checkpoint_path

# (suite, overrides) -> (run id, first model's checkpoint), computed before datasets became plugins
PUBLISHED_KEYS = {
    ("faithfulness", ()): ("42c2068d4dee", "vit-e32b7e5e3afc.pt"),
    ("localisation", ()): ("744c32063c0e", "vit-4758d663a45c.pt"),
    ("ia-vit-study", ()): ("f4843c284be8", "vit-5bf13113fe4c.pt"),
    ("faithfulness", ("data.name=synthetic", "data.channels=3")): ("d3de606c6517", "vit-1852c02d2b9a.pt"),
    ("faithfulness", ("data.name=celeba", "data.attribute=Smiling")): ("64267fd179c4", "vit-cbd47f2f875d.pt"),
    ("localisation", ("data.distractors=5",)): ("776a65cb7130", "vit-5c17e18028cc.pt"),
    ("faithfulness", ("data.name=cifar10", "data.img_size=32", "model.img_size=32")): ("4372281130b9",
                                                                                      "vit-f073b0608c4c.pt"),
    # planted evidence, computed before data.plant existed (it is hash-neutral at its default)
    ("ground-truth", ()): ("4e0e36a2850b", "vit-5e01476f51a7.pt"),
    ("ground-truth-garment", ()): ("3b21eeabce35", "vit-5c84c72d51bf.pt"),
}


def _keys(suite_name: str, overrides: tuple[str, ...]) -> tuple[str, str]:
    raw, where = read_suite_yaml(suite_name)
    suite = build_suite(apply_overrides(raw, list(overrides)), where)
    variant = suite.models[0]
    path = checkpoint_path("/cache", variant.kind, variant.model, variant.train, hashable_data(suite.data))
    return suite_hash(suite), path.name


# The run ids since train.encoder_summary's default became mean (every suite trains an IA-ViT, so each id moved);
# the plain ViTs' checkpoint keys did not, and under encoder_summary=sum the ids are those published above.
MEAN_RUN_IDS = {("faithfulness", ()): "74cc3dfbdadb", ("localisation", ()): "d222e0a1eacb",
                ("ia-vit-study", ()): "4e6479b3dbc8", ("ground-truth", ()): "b302f9584fda",
                ("ground-truth-garment", ()): "fffeee6825d5"}


@pytest.mark.parametrize("case", list(PUBLISHED_KEYS), ids=lambda c: " ".join((c[0], *c[1])))
def test_run_ids_and_checkpoint_keys_of_existing_datasets_stay(case) -> None:
    suite_name, overrides = case
    assert _keys(suite_name, (*overrides, "train.encoder_summary=sum")) == PUBLISHED_KEYS[case]
    run_id, vit_key = _keys(*case)
    assert vit_key == PUBLISHED_KEYS[case][1]
    if case in MEAN_RUN_IDS:
        assert run_id == MEAN_RUN_IDS[case]


def test_a_default_spelled_out_keeps_the_key() -> None:
    spelled_out = ("data.canvas=56", "data.distractors=3", "train.encoder_summary=sum")
    assert _keys("localisation", spelled_out) == PUBLISHED_KEYS[("localisation", ())]
    spelled = hashable_data(data_config({"name": "evidence-fashion-mnist", "task": "motif"}))
    assert hashable_data(DataConfig(name="evidence-fashion-mnist")) == spelled


def test_data_sections_split_into_common_keys_and_options() -> None:
    config = data_config({"name": "cluttered-fashion-mnist", "img_size": 56, "distractors": 5})
    assert (config.img_size, config.options) == (56, ClutteredOptions(canvas=56, distractors=5))  # parsed, kept so
    assert dataset_options(config) is config.options  # not parsed again where the data is loaded, hashed, recorded
    as_mapping = dataclasses.replace(config, options={"canvas": 56, "distractors": 5})  # a config built by hand
    assert dataset_options(as_mapping) == config.options and config_hash(as_mapping) == config_hash(config)
    same = data_config({"name": "cluttered-fashion-mnist", "img_size": 56, "options": {"distractors": 5}})
    assert same == config
    switched = data_config({"name": "synthetic"}, config)  # another dataset: the base's options do not carry over
    assert dataclasses.asdict(switched.options) == {"channels": 1} and switched.img_size == 56
    kept = data_config({"canvas": 60}, config)
    assert dataclasses.asdict(kept.options) == {"canvas": 60, "distractors": 5}
    with pytest.raises(UserError, match=r"unknown key 'data.img_sise' \(did you mean 'data.img_size'\?\); "
                                        r"cluttered-fashion-mnist takes canvas, distractors; common keys: name"):
        data_config({"name": "cluttered-fashion-mnist", "img_sise": 56})
    with pytest.raises(UserError, match="unknown key 'data.canvas'.*fashion-mnist takes no options"):
        data_config({"name": "fashion-mnist", "canvas": 56})
    with pytest.raises(UserError, match="distractors = -1 is out of range; it must be >= 0"):
        data_config({"name": "cluttered-fashion-mnist", "distractors": -1})


def test_every_registered_dataset_keeps_the_contract() -> None:
    assert len(DATASETS) >= 9
    for name in DATASETS.names():
        cls = dataset_class(name)
        assert cls.name == name and cls.description and isinstance(cls.masks, tuple)
        check_dataset(cls)  # raises on a broken declaration

    class Unfrozen:
        pass

    for broken, problem in ((dict(description=""), "no description"), (dict(masks=["a"]), "tuple of names"),
                            (dict(Options=Unfrozen), "frozen dataclass")):
        cls = type("Broken", (DatasetPlugin,), {"name": "broken", "description": "d", **broken})
        with pytest.raises(ValueError, match=problem):
            check_dataset(cls)


@pytest.mark.parametrize("name", ["fashion-mnist", "cluttered-fashion-mnist", "evidence-fashion-mnist", "synthetic"])
def test_items_are_what_the_dataset_declares(name, tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path)
    config = data_config({"name": name, "root": str(tmp_path), "img_size": 28 if name == "fashion-mnist" else 56})
    bundle = load_dataset(config)
    for split in (bundle.train, bundle.val, bundle.test):
        image, label, *masks = split[0]
        assert image.dtype == torch.float32 and image.shape == (bundle.in_chans, bundle.img_size, bundle.img_size)
        assert isinstance(label, int) and 0 <= label < bundle.num_classes
        assert bundle.masks == dataset_class(name).masks
        if bundle.masks:
            assert list(masks[0]) == list(bundle.masks)
            assert all(m.dtype == torch.bool and m.shape == image.shape[1:] for m in masks[0].values())
        else:
            assert masks == []


def test_a_bundle_that_breaks_its_declaration_is_refused(monkeypatch) -> None:
    cls = dataset_class("synthetic")
    real = cls.load.__func__  # type: ignore[attr-defined]

    def undeclared(klass, config, options) -> DataBundle:
        return dataclasses.replace(real(klass, config, options), masks=())

    monkeypatch.setattr(cls, "load", classmethod(undeclared))
    with pytest.raises(ValueError, match=r"declares masks \('glyph',\) but its bundle carries \(\)"):
        load_dataset(DataConfig(name="synthetic", img_size=16))
    assert NoOptions.parse({}, "dataset x") == NoOptions()


def test_the_manifest_records_the_dataset_typed(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path)
    config = data_config({"name": "evidence-fashion-mnist", "root": str(tmp_path), "task": "garment", "decoys": 1})
    record = dataset_record(load_dataset(config), config)
    assert record.options == {"task": "garment", "canvas": 56, "motif_size": 6, "decoys": 1, "motifs": 1,
                              "placement": "cell", "cell": 8, "plant": True, "noise": 0}
    assert record.masks == ("evidence", "motif", "garment") and record.sizes == {"train": 36, "val": 4, "test": 10}
    assert record.description == dataset_class("evidence-fashion-mnist").description
    assert DatasetRecord.read("x", json.loads(json.dumps(record.to_json()))) == record
