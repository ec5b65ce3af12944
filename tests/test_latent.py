"""The latent sketchbook: the autoencoder's shapes, its KL term, the scale factor, and diffusion in latent
space through the unchanged sampler and annotated sampler."""
import math

import pytest
import torch

from diffusion_course import Trainer, images, scenes, shipped
from diffusion_course.config import AutoencoderConfig, AutoencoderTrainConfig, TrainConfig, UNetConfig
from diffusion_course.diffusion import checkpoints, samplers
from diffusion_course.lessons import sketching
from diffusion_course.looking import trace
from diffusion_course.models import Autoencoder, UNet, build
from diffusion_course.models.autoencoder import Posterior
from diffusion_course.pools import LatentPool
from diffusion_course.sketchbook import autoencoding, latent

SMALL = AutoencoderConfig(channels=(8, 16, 16), groups=4)  # 32 x 32 x 3 -> 8 x 8 x 4, fast
LATENT_UNET = UNetConfig(image_size=8, in_channels=4, channels=(16, 32), blocks=1, attn_levels=(1,),
                         autoencoder="ae-test")


@pytest.fixture(scope="module")
def ae():
    torch.manual_seed(0)
    return Autoencoder(SMALL).eval()


@pytest.fixture(scope="module")
def book(ae):
    torch.manual_seed(1)
    return latent.Sketchbook(UNet(LATENT_UNET).eval(), ae)


@pytest.mark.parametrize("channels, side", [((8, 16, 16), 8), ((8, 16), 16), ((8,), 32)])
def test_autoencoder_shapes(channels, side):
    a = Autoencoder(AutoencoderConfig(channels=channels, groups=4))
    x = scenes.batch(3, seed=5)[0]
    q = a.posterior(x)
    assert q.mean.shape == q.logvar.shape == (3, 4, side, side) == (3, *a.latent_shape)
    assert a.config.latent_size == side
    x_hat, _ = a(x)
    assert x_hat.shape == x.shape
    assert a.decode(a.encode(x)).shape == x.shape
    assert a.decode(a.encode(x)).abs().max() <= 1


def test_kl_term_is_the_closed_form_and_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(2, 4, 3, 3, generator=g), torch.randn(2, 4, 3, 3, generator=g) * 0.5
    q = Posterior(mean, logvar)
    # closed form, element by element: KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2)/2 - 1/2
    s = (0.5 * logvar).exp()
    expected = (torch.log(1 / s) + (s ** 2 + mean ** 2) / 2 - 0.5).sum(dim=(1, 2, 3))
    torch.testing.assert_close(q.kl(), expected)
    # and as an expectation over samples: E_q[log q(z) - log p(z)]
    z = mean + s * torch.randn(20000, *mean.shape, generator=g, dtype=torch.float64)
    log_q = torch.distributions.Normal(mean.double(), s.double()).log_prob(z)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    mc = (log_q - log_p).sum(dim=(2, 3, 4)).mean(0)
    torch.testing.assert_close(mc.float(), q.kl(), rtol=0.03, atol=0.3)
    assert Posterior(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2)).kl().item() == 0.0  # q = prior


def test_scale_factor_gives_unit_variance_on_a_batch(ae):
    a = Autoencoder(SMALL)
    x = scenes.batch(64, seed=7)[0]
    scale = a.set_scale(x)
    assert scale != 1.0
    assert a.encode(x).std().item() == pytest.approx(1.0, abs=1e-4)
    assert a.bound.item() == pytest.approx(a.encode(x).abs().max().item())  # the page's edge, from the same scenes
    assert a.encode(scenes.batch(64, seed=8)[0]).std().item() == pytest.approx(1.0, abs=0.15)  # other scenes
    # the scale is part of the weights: it survives saving and loading
    path = checkpoints.save_model("/tmp/test-latent-ae", a)
    torch.testing.assert_close(checkpoints.load_model(path).scale, a.scale)


def test_scaled_latents_decode_to_the_same_pictures_as_raw_ones(ae):
    a = Autoencoder(SMALL).eval()
    x = scenes.batch(4, seed=2)[0]
    a.set_scale(x)
    with torch.no_grad():
        torch.testing.assert_close(a.decode(a.encode(x)), a.paint(a.posterior(x).mean).clamp(-1, 1))


def test_bad_input_names_the_expected_shape(ae):
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"):
        ae.encode(torch.zeros(2, 3, 16, 16))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        ae.encode(torch.full((2, 3, 32, 32), 255.0))
    with pytest.raises(ValueError, match=r"\(B, 4, 8, 8\)"):
        ae.decode(torch.zeros(2, 4, 16, 16))
    with pytest.raises(ValueError, match="autoencoder's latents are"):
        latent.Sketchbook(UNet(UNetConfig(image_size=16, in_channels=4, channels=(16, 32), blocks=1)), ae)


def test_a_latent_model_without_its_autoencoder_says_which_file_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    checkpoints.save_model(tmp_path / "latent-test", UNet(LATENT_UNET))
    with pytest.raises(shipped.CheckpointError, match=r"ae-test.*ae-test\.safetensors is missing"):
        latent.load("latent-test")
    with pytest.raises(ValueError, match="draws pixels"):
        checkpoints.autoencoder_of(UNetConfig())


def test_training_beats_the_untrained_autoencoder_and_resumes_exactly(tmp_path):
    pool = scenes.ScenePool(256, seed=3)
    cfg = AutoencoderTrainConfig(steps=40, batch_size=16, warmup=5, precision="fp32", checkpoint_every=20)
    straight = autoencoding.AutoencoderTrainer(SMALL, cfg, pool=pool, progress=False).run()
    first = straight.log["reconstruction"]
    assert sum(first[-10:]) / 10 < 0.8 * sum(first[:5]) / 5  # it learns
    run = tmp_path / "ae.run"
    autoencoding.AutoencoderTrainer(SMALL, cfg, run_dir=run, pool=pool, progress=False).run(steps=20)
    resumed = autoencoding.AutoencoderTrainer(SMALL, cfg, run_dir=run, pool=pool, progress=False).run()
    assert resumed.log["reconstruction"] == pytest.approx(first, rel=1e-5)
    with pytest.raises(shipped.CheckpointError, match="other settings"):
        autoencoding.AutoencoderTrainer(SMALL, AutoencoderTrainConfig(lr=5e-4, steps=40), run_dir=run, pool=pool,
                                        progress=False)


def test_latent_pool_holds_each_scene_and_its_mirror(ae):
    pool = scenes.ScenePool(8, seed=4)
    lp = LatentPool(pool, ae)
    assert lp.latents.shape == (8, 2, *ae.latent_shape)
    x = pool[torch.arange(8)]
    with torch.no_grad():
        torch.testing.assert_close(lp[torch.arange(8)], ae.encode(x))
        torch.testing.assert_close(lp.latents[:, 1], ae.encode(x.flip(-1)))
    batch = lp.sample(32, torch.Generator().manual_seed(0))
    assert batch.shape == (32, *ae.latent_shape)
    flat = lp.latents.flatten(0, 1)
    assert all(any(torch.equal(b, f) for f in flat) for b in batch)


def test_latent_sampling_goes_through_the_unchanged_sampler(book):
    # the same generator the pixel models use, over latents, x0_hat clamped to the latents' range, then painted
    z = None
    for rec in samplers.sample_steps(book.denoiser, 3, steps=6, seed=2, clip_x0=book.bound):
        assert rec.x_t.shape == (3, 4, 8, 8)
        z = rec.x_prev
    x = book.sample(3, steps=6, seed=2)
    torch.testing.assert_close(x, book.decode(z))
    assert x.shape == (3, 3, 32, 32)
    torch.testing.assert_close(book.sample(3, steps=6, seed=2), x)  # seeded


def test_latent_sampling_clamps_x0_hat_to_the_latents_range_not_to_pixels(book):
    x0_hats = torch.stack([rec.x0_hat for rec in book.steps(4, steps=4, seed=0)])
    assert book.bound == book.ae.bound.item() > 1
    assert x0_hats.abs().max().item() == pytest.approx(book.bound)  # an untrained model guesses wildly: clamped
    unclamped = torch.stack([rec.x0_hat for rec in samplers.sample_steps(book.denoiser, 4, 4, clip_x0=False)])
    assert unclamped.abs().max().item() > 10 * book.bound
    with pytest.raises(ValueError, match="a bound > 0"):
        next(samplers.sample_steps(book.denoiser, 1, 4, clip_x0=0.0))


def test_annotated_latent_run_records_latents_and_painted_guesses(book):
    tr = book.annotate(2, steps=5, every=1)
    assert tr.x_t.shape == (5, 2, 4, 8, 8)
    assert tr.decoded.shape == (5, 2, 3, 32, 32)
    torch.testing.assert_close(tr.final, book.sample(2, steps=5))  # recording does not change the drawing
    last = list(book.steps(2, steps=5))[-1]
    torch.testing.assert_close(tr.decoded[-1].float(), book.decode(last.x0_hat), atol=2e-3, rtol=0)  # (fp16)
    assert "decoded" in tr.names()
    assert tr.frames("decoded").shape == (5, 3, 32, 32)
    assert tr.frames("x_t").shape == (5, 16, 16)  # 4 channels of 8 x 8 tiled 2 x 2
    est = trace.estimate_bytes_per_step(book.denoiser, book.denoiser.default_taps(), 2, painted=3 * 32 * 32)
    assert tr.nbytes == pytest.approx(5 * est + tr.final.numel() * 4, rel=0.01)


def test_channel_map_puts_each_channel_in_its_own_tile():
    x = torch.stack([torch.full((2, 2), float(c)) for c in range(3)])[None]  # (1, 3, 2, 2), constant channels
    x[0, :, 0, 0] += 1  # one brighter pixel per channel
    m = trace.channel_map(x)
    assert m.shape == (1, 4, 4)
    assert m[0, 0, 0] == 1 and m[0, 0, 2] == 1 and m[0, 2, 0] == 1  # each channel's bright corner
    assert m[0, 2:, 2:].abs().sum() == 0  # the fourth tile is empty


def test_interpolation_walks_from_one_scene_to_the_other(book):
    a, b = scenes.batch(2, seed=9)[0]
    walk = book.interpolate(a, b, stops=5)
    assert walk.shape == (5, 3, 32, 32)
    torch.testing.assert_close(walk[0], book.decode(book.encode(a[None]))[0])
    torch.testing.assert_close(walk[-1], book.decode(book.encode(b[None]))[0])
    with pytest.raises(ValueError, match="at least 2"):
        book.interpolate(a, b, stops=1)


def test_build_and_save_round_trip_an_autoencoder(tmp_path):
    a = build(SMALL)
    path = checkpoints.save_model(tmp_path / "ae", a)
    b = checkpoints.load_model(path)
    assert isinstance(b, Autoencoder) and b.config == SMALL
    assert math.isclose(sum(p.sum().item() for p in a.parameters()), sum(p.sum().item() for p in b.parameters()),
                        rel_tol=1e-6)


def test_a_latent_preset_trains_on_its_autoencoders_latents(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    a = Autoencoder(SMALL)
    a.set_scale(scenes.batch(16, seed=1)[0])
    checkpoints.save_model(tmp_path / "ae-test", a)
    trainer = Trainer(LATENT_UNET, TrainConfig(steps=3, batch_size=4, pool_size=8, warmup=1, precision="fp32"),
                      progress=False, device="cpu")
    assert isinstance(trainer.pool, LatentPool) and trainer.pool.latents.shape == (8, 2, 4, 8, 8)
    with torch.no_grad():
        scenes_0 = scenes.ScenePool(8, seed=0)[torch.arange(8)]  # the pool of the config's seed, encoded
        torch.testing.assert_close(trainer.pool[torch.arange(8)], a.encode(scenes_0))
    trainer.run()
    assert trainer.step == 3 and all(math.isfinite(v) for v in trainer.losses)
    drawn = latent.draw(trainer.ema, 2, steps=3)  # painted by the autoencoder the config names
    assert drawn.shape == (2, 3, 32, 32)


def test_reading_training_curves_at_a_target_and_at_equal_time():
    curve = [{"step": 100, "recognisable_rate": 0.5}, {"step": 200, "recognisable_rate": 0.8},
             {"step": 300, "recognisable_rate": 1.0}]
    assert sketching.first_reaching(curve, 0.9) == pytest.approx(250)  # halfway between 0.8 and 1.0
    assert sketching.first_reaching(curve, 0.25) == pytest.approx(50)  # from (0, 0) to the first probe
    assert sketching.first_reaching(curve[:2], 0.9) is None  # never got there
    points = [(10.0, 0.2), (30.0, 0.6)]
    assert sketching.rate_at(points, 20.0) == pytest.approx(0.4)
    assert sketching.rate_at(points, 5.0) == pytest.approx(0.1)  # from (0, 0)
    assert sketching.rate_at(points, 31.0) is None and sketching.rate_at(points, None) is None


def test_the_shipped_sketchbook_beats_blurring_and_shrinking_at_keeping_scenes():
    ae = checkpoints.load_pretrained("ae-scenes", "cpu")
    x, _ = scenes.batch(64, seed=200)  # held-out scenes
    with torch.no_grad():
        through = ae.decode(ae.encode(x))
    err = (through - x).abs().mean()
    blurred = images.blur(x, 1.0)  # a blur that keeps every pixel's neighbourhood: a blur baseline
    assert err < 0.5 * (blurred - x).abs().mean()
    assert err < 0.5 * (autoencoding.shrunk(x, ae.config.latent_size) - x).abs().mean()
    assert ae.encode(x).std().item() == pytest.approx(1.0, abs=0.1)  # the stored scale fits held-out scenes too
