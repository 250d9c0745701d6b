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

import torch

from iabench.baselines import EXPLAINERS, Explainer
from iabench.baselines._vit import grid_of
from iabench.seeding import image_generator

SHUFFLE_SALT = 2  # this control's stream of an image: independent of random's and random-patch's


@EXPLAINERS.register("shuffled")
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
    option_names = ("of", "of_options", "seed")
    argument_option = "of"  # `shuffled:NAME` in a suite = options {of: NAME}
    source: type[Explainer] | None = None  # set on the subclass ``resolved`` builds

    @classmethod
    def resolved(cls, options: dict[str, object]) -> type[Explainer]:
        cls.check_options(options)
        return _shuffled_class(str(options["of"]))

    @classmethod
    def check_options(cls, options: dict[str, object]) -> None:
        from iabench.errors import UserError, unknown

        super().check_options(options)
        source = options.get("of")
        if not isinstance(source, str) or not source:
            raise UserError("explainer shuffled needs the explainer to shuffle: shuffled:NAME (e.g. shuffled:ia-vit)")
        if source not in EXPLAINERS:
            raise unknown("explainer to shuffle", source, EXPLAINERS.names())
        if source == cls.name:
            raise UserError("shuffled:shuffled would shuffle a shuffled map; name the explainer, e.g. shuffled:ia-vit")
        of_options = options.get("of_options") or {}
        if not isinstance(of_options, dict):
            raise UserError(f"shuffled:{source}: of_options must be a mapping of {source}'s options")
        EXPLAINERS.get(source).check_options(of_options)

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        source = EXPLAINERS.get(str(self.options["of"]))(self.model, **dict(self.options.get("of_options") or {}))
        native = source.native(inputs, target).detach()
        return shuffle_patches(native, inputs.detach().cpu(), grid_of(self.model), int(self.options.get("seed", 0)))


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
        __module__=__name__, source=source, requires_ia_vit=source.requires_ia_vit, needs_target=source.needs_target,
        resolution=source.resolution, signed=source.signed, cost=source.cost,
        display_name=f"{source.display_name or source_name}, shuffled (control)"))
