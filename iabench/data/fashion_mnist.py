"""Fashion-MNIST (Xiao et al. 2017) from the standard IDX .gz files.

Search order: ``DataConfig.root`` (the files directly in it, or in ``FashionMNIST/raw``), then
``/usr/share/datasets/fashion-mnist/`` (Debian package ``dataset-fashion-mnist``), then
torchvision's download into ``~/.cache/iabench/data`` when the machine is online.
"""

from __future__ import annotations

import gzip
import os
import socket
from pathlib import Path

import numpy as np
import torch

from ..config import DataConfig
from ..contract import NoOptions
from ..errors import UserError
from . import DATASETS, DataBundle, DatasetPlugin, split_train_val
from .tensor_dataset import ImageTensorDataset, channel_stats

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
HOW_TO_GET = ("Fashion-MNIST not found: install it with 'apt-get install -y dataset-fashion-mnist' (files in "
              f"{DEBIAN_DIR}) or pass --data-root DIR holding the four IDX files "
              "(train-images-idx3-ubyte.gz, ...)")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped). Written by hand: torchvision's reader only takes the
    uncompressed files inside its own folder layout, while the Debian package ships flat .gz files."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (EOFError, gzip.BadGzipFile, OSError) as err:  # a cut or foreign .gz: one line, not a traceback
        raise UserError(f"{path} cannot be read ({type(err).__name__}: {err}); re-install or re-download it") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise UserError(f"{path} is not an unsigned-byte IDX file; re-install or re-download it")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape))
    if len(data) - offset != expected:
        raise UserError(f"{path} is truncated ({len(data) - offset} of {expected} bytes); re-install it")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _find_in(directory: Path) -> dict[str, Path] | None:
    found = {}
    for key, stem in FILES.items():
        for candidate in (directory / f"{stem}.gz", directory / stem):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def locate(root: str) -> dict[str, Path]:
    """The four IDX files, from the first place that has all of them; else a UserError."""
    places = []
    if root:
        places += [Path(root), Path(root) / "FashionMNIST" / "raw", Path(root) / "fashion-mnist"]
    places.append(DEBIAN_DIR)
    cache = Path(os.environ.get("IABENCH_DATA", Path.home() / ".cache" / "iabench" / "data"))
    places.append(cache / "FashionMNIST" / "raw")
    for place in places:
        found = _find_in(place)
        if found:
            return found
    if os.environ.get("IABENCH_OFFLINE", "") != "1" and _download(cache):
        found = _find_in(cache / "FashionMNIST" / "raw")
        if found:
            return found
    raise UserError(HOW_TO_GET)


def _download(cache: Path) -> bool:
    """torchvision's download, with a short timeout so an offline machine fails fast."""
    from torchvision.datasets import FashionMNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)
    try:
        FashionMNIST(str(cache), train=True, download=True)
        FashionMNIST(str(cache), train=False, download=True)
        return True
    except Exception:  # offline, DNS failure, HTTP error: all mean "not available here"
        return False
    finally:
        socket.setdefaulttimeout(previous)


def load_arrays(root: str) -> tuple[dict[str, torch.Tensor], str]:
    files = locate(root)
    arrays = {key: torch.from_numpy(read_idx(path).copy()) for key, path in files.items()}
    return arrays, str(files["train_images"].parent)


@DATASETS.register
class FashionMNIST(DatasetPlugin):
    name = "fashion-mnist"
    in_chans = 1
    description = "Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test 28x28 grey garments, 10 classes"

    @classmethod
    def load(cls, config: DataConfig, options: NoOptions) -> DataBundle:
        return load_fashion_mnist(config)


def load_fashion_mnist(config: DataConfig) -> DataBundle:
    arrays, source = load_arrays(config.root)
    train_images, train_labels = arrays["train_images"], arrays["train_labels"]
    if config.mean is None or config.std is None:
        mean, std = channel_stats(train_images)  # statistics of the full training split
    else:
        mean, std = config.mean, config.std
    full_train = ImageTensorDataset(train_images, train_labels, mean, std, config.img_size)
    train, val = split_train_val(full_train, config.val_fraction, config.seed)
    if config.limit_train:
        train = torch.utils.data.Subset(full_train, train.indices[: config.limit_train])
    test = ImageTensorDataset(arrays["test_images"], arrays["test_labels"], mean, std, config.img_size)
    return DataBundle("fashion-mnist", train, val, test, num_classes=10, in_chans=1, img_size=config.img_size,
                      mean=mean, std=std, class_names=CLASS_NAMES, source=source)
