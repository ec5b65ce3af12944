import dataclasses

import pytest
import torch

from diffusion_course import build, config
from diffusion_course.models.layers import HookPoint


def test_unet_shapes_and_size():
    model = build("unet-scenes")
    assert 1_000_000 <= model.num_params() <= 2_000_000
    x = torch.randn(3, 3, 32, 32)
    assert model(x, torch.tensor([0, 500, 999])).shape == x.shape
    assert model(x, 7).shape == x.shape  # one int t for the whole batch


def test_fresh_unet_predicts_zero_noise():
    # the output conv starts at zero, so training starts from eps_hat = 0 (loss = 1)
    model = build("unet-tiny")
    assert model(torch.randn(2, 3, 32, 32), 5).abs().max() == 0


@pytest.mark.parametrize("preset", ["unet-tiny", "dit-tiny"])
def test_a_model_whose_last_layer_says_v_hands_back_the_noise_v_names(preset):
    torch.manual_seed(0)
    says_eps = build(preset)
    for p in says_eps.parameters():  # (a fresh model's last layer is zero: make every layer speak)
        torch.nn.init.normal_(p, std=0.05)
    says_v = build(dataclasses.replace(config.preset(preset), prediction="v"))
    says_v.load_state_dict(says_eps.state_dict())
    x_t, t = torch.randn(3, 3, 32, 32), torch.tensor([0, 400, 999])
    ab = says_v.schedule.alpha_bar[t].float().view(-1, 1, 1, 1)
    v = says_eps(x_t, t)  # what the shared layers say
    assert torch.allclose(says_v(x_t, t), ab.sqrt() * v + (1 - ab).sqrt() * x_t, atol=1e-5)
    assert not torch.allclose(says_v(x_t, t), v, atol=1e-2)
    with pytest.raises(ValueError, match="prediction is 'eps' or 'v'"):
        build(dataclasses.replace(config.preset(preset), prediction="x0"))(x_t, t)


def test_taps_are_found_in_the_module_tree_with_their_kinds():
    model = build("unet-scenes")
    names = model.tap_names()
    assert names == ["down.0", "down.1", "down.2.attn", "down.2", "mid.attn", "mid",
                     "up.2.attn", "up.2", "up.1", "up.0"]  # the order the forward pass meets them
    hookpoints = [m for m in model.modules() if isinstance(m, HookPoint)]
    assert [m.name for m in hookpoints] == names  # nothing hand-listed: every HookPoint is a tap
    assert model.tap_kinds() == {n: "attention" if n.endswith(".attn") else "features" for n in names}
    assert model.default_taps() == ["down.2", "mid", "mid.attn", "up.1"]
    with pytest.raises(ValueError, match="unknown tap kind"):
        HookPoint("x", "pixels")
    seen = {}
    hooks = [model.tap(n).register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o)) for n in names]
    try:
        model(torch.randn(2, 3, 32, 32), 10)
    finally:
        for h in hooks:
            h.remove()
    assert all(isinstance(model.tap(n), HookPoint) for n in names)
    assert seen["down.0"].shape == (2, 32, 32, 32) and seen["down.1"].shape == (2, 64, 16, 16)
    assert seen["mid"].shape == (2, 64, 8, 8) and seen["up.0"].shape == (2, 32, 32, 32)
    probs = seen["mid.attn"]
    assert probs.shape == (2, 4, 64, 64)
    assert torch.allclose(probs.sum(-1), torch.ones(2, 4, 64))
    with pytest.raises(KeyError, match="taps are"):
        model.tap("down.9")


def test_clear_errors_for_bad_input():
    model = build("unet-tiny")
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"):
        model(torch.randn(2, 3, 28, 28), 0)
    with pytest.raises(ValueError, match="one timestep per image"):
        model(torch.randn(2, 3, 32, 32), torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="unconditional"):
        model(torch.randn(2, 3, 32, 32), 0, cond=torch.randn(2, 4))
    with pytest.raises(KeyError, match="known presets"):
        build("unet-huge")


def test_conditional_unet_uses_its_condition():
    model = build(config.UNetConfig(channels=(16, 32, 32), blocks=1, cond_dim=5))
    for p in model.parameters():  # leave the zero-initialised start, where the condition has no effect yet
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(2, 3, 32, 32)
    a = model(x, 3, cond=torch.zeros(2, 5))
    b = model(x, 3, cond=torch.ones(2, 5))
    assert not torch.allclose(a, b)


def test_config_round_trip():
    cfg = config.preset("unet-scenes")
    assert config.from_dict(config.to_dict(cfg)) == cfg
    with pytest.raises(ValueError, match="does not know"):
        config.from_dict({**config.to_dict(cfg), "wings": 2})
