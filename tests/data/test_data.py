"""Every loader on tiny files the test writes in the real on-disk format, through the same code.

No test touches the network or the machine's real datasets: Fashion-MNIST's Debian folder and cache are
pointed at empty tmp dirs and IABENCH_OFFLINE=1 (conftest) disables the download.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from support import write_fmnist
from torchvision import transforms

import iabench.data.fashion_mnist as fm
from iabench.config import DataConfig
from iabench.data import DATASETS, load_dataset
from iabench.data.cluttered import canvas_stats
from iabench.data.config_options import data_config
from iabench.data.torchvision_sets import STATS
from iabench.errors import UserError

# ---------------------------------------------------------------------------------------------- writers








# ---------------------------------------------------------------------------------------------- Fashion-MNIST


@pytest.mark.parametrize("compress", [True, False])
def test_fashion_mnist_from_idx_files(tmp_path, no_system_fmnist, compress: bool) -> None:
    train_x, train_y, test_x, test_y = write_fmnist(tmp_path / "fm", compress=compress)
    bundle = load_dataset(DataConfig(root=str(tmp_path / "fm"), val_fraction=0.25))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (30, 10, 10)
    assert bundle.source == str(tmp_path / "fm") and bundle.in_chans == 1 and bundle.num_classes == 10
    assert [bundle.test[i][1] for i in range(10)] == test_y.tolist()
    assert [bundle.train[i][1] for i in range(3)] == train_y[bundle.train.indices[:3]].tolist()
    image, _ = bundle.test[3]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    expected = (torch.tensor(test_x[3] / 255.0, dtype=torch.float32) - bundle.mean[0]) / bundle.std[0]
    torch.testing.assert_close(image[0], expected, atol=1e-5, rtol=1e-5)
    assert bundle.mean[0] == pytest.approx(train_x.mean() / 255, abs=1e-4)  # statistics of the training split
    assert bundle.std[0] == pytest.approx(train_x.std(ddof=1) / 255, abs=1e-4)


def test_fashion_mnist_in_torchvision_layout(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "root" / "FashionMNIST" / "raw", compress=False)
    assert len(load_dataset(DataConfig(root=str(tmp_path / "root"))).test) == 10


def test_fashion_mnist_search_order(tmp_path, no_system_fmnist, monkeypatch) -> None:
    """--data-root first, then the Debian folder."""
    debian = tmp_path / "debian"
    write_fmnist(debian, n_test=7)
    monkeypatch.setattr(fm, "DEBIAN_DIR", debian)
    write_fmnist(tmp_path / "mine", n_test=5)
    assert len(load_dataset(DataConfig(root=str(tmp_path / "mine"))).test) == 5
    fallback = load_dataset(DataConfig(root=""))
    assert len(fallback.test) == 7 and fallback.source == str(debian)


def test_fashion_mnist_missing_is_one_line(tmp_path, no_system_fmnist) -> None:
    with pytest.raises(UserError) as err:
        load_dataset(DataConfig(root=str(tmp_path / "empty")))
    assert str(err.value) == fm.HOW_TO_GET and "\n" not in fm.HOW_TO_GET
    assert "apt-get install -y dataset-fashion-mnist" in fm.HOW_TO_GET and "--data-root" in fm.HOW_TO_GET


def test_fashion_mnist_truncated_file(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm", compress=False)
    path = tmp_path / "fm" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        load_dataset(DataConfig(root=str(tmp_path / "fm")))


def test_fashion_mnist_truncated_idx_inside_gz(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    path = tmp_path / "fm" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-3]))
    with pytest.raises(UserError, match="truncated"):
        load_dataset(DataConfig(root=str(tmp_path / "fm")))


def test_fashion_mnist_not_idx(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm", compress=False)
    (tmp_path / "fm" / "train-labels-idx1-ubyte").write_bytes(b"<html>404 Not Found</html>")
    with pytest.raises(UserError, match="not an unsigned-byte IDX file"):
        load_dataset(DataConfig(root=str(tmp_path / "fm")))


@pytest.mark.parametrize("damage", ["cut-stream", "not-gzip"])
def test_fashion_mnist_corrupt_gz(tmp_path, no_system_fmnist, damage: str) -> None:
    write_fmnist(tmp_path / "fm")
    path = tmp_path / "fm" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40] if damage == "cut-stream" else b"not a gzip file at all")
    with pytest.raises(UserError):
        load_dataset(DataConfig(root=str(tmp_path / "fm")))


def test_splits_are_deterministic(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    a = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=1))
    b = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=1))
    c = load_dataset(DataConfig(root=str(tmp_path / "fm"), seed=2))
    assert a.val.indices == b.val.indices and a.val.indices != c.val.indices
    assert not set(a.train.indices) & set(a.val.indices)
    assert sorted(a.train.indices + a.val.indices) == list(range(40))


# ---------------------------------------------------------------------------------------------- CIFAR


def _cifar_batch(n: int, classes: int, fine: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "batch_label": "test batch"}
    batch["fine_labels" if fine else "labels"] = rng.integers(0, classes, n).tolist()
    if fine:
        batch["coarse_labels"] = [0] * n
    return batch


def _as_chw(row: np.ndarray) -> torch.Tensor:
    """A CIFAR row (3072 bytes: the red plane, then green, then blue, each row-major 32x32) as (3, 32, 32)."""
    return torch.from_numpy(row.reshape(3, 32, 32).astype(np.float32) / 255.0)


def _normalised(chw: torch.Tensor, mean: list[float], std: list[float]) -> torch.Tensor:
    return (chw - torch.tensor(mean).view(-1, 1, 1)) / torch.tensor(std).view(-1, 1, 1)


def write_cifar10(root: Path, per_batch: int = 4, n_test: int = 6) -> tuple[list[dict], dict]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train = [_cifar_batch(per_batch, 10, False, seed=i) for i in range(1, 6)]
    for i, batch in enumerate(train, 1):
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(batch))
    test = _cifar_batch(n_test, 10, False, seed=99)
    (folder / "test_batch").write_bytes(pickle.dumps(test))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return train, test


def test_cifar10(tmp_path) -> None:
    train, test = write_cifar10(tmp_path)
    bundle = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), img_size=32, val_fraction=0.2))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (16, 4, 6)
    assert bundle.num_classes == 10 and bundle.in_chans == 3 and bundle.class_names[0] == "c0"
    assert (bundle.mean, bundle.std) == STATS["cifar10"]
    assert [bundle.test[i][1] for i in range(6)] == test["labels"]
    image, _ = bundle.test[2]
    torch.testing.assert_close(image, _normalised(_as_chw(test["data"][2]), *STATS["cifar10"]))
    # the train/val items are the five batches concatenated, in order
    all_train = np.concatenate([b["data"] for b in train])
    k = bundle.val.indices[0]
    torch.testing.assert_close(bundle.val[0][0], _normalised(_as_chw(all_train[k]), *STATS["cifar10"]))
    # --data-root may name the dataset's own folder
    inner = load_dataset(DataConfig(name="cifar10", root=str(tmp_path / "cifar-10-batches-py"), img_size=16))
    assert len(inner.test) == 6 and inner.test[0][0].shape == (3, 16, 16)


def test_cifar_augmentation_does_not_reach_val(tmp_path) -> None:
    train, _ = write_cifar10(tmp_path)
    config = DataConfig(name="cifar10", root=str(tmp_path), img_size=32, val_fraction=0.25, augment=True,
                        mean=[0.5] * 3, std=[0.5] * 3)
    bundle = load_dataset(config)
    assert (bundle.mean, bundle.std) == ([0.5] * 3, [0.5] * 3)
    all_train = np.concatenate([b["data"] for b in train])
    for j, k in enumerate(bundle.val.indices):  # val: exact pixels, every time
        torch.testing.assert_close(bundle.val[j][0], _normalised(_as_chw(all_train[k]), [0.5] * 3, [0.5] * 3))
    steps = [type(t) for t in bundle.train.dataset.transform.transforms]
    assert transforms.RandomResizedCrop in steps and transforms.RandomHorizontalFlip in steps
    assert transforms.RandomResizedCrop not in [type(t) for t in bundle.val.dataset.transform.transforms]
    assert bundle.train.dataset is not bundle.val.dataset  # two dataset objects over the same files ...
    assert not set(bundle.train.indices) & set(bundle.val.indices)  # ... and one split
    torch.manual_seed(0)
    first = torch.stack([bundle.train[0][0] for _ in range(4)])
    assert first.shape == (4, 3, 32, 32) and not all(torch.equal(first[0], f) for f in first[1:])
    no_aug = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), img_size=32, val_fraction=0.25))
    assert no_aug.train.indices == bundle.train.indices and no_aug.val.indices == bundle.val.indices


def test_cifar_splits_follow_the_seed(tmp_path) -> None:
    write_cifar10(tmp_path, per_batch=8)
    split = lambda seed: load_dataset(DataConfig(name="cifar10", root=str(tmp_path), seed=seed, img_size=8)).val.indices  # noqa: E731
    assert split(5) == split(5) and split(5) != split(6)
    limited = load_dataset(DataConfig(name="cifar10", root=str(tmp_path), img_size=8, limit_train=3))
    assert len(limited.train) == 3


def test_cifar100(tmp_path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(_cifar_batch(10, 100, True, seed=1)))
    test = _cifar_batch(5, 100, True, seed=2)
    (folder / "test").write_bytes(pickle.dumps(test))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"f{i}" for i in range(100)]}))
    bundle = load_dataset(DataConfig(name="cifar100", root=str(tmp_path), img_size=32, val_fraction=0.2))
    assert bundle.num_classes == 100 and bundle.class_names[99] == "f99"
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (8, 2, 5)
    assert [bundle.test[i][1] for i in range(5)] == test["fine_labels"]
    torch.testing.assert_close(bundle.test[4][0], _normalised(_as_chw(test["data"][4]), *STATS["cifar100"]))


def test_cifar_corrupt_batch_is_user_error(tmp_path) -> None:
    write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(UserError, match="cifar10: cannot load") as err:
        load_dataset(DataConfig(name="cifar10", root=str(tmp_path)))
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------- STL-10


def test_stl10(tmp_path) -> None:
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = {}
    for split, n in (("train", 10), ("test", 4)):
        # the file stores each image as 3 planes of 96x96 in column-major order
        data[split] = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
        data[split].tofile(folder / f"{split}_X.bin")
        data[split + "_y"] = rng.integers(1, 11, n, dtype=np.uint8)  # STL-10 labels are 1-based
        data[split + "_y"].tofile(folder / f"{split}_y.bin")
    bundle = load_dataset(DataConfig(name="stl10", root=str(tmp_path), img_size=96, val_fraction=0.2))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (8, 2, 4)
    assert bundle.class_names[0] == "airplane"  # class_names.txt is optional
    assert [bundle.test[i][1] for i in range(4)] == (data["test_y"] - 1).tolist()
    chw = torch.from_numpy(data["test"][1].transpose(0, 2, 1).astype(np.float32) / 255.0)
    torch.testing.assert_close(bundle.test[1][0], _normalised(chw, *STATS["stl10"]))
    (folder / "class_names.txt").write_text("\n".join(f"k{i}" for i in range(10)))
    small = load_dataset(DataConfig(name="stl10", root=str(tmp_path), img_size=32, augment=True))
    assert small.class_names[3] == "k3" and small.test[1][0].shape == (3, 32, 32)
    assert small.train[0][0].shape == (3, 32, 32)


# ---------------------------------------------------------------------------------------------- CelebA


def write_celeba(root: Path, gray: list[int], partition: list[int]) -> Path:
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, len(gray) + 1)]
    for i, name in enumerate(names):
        Image.fromarray(np.full((22, 18, 3), 40 + 20 * i, dtype=np.uint8)).save(folder / "img_align_celeba" / name,
                                                                                  quality=100)
    attrs = ["Male", "Gray_Hair", "Smiling"]
    (folder / "list_attr_celeba.txt").write_text(
        f"{len(names)}\n{' '.join(attrs)}\n" + "".join(f"{n} -1  {g} 1\n" for n, g in zip(names, gray)))
    (folder / "list_eval_partition.txt").write_text("".join(f"{n} {p}\n" for n, p in zip(names, partition)))
    (folder / "identity_CelebA.txt").write_text("".join(f"{n} {i}\n" for i, n in enumerate(names)))
    (folder / "list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "".join(f"{n} 0 0 5 5\n" for n in names))
    (folder / "list_landmarks_align_celeba.txt").write_text(
        f"{len(names)}\nlefteye_x lefteye_y\n" + "".join(f"{n} 1 1\n" for n in names))
    return folder


def test_celeba_binary_attribute(tmp_path) -> None:
    # torchvision's CelebA needs >= 2 images per split (it squeezes the index tensor)
    gray, partition = [1, -1, 1, -1, 1, -1, -1, 1], [0, 0, 0, 0, 1, 1, 2, 2]
    write_celeba(tmp_path, gray, partition)
    bundle = load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (4, 2, 2)  # the file's own partition
    assert [bundle.train[i][1] for i in range(4)] == [1, 0, 1, 0]  # Gray_Hair, -1 -> 0
    assert [bundle.val[i][1] for i in range(2)] == [1, 0] and [bundle.test[i][1] for i in range(2)] == [0, 1]
    assert bundle.num_classes == 2 and bundle.class_names == ["not Gray_Hair", "Gray_Hair"]
    image = bundle.test[1][0]
    assert image.shape == (3, 16, 16)
    torch.testing.assert_close(image, torch.full_like(image, (180 / 255 - 0.5) / 0.5), atol=0.02, rtol=0)
    smiling = load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16, options={"attribute": "Smiling"}))
    assert [smiling.train[i][1] for i in range(4)] == [1, 1, 1, 1]
    with pytest.raises(UserError, match="did you mean 'Gray_Hair'"):
        load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16, options={"attribute": "Grey_Hair"}))


def test_celeba_needs_every_list_file(tmp_path) -> None:
    folder = write_celeba(tmp_path, [1, -1, 1, -1, 1, -1], [0, 0, 1, 1, 2, 2])
    (folder / "identity_CelebA.txt").unlink()
    with pytest.raises(UserError, match="identity_CelebA.txt") as err:
        load_dataset(DataConfig(name="celeba", root=str(tmp_path), img_size=16))
    assert "--data-root" in str(err.value)


# ---------------------------------------------------------------------------------------------- ImageFolder


def _png(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((10, 12, 3), value, dtype=np.uint8)).save(path)


def test_imagefolder_train_test(tmp_path) -> None:
    for split in ("train", "test"):
        for c, cls in enumerate(("cat", "dog")):
            for i in range(3):
                _png(tmp_path / split / cls / f"{i}.png", 100 * c + 10 * i)
    bundle = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8, val_fraction=0.34))
    assert bundle.class_names == ["cat", "dog"] and bundle.num_classes == 2
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (4, 2, 6)
    assert [bundle.test[i][1] for i in range(6)] == [0, 0, 0, 1, 1, 1]
    image = bundle.test[4][0]  # dog/1.png, value 110
    torch.testing.assert_close(image, torch.full((3, 8, 8), (110 / 255 - 0.5) / 0.5))


def test_imagefolder_train_val_test_and_class_mismatch(tmp_path) -> None:
    for split, n in (("train", 4), ("val", 2), ("test", 3)):
        for cls in ("cat", "dog"):
            for i in range(n):
                _png(tmp_path / split / cls / f"{i}.png", 50)
    bundle = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (8, 4, 6)
    _png(tmp_path / "test" / "bird" / "0.png", 50)
    with pytest.raises(UserError, match="differ"):
        load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8))


def test_imagefolder_single_tree(tmp_path) -> None:
    for cls in ("cat", "dog"):
        for i in range(10):
            _png(tmp_path / cls / f"{i}.png", 20 * i)
    load = lambda seed: load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8,  # noqa: E731
                                                val_fraction=0.25, seed=seed, augment=True))
    a, b, c = load(0), load(0), load(1)
    sizes = (len(a.train), len(a.val), len(a.test))
    assert sizes == (12, 4, 4)
    tree = a.test.dataset
    ids = lambda subset: {tree.samples[k][0] for k in subset.indices}  # noqa: E731
    resolve = lambda subset: {tree.samples[subset.dataset.indices[k]][0] for k in subset.indices}  # noqa: E731
    assert len(resolve(a.train) | resolve(a.val) | ids(a.test)) == 20  # disjoint and complete
    assert resolve(a.val) == resolve(b.val) and resolve(a.val) != resolve(c.val)  # train/val follow the seed
    assert ids(a.test) == ids(c.test)  # the test images do not
    assert a.test[0][0].shape == (3, 8, 8)
    for cls in ("cat", "dog"):  # train/ alone is split three ways too
        for i in range(5):
            _png(tmp_path / "only" / "train" / cls / f"{i}.png", 20 * i)
    only = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "only"), img_size=8))
    assert only.class_names == ["cat", "dog"] and len(only.train) + len(only.val) + len(only.test) == 10
    with pytest.raises(UserError, match="no '"):
        (tmp_path / "x" / "val" / "cat").mkdir(parents=True)
        load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "x")))


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "stl10", "celeba", "imagefolder"])
def test_missing_dataset_is_one_line(tmp_path, name: str) -> None:
    with pytest.raises(UserError, match="--data-root") as err:
        load_dataset(DataConfig(name=name, root=str(tmp_path / "nothing"), img_size=16))
    assert "\n" not in str(err.value) and str(tmp_path / "nothing") in str(err.value)
    assert name in str(err.value) and "download" not in str(err.value)  # iabench never downloads these


def test_every_dataset_is_registered() -> None:
    expected = {"fashion-mnist", "cluttered-fashion-mnist", "cifar10", "cifar100", "stl10", "celeba", "imagefolder"}
    assert expected <= set(DATASETS.names())


# ---------------------------------------------------------------------------------------------- cluttered


def _cluttered(root: Path, **keys: object) -> DataConfig:
    """A data section as a suite writes it: common keys and the dataset's options side by side."""
    return data_config({"name": "cluttered-fashion-mnist", "root": str(root), "img_size": 56, **keys})


def _check_footprint(raw: np.ndarray, mask: np.ndarray, item: np.ndarray) -> None:
    """The mask is exactly the item's nonzero pixels where it was pasted, and those pixels are the item's."""
    ys, xs = np.nonzero(item)
    my, mx = np.nonzero(mask)
    top, left = my.min() - ys.min(), mx.min() - xs.min()  # where the item's 28x28 box was pasted
    assert 0 <= top <= raw.shape[0] - 28 and 0 <= left <= raw.shape[1] - 28
    expected = np.zeros_like(mask)
    expected[top:top + 28, left:left + 28] = item > 0
    assert np.array_equal(mask, expected)
    np.testing.assert_array_equal(raw[top:top + 28, left:left + 28][item > 0], item[item > 0])


def test_cluttered_masks_match_the_pasted_item(tmp_path, no_system_fmnist) -> None:
    train_x, train_y, test_x, test_y = write_fmnist(tmp_path / "fm")
    bundle = load_dataset(_cluttered(tmp_path / "fm", seed=3))
    assert bundle.has_masks and bundle.img_size == 56 and bundle.in_chans == 1
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (36, 4, 10)
    for i in range(10):
        image, label, masks = bundle.test[i]
        mask = masks["object"]
        assert image.shape == (1, 56, 56) and mask.shape == (56, 56) and mask.dtype == torch.bool
        assert label == int(test_y[i])
        raw, raw_mask = bundle.test.raw(i)
        assert raw.dtype == np.uint8 and np.array_equal(mask.numpy(), raw_mask)
        _check_footprint(raw, raw_mask, test_x[i])
        assert ((raw > 0) & ~raw_mask).sum() > 50  # fragments of other items are on the canvas too
        torch.testing.assert_close(image[0], (torch.from_numpy(raw / 255.0).float() - bundle.mean[0]) / bundle.std[0])
    k = bundle.train.indices[5]
    _check_footprint(*bundle.train.dataset.raw(k), train_x[k])
    assert bundle.train[5][1] == int(train_y[k])


def test_cluttered_without_distractors_is_the_item_alone(tmp_path, no_system_fmnist) -> None:
    _, _, test_x, _ = write_fmnist(tmp_path / "fm")
    bundle = load_dataset(_cluttered(tmp_path / "fm", distractors=0, canvas=40))
    raw, mask = bundle.test.raw(1)
    assert raw.shape == (40, 40) and np.array_equal(raw > 0, mask)
    assert np.array_equal(np.sort(raw[mask]), np.sort(test_x[1][test_x[1] > 0]))


def test_cluttered_is_deterministic(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    a, b = load_dataset(_cluttered(tmp_path / "fm", seed=3)), load_dataset(_cluttered(tmp_path / "fm", seed=3))
    c = load_dataset(_cluttered(tmp_path / "fm", seed=4))
    canvases = lambda bundle: np.stack([bundle.test.raw(i)[0] for i in range(10)])  # noqa: E731
    assert canvases(a).tobytes() == canvases(b).tobytes()  # byte-identical
    assert [a.test.raw(i)[0].tobytes() for i in (7, 2)] == [b.test.raw(i)[0].tobytes() for i in (7, 2)]  # any order
    assert not np.array_equal(canvases(a), canvases(c))
    assert a.val.indices == b.val.indices and a.val.indices != c.val.indices
    assert (a.mean, a.std) == (b.mean, b.std)
    assert a.test.split_code != a.train.dataset.split_code  # train and test canvases have their own seeds


def test_cluttered_statistics_and_resize(tmp_path, no_system_fmnist) -> None:
    write_fmnist(tmp_path / "fm")
    bundle = load_dataset(_cluttered(tmp_path / "fm", img_size=28, val_fraction=0.25))
    full = bundle.train.dataset
    canvases = np.stack([full.raw(k)[0] for k in bundle.train.indices]) / 255.0  # the training split only
    assert bundle.mean[0] == pytest.approx(canvases.mean(), abs=1e-4)
    assert bundle.std[0] == pytest.approx(canvases.std(ddof=1), abs=1e-4)
    assert (bundle.mean, bundle.std) == canvas_stats(full, bundle.train.indices)
    image, _, masks = bundle.test[0]
    mask = masks["object"]
    assert image.shape == (1, 28, 28) and mask.shape == (28, 28) and mask.dtype == torch.bool and mask.any()
    fixed = load_dataset(_cluttered(tmp_path / "fm", mean=[0.5], std=[0.25]))
    raw = fixed.test.raw(0)[0]
    torch.testing.assert_close(fixed.test[0][0][0], (torch.from_numpy(raw / 255.0).float() - 0.5) / 0.25)
    with pytest.raises(UserError, match="canvas"):
        load_dataset(_cluttered(tmp_path / "fm", canvas=20))


def test_cluttered_missing_fmnist_is_one_line(tmp_path, no_system_fmnist) -> None:
    with pytest.raises(UserError) as err:
        load_dataset(_cluttered(tmp_path / "nothing"))
    assert str(err.value) == fm.HOW_TO_GET


def test_synthetic_dataset() -> None:
    bundle = load_dataset(DataConfig(name="synthetic", img_size=16, options={"channels": 3}))
    image, label, masks = bundle.test[0]
    assert list(masks) == ["glyph"] and bundle.masks == ("glyph",)
    assert image.shape == (3, 16, 16) and 0 <= label < 10 and masks["glyph"].sum() == 25  # the 5x5 glyph square


def test_imagefolder_single_tree_is_all_test_when_nothing_is_trained(tmp_path) -> None:
    # --checkpoint sets data.eval_only: a single <class>/ tree is entirely the evaluation split, in file order
    for c, cls in enumerate(("a", "b", "c")):
        for i in range(3):
            _png(tmp_path / "tree" / cls / f"{i}.png", 30 * c + i)
    bundle = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "tree"), img_size=8, eval_only=True))
    assert (len(bundle.train), len(bundle.val), len(bundle.test)) == (0, 0, 9)
    assert [bundle.test[k][1] for k in range(9)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    torch.testing.assert_close(bundle.test[7][0], torch.full((3, 8, 8), (61 / 255 - 0.5) / 0.5))  # c/1.png
    for split in ("train", "test"):  # train/ + test/: test/ is the evaluation split as before
        for cls in ("a", "b"):
            for i in range(2 if split == "test" else 4):
                _png(tmp_path / "split" / split / cls / f"{i}.png", 10)
    split = load_dataset(DataConfig(name="imagefolder", root=str(tmp_path / "split"), img_size=8, eval_only=True))
    assert len(split.test) == 4


def test_an_unreadable_image_is_one_line_naming_the_file(tmp_path) -> None:
    for split in ("train", "test"):
        for cls in ("a", "b"):
            _png(tmp_path / split / cls / "0.png", 10)
    bad = tmp_path / "test" / "b" / "bad.png"
    bad.write_bytes(b"notapng")  # 7 bytes: what PIL cannot identify
    expected = r"imagefolder: '.*test/b/bad\.png' is not a readable image .*remove or replace"
    with pytest.raises(UserError, match=expected):
        load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8))
    bad.unlink()
    assert len(load_dataset(DataConfig(name="imagefolder", root=str(tmp_path), img_size=8)).test) == 2
