"""AttnLRP's propagation rules (Achtibat et al. 2024, ICML, Sec. 3), as modified gradients.

Convention (Ancona et al. 2018; the AttnLRP authors' own implementation works the same way): a tensor's
relevance is its value times its (modified) gradient, R = x ⊙ ∂f/∂x, and the backward pass of every rule
returns the gradient that makes this product equal the rule's relevance. Written by hand because no
maintained library applies these rules to timm models: Captum's LRP has no rule for attention, LayerNorm
or GELU, and the authors' ``lxt`` (2.1) patches the models of Hugging Face transformers and torchvision's ViT,
not timm's.

- Linear / Conv2d / affine part of LayerNorm, epsilon rule (Bach et al. 2015; AttnLRP Eq. 3):
  R_i = Σ_j x_i w_ji / (z_j + ε sign z_j) R_j. As a gradient: scale the output's gradient by z / (z + ε sign z)
  (``epsilon_output``); the bias's share is absorbed (not passed on).
- Softmax (AttnLRP Prop. 3.1): R_i = x_i (R_i^out - s_i Σ_j R_j^out), the Taylor expansion at x whose bias
  term absorbs the rest; this is exactly the plain gradient times input, so the softmax needs no change.
- Bilinear products q·kᵀ and A·v (AttnLRP Prop. 3.2): epsilon rule on the sum over the inner index, then
  the uniform rule: each of the two factors of a product term takes half its relevance. As a gradient:
  half the true gradient of each factor, after the epsilon scaling of the output (``uniform_matmul``).
  With ε = 0 the two inputs' relevances sum exactly to the output's.
- LayerNorm normalisation and GELU (AttnLRP Sec. 3.3, identity rule): relevance passes unchanged; done by
  detaching the standard deviation and gelu(x)/x (the CP-LRP replacements in ``lrp.py``).
"""

from __future__ import annotations

import torch


def _epsilon_ratio(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z / (z + ε sign z), sign(0) = +1; 0 where the denominator is 0 (ε = 0 and z = 0: no relevance to pass)."""
    denominator = z + epsilon * torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))
    safe = torch.where(denominator == 0, torch.ones_like(z), denominator)
    return torch.where(denominator == 0, torch.zeros_like(z), z / safe)


class _EpsilonOutput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, epsilon: float) -> torch.Tensor:  # noqa: ANN001 - autograd's signature
        ctx.save_for_backward(z)
        ctx.epsilon = epsilon
        return z.view_as(z)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        (z,) = ctx.saved_tensors
        return grad * _epsilon_ratio(z, ctx.epsilon), None


def epsilon_output(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Identity on the output ``z`` of a linear layer; its backward applies the epsilon rule."""
    return _EpsilonOutput.apply(z, float(epsilon))


class _UniformMatmul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a: torch.Tensor, b: torch.Tensor, epsilon: float) -> torch.Tensor:  # noqa: ANN001
        out = a @ b
        ctx.save_for_backward(a, b, out)
        ctx.epsilon = epsilon
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:  # noqa: ANN001
        a, b, out = ctx.saved_tensors
        scaled = grad * _epsilon_ratio(out, ctx.epsilon) / 2  # epsilon rule, then half to each factor
        return scaled @ b.transpose(-2, -1), a.transpose(-2, -1) @ scaled, None


def uniform_matmul(a: torch.Tensor, b: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``a @ b``; its backward applies AttnLRP's epsilon + uniform rule to both factors."""
    return _UniformMatmul.apply(a, b, float(epsilon))


def relevance_of(inputs: tuple[torch.Tensor, ...], output: torch.Tensor,
                 output_relevance: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The relevance each input receives when ``output`` (computed from ``inputs`` with these rules) holds
    ``output_relevance``: x ⊙ ∂(Σ R_out / z · z)/∂x, the convention above. For tests and diagnostics."""
    grads = torch.autograd.grad(output, inputs, grad_outputs=output_relevance / output)
    return tuple(x * g for x, g in zip(inputs, grads))
