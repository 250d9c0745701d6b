"""What removed pixels become in the perturbation metrics (insertion, deletion, MoRF, LeRF).

- ``zeros``: zeros of the normalised input space, i.e. the dataset mean (the IA-ViT paper);
- ``blur``: a Gaussian blur of the image (RISE's insertion substrate: kernel 11, sigma 5);
- ``mean``: a given per-channel value (``mean_value``);
- ``black``: a black pixel, i.e. raw value 0 in the model's input space, -mean/std per channel
  (``black_value``; an iabench run sets it from the dataset's normalisation). On Fashion-MNIST, whose
  background is black, it is the background, where ``zeros`` is the mean image (a grey);
- ``noise``: uniform noise between each image's per-channel minimum and maximum (its data range), drawn
  from a generator seeded by the image's bytes and ``seed``: the same map for an image alone or in a batch;
- ``road``: noisy linear imputation (Rong et al. 2022, ICML, "A Consistent and Efficient Evaluation
  Strategy for Attribution Methods", Sec. 4): every removed pixel becomes the weighted mean of its eight
  neighbours (1/6 direct, 1/12 diagonal), all removed pixels solved together as one sparse linear system,
  plus Gaussian noise (std ``road_noise``, 0.01 as Quantus). Unlike the others it depends on which pixels
  are removed, so it is computed per curve step.

ROAD imputation is written here, not taken from Quantus, because Quantus' ``noisy_linear_imputation``
works on numpy arrays and rebuilds its equation system (a LIL matrix filled offset by offset) for every
image and step; this version builds the grid's neighbour matrix once and slices it, and draws its noise
from per-image seeds so a curve does not depend on batching (the tests compare the two without noise;
``benchmarks/bench_substrates.py`` times both).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import splu
from torchvision.transforms.functional import gaussian_blur

from iabench.seeding import image_generator

SUBSTRATES = ("zeros", "blur", "mean", "black", "noise", "road")
# builds the perturbed images of a chunk: (sample indices, step indices, moved masks (N, 1, H, W)) -> images
Fill = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# (row offset, column offset, weight) of the eight neighbours in ROAD's imputation
NEIGHBOURS = [(dr, dc, 1 / 6 if dr == 0 or dc == 0 else 1 / 12)
              for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def black_value(mean: Sequence[float], std: Sequence[float]) -> list[float]:
    """The model-input value of a black pixel (raw 0) per channel, under normalisation (x - mean) / std."""
    return [-float(m) / float(s) for m, s in zip(mean, std)]


def substrate_for(images: torch.Tensor, kind: str, mean_value: Sequence[float] | None = None,
                  blur_kernel: int = 11, blur_sigma: float = 5.0, seed: int = 0,
                  black: Sequence[float] | None = None) -> torch.Tensor:
    """The fixed substrate (B, C, H, W) of ``zeros``, ``blur``, ``mean``, ``black`` and ``noise``. For ``road``
    the image itself: its removed pixels are imputed per step by :func:`road_impute`."""
    if kind == "zeros":
        return torch.zeros_like(images)
    if kind == "blur":
        kernel = min(blur_kernel, 2 * (min(images.shape[-2:]) // 2) - 1)
        return gaussian_blur(images, [kernel, kernel], [blur_sigma, blur_sigma])
    if kind == "black" and black is None:
        raise ValueError("substrate 'black' needs black_value, a black pixel's value in the model's input space per "
                         "channel (-mean/std; an iabench run sets it from the dataset's normalisation)")
    if kind in ("mean", "black"):
        value = black if kind == "black" else mean_value
        value = torch.as_tensor(value if value is not None else [0.0] * images.shape[1],
                                dtype=images.dtype, device=images.device)
        return value.view(1, -1, 1, 1).expand_as(images).clone()
    if kind == "noise":
        low, high = images.amin(dim=(2, 3), keepdim=True), images.amax(dim=(2, 3), keepdim=True)
        # salt 0: not the random control's stream (no salt), so its order and these values are independent
        unit = torch.stack([torch.rand(image.shape, generator=image_generator(image, seed, 0)) for image in images])
        return low + unit.to(images.device, images.dtype) * (high - low)
    if kind == "road":
        return images.clone()
    raise ValueError(f"unknown substrate '{kind}'; choose from {', '.join(SUBSTRATES)}")


def neighbour_matrix(height: int, width: int) -> sp.csr_matrix:
    """L (HW x HW): L_uu = the summed weight of u's in-image neighbours, L_uv = -w_uv. For removed pixels U
    and kept pixels K, ROAD's equations s_u x_u = sum_v w_uv x_v read L_UU x_U = -L_UK x_K."""
    rows, cols = np.mgrid[0:height, 0:width]
    index = rows * width + cols
    entries_r, entries_c, values = [], [], []
    diagonal = np.zeros(height * width)
    for dr, dc, weight in NEIGHBOURS:
        valid = (rows + dr >= 0) & (rows + dr < height) & (cols + dc >= 0) & (cols + dc < width)
        entries_r.append(index[valid])
        entries_c.append(index[valid] + dr * width + dc)
        values.append(np.full(valid.sum(), -weight))
        diagonal[index[valid]] += weight
    matrix = sp.coo_matrix((np.concatenate(values), (np.concatenate(entries_r), np.concatenate(entries_c))),
                           shape=(height * width,) * 2) + sp.diags(diagonal)
    return matrix.tocsr()


def road_impute(image: torch.Tensor, removed: torch.Tensor, matrix: sp.csr_matrix, noise: float = 0.01,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """One image (C, H, W) with its ``removed`` (H, W) pixels imputed. With every pixel removed there is
    nothing to interpolate from (the system is singular): the removed pixels become 0, the dataset mean."""
    flat_removed = removed.flatten().cpu().numpy()
    unknown, known = np.flatnonzero(flat_removed), np.flatnonzero(~flat_removed)
    if unknown.size == 0:
        return image
    values = image.detach().reshape(image.shape[0], -1).cpu().double().numpy()  # (C, HW)
    out = values.copy()
    if known.size:
        rhs = -(matrix[unknown][:, known] @ values[:, known].T)  # (U, C)
        out[:, unknown] = splu(matrix[unknown][:, unknown].tocsc()).solve(np.ascontiguousarray(rhs)).T
    else:
        out[:, unknown] = 0.0
    imputed = torch.from_numpy(out).to(image.dtype).reshape(image.shape)
    if noise:
        mask = torch.from_numpy(flat_removed).reshape(image.shape[-2:])
        imputed = imputed + noise * torch.randn(imputed.shape, generator=generator) * mask
    return imputed.to(image.device)


def road_fill(images: torch.Tensor, insertion: bool, noise: float, seed: int) -> Fill:
    """ROAD's per-step images: removed pixels (deletion: the moved ones; insertion: those not yet inserted)
    imputed from the rest; the noise of each (image, step) is seeded by the image and the step."""
    matrix = neighbour_matrix(*images.shape[-2:])

    def fill(sample: torch.Tensor, step: torch.Tensor, moved: torch.Tensor) -> torch.Tensor:
        out = []
        for i, s, m in zip(sample.tolist(), step.tolist(), moved[:, 0]):
            removed = ~m if insertion else m
            out.append(road_impute(images[i], removed, matrix, noise, image_generator(images[i], seed, s)))
        return torch.stack(out)

    return fill
