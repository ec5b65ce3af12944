"""The shipped U-Net: it loads by name, samples through the common sampler, and has learned."""
import pytest
import torch

from diffusion_course import build, checkpoints, load_pretrained, metrics, sample, scenes


@pytest.fixture(scope="module")
def model():
    return load_pretrained("unet-scenes", "cpu")


def test_card_says_how_it_was_made(model):
    card = checkpoints.card("unet-scenes")
    assert card["command"].startswith("python -m diffusion_course train")
    assert card["steps"] >= 1000 and card["complete"] and card["train_seconds"] > 0 and card["machine"]
    assert card["model_config"]["channels"] == list(model.config.channels)


def test_trained_model_predicts_noise_far_better_than_untrained(model):
    x0, _ = scenes.batch(64, seed=metrics.HELD_OUT_SEED)
    g = torch.Generator().manual_seed(0)
    t = torch.randint(50, 950, (64,), generator=g)
    eps = torch.randn(x0.shape, generator=g)
    x_t = model.schedule.q_sample(x0, t, eps)
    fresh = build("unet-scenes").eval()
    with torch.no_grad():
        trained_mse = (model(x_t, t) - eps).square().mean().item()
        untrained_mse = (fresh(x_t, t) - eps).square().mean().item()
    assert untrained_mse == pytest.approx(1.0, abs=0.05)  # a fresh model predicts zero noise
    assert trained_mse < 0.15 * untrained_mse


def test_samples_are_recognisable_scenes():
    model = load_pretrained("unet-scenes", "cpu")
    judge = load_pretrained("judge", "cpu")
    x = sample(model, 48, steps=50, seed=123)
    assert x.shape == (48, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert metrics.recognisable_rate(judge, x) >= 0.85
    untrained = sample(build("unet-scenes"), 48, steps=20, seed=123)
    assert metrics.recognisable_rate(judge, untrained) <= 0.05
