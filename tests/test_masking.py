"""Masked training (MaskDiT): a DiT reads only the kept pieces, the loss reads only their pixels, a masked step
costs about half, and an unmasked run is exactly what it was before masking existed."""
import dataclasses

import pytest
import torch

from diffusion_course import build, config, scenes
from diffusion_course.config import TrainConfig
from diffusion_course.diffusion import cost, masking
from diffusion_course.diffusion.training import Trainer
from diffusion_course.models.dit import scatter_pieces

TINY = config.preset("dit-tiny")  # 32 x 32 pixels in 4 x 4 pieces: N = 64 tokens


@pytest.fixture(scope="module")
def pool():
    return scenes.ScenePool(64, seed=0)


def cfg(**kw):
    return TrainConfig(**{"steps": 12, "batch_size": 8, "warmup": 4, "precision": "fp32", **kw})


def jittered(model_config):
    """A DiT with every weight drawn at random (a fresh one predicts 0 everywhere, which would hide everything)."""
    m = build(model_config)
    with torch.no_grad():
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.05)
    return m.eval()


def half_kept(batch: int, seed: int = 0) -> torch.Tensor:
    return masking.draw_keep(cfg(mask_ratio=0.5), 0, batch, build(TINY), torch.Generator().manual_seed(seed))


def test_keep_draws_k_distinct_pieces_per_image_and_nothing_when_unmasked():
    keep = half_kept(3)
    assert keep.shape == (3, 32) and all(len(set(row.tolist())) == 32 for row in keep)
    g = torch.Generator().manual_seed(0)
    before = g.get_state()
    for c, step in ((cfg(), 0), (cfg(mask_ratio=0.5, mask_until=10), 10)):  # off, and in the unmasked tail
        assert masking.draw_keep(c, step, 3, build(TINY), g) is None
    assert torch.equal(g.get_state(), before)


def test_keeping_every_piece_in_order_is_the_unmasked_model():
    m = jittered(dataclasses.replace(TINY, depth=4))  # two long skips
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 700])
    with torch.no_grad():
        assert torch.equal(m(x, t, keep=torch.arange(64).expand(2, 64)), m(x, t))


@pytest.mark.parametrize("conv_out", [False, True])
def test_the_kept_pieces_never_see_the_dropped_ones(conv_out):
    """Change the input only on dropped pieces: the output on kept pixels stays the same, with conv_out too (it
    sees zeros beside a dropped piece whatever the input there); without conv_out the dropped pieces come out 0."""
    m = jittered(dataclasses.replace(TINY, conv_out=conv_out))
    keep = half_kept(2)
    kept = masking.kept_pixels(keep, m.grid, m.config.patch).bool().expand(2, 3, 32, 32)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 700])
    other = torch.where(kept, x, torch.randn(x.shape))
    with torch.no_grad():
        a, b = m(x, t, keep=keep), m(other, t, keep=keep)
    assert torch.equal(a[kept], b[kept])
    assert (a[~kept] != 0).any() if conv_out else torch.equal(a[~kept], torch.zeros_like(a[~kept]))


def test_a_conv_stem_reads_across_into_the_dropped_pieces():
    """What does not hold: a stem (a 3x3 conv before the pieces are cut) reads one pixel beyond each piece."""
    m = jittered(dataclasses.replace(TINY, conv_out=False, stem=8))
    keep = half_kept(2)
    kept = masking.kept_pixels(keep, m.grid, m.config.patch).bool().expand(2, 3, 32, 32)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 700])
    with torch.no_grad():
        a, b = m(x, t, keep=keep), m(torch.where(kept, x, torch.randn(x.shape)), t, keep=keep)
    assert not torch.equal(a[kept], b[kept])


def test_the_masked_loss_is_the_mean_over_kept_pixels(pool):
    """One masked step draws the batch, t and eps as always, then the kept pieces; its loss is
    w(t) sum(m (eps_hat - eps)^2) / (C sum m) with m = 1 on kept pixels."""
    tr = Trainer(TINY, cfg(mask_ratio=0.5), pool=pool, progress=False)
    for p in tr.model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    g = torch.Generator().manual_seed(tr.cfg.seed)
    x0 = pool.sample(8, generator=g)
    t, eps = torch.randint(0, tr.schedule.T, (8,), generator=g), torch.randn(x0.shape, generator=g)
    keep = torch.rand(8, 64, generator=g).argsort(dim=1)[:, :32]
    with torch.no_grad():
        eps_hat = tr.model(tr.schedule.q_sample(x0, t, eps), t, keep=keep)
    m = tr.model.unpatchify(scatter_pieces(torch.ones(8, 32, 48), keep, 64))  # 1 on kept pixels, all 3 channels
    by_hand = (tr.weight[t] * (m * (eps_hat - eps).square()).sum((1, 2, 3)) / m.sum((1, 2, 3))).mean()
    assert tr.train_step() == pytest.approx(by_hand.item(), rel=1e-5)
    assert torch.equal(tr.generator.get_state(), g.get_state())  # nothing else was drawn


def test_an_unmasked_run_draws_what_it_always_drew(pool):
    """Masking off (the default): the step's loss is the plain loss of the batch, t and eps drawn as before, and
    the generator has drawn nothing more, so unmasked runs are bit for bit what they were."""
    tr = Trainer(TINY, cfg(), pool=pool, progress=False)
    g = torch.Generator().manual_seed(tr.cfg.seed)
    x0 = pool.sample(8, generator=g)
    t, eps = torch.randint(0, tr.schedule.T, (8,), generator=g), torch.randn(x0.shape, generator=g)
    expected = tr.loss_at(x0, t, eps).item()  # (before the step moves the weights)
    assert tr.train_step() == expected
    assert torch.equal(tr.generator.get_state(), g.get_state())


def test_a_masked_step_costs_about_half(pool):
    plain = cost.step_flops(TINY, cfg(batch_size=4), pool)
    masked = cost.step_flops(TINY, cfg(batch_size=4, mask_ratio=0.5), pool)
    assert 0.35 < masked / plain < 0.75, masked / plain


def test_a_masked_run_with_an_unmasked_tail_resumes_exactly(tmp_path, pool):
    c = cfg(mask_ratio=0.5, mask_until=6)
    straight = Trainer(TINY, c, pool=pool, progress=False).run(steps=8)
    Trainer(TINY, c, run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=4)
    resumed = Trainer(TINY, c, run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=8)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    for a, b in zip(resumed.ema.state_dict().values(), straight.ema.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("model, ratio, message", [("unet-tiny", 0.5, "drops a DiT's"), (TINY, 1.0, r"in \[0, 1\)"),
                                                   (TINY, -0.1, r"in \[0, 1\)")])
def test_masking_what_cannot_be_masked_fails_clearly(pool, model, ratio, message):
    with pytest.raises(ValueError, match=message):
        Trainer(model, cfg(mask_ratio=ratio), pool=pool, progress=False)
