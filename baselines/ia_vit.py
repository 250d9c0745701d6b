"""IA-ViT's own explanation: the interpreter's attention, averaged over its query rows.

Reference: Qiang et al., *Interpretability-Aware Vision Transformer*, arXiv 2309.08035 (2023), Sec. 3.2;
the official code averages the (P, P) interpreter attention over queries, reshapes it to the patch grid
and resizes it to the image. It costs one forward pass and no gradient.
"""

from __future__ import annotations

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.baselines._vit import eval_mode, to_grid
from iabench.contract import Needs


@EXPLAINERS.register
class IAViTExplainer(Explainer):
    name = "ia-vit"
    display_name = "IA-ViT interpreter"
    family = "intrinsic"
    reference = "Qiang et al. 2023, Interpretability-Aware Vision Transformer, arXiv 2309.08035"
    description = "IA-ViT's interpreter attention, mean over its query rows (IA-ViT only)"
    signed = False
    cost = "1 forward (the interpreter rides along)"
    resolution = "patch"
    needs = Needs(ia_vit=True, vit=True)

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        explain = getattr(self.model, "explain", None)
        if explain is None or not hasattr(self.model, "interpreter"):
            raise TypeError("the 'ia-vit' explainer needs an IA-ViT model (it has no interpreter)")
        with eval_mode(self.model), torch.no_grad():
            return to_grid(explain(inputs), self.model)
