"""Grad-CAM (Selvaraju et al. 2017, ICCV, Eq. 1-2) on a ViT, via Captum's ``LayerGradCam``.

The layer is the last block's first LayerNorm (the tokens the last attention reads; the usual choice
for ViTs, as in pytorch-grad-cam): after the last block only the CLS token reaches the head, so the
block's output tokens have no gradient. A forward hook reshapes the patch tokens (CLS dropped) to a
(B, D, rows, cols) grid through an identity module that Captum hooks, so Grad-CAM's channel weights
(the spatial mean of the gradients) and its ReLU apply as on a CNN feature map.

On a feature-map model (a CNN, a Swin) the layer is its last feature map (the seam's ``feature_layer``), as
pytorch-grad-cam's users pick it; a Swin's NHWC map is viewed as NCHW through the same identity module.
"""

from __future__ import annotations

import torch
from captum.attr import LayerGradCam
from torch import nn

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import explaining, grid_of, prefix_of
from iabench.models import seam_of


class _TokenGrid(nn.Module):
    """Identity on a (B, D, rows, cols) view of the patch tokens: the layer Captum attributes to."""

    def forward(self, grid: torch.Tensor) -> torch.Tensor:
        return grid


def token_layer(model: nn.Module) -> nn.Module:
    """The last block's pre-attention norm, as the model's own forward calls it."""
    return seam_of(model).layers[-1].pre_attention


@EXPLAINERS.register
class GradCAM(Explainer):
    name = "gradcam"
    display_name = "Grad-CAM (last block)"
    family = "gradient"
    reference = "Selvaraju et al. 2017, Grad-CAM: Visual Explanations from Deep Networks, ICCV, Eq. 1-2"
    description = ("Captum `LayerGradCam` (ReLU) on the last block's normalised input tokens reshaped to the patch "
                   "grid (a CNN's or Swin's last feature map)")
    signed = False
    cost = "1 forward + 1 backward"
    resolution = "patch"

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seam = seam_of(self.model)
        if seam.kind == "feature-map":
            return self._feature_map_cam(seam.feature_layer, seam.channels_last, inputs, target)
        prefix, (rows, cols) = prefix_of(self.model), grid_of(self.model)
        view = _TokenGrid()

        def through_grid(module: nn.Module, args: tuple, tokens: torch.Tensor) -> torch.Tensor:
            patches = tokens[:, prefix:]
            grid = view(patches.transpose(1, 2).reshape(tokens.shape[0], -1, rows, cols))
            return torch.cat([tokens[:, :prefix], grid.flatten(2).transpose(1, 2)], dim=1)

        handle = token_layer(self.model).register_forward_hook(through_grid)
        try:
            with explaining(self.model):
                cam = LayerGradCam(self.model, view).attribute(inputs, target=target, relu_attributions=True)
        finally:
            handle.remove()
        return cam[:, 0]

    def _feature_map_cam(self, layer: nn.Module, channels_last: bool, inputs: torch.Tensor,
                         target: torch.Tensor) -> torch.Tensor:
        if not channels_last:
            return LayerGradCam(self.model, layer).attribute(inputs, target=target, relu_attributions=True)[:, 0]
        view = _TokenGrid()

        def as_channels_first(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            return view(output.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)  # (B, H, W, C) seen as (B, C, H, W)

        handle = layer.register_forward_hook(as_channels_first)
        try:
            return LayerGradCam(self.model, view).attribute(inputs, target=target, relu_attributions=True)[:, 0]
        finally:
            handle.remove()
