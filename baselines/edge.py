"""A model-free control: the Sobel gradient magnitude of the image itself.

Reference: Clark et al. 2024, XAI-TRIS (Machine Learning), where many attribution methods do not beat a Sobel or
Laplace edge map of the input. The map never looks at the model: an explainer that cannot beat it shows the image,
not the model. ``scipy.ndimage.sobel`` does the filtering (border mode ``reflect``, scipy's default; skimage's
``filters.sobel`` differs by a scale and its border handling), one plane at a time; the magnitude is the root of
the two axes' squared responses, summed over channels.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.contract import Needs


def sobel_magnitude(images: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, H, W): sqrt of the sum over channels of the squared Sobel responses along H and W."""
    squared = np.zeros((images.shape[0], *images.shape[-2:]))
    for image, channel in np.ndindex(*images.shape[:2]):
        plane = images[image, channel]  # one plane at a time: sobel smooths along every axis it does not derive along
        squared[image] += ndimage.sobel(plane, 0, mode="reflect") ** 2 + ndimage.sobel(plane, 1, mode="reflect") ** 2
    return np.sqrt(squared)


@EXPLAINERS.register
class EdgeSaliency(Explainer):
    """The Sobel edge magnitude of the input (in the model's input space; the filter is linear, so the
    normalisation only scales it). Ignores the model and the target."""

    name = "edge"
    display_name = "Sobel edges (control)"
    family = "control"
    needs = Needs()  # the map ignores the target, and the model
    reference = "Clark et al. 2024, XAI-TRIS: benchmarking XAI with non-linear ground truth, Machine Learning"
    description = "the Sobel gradient magnitude of the image (scipy.ndimage.sobel, reflect border): no model pass"
    signed = False
    cost = "none (no model pass)"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        images = inputs.detach().to("cpu", torch.float64).numpy()
        return torch.from_numpy(sobel_magnitude(images)).to(device=inputs.device, dtype=torch.float32)
