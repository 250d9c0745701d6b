"""One seam, three families: the same weights as a timm, a Hugging Face and a torchvision ViT (converted by the
test, ``tests/families.py``) give the same logits (1e-5) and, for every registered explainer, the same maps
(deterministic methods within 1e-4 of the map's maximum; SmoothGrad and RISE with the same seed, per-image
correlation >= 0.99). A distilled DeiT (two prefix tokens) agrees between timm and Hugging Face."""

from __future__ import annotations

import pytest
import torch
from families import hf_from_timm, timm_vit, torchvision_from_timm

from iabench.baselines import EXPLAINERS, create_explainer
from iabench.models import SeamForward, UnsupportedModel, as_classifier, seam_of

STOCHASTIC = {"smoothgrad", "rise"}
OPTIONS = {"rise": {"n_masks": 64}, "smoothgrad": {"nt_samples": 8}, "shuffled": {"of": "rollout"},
           **{name: {"n_steps": 8} for name in EXPLAINERS.names() if name.startswith("integrated-gradients")}}
IMAGES = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
TARGET = torch.tensor([0, 3, 4])
MASKS = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(2)) > 0.6


@pytest.fixture(scope="module")
def models() -> dict[str, torch.nn.Module]:
    vit = timm_vit()
    return {"timm": vit, "hf": as_classifier(hf_from_timm(vit)), "torchvision": torchvision_from_timm(vit)}


def _explainers() -> list[str]:
    return [name for name in EXPLAINERS.names() if not EXPLAINERS.get(name).needs.ia_vit]


def _maps(model: torch.nn.Module, name: str) -> torch.Tensor:
    torch.manual_seed(7)  # SmoothGrad's noise and RISE's masks: the same draws for every family
    return create_explainer(name, model, **OPTIONS.get(name, {})).attribute(IMAGES, TARGET, MASKS)


def test_the_families_give_the_same_logits_as_their_seam_forward(models: dict) -> None:
    reference = models["timm"](IMAGES)
    assert reference.std() > 0.1  # not a degenerate model
    for family, model in models.items():
        seam = seam_of(model)
        assert seam.family == family and seam.grid == (4, 4) and seam.num_prefix_tokens == 1
        torch.testing.assert_close(model(IMAGES), reference, rtol=0, atol=1e-5)
        torch.testing.assert_close(SeamForward(model)(IMAGES), reference, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", _explainers())
def test_every_explainer_gives_the_same_maps_on_every_family(models: dict, name: str) -> None:
    reference = _maps(models["timm"], name)
    scale = reference.abs().max()
    assert scale > 0 and torch.isfinite(reference).all()
    for family in ("hf", "torchvision"):
        maps = _maps(models[family], name)
        if name in STOCHASTIC:
            for got, want in zip(maps.flatten(1), reference.flatten(1)):
                assert torch.corrcoef(torch.stack([got, want]))[0, 1] >= 0.99, (name, family)
        else:
            assert (maps - reference).abs().max() <= 1e-4 * scale, (name, family)


def test_a_distilled_deit_reads_the_class_tokens_row_and_averages_both_heads() -> None:
    vit = timm_vit(seed=1, distilled=True)
    hf = as_classifier(hf_from_timm(vit))
    seam = seam_of(hf)
    assert seam.num_prefix_tokens == seam_of(vit).num_prefix_tokens == 2 and len(seam.readout) == 2
    torch.testing.assert_close(hf(IMAGES), vit(IMAGES), rtol=0, atol=1e-5)
    for name in ("attention", "rollout", "generic-attention", "attnlrp", "lrp", "gradcam", "saliency"):
        reference = _maps(vit, name)
        assert (_maps(hf, name) - reference).abs().max() <= 1e-4 * reference.abs().max(), name
    # the class token's row, patch columns only: neither the distillation token's row nor its column
    attention = create_explainer("attention", vit).native(IMAGES, TARGET)
    forward = SeamForward(vit)
    with torch.no_grad(), forward.capturing() as captured:
        forward(IMAGES)
    torch.testing.assert_close(attention, captured[-1].mean(dim=1)[:, 0, 2:].reshape(3, 4, 4))
    with pytest.raises(TypeError, match="distilled"):  # Chefer's LRP has one head on the class token
        create_explainer("transformer-attribution", hf).attribute(IMAGES, TARGET)
    # DeiTForImageClassification: the same tokens, one head on the class token (no average)
    import transformers

    state = {k.replace("cls_classifier", "classifier"): v for k, v in hf.wrapped.state_dict().items()
             if "distillation_classifier" not in k}
    single = transformers.DeiTForImageClassification(hf.wrapped.config).eval()
    single.load_state_dict(state, strict=True)
    assert seam_of(single).num_prefix_tokens == 2 and len(seam_of(single).readout) == 1
    with torch.no_grad():
        want = vit.head(vit.forward_features(IMAGES)[:, 0])
        torch.testing.assert_close(as_classifier(single)(IMAGES), want, rtol=0, atol=1e-5)
        torch.testing.assert_close(SeamForward(single)(IMAGES), want, rtol=0, atol=1e-5)


def test_a_model_no_family_serves_is_refused_in_one_line() -> None:
    import timm

    for model in (torch.nn.Conv2d(3, 4, 3), timm.create_model("mobilenetv3_small_050", num_classes=5)):
        with pytest.raises(UnsupportedModel, match="timm VisionTransformer .* Hugging Face .* torchvision") as err:
            seam_of(model)
        assert "\n" not in str(err.value)
    pooled = timm.create_model("vit_tiny_patch16_224", pretrained=False, global_pool="avg", img_size=16, patch_size=4)
    with pytest.raises(UnsupportedModel, match="class-token head"):
        seam_of(pooled)


def test_the_python_api_takes_a_model_of_any_family(models: dict) -> None:
    import transformers

    import iabench

    hf = models["hf"].wrapped  # the transformers model itself, as a user holds it
    want = iabench.explain(models["timm"], IMAGES, "rollout", TARGET)
    torch.testing.assert_close(iabench.explain(hf, IMAGES, "rollout", TARGET), want, rtol=0, atol=1e-5)
    rows = {family: iabench.evaluate(model, (IMAGES, TARGET), explainers=["attention", "saliency"],
                                     metrics=["deletion"], batch_size=3, name="m")
            for family, model in (("timm", models["timm"]), ("hf", hf), ("torchvision", models["torchvision"]))}
    assert len(rows["timm"]) == 6
    for family in ("hf", "torchvision"):
        assert (rows[family].value - rows["timm"].value).abs().max() < 1e-4, family
    beit = transformers.BeitForImageClassification(transformers.BeitConfig(
        image_size=16, patch_size=4, hidden_size=48, num_hidden_layers=1, num_attention_heads=3, intermediate_size=96,
        num_labels=5))
    with pytest.raises(UnsupportedModel, match="cannot explain a BeitForImageClassification: it serves timm"):
        iabench.explain(beit, IMAGES, "saliency")


def test_maps_do_not_depend_on_the_models_mode() -> None:
    """Dropout everywhere (positions, attention, projections, MLP): a model left in training mode is explained as
    in eval mode by every explainer, and is left in training mode."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=16, patch_size=4, embed_dim=48,
                              depth=2, num_classes=5, drop_rate=0.3, pos_drop_rate=0.3, attn_drop_rate=0.3,
                              proj_drop_rate=0.3)
    for name in _explainers():
        model.eval()
        reference = _maps(model, name)
        model.train()
        assert torch.equal(_maps(model, name), reference), name
        assert all(m.training for m in model.modules()), name


def test_a_wrapped_model_is_read_afresh_copied_and_pickled(models: dict) -> None:
    """The classifier around a transformers model holds no seam of its own: a head swapped after wrapping is the
    head the seam's forward reads, a deep copy's seam reads the copy, and the wrapper pickles."""
    import copy
    import io

    wrapped = as_classifier(hf_from_timm(timm_vit()))
    copied = copy.deepcopy(wrapped)
    with torch.no_grad():
        wrapped.wrapped.classifier.weight.mul_(-1)
        torch.testing.assert_close(SeamForward(wrapped)(IMAGES), wrapped(IMAGES), rtol=0, atol=1e-5)
        torch.testing.assert_close(SeamForward(copied)(IMAGES), copied(IMAGES), rtol=0, atol=1e-5)
        assert (copied(IMAGES) - wrapped(IMAGES)).abs().max() > 0.1
    own = seam_of(copied).layers[0].own_attention
    torch.testing.assert_close(create_explainer("transformer-attribution", copied).attribute(IMAGES, TARGET),
                               _maps(models["hf"], "transformer-attribution"), rtol=0, atol=1e-6)
    assert own.args[0] is copied.wrapped.vit.layers[0].attention if hasattr(copied.wrapped.vit, "layers") \
        else own.args[0] is copied.wrapped.vit.encoder.layer[0].attention
    torch.save(wrapped, io.BytesIO())


def test_an_explainer_takes_the_transformers_model_itself(models: dict) -> None:
    hf = models["hf"].wrapped
    for name in ("saliency", "gradcam", "occlusion"):
        torch.testing.assert_close(create_explainer(name, hf).attribute(IMAGES, TARGET), _maps(models["timm"], name),
                                   rtol=0, atol=1e-4 * _maps(models["timm"], name).abs().max().item())
