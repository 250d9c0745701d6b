"""Model variants and the training-seed axis: override precedence, seeds per variant, names in the results,
one checkpoint per (variant, seed) holding the variant's own config, and the shipped study suites."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from support import MICRO_SUITE

from iabench.cli import main
from iabench.errors import UserError
from iabench.suites import build_suite, load_suite, read_suite_yaml


def suite_with(models: object, tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "variants.yaml"
    path.write_text(yaml.safe_dump({**MICRO_SUITE, "train": {"lr": 1e-3, "epochs": 1}, "models": models,
                                    **changes}))
    return path


def by_name(suite) -> dict:  # noqa: ANN001
    return {v.name: v for v in suite.models}


def test_precedence_preset_suite_variant_command_line(tmp_path) -> None:
    models = {"plain": {"kind": "vit"},
              "tuned": {"kind": "ia-vit", "train": {"lr": 5e-3, "lambda_align": 0.1}, "model": {"depth": 1}}}
    path = suite_with(models, tmp_path)
    variants = by_name(load_suite(str(path)))
    assert variants["plain"].train.lr == 1e-3  # the suite's section over the preset's 2e-3
    assert variants["tuned"].train.lr == 5e-3  # the variant's own over the suite's
    assert variants["tuned"].train.lambda_align == 0.1 and variants["plain"].train.lambda_align == 1.0
    assert variants["tuned"].model.depth == 1 and variants["plain"].model.depth == 2
    assert variants["plain"].train.weight_decay == 0.05  # untouched keys come from the preset
    # the command line applies after the variant's own overrides, to every variant
    variants = by_name(load_suite(str(path), ["train.lr=0.02", "model.depth=3"]))
    assert variants["tuned"].train.lr == variants["plain"].train.lr == 0.02
    assert variants["tuned"].model.depth == 3
    assert variants["tuned"].train.lambda_align == 0.1  # what the command line does not name stays the variant's
    assert variants["tuned"].overrides == {"train": {"lr": 5e-3, "lambda_align": 0.1}, "model": {"depth": 1}}


def test_seeds_per_variant_and_from_the_command_line(tmp_path) -> None:
    models = {"vit": {"kind": "vit"}, "ia-vit": {"kind": "ia-vit", "seeds": [4, 5]}}
    path = suite_with(models, tmp_path, seeds=[0, 1, 2])
    suite = load_suite(str(path))
    assert by_name(suite)["vit"].seeds == [0, 1, 2] and by_name(suite)["ia-vit"].seeds == [4, 5]
    assert suite.seeds == [0, 1, 2, 4, 5]
    again = load_suite(str(path), ["seeds=[9]"])  # --seed 9 is the same override: it replaces every variant's
    assert [v.seeds for v in again.models] == [[9], [9]] and again.seeds == [9]


def test_list_form_names_variants_after_kinds_with_the_plain_vit_as_baseline() -> None:
    suite = load_suite("faithfulness")
    assert [(v.name, v.kind, v.baseline) for v in suite.models] == [("vit", "vit", ""), ("ia-vit", "ia-vit", "vit")]


@pytest.mark.parametrize("models, fragment", [
    ({"a": {"kind": "vit", "trian": {}}}, "unknown key 'models.a.trian' (did you mean 'train'?)"),
    ({"a": {"kind": "vitt"}}, "unknown model kind of models.a 'vitt'"),
    ({"a": {"kind": "ia-vit", "baseline": "b"}}, "unknown baseline of models.a 'b'"),
    ({"a": {"kind": "vit", "seeds": [1, 1]}}, "lists a seed twice"),
    ({"a": {"kind": "vit", "train": {"lr": "fast"}}}, "models.a.train.lr must be a float"),
    ({"a": {"kind": "vit", "model": {"patch_size": 0}}}, "models.a.model.patch_size = 0 is out of range"),
    ([], "non-empty list"),
])
def test_bad_variants_are_one_line_errors(models: object, fragment: str) -> None:
    raw = {**MICRO_SUITE, "name": "bad", "models": models}
    with pytest.raises(UserError) as error:
        build_suite(raw, "suite 'bad'")
    assert fragment in str(error.value) and "\n" not in str(error.value)


def _ablations_hold_their_objective_changes(variants: dict, base: str) -> None:
    assert variants["ia-vit-notebook-align"].train.align == "notebook"
    assert variants["ia-vit-no-align"].train.align == "none"
    assert variants["ia-vit-no-kd"].train.sim == "none"
    assert variants["ia-vit-align-0.1"].train.lambda_align == 0.1
    assert variants["ia-vit-align-10"].train.lambda_align == 10.0
    assert variants["ia-vit-scaled"].model.interpreter_scale is True
    ablations = [v for n, v in variants.items() if v.baseline == base]
    assert len(ablations) == 6 and all(len(v.seeds) >= 3 for v in ablations)


def test_full_study_suite_holds_the_variants() -> None:
    variants = by_name(load_suite("ia-vit-study-full"))
    _ablations_hold_their_objective_changes(variants, "ia-vit")
    assert variants["ia-vit"].train.align == "mmd" and variants["ia-vit"].train.sim == "kd"
    assert variants["ia-vit-p2"].baseline == "vit-p2" and variants["vit-p2"].grid == "14x14"


def test_the_study_can_decide_and_compares_like_with_like() -> None:
    """ia-vit-study: 10 seeds for the reference pair at a pinned 4-epoch recipe, accuracy on the whole test
    split; ablations at the 2-epoch recipe compared with an IA-ViT of that recipe and seeds; every substrate of
    the verdict at both units, ROAD on 50 images; the controls at the interpreter's resolution."""
    suite = load_suite("ia-vit-study")
    variants = by_name(suite)
    for name in ("vit", "ia-vit"):
        assert variants[name].seeds == list(range(10)) and variants[name].train.epochs == 4
        assert variants[name].train.eval_images == 0  # accuracy on all 10,000 test images
    assert variants["ia-vit"].explainers is None  # every explainer on the IA-ViT the claims are about
    assert variants["vit"].explainers == ["random-patch", "random", "attention", "rollout"]
    assert variants["ia-vit"].baseline == "vit" and variants["ia-vit-short"].baseline == "vit-short"
    _ablations_hold_their_objective_changes(variants, "ia-vit-short")
    short = [v for v in variants.values() if v.name not in ("vit", "ia-vit")]
    assert {(v.train.epochs, tuple(v.seeds)) for v in short} == {(2, (0, 1, 2))}  # one recipe, the same seeds
    assert all(v.explainers == ["ia-vit"] for v in short if v.baseline == "ia-vit-short")
    assert {v.grid for v in variants.values()} == {"7x7"} and suite.samples == 200
    raw = read_suite_yaml("ia-vit-study")[0]["train"]  # the recipe is the suite's own, not the preset's
    assert {k: raw[k] for k in ("lr", "epochs", "warmup_steps", "batch_size")} == dict(
        lr=0.002, epochs=4, warmup_steps=200, batch_size=128)
    protocols = {(m.name, m.options.get("substrate", "zeros"), m.options.get("unit", "pixel")): m
                 for m in suite.metrics if m.name in ("insertion", "deletion")}
    assert set(protocols) == {(n, s, u) for n in ("insertion", "deletion") for s in ("zeros", "blur", "black", "road")
                              for u in ("pixel", "patch")}
    assert {m.samples for key, m in protocols.items() if key[1] == "road"} == {50}
    assert {m.samples for key, m in protocols.items() if key[1] != "road"} == {None}
    assert {"ia-vit", "random-patch", "shuffled:ia-vit", "random", "attention", "rollout"} <= {
        e.label for e in suite.explainers}


def test_variants_and_seeds_through_the_runner(tmp_path, capsys) -> None:
    models = {"plain": {"kind": "vit", "seeds": [0, 1]},
              "weak-align": {"kind": "ia-vit", "baseline": "plain", "train": {"lambda_align": 0.5}, "seeds": [0, 1]},
              "once": {"kind": "ia-vit", "baseline": "weak-align", "seeds": [1]}}
    path = suite_with(models, tmp_path, explainers=["ia-vit", "random"], metrics=["deletion", "accuracy"],
                      samples=4, heatmap_images=2)
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["run", "--suite", str(path), "--out", str(out), "--cache-dir", str(cache), "--quiet",
                 "--device", "cpu"]) == 0
    run_dir = next(p for p in out.glob("*/*") if p.is_dir())
    results = pd.read_csv(run_dir / "results.csv")
    pairs = set(zip(results.seed, results.model))
    assert pairs == {(0, "plain"), (1, "plain"), (0, "weak-align"), (1, "weak-align"), (1, "once")}
    assert set(results[results.model == "plain"].explainer) == {"random", "-"}  # no interpreter on a plain ViT
    checkpoints = sorted((cache / "models").glob("*.pt"))
    assert len(checkpoints) == 5  # one per (variant, seed)
    info = json.loads((run_dir / "models.json").read_text())
    assert info["weak-align"]["kind"] == "ia-vit" and info["weak-align"]["baseline"] == "plain"
    assert info["weak-align"]["overrides"] == {"train": {"lambda_align": 0.5}}
    assert sorted(info["once"]["seeds"]) == ["1"] and "test_acc" in info["plain"]["seeds"]["0"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    stored = {}
    for key, model in manifest["models"].items():
        payload = torch.load(model["checkpoint"], map_location="cpu", weights_only=True)
        stored[key] = (payload["train_config"]["lambda_align"], payload["train_config"]["seed"])
    assert stored == {"plain/seed0": (1.0, 0), "plain/seed1": (1.0, 1), "weak-align/seed0": (0.5, 0),
                      "weak-align/seed1": (0.5, 1), "once/seed1": (1.0, 1)}
    # the two seeds of one variant are two different models
    deletion = results[(results.metric == "deletion") & (results.model == "weak-align")]
    by_seed = deletion.pivot_table(index="sample", columns="seed", values="value")
    assert not (by_seed[0] == by_seed[1]).all()


def test_p2_study_suite_trains_the_p2_recipe() -> None:
    from iabench.models import get_preset

    variants = by_name(load_suite("ia-vit-study-p2"))
    recipe = get_preset("vit-tiny-fmnist-p2")
    assert recipe.train.max_steps == 600 and recipe.model.patch_size == 2
    assert set(variants) == {"vit-p2", "ia-vit-p2"} and variants["ia-vit-p2"].baseline == "vit-p2"
    for variant in variants.values():
        assert variant.grid == "14x14" and variant.seeds == [0, 1, 2]  # the seed unit needs three
        assert variant.train.max_steps == 600 and variant.train.warmup_steps == 50 and variant.train.epochs == 2


def test_a_variant_explained_by_some_explainers_only(tmp_path) -> None:
    from iabench.pipeline.plan import explainer_classes, work_items

    raw = {"name": "s", "explainers": ["ia-vit", "random", "attention"], "metrics": ["deletion"],
           "models": {"vit": {"kind": "vit"}, "ia-vit": {"kind": "ia-vit", "baseline": "vit"},
                      "ablation": {"kind": "ia-vit", "baseline": "ia-vit", "explainers": ["ia-vit"]}}}
    suite = build_suite(raw, "suite 's'")
    items = [(i.model, i.explainer) for i in work_items(suite, explainer_classes(suite.explainers), 0)]
    assert [e for m, e in items if m == "ablation"] == [None, "ia-vit"]
    assert [e for m, e in items if m == "ia-vit"] == [None, "ia-vit", "random", "attention"]
    raw["models"]["ablation"]["explainers"] = ["ia-vt"]
    with pytest.raises(UserError, match="did you mean 'ia-vit'"):
        build_suite(raw, "suite 's'")
