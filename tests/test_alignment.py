"""Representation alignment (REPA): the loss's closed forms, the pictures a latent pool samples beside its latents,
an unaligned run exactly what it was, an aligned one resumed exactly, switched off at ``align_until``, and the
cost of a step counting the frozen encoder and the projector. The judge here is an untrained one: what it has
learnt does not matter to any of these."""
import pytest
import torch
from torch import nn

from diffusion_course import build, config, scenes
from diffusion_course.config import AutoencoderConfig, DiTConfig, JudgeConfig, TrainConfig
from diffusion_course.diffusion import alignment, cost
from diffusion_course.diffusion.alignment import Alignment
from diffusion_course.diffusion.training import Trainer
from diffusion_course.models import Autoencoder
from diffusion_course.pools import LatentPool

TINY = config.preset("dit-tiny")  # 32 x 32 pixels in 4 x 4 pieces: an 8 x 8 grid, as the judge's features
LATENT_TINY = DiTConfig(image_size=8, in_channels=4, patch=1, width=32, depth=2, heads=2, positions="sincos",
                        prediction="v", autoencoder="ae-scenes")


def untrained_judge(device="cpu"):
    with torch.random.fork_rng():  # (the trainer's own draws stay as they are)
        torch.manual_seed(7)
        return alignment.judge_encoder(build(JudgeConfig()).to(device))


@pytest.fixture(autouse=True)
def judge(monkeypatch):
    monkeypatch.setitem(alignment.ENCODERS, "judge", untrained_judge)


@pytest.fixture(scope="module")
def pool():
    return scenes.ScenePool(64, seed=0)


@pytest.fixture(scope="module")
def ae():
    torch.manual_seed(0)
    return Autoencoder(AutoencoderConfig(channels=(8, 16, 16), groups=4)).eval()  # 32 x 32 x 3 -> 8 x 8 x 4


@pytest.fixture(scope="module")
def latent_pool(pool, ae):
    return LatentPool(pool, ae)


def cfg(**kw):
    return TrainConfig(**{"steps": 12, "batch_size": 8, "warmup": 4, "precision": "fp32", **kw})


def test_the_loss_is_minus_one_when_the_projected_tokens_are_the_features_and_about_zero_at_random():
    aligner = Alignment(build(TINY), *untrained_judge(), block=0)
    aligner.projector = nn.Identity()  # h_phi(h) = h: the tokens are what is compared
    pictures = scenes.batch(4, seed=1)[0]
    y = aligner.features(pictures)
    assert y.shape == (4, 64, 128)
    assert aligner.loss(3 * y, pictures).item() == pytest.approx(-1.0, abs=1e-5)  # cos(3y, y) = 1 per token
    assert abs(aligner.loss(torch.randn(4, 64, 128), pictures).item()) < 0.05
    keep = torch.tensor([[5, 0, 63]] * 4)  # masked training: the kept tokens (B, K), in their order
    assert aligner.loss(3 * y[:, [5, 0, 63]], pictures, keep).item() == pytest.approx(-1.0, abs=1e-5)


@pytest.mark.parametrize("patch, pooled", [(8, lambda f: nn.functional.avg_pool2d(f, 2)),  # a 4 x 4 grid
                                           (2, lambda f: f.repeat_interleave(2, 2).repeat_interleave(2, 3))])
def test_the_features_are_resampled_to_the_models_token_grid(patch, pooled):
    encoder, _ = untrained_judge()
    aligner = Alignment(build(DiTConfig(patch=patch, width=32, depth=2, heads=2)), encoder, 128)
    pictures = scenes.batch(2, seed=1)[0]
    with torch.no_grad():
        expected = pooled(encoder(pictures)).flatten(2).transpose(1, 2)  # (B, N, C), row by row
    torch.testing.assert_close(aligner.features(pictures), expected)


def test_a_latent_pool_samples_the_pictures_of_its_latents_with_the_draws_of_sample(latent_pool, ae):
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    z, pictures = latent_pool.sample_pictured(16, a)
    assert torch.equal(z, latent_pool.sample(16, b)) and torch.equal(a.get_state(), b.get_state())
    with torch.no_grad():  # each picture is the one its latent encodes, mirrored where the latent is the mirror's
        torch.testing.assert_close(ae.encode(pictures), z, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("latent", [False, True])
def test_an_unaligned_run_is_what_it_was_and_an_aligned_one_descends_another_loss(latent, pool, latent_pool):
    """lambda = 0 runs every line of the aligned path (the pictures drawn, the tokens heard, the projector in the
    optimiser and the clipping) and changes nothing; lambda = 0.5 trains on the same batches, otherwise."""
    model_config, data = (LATENT_TINY, latent_pool) if latent else (TINY, pool)
    plain, silent, aligned = (Trainer(model_config, cfg(**kw), pool=data, progress=False).run(steps=3)
                              for kw in ({}, {"align": "judge", "align_weight": 0.0}, {"align": "judge"}))
    assert silent.losses == plain.losses
    assert all(torch.equal(a, b) for a, b in zip(silent.model.state_dict().values(), plain.model.state_dict().values()))
    assert aligned.losses[0] == plain.losses[0] and torch.equal(aligned.generator.get_state(),
                                                               plain.generator.get_state())  # the same batches
    assert aligned.losses[1:] != plain.losses[1:]
    assert not torch.equal(aligned.model.blocks[0].mlp[0].weight, plain.model.blocks[0].mlp[0].weight)


def test_an_aligned_run_resumes_exactly(tmp_path, pool):
    straight = Trainer(TINY, cfg(align="judge"), pool=pool, progress=False).run(steps=4)
    Trainer(TINY, cfg(align="judge"), run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=2)
    resumed = Trainer(TINY, cfg(align="judge"), run_dir=tmp_path / "run", pool=pool, progress=False)
    assert resumed.step == 2
    resumed.run(steps=4)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    for a, b in ((resumed.model, straight.model), (resumed.ema, straight.ema),
                 (resumed.alignment.projector, straight.alignment.projector)):
        for p, q in zip(a.state_dict().values(), b.state_dict().values()):
            torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5)


def test_alignment_switches_off_at_align_until_and_leaves_no_hook_behind(pool):
    trainer = Trainer(TINY, cfg(align="judge", align_until=2), pool=pool, progress=False)
    projector = trainer.alignment.projector
    first = [p.clone() for p in projector.parameters()]
    trainer.run(steps=2)
    trained = [p.clone() for p in projector.parameters()]
    assert all(p.grad is not None for p in projector.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(first, trained))
    trainer.run(steps=3)  # step 2: alignment is off
    assert all(p.grad is None for p in projector.parameters())
    assert all(torch.equal(a, b) for a, b in zip(trained, projector.parameters()))
    for model in (trainer.model, trainer.ema):  # nothing reaches the EMA or sampling
        assert not any(m._forward_hooks for m in model.modules())
    assert trainer.nets["align"] is projector and all(m is not projector for m in trainer.model.modules())


def test_a_masked_step_aligns_the_kept_tokens(pool):
    trainer = Trainer(TINY, cfg(align="judge", mask_ratio=0.5), pool=pool, progress=False)
    with trainer.alignment.reading() as tokens:
        trainer.run(steps=2)
    assert [t.shape for t in tokens] == [(8, 32, TINY.width)] * 2  # half of the 64 pieces
    assert all(torch.isfinite(torch.tensor(trainer.losses)))


def test_alignment_refuses_what_it_cannot_align():
    with pytest.raises(ValueError, match="DiT"):
        Trainer("unet-tiny", cfg(align="judge"), pool=scenes.ScenePool(8), progress=False)
    with pytest.raises(ValueError, match="frozen encoder"):
        Trainer(TINY, cfg(align="clip"), pool=scenes.ScenePool(8), progress=False)
    with pytest.raises(ValueError, match="align_block"):
        Trainer(TINY, cfg(align="judge", align_block=2), pool=scenes.ScenePool(8), progress=False)


def test_a_steps_cost_counts_the_frozen_encoder_and_the_projector():
    """The extra FLOPs of an aligned step: the encoder's forward pass on the pictures, and the projector's forward
    and backward (for its weights and for the tokens: three times its forward)."""
    plain = cost.step_flops(TINY, cfg(batch_size=4))
    aligned = cost.step_flops(TINY, cfg(batch_size=4, align="judge"))
    encoder, _ = untrained_judge()
    projector = Alignment(build(TINY), encoder, 128).projector
    with torch.no_grad():
        extra = (cost.count_flops(lambda: encoder(torch.zeros(4, 3, 32, 32)))
                 + 3 * cost.count_flops(lambda: projector(torch.zeros(4, 64, TINY.width))))
    assert aligned - plain == extra
    latent = [cost.step_flops(LATENT_TINY, cfg(batch_size=4, align=align)) for align in ("", "judge")]
    assert latent[1] > latent[0]  # (on the latents and pictures of the shipped autoencoder's step_flops pool)
