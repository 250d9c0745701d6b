"""Reliance checks with known answers: models written by hand that read exactly what they are said to read, on
canvases whose garments never reach the motifs' intensity (so a motif is found from its pixels alone)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from support import write_idx
from torch import nn

import iabench.data.fashion_mnist as fm
from iabench.data import load_dataset
from iabench.data.config_options import data_config
from iabench.data.evidence import CLASSES, INK, motif_shapes
from iabench.data.evidence_reliance import CHANCE, GARMENT_FLOOR, reliance_checks, swap_decoys
from iabench.data.ground_truth import Check
from iabench.records import RELIANCE_FILE
from iabench.reporting.ground_truth.reliance import reliance_markdown, without_ground_truth

N_TEST = 2000  # enough images for the label ceiling's TOST (90 % half-width about 0.011 at p = 0.1)


def garment_class(items: np.ndarray) -> np.ndarray:
    """The garment's class as a function of its pixels: the garments' labels are made to be this."""
    return (items.astype(np.int64).sum((-1, -2)) // 7) % CLASSES


class Reader(nn.Module):
    """Predicts the class motif read from the pixels (``use_motif``) and otherwise the garment's class (``use_garment``)
    or class 0; ``use_decoys``: one class further on when decoy shape 0 is on the canvas (it reads a decoy)."""

    def __init__(self, mean: float, std: float, use_motif: bool, use_garment: bool, use_decoys: bool = False) -> None:
        super().__init__()
        self.mean, self.std, self.use_motif, self.use_garment = mean, std, use_motif, use_garment
        self.use_decoys = use_decoys
        self.shapes = torch.from_numpy(motif_shapes(6)).float()  # the 10 class motifs, then the 10 decoys

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = torch.round((images[:, 0] * self.std + self.mean) * 255)
        ink = (pixels == INK).float()[:, None]
        # +1 on a shape's lit pixels, -1 elsewhere: a window scores 18 exactly where it holds that shape and no more
        kernels = (2 * self.shapes - 1)[:, None]
        hits = nn.functional.conv2d(ink, kernels).flatten(2).amax(2) == self.shapes[0].sum()  # (B, 20 shapes)
        garment = torch.where(pixels == INK, 0, pixels).sum((1, 2)).long() // 7 % CLASSES
        predicted = garment if self.use_garment else torch.zeros(len(images), dtype=torch.long)
        if self.use_motif:
            motifs = hits[:, :CLASSES]
            predicted = torch.where(motifs.any(1), motifs.float().argmax(1), predicted)
        if self.use_decoys:
            predicted = (predicted + hits[:, CLASSES].long()) % CLASSES
        return nn.functional.one_hot(predicted, CLASSES).float()


@pytest.fixture
def canvases(tmp_path, no_system_fmnist):
    rng = np.random.default_rng(0)

    def items(n: int) -> np.ndarray:
        x = np.zeros((n, 28, 28), dtype=np.uint8)
        for i in range(n):
            t, left, h, w = rng.integers(2, 8), rng.integers(2, 8), rng.integers(12, 19), rng.integers(12, 19)
            x[i, t:t + h, left:left + w] = rng.integers(1, 201, (h, w))  # never the motifs' 255
        return x

    train, test = items(40), items(N_TEST)
    for stem, array in zip(fm.FILES.values(), (train, garment_class(train), test, garment_class(test))):
        write_idx(tmp_path / stem, array, compress=True)

    def load(task: str, motifs: int = 1):
        bundle = load_dataset(data_config({"name": "evidence-fashion-mnist", "root": str(tmp_path), "task": task,
                                           "img_size": 56, "motifs": motifs}))
        return bundle.test, bundle.mean[0], bundle.std[0]

    return load


def _checks(canvases, task: str, **reads: bool):
    data, mean, std = canvases(task)
    return reliance_checks(Reader(mean, std, **reads), data, range(N_TEST), torch.device("cpu")), data


def test_a_motif_reader_relies_on_the_motif(canvases) -> None:
    checks, data = _checks(canvases, "motif", use_motif=True, use_garment=False)
    assert [c.check for c in checks] == ["accuracy", "prediction follows a swapped motif",
                                         "predictions changed by a swapped decoy (control)",
                                         "accuracy without the motif (a check of the data)"]
    assert [c.value for c in checks[:3]] == [1.0, 1.0, 0.0]  # the decoys change nothing it reads
    labels = np.array([data.label(i) for i in range(N_TEST)])
    hit = (labels == 0).astype(float)  # erased: the reader says class 0, right exactly on the class-0 motifs
    assert checks[3].value == pytest.approx(hit.mean(), abs=1e-12)
    low, high = stats.t.interval(0.90, N_TEST - 1, loc=hit.mean(), scale=stats.sem(hit))
    assert checks[3].passed == (CHANCE - 0.02 < low and high < CHANCE + 0.02) and checks[3].passed
    assert all(c.passed for c in checks)


def test_a_model_that_reads_a_decoy_fails_the_decoy_control(canvases) -> None:
    checks, data = _checks(canvases, "motif", use_motif=True, use_garment=False, use_decoys=True)
    # by hand: its prediction changes exactly where the swap takes decoy shape 0 onto or off the canvas
    swapped = swap_decoys(data, range(N_TEST))
    before = np.array([any(d[0] == 0 for d in data.layout(i).decoys) for i in range(N_TEST)])
    after = np.array([any(d[0] == 0 for d in ((swapped[i],) + data.layout(i).decoys[0][1:],
                                                  *data.layout(i).decoys[1:])) for i in range(N_TEST)])
    control = checks[2]
    assert control.value == pytest.approx((before != after).mean(), abs=1e-12) and control.value > 0.05
    assert not control.passed


def test_a_garment_reader_fails_the_motif_task(canvases) -> None:
    checks, _ = _checks(canvases, "motif", use_motif=False, use_garment=True)
    assert checks[0].value < 0.2 and not checks[0].passed and not checks[1].passed and not all(c.passed for c in checks)


def test_garment_models_must_ignore_the_motif(canvases) -> None:
    honest, _ = _checks(canvases, "garment", use_motif=False, use_garment=True)
    assert [c.value for c in honest] == [1.0, 0.0, 0.0] and all(c.passed for c in honest)  # it ignores the motif
    cheat, _ = _checks(canvases, "garment", use_motif=True, use_garment=True)
    assert cheat[0].value < 0.2  # it reads the motif, which is independent of the garment's label
    assert cheat[1].value > 0.5 and not cheat[1].passed and not all(c.passed for c in cheat)


def test_a_garment_model_at_chance_has_no_ground_truth(canvases) -> None:
    chance, _ = _checks(canvases, "garment", use_motif=False, use_garment=False)  # says class 0 whatever it sees
    assert chance[0].value < 0.2 < GARMENT_FLOOR and not chance[0].passed
    assert chance[1].passed and chance[2].passed  # it ignores the motif too: only the floor refuses it


def test_a_garment_model_that_reads_a_decoy_fails_the_erasure_control(canvases) -> None:
    checks, data = _checks(canvases, "garment", use_motif=False, use_garment=True, use_decoys=True)
    decoys = [[d[0] for d in data.layout(i).decoys] for i in range(N_TEST)]
    correct = np.array([0 not in d for d in decoys], dtype=float)  # decoy shape 0 moves it off the garment's class
    assert checks[0].value == pytest.approx(correct.mean(), abs=1e-12)
    # swapping the first decoy flips it where shape 0 comes or goes; the motif never: a negative difference, passed
    swapped = swap_decoys(data, range(N_TEST))
    assert all(s != d[0] for s, d in zip(swapped, decoys))  # the swap always draws another shape
    flips = np.array([(0 in d) != (0 in [s, *d[1:]]) for s, d in zip(swapped, decoys)], dtype=float)
    bound = (0 - flips).mean() + stats.t.ppf(0.95, N_TEST - 1) * stats.sem(0 - flips)
    assert checks[1].value == pytest.approx(bound, abs=1e-12) and checks[1].passed
    # erasing the first decoy helps it where that decoy alone was shape 0; erasing the motif costs nothing: the
    # motif's cost minus the decoy's, per image, is the gain; its upper 95 % bound by hand
    gain = np.array([0 not in d[1:] for d in decoys], dtype=float) - correct
    bound = gain.mean() + stats.t.ppf(0.95, N_TEST - 1) * stats.sem(gain)
    assert checks[2].value == pytest.approx(bound, abs=1e-12) and checks[2].value > 0.01 and not checks[2].passed


def test_without_a_decoy_or_a_motif_there_is_no_ground_truth(canvases) -> None:
    data, mean, std = canvases("garment")
    for edit in (dict(plant=False), dict(decoys=0)):
        data.options = dataclasses.replace(data.options, **edit)
        checks = reliance_checks(Reader(mean, std, False, True), data, range(10), torch.device("cpu"))
        assert [(c.check, c.passed, c.images) for c in checks] == [("the evidence edits", False, 10)]
        assert "data.plant true and data.decoys >= 1" in checks[0].required


def test_a_canvas_edit_changes_only_what_it_names(canvases) -> None:
    data, _, _ = canvases("garment")
    image, _ = data.raw(3)
    layout = data.layout(3)
    (shape, y, x), size = layout.decoys[0], data.options.motif_size
    other = (shape + 1) % 10
    swapped, _ = data.raw(3, decoy=other)
    changed = np.argwhere(swapped != image)
    assert changed.size and changed.min(0).tolist() >= [y, x] and changed.max(0).tolist() < [y + size, x + size]
    assert (swapped[y:y + size, x:x + size] == INK).tolist() == motif_shapes(6)[10 + other].tolist()
    with pytest.raises(ValueError, match="decoy shape 10 is out of range"):
        data.raw(3, decoy=10)  # shape 10 onwards would be a class motif
    erased, _ = data.raw(3, erase_decoy=True)
    assert (erased[y:y + size, x:x + size] == 0).all() and (erased != image).sum() == 18  # 18 lit pixels gone
    plain = dataclasses.replace(data.options, plant=False)
    data.options = plain
    bare, _ = data.raw(3)
    assert (bare != INK).all() and (bare == np.where(image == INK, 0, image)).all()  # the garment alone, in place


def test_the_report_names_the_models_without_ground_truth(tmp_path) -> None:
    assert reliance_markdown(None) == "" and without_ground_truth(None) is None  # no planted evidence, no section

    def stored() -> pd.DataFrame:  # reliance.csv as the report's RunFiles reads it
        return pd.read_csv(tmp_path / RELIANCE_FILE)

    rows = [Check("accuracy", 0.9994, ">= 0.97", True, 10_000), Check("accuracy without the motif", 0.1006,
            "0.10 +- 0.02 (TOST, 90 %)", True, 10_000), Check("prediction follows a swapped motif", 0.999, ">= 0.95",
                                                              True, 10_000)]
    frame = pd.DataFrame([dict(model="vit", seed=0, **dataclasses.asdict(c)) for c in rows] +
                         [dict(model="ia-vit", seed=1, **dataclasses.asdict(dataclasses.replace(c, passed=i != 1,
                                                                                                value=0.31)))
                          for i, c in enumerate(rows)])
    frame.to_csv(tmp_path / RELIANCE_FILE, index=False)
    text = reliance_markdown(stored())
    assert "| vit | 0 | accuracy | 0.9994 | >= 0.97 | yes | 10,000 |" in text
    assert "| ia-vit | 1 | accuracy without the motif | 0.3100 | 0.10 +- 0.02 (TOST, 90 %) | **no** | 10,000 |" in text
    assert text.endswith("1 of 2 models pass every check. No ground truth for ia-vit/seed1 (accuracy without the "
                         "motif): their ground-truth scores say nothing about what they use, and every "
                         "table leaves them out.")
    assert without_ground_truth(stored()) == {("ia-vit", 1)}
    frame.assign(passed=True).to_csv(tmp_path / RELIANCE_FILE, index=False)
    assert without_ground_truth(stored()) == set()
    assert reliance_markdown(stored()).endswith("Every model passes every check (2 of 2): each has ground truth.")


class PairReader(Reader):
    """Predicts the sum of the classes of every class motif on the canvas mod 10 (``both``), or the class of the
    first one found (a reader of one motif)."""

    def __init__(self, mean: float, std: float, both: bool) -> None:
        super().__init__(mean, std, use_motif=True, use_garment=False)
        self.both = both

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.both:
            return super().forward(images)
        pixels = torch.round((images[:, 0] * self.std + self.mean) * 255)
        windows = nn.functional.conv2d((pixels == INK).float()[:, None], (2 * self.shapes - 1)[:, None])
        counts = (windows == self.shapes[0].sum()).flatten(2).sum(2)[:, :CLASSES]  # (B, 10): motifs of each class
        predicted = (counts * torch.arange(CLASSES)).sum(1) % CLASSES
        return nn.functional.one_hot(predicted, CLASSES).float()


def test_two_motifs_pass_only_a_reader_of_both(canvases) -> None:
    """With motifs 2 the swap check expects the sum with the second motif: a reader of both motifs passes every
    check; a reader of one motif is right only when the first one it finds is the sum (about 1 in 10), and fails."""
    data, mean, std = canvases("motif", motifs=2)
    both = reliance_checks(PairReader(mean, std, both=True), data, range(N_TEST), torch.device("cpu"))
    assert [c.value for c in both[:3]] == [1.0, 1.0, 0.0] and all(c.passed for c in both)
    one = reliance_checks(PairReader(mean, std, both=False), data, range(N_TEST), torch.device("cpu"))
    assert one[0].value < 0.2 and one[1].value < 0.2 and not one[0].passed and not one[1].passed


def test_tables_leave_out_only_the_ground_truth_scores_of_models_without_it() -> None:
    """summary.csv and significance.csv are built from these rows: ia-vit/seed1 failed a check, so its evidence
    scores (localisation and evidence mass) go (mean 0.9 over the seeds with ground truth, not 0.6 with it); its
    deletion score and every other model's scores stay."""
    from iabench.records import metric_records_of
    from iabench.reporting.ground_truth.truth import ground_truth_rows

    metrics = metric_records_of({"evidence-auc": {"name": "evidence-auc", "needs_masks": True},
                                 "foreground-mass": {"name": "foreground-mass"},
                                 "deletion": {"name": "deletion", "direction": "lower"}})
    rows = [(model, seed, metric, value) for model in ("ia-vit", "vit") for seed, value in ((0, 0.9), (1, 0.3))
            for metric in ("evidence-auc", "foreground-mass", "deletion")]
    results = pd.DataFrame(rows, columns=["model", "seed", "metric", "value"]).assign(explainer="x", sample=0)
    kept = ground_truth_rows(results, metrics, {("ia-vit", 1)})
    assert len(kept) == len(results) - 2
    assert kept[(kept.model == "ia-vit") & (kept.metric == "foreground-mass")].value.tolist() == [0.9]
    assert kept[(kept.model == "ia-vit") & (kept.metric == "evidence-auc")].value.mean() == pytest.approx(0.9)
    assert kept[(kept.model == "vit") & (kept.metric == "evidence-auc")].value.mean() == pytest.approx(0.6)
    assert len(kept[kept.metric == "deletion"]) == 4
    assert ground_truth_rows(results, metrics, None) is results
    assert ground_truth_rows(results, metrics, set()) is results

