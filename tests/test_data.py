"""Every loader on tiny files the test writes in the real on-disk format, through the same code."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iabench.data.fashion_mnist as fm
from iabench.config import DataConfig
from iabench.data import load_dataset
from iabench.errors import UserError


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def write_fmnist(root: Path, n_train: int = 40, n_test: int = 10, compress: bool = True) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    arrays = (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train),
              rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test))
    root.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(fm.FILES.values(), arrays):
        write_idx(root / stem, array, compress)
    return arrays


@pytest.fixture
def no_system_fmnist(tmp_path, monkeypatch):
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("IABENCH_DATA", str(tmp_path / "no-cache"))


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_from_idx_files(tmp_path, no_system_fmnist, compress: bool) -> None:
    train_x, train_y, test_x, test_y = write_fmnist(tmp_path / "fm", compress=compress)
    bundle = load_dataset(DataConfig(root=str(tmp_path / "fm"), val_fraction=0.25))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (30, 10, 10)
    image, label = bundle.test[3]
    assert image.shape == (1, 28, 28) and label == int(test_y[3])
    expected = (torch.tensor(test_x[3] / 255.0, dtype=torch.float32) - bundle.mean[0]) / bundle.std[0]
    torch.testing.assert_close(image[0], expected, atol=1e-5, rtol=1e-5)
    assert bundle.mean[0] == pytest.approx(train_x.mean() / 255, abs=1e-4)  # statistics of the training split


def test_fashion_mnist_in_torchvision_layout(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "root" / "FashionMNIST" / "raw", compress=False)
    assert len(load_dataset(DataConfig(root=str(tmp_path / "root"))).test) == 10


def test_fashion_mnist_missing_is_one_line(tmp_path, no_system_fmnist) -> None:
    with pytest.raises(UserError, match="apt-get install -y dataset-fashion-mnist") as err:
        load_dataset(DataConfig(root=str(tmp_path / "empty")))
    assert "\n" not in str(err.value)


def test_fashion_mnist_truncated_file(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm", compress=False)
    path = tmp_path / "fm" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        load_dataset(DataConfig(root=str(tmp_path / "fm")))


def test_splits_are_deterministic(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    a = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=1))
    b = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=1))
    c = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=2))
    assert a.val.indices == b.val.indices and a.val.indices != c.val.indices
    assert not set(a.train.indices) & set(a.val.indices)


def _cifar_batch(n: int, classes: int, fine: bool) -> dict:
    rng = np.random.default_rng(n)
    labels = rng.integers(0, classes, n).tolist()
    return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), ("fine_labels" if fine else "labels"): labels}


def test_cifar10(tmp_path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(_cifar_batch(4, 10, False)))
    (folder / "test_batch").write_bytes(pickle.dumps(_cifar_batch(6, 10, False)))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    bundle = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), img_size=16, val_fraction=0.2))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (16, 4, 6)
    image, label = bundle.test[0]
    assert image.shape == (3, 16, 16) and 0 <= label < 10 and bundle.num_classes == 10
    assert bundle.class_names[0] == "c0"


def test_cifar100(tmp_path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(_cifar_batch(10, 100, True)))
    (folder / "test").write_bytes(pickle.dumps(_cifar_batch(5, 100, True)))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{i}" for i in range(100)]}))
    bundle = load_dataset(DataConfig(name="cifar100", root=str(tmp_path), img_size=32))
    assert bundle.num_classes == 100 and len(bundle.test) == 5 and bundle.test[0][0].shape == (3, 32, 32)


def test_stl10(tmp_path) -> None:
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 10), ("test", 4)):
        rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8).tofile(folder / f"{split}_X.bin")
        rng.integers(1, 11, n, dtype=np.uint8).tofile(folder / f"{split}_y.bin")  # STL-10 labels are 1-based
    (folder / "class_names.txt").write_text("\n".join(f"k{i}" for i in range(10)))
    bundle = load_dataset(DataConfig(name="stl10", root=str(tmp_path), img_size=32, augment=True))
    image, label = bundle.test[1]
    assert image.shape == (3, 32, 32) and 0 <= label < 10
    assert len(bundle.train) + len(bundle.val) == 10


def test_celeba_binary_attribute(tmp_path) -> None:
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 9)]  # torchvision's CelebA needs >= 2 images per split
    for name in names:
        Image.fromarray(np.full((20, 16, 3), 100, dtype=np.uint8)).save(folder / "img_align_celeba" / name)
    attrs = ["Male", "Gray_Hair", "Smiling"]
    gray = [1, -1, 1, -1, 1, -1, 1, -1]
    (folder / "list_attr_celeba.txt").write_text(
        f"{len(names)}\n{' '.join(attrs)}\n" + "".join(f"{n} -1 {g} 1\n" for n, g in zip(names, gray)))
    partition = [0, 0, 0, 0, 1, 1, 2, 2]
    (folder / "list_eval_partition.txt").write_text("".join(f"{n} {p}\n" for n, p in zip(names, partition)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} {i}\n" for i, n in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 0 0 5 5\n" for n in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{len(names)}\nlefteye_x lefteye_y\n" + "".join(f"{n} 1 1\n" for n in names))
    bundle = load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (4, 2, 2)
    assert [bundle.train[i][1] for i in range(4)] == [1, 0, 1, 0]  # Gray_Hair, -1 -> 0
    assert bundle.num_classes == 2 and bundle.train[0][0].shape == (3, 16, 16)
    with pytest.raises(UserError, match="did you mean 'Gray_Hair'"):
        load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16, attribute="Grey_Hair"))


def test_imagefolder_with_and_without_splits(tmp_path) -> None:
    for split in ("train", "test"):
        for cls in ("cat", "dog"):
            (tmp_path / "split" / split / cls).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((10, 10, 3), 60 * i, dtype=np.uint8)).save(
                    tmp_path / "split" / split / cls / f"{i}.png")
                (tmp_path / "flat" / cls).mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((10, 10, 3), 60 * i, dtype=np.uint8)).save(
                    tmp_path / "flat" / cls / f"{split}{i}.png")
    split = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "split"), img_size=8, val_fraction=0.34))
    assert split.class_names == ["cat", "dog"] and len(split.test) == 6 and len(split.train) + len(split.val) == 6
    flat = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "flat"), img_size=8, val_fraction=0.25))
    sizes = (len(flat.train), len(flat.val), len(flat.test))
    assert sum(sizes) == 12 and min(sizes) >= 1
    assert flat.test[0][0].shape == (3, 8, 8)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "stl10", "celeba", "imagefolder"])
def test_missing_dataset_is_one_line(tmp_path, name: str) -> None:
    with pytest.raises(UserError, match="--data-root") as err:
        load_dataset(DataConfig(name=name, root=str(tmp_path / "nothing"), img_size=16))
    assert "\n" not in str(err.value)


def test_cluttered_masks_and_determinism(tmp_path, no_system_fmnist) -> None:
    train_x, _, test_x, test_y = write_fmnist(tmp_path / "fm")
    config = DataConfig(name="cluttered-fashion-mnist", root=str(tmp_path / "fm"), img_size=56, seed=3)
    bundle = load_dataset(config)
    assert bundle.has_masks and bundle.img_size == 56
    image, label, mask = bundle.test[2]
    assert image.shape == (1, 56, 56) and mask.shape == (56, 56) and mask.dtype == torch.bool
    assert label == int(test_y[2])
    raw, raw_mask = bundle.test.raw(2)
    # the mask is the item's footprint: find where the item was pasted and compare
    item = test_x[2].astype(np.uint8)
    found = [(t, left) for t in range(29) for left in range(29)
             if (raw[t:t + 28, left:left + 28][item > 10] == item[item > 10]).all()
             and np.array_equal(raw_mask[t:t + 28, left:left + 28], item > 10)]
    assert found, "item footprint not found on the canvas"
    assert raw_mask.sum() == (item > 10).sum()
    again = load_dataset(config)
    assert np.array_equal(again.test.raw(2)[0], raw)
    other = load_dataset(DataConfig(name="cluttered-fashion-mnist", root=str(tmp_path / "fm"), img_size=56, seed=4))
    assert not np.array_equal(other.test.raw(2)[0], raw)
    assert (raw > 10).sum() > raw_mask.sum()  # distractor fragments are on the canvas too


def test_synthetic_dataset() -> None:
    bundle = load_dataset(DataConfig(name="synthetic", img_size=16, channels=3))
    image, label, mask = bundle.test[0]
    assert image.shape == (3, 16, 16) and 0 <= label < 10 and mask.any()
