"""The permutation control: an explainer's own map with its values moved to random places of the patch grid.

``shuffled:EXPLAINER`` (options ``of`` = EXPLAINER, ``of_options`` = its options, ``seed``) computes
EXPLAINER's map at its native resolution and permutes it per image before upsampling:
- a patch-level map (``resolution = "patch"``: one value per patch, e.g. the interpreter, attention, rollout)
  has its grid values permuted; the permuted grid is then upsampled like the original, so the control has
  exactly the map's values, peakedness and resolution, only not its places;
- a pixel-level map (IG, LRP, saliency) has its patch-sized tiles permuted as blocks: the values inside each
  tile keep their arrangement, the tiles trade places. What it then tests is whether the map puts its mass on
  the right patches, not whether its pixel detail inside a patch is right.
A map that beats its own shuffled copy puts importance in the right place, beyond how peaked it is (the
"where" vs "how much" split of a permutation test; Good 2005, *Permutation, Parametric and Bootstrap Tests of
Hypotheses*; the resolution bias it removes: Gomez et al. 2022, ICPR).

The permutation of an image is drawn from a generator seeded by the image's bytes and ``seed`` (batch-invariant,
like ``random``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from iabench.baselines._base import EXPLAINERS, Explainer
from iabench.contract import Options, option
from iabench.errors import OptionError, unknown
from iabench.models import seam_of
from iabench.seeding import image_generator

SHUFFLE_SALT = 2  # this control's stream of an image: independent of random's and random-patch's


@dataclass(frozen=True)
class ShuffledOptions(Options):
    of: str = option("", "the explainer whose map is shuffled (`shuffled:NAME` in a suite)")
    of_options: dict = option(doc="that explainer's options", factory=dict)
    seed: int = option(0, "seed mixed with each image's bytes (the permutation is batch-invariant)")


@EXPLAINERS.register
class ShuffledSaliency(Explainer):
    name = "shuffled"
    display_name = "Shuffled map (control)"
    family = "control"
    reference = ("Permutation control (Good 2005, Permutation, Parametric and Bootstrap Tests of Hypotheses); "
                 "resolution bias of deletion/insertion: Gomez et al. 2022, ICPR")
    description = ("`shuffled:EXPLAINER`: that explainer's map with its patch-grid values (a pixel map: its "
                   "patch tiles) permuted per image, then upsampled like the original")
    signed = False
    cost = "the cost of the shuffled explainer"
    Options = ShuffledOptions
    argument_option = "of"  # `shuffled:NAME` in a suite = options {of: NAME}
    source: type[Explainer] | None = None  # set on the subclass ``resolved`` builds

    @classmethod
    def resolved(cls, options: Mapping[str, object]) -> type[Explainer]:
        return _shuffled_class(cls.parse_options(options).of)

    @classmethod
    def parse_options(cls, options: Mapping[str, object] | None) -> ShuffledOptions:
        """The typed options, and the explainer to shuffle: registered, not itself, its options valid."""
        parsed = ShuffledOptions.parse(options, f"explainer {cls.name}")
        source = parsed.of
        if not source:
            raise OptionError("explainer shuffled needs the explainer to shuffle: shuffled:NAME (e.g. shuffled:ia-vit)")
        if source not in EXPLAINERS:
            raise unknown("explainer to shuffle", source, EXPLAINERS.names())
        if source == ShuffledSaliency.name:
            raise OptionError("shuffled:shuffled would shuffle a shuffled map; name the explainer, e.g. "
                              "shuffled:ia-vit")
        EXPLAINERS.get(source).parse_options(parsed.of_options)
        return parsed

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        source = EXPLAINERS.get(self.options.of)(self.model, **self.options.of_options)
        native = source.native(inputs, target).detach()
        grid = seam_of(self.model).grid_for(tuple(inputs.shape[-2:]))  # a CNN's: of these images' size
        return shuffle_patches(native, inputs.detach().cpu(), grid, self.options.seed)


def shuffle_patches(native: torch.Tensor, images: torch.Tensor, grid: tuple[int, int], seed: int) -> torch.Tensor:
    """``native`` (B, h, w) with its patch cells permuted per image: (h, w) = ``grid`` (one value per patch) or a
    multiple of it (tiles of h/rows x w/cols values moved as blocks). The permutation of image i is drawn from a
    generator seeded by ``images[i]``'s bytes and ``seed``."""
    batch, height, width = native.shape
    rows, cols = grid
    if height % rows or width % cols:
        raise ValueError(f"a {height}x{width} map does not split into the model's {rows}x{cols} patch grid")
    tile_h, tile_w = height // rows, width // cols
    tiles = native.reshape(batch, rows, tile_h, cols, tile_w).permute(0, 1, 3, 2, 4).reshape(batch, rows * cols, -1)
    order = torch.stack([torch.randperm(rows * cols, generator=image_generator(image, seed, SHUFFLE_SALT))
                         for image in images]).to(native.device)
    shuffled = tiles.gather(1, order[:, :, None].expand_as(tiles))
    return shuffled.reshape(batch, rows, cols, tile_h, tile_w).permute(0, 1, 3, 2, 4).reshape(batch, height, width)


@functools.cache
def _shuffled_class(source_name: str) -> type[Explainer]:
    """ShuffledSaliency for one source explainer, with the source's needs (IA-ViT, target) and resolution."""
    source = EXPLAINERS.get(source_name)
    return type(f"Shuffled[{source_name}]", (ShuffledSaliency,), dict(
        __module__=__name__, source=source, needs=source.needs, resolution=source.resolution, signed=source.signed,
        cost=source.cost,
        display_name=f"{source.display_name or source_name}, shuffled (control)"))
