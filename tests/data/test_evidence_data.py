"""The planted-evidence dataset, checked against what each canvas must hold, read back from its pixels: the motif's
class is recovered by matching the lit pixels to the shapes, not taken from the layout that drew it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import write_fmnist

from iabench.data import load_dataset
from iabench.data.config_options import data_config
from iabench.data.evidence import CLASSES, INK, CanvasOptions, motif_shapes
from iabench.data.evidence_layout import draw_layout
from iabench.errors import UserError

SIZE = 6


def _bundle(root, **keys):
    return load_dataset(data_config({"name": "evidence-fashion-mnist", "root": str(root), "img_size": 56, **keys}))


def _lit_blocks(image: np.ndarray, garment: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Every SIZE x SIZE block of INK pixels off the garment with nothing lit in the one-pixel ring around it: (top,
    left, its pattern), found from the pixels (a shape lights every row and column of its square, so a window off
    a motif by a pixel has a lit ring)."""
    ink = np.pad((image == INK) & ~garment, 1)
    windows = np.lib.stride_tricks.sliding_window_view(ink, (SIZE + 2, SIZE + 2))
    inner = windows[:, :, 1:-1, 1:-1]
    alone = windows.sum((2, 3)) == inner.sum((2, 3))
    full = inner.any(3).all(2) & inner.any(2).all(2)
    return [(int(y), int(x), inner[y, x].copy()) for y, x in zip(*np.nonzero(alone & full))]


def _shape_index(block: np.ndarray) -> int:
    return next(i for i, shape in enumerate(motif_shapes(SIZE)) if np.array_equal(shape, block))


def test_shapes_are_twenty_distinct_squares_of_equal_ink() -> None:
    shapes = motif_shapes(SIZE)
    assert shapes.shape == (20, SIZE, SIZE) and (shapes.sum((1, 2)) == SIZE * SIZE // 2).all()
    assert shapes.any(1).all() and shapes.any(2).all()  # each fills its square: every row and column lit
    distances = [(a ^ b).sum() for i, a in enumerate(shapes) for b in shapes[i + 1:]]
    assert min(distances) >= SIZE * SIZE // 4
    assert np.array_equal(motif_shapes(SIZE), shapes)  # fixed: the classes do not change with anything


def test_canvases_hold_the_motif_of_their_label_inside_one_cell(tmp_path, no_system_fmnist) -> None:
    _, _, test_x, test_y = write_fmnist(tmp_path / "fm", n_test=30)
    bundle = _bundle(tmp_path / "fm", seed=3)
    assert bundle.masks == ("evidence", "motif", "garment") and bundle.num_classes == 10
    for i in range(30):
        image, masks = bundle.test.raw(i)
        blocks = _lit_blocks(image, masks["garment"])
        assert len(blocks) == 3  # the motif and 2 decoys
        classes = [k for k in (_shape_index(b) for _, _, b in blocks) if k < CLASSES]
        assert len(classes) == 1  # exactly one class motif; the decoys come from the other set
        top, left, block = next(b for b in blocks if _shape_index(b[2]) < CLASSES)
        assert bundle.test[i][1] == classes[0]  # task motif: the label is the motif read from the pixels
        assert top // 8 == (top + SIZE - 1) // 8 and left // 8 == (left + SIZE - 1) // 8  # inside one 8px cell
        expected = np.zeros_like(masks["motif"])
        expected[top:top + SIZE, left:left + SIZE] = block
        assert np.array_equal(masks["motif"], expected) and np.array_equal(masks["evidence"], masks["motif"])
        assert masks["garment"].sum() == (test_x[i] > 0).sum()  # the garment's footprint, whole
        grown = np.zeros((58, 58), dtype=bool)
        for dy in range(3):
            for dx in range(3):
                grown[dy:dy + 56, dx:dx + 56] |= masks["garment"]
        for t, lft, _ in blocks:  # one pixel clear of the garment
            assert not grown[t + 1:t + 1 + SIZE, lft + 1:lft + 1 + SIZE].any()
    garment = _bundle(tmp_path / "fm", seed=3, task="garment")
    for i in range(30):
        image, masks = garment.test.raw(i)
        assert np.array_equal(image, bundle.test.raw(i)[0])  # the same canvases under the second labelling
        assert garment.test[i][1] == int(test_y[i]) and np.array_equal(masks["evidence"], masks["garment"])
    served = garment.test[4][2]
    assert list(served) == ["evidence", "motif", "garment"] and torch.equal(served["evidence"], served["garment"])


def test_interventions_erase_or_swap_only_the_motif(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    data = _bundle(tmp_path / "fm").test
    for i in range(10):
        image, masks = data.raw(i)
        label = data[i][1]
        erased = data.raw(i, erase_motif=True)[0]
        assert (erased[masks["motif"]] == 0).all() and np.array_equal(erased[~masks["motif"]], image[~masks["motif"]])
        other = (label + 1 + i % 9) % CLASSES
        swapped = data.raw(i, motif=other)[0]
        blocks = _lit_blocks(swapped, masks["garment"])
        assert sorted(_shape_index(b) for _, _, b in blocks if _shape_index(b) < CLASSES) == [other]
        bare = data.raw(i, erase_motif=True, erase_decoys=True)[0]
        assert np.array_equal(bare, np.where(masks["garment"], image, 0))  # the garment alone
        assert np.array_equal(data.raw(i)[1]["motif"], masks["motif"])  # masks say where the motif was


def test_canvases_are_deterministic_and_placement_anywhere_straddles(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm", n_test=40)
    a, b, c = (_bundle(tmp_path / "fm", seed=s).test for s in (3, 3, 4))
    assert [a.raw(i)[0].tobytes() for i in (7, 2)] == [b.raw(i)[0].tobytes() for i in (7, 2)]  # any order
    assert not np.array_equal(a.raw(0)[0], c.raw(0)[0])
    anywhere = _bundle(tmp_path / "fm", placement="anywhere").test
    corners = [np.argwhere(anywhere.raw(i)[1]["motif"]).min(0) for i in range(40)]
    straddling = sum(y // 8 != (y + SIZE - 1) // 8 or x // 8 != (x + SIZE - 1) // 8 for y, x in corners)
    assert straddling > 20  # a uniform corner straddles a cell border with probability 1 - (3/8)^2 = 0.86


def test_options_are_checked_in_one_line(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    with pytest.raises(UserError, match="must be one of motif, garment"):
        _bundle(tmp_path / "fm", task="colour")
    with pytest.raises(UserError, match=r"unknown key 'data.decoy' \(did you mean 'data.decoys'\?\)"):
        _bundle(tmp_path / "fm", decoy=3)
    with pytest.raises(UserError, match="smaller than data.motif_size"):
        _bundle(tmp_path / "fm", cell=4)
    with pytest.raises(UserError, match="no room for a motif and 40 decoys"):
        _bundle(tmp_path / "fm", decoys=40).test.raw(0)


def test_placement_anywhere_straddles_cell_borders_at_the_rate_its_geometry_implies() -> None:
    """On an empty garment the motif is the first candidate, uniform over the 51 x 51 top-left corners of a 56 px
    canvas (6 px motif). Along one axis it stays inside an 8 px cell only from offsets 0-2 of each of the 6 whole
    cells and of the last partial one (48-50): 21 of 51. So it lies in one cell with probability (21/51)^2 and
    touches 4 cells with (30/51)^2; counted on 10,000 canvases, within 4 binomial standard errors."""
    options, n = CanvasOptions(placement="anywhere"), 10_000
    corners = np.array([draw_layout(np.zeros((28, 28), bool), options, np.random.default_rng([7, i])).motif
                        for i in range(n)])
    straddles = (corners % 8) > 8 - 6  # per axis: the motif crosses a border
    for observed, expected in ((~straddles.any(1)).mean(), (21 / 51) ** 2), (straddles.all(1).mean(), (30 / 51) ** 2):
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert corners.min() == 0 and corners.max() == 50  # every corner reachable, none beyond the canvas


def test_noise_is_uniform_the_same_under_every_intervention_and_moves_nothing_else(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    clean, noisy = (_bundle(tmp_path / "fm", noise=n).test for n in (0, 40))
    added = []
    for i in range(10):
        (image, masks), (seen, noisy_masks) = clean.raw(i), noisy.raw(i)
        assert all(np.array_equal(masks[k], noisy_masks[k]) for k in masks)  # the layout did not move
        delta = seen.astype(int) - image
        assert ((delta >= 0) & (delta <= 40)).all() and (seen[image == INK] == INK).all()  # clipped at the ink
        added.append(delta[image == 0])
        erased = noisy.raw(i, erase_motif=True)[0]  # the same noise: only the motif's pixels change
        assert np.array_equal(erased[~masks["motif"]], seen[~masks["motif"]])
        assert ((erased[masks["motif"]] >= 0) & (erased[masks["motif"]] <= 40)).all()
    values = np.concatenate(added)
    # uniform on the 41 integers 0..40: mean 20, each value's share 1/41 (tolerances: > 4 standard errors)
    shares = np.bincount(values, minlength=41) / values.size
    assert abs(values.mean() - 20.0) < 0.3 and np.abs(shares - 1 / 41).max() < 0.006


def test_two_motifs_decide_together_and_one_motif_canvases_stay_as_they_were(tmp_path, no_system_fmnist) -> None:
    """With motifs 2 the canvas holds two class motifs, read from the pixels; the label is their classes' sum mod 10,
    the motif mask covers both; everything a one-motif canvas holds is drawn exactly as before (the second motif
    takes the next free spot), so one-motif keys stay valid; swapping the first motif gives the label its sum with
    the second's."""
    write_fmnist(tmp_path / "fm", n_test=30)
    one, two = (_bundle(tmp_path / "fm", seed=5, motifs=m).test for m in (1, 2))
    sums = []
    for i in range(30):
        (image, masks), (paired, pair_masks) = one.raw(i), two.raw(i)
        assert np.array_equal(paired[masks["motif"] | masks["garment"]], image[masks["motif"] | masks["garment"]])
        blocks = _lit_blocks(paired, pair_masks["garment"])
        classes = sorted(k for k in (_shape_index(b) for _, _, b in blocks) if k < CLASSES)
        assert len(blocks) == 4 and len(classes) == 2  # two class motifs, two decoys
        assert two[i][1] == sum(classes) % CLASSES and one[i][1] == one.layout(i).motif_class
        added = pair_masks["motif"] & ~masks["motif"]
        assert added.sum() == SIZE * SIZE // 2 and np.array_equal(paired[added], np.full(added.sum(), INK))
        partner = two.layout(i).partners[0][0]
        assert two.label(i, motif=(one[i][1] + 3) % CLASSES) == (one[i][1] + 3 + partner) % CLASSES
        sums.append(two[i][1])
    assert len(set(sums)) >= 6  # the sum takes many values: neither motif fixes it
    with pytest.raises(UserError, match="no room for 2 motifs and 40 decoys"):
        _bundle(tmp_path / "fm", motifs=2, decoys=40).test.raw(0)
    with pytest.raises(UserError, match=r"option motifs = 3 is out of range; it must be in \[1, 2\]"):
        _bundle(tmp_path / "fm", motifs=3)
