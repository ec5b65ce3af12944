"""Team Transformers: shapes, adaLN-zero, attention taps, and that it trains through the common code."""
import math

import pytest
import torch

from diffusion_course import build, config, sample
from diffusion_course.looking.taps import attention_distance, taps
from diffusion_course.looking.trace import annotate
from diffusion_course.models.dit import DiTBlock


def randomised(cfg):
    m = build(cfg)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return m.eval()


@pytest.mark.parametrize("patch", [2, 4, 8])
def test_shapes_for_several_patch_sizes(patch):
    cfg = config.DiTConfig(patch=patch, width=32, depth=2, heads=2)
    m = randomised(cfg)
    x = torch.randn(2, 3, 32, 32)
    assert m(x, torch.tensor([3, 900])).shape == x.shape
    assert m.patchify(x).shape == (2, (32 // patch) ** 2, patch * patch * 3)
    assert torch.equal(m.unpatchify(m.patchify(x)), x)
    with taps(m, ["block.1", "block.1.attn"]) as seen:
        m(x, 5)
    n = (32 // patch) ** 2
    assert seen["block.1"].shape == (2, n, 32)  # tokens as they are: nothing reshaped on the way
    assert seen["block.1.attn"].shape == (2, 2, n, n)
    assert m.tap_kinds() == {"block.0.attn": "attention", "block.0": "tokens",
                             "block.1.attn": "attention", "block.1": "tokens"}
    assert m.default_taps() == ["block.1", "block.1.attn"]  # the middle block is the last one here


def test_fresh_block_is_the_identity_and_fresh_model_predicts_zero():
    block = DiTBlock(32, 2, 4.0, "block.0")
    x, c = torch.randn(2, 16, 32), torch.randn(2, 32)
    assert torch.equal(block(x, c), x)
    assert build("dit-tiny")(torch.randn(2, 3, 32, 32), 7).abs().max() == 0


def test_attention_sums_to_one_and_matches_a_hand_computation():
    m = randomised(config.preset("dit-tiny"))
    x = torch.randn(2, 3, 32, 32)
    attn = m.blocks[1].attn
    seen_in = {}
    pre = attn.register_forward_pre_hook(lambda mod, args: seen_in.__setitem__("x", args[0]))
    try:
        with taps(m, ["block.1.attn"]) as seen:
            m(x, 42)
    finally:
        pre.remove()
    probs = seen["block.1.attn"]  # (B, heads, N, N)
    assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-6)
    q, k, _ = attn.qkv(seen_in["x"]).chunk(3, dim=-1)
    heads, d = attn.heads, q.shape[-1] // attn.heads
    q = q.view(2, -1, heads, d).transpose(1, 2)
    k = k.view(2, -1, heads, d).transpose(1, 2)
    by_hand = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
    assert torch.allclose(by_hand, probs, atol=1e-6)


def test_listening_to_attention_changes_no_drawing():
    m = randomised(config.preset("dit-tiny"))
    listened = [n for n, kind in m.tap_kinds().items() if kind == "attention"]
    trace = annotate(m, 2, steps=5, seed=3, taps=listened, every=1)
    assert torch.equal(trace.final, sample(m, 2, steps=5, seed=3)) and set(trace.taps) == set(listened)


def test_a_conv_stem_lets_a_piece_see_across_its_edges():
    plain, stemmed = (randomised(config.DiTConfig(patch=4, width=32, depth=2, heads=2, stem=s)) for s in (0, 8))
    x = torch.randn(1, 3, 32, 32)
    y = x.clone()
    y[0, :, 1, 4] += 1.0  # a pixel of the second piece, on the edge it shares with the first
    for m, sees_it in ((plain, False), (stemmed, True)):
        first = m.read_pieces(x)[0, 0], m.read_pieces(y)[0, 0]  # the first piece's token
        assert (not torch.allclose(*first)) == sees_it
        assert torch.equal(m.read_pieces(x)[0, 2:], m.read_pieces(y)[0, 2:])  # pieces further away: unmoved
    assert stemmed(x, 5).shape == x.shape and not any(k.startswith("stem") for k in plain.state_dict())
    assert build(config.DiTConfig(patch=4, width=32, depth=2, heads=2, stem=8))(x, 7).abs().max() == 0
    with pytest.raises(ValueError, match="stem"):
        build(config.DiTConfig(stem=-1))


def test_sine_cosine_positions_make_neighbours_alike_and_are_not_trained():
    grid = 8  # 32 / 4: token k sits at row k // 8, column k % 8, the order patchify cuts the pieces in
    fixed = randomised(config.DiTConfig(patch=4, width=32, depth=2, heads=2, positions="sincos"))
    unit = torch.nn.functional.normalize(fixed.pos[0], dim=-1)
    near = unit @ unit.T  # (N, N) cosine between places
    rows, cols = torch.arange(grid ** 2) // grid, torch.arange(grid ** 2) % grid
    apart = (rows[:, None] - rows[None]).abs() + (cols[:, None] - cols[None]).abs()  # steps between two places
    assert near[apart == 1].mean() > near[apart == 4].mean() > near[apart == 12].mean()
    assert near[3 * grid + 3, 3 * grid + 4] > near[3 * grid + 3, 3 * grid + 7]  # along a row
    assert near[3 * grid + 3, 4 * grid + 3] > near[3 * grid + 3, 7 * grid + 3]  # down a column
    assert all(p is not fixed.pos for p in fixed.parameters()) and "pos" not in fixed.state_dict()
    learned = build(config.DiTConfig(patch=4, width=32, depth=2, heads=2))
    assert any(p is learned.pos for p in learned.parameters()) and learned.pos.shape == fixed.pos.shape
    x = torch.randn(2, 3, 32, 32)
    again = build(config.DiTConfig(patch=4, width=32, depth=2, heads=2, positions="sincos"))
    again.load_state_dict(fixed.state_dict())  # the table is not saved: every model of the shape computes the same
    y = fixed(x, torch.tensor([5, 9]))
    assert y.abs().max() > 0 and torch.equal(again.eval()(x, torch.tensor([5, 9])), y)
    with pytest.raises(ValueError, match="positions"):
        build(config.DiTConfig(positions="random"))


def test_a_few_training_steps_reduce_the_loss():
    from diffusion_course import TrainConfig, Trainer, scenes

    tr = Trainer("dit-tiny", TrainConfig(steps=60, batch_size=32, warmup=5, lr=3e-3, precision="fp32"),
                 pool=scenes.ScenePool(256), progress=False).run()
    first, last = sum(tr.losses[:10]) / 10, sum(tr.losses[-10:]) / 10
    assert last < 0.7 * first, (first, last)


def test_same_sampler_trace_and_viewer_as_the_unet():
    from diffusion_course.looking.widgets import TraceViewer

    m = randomised(config.preset("dit-tiny"))
    x = sample(m, 2, steps=5, seed=1)
    tr = annotate(m, 2, steps=5, seed=1, taps=["block.0", "block.1.attn"], every=1)
    assert torch.equal(x, tr.final)
    v = TraceViewer(tr, tap="block.1.attn", query=(3, 3))
    assert all(len(s.children) == 5 for s in v.stacks[0])
    assert config.from_dict(config.to_dict(m.config)) == m.config


def test_attention_distance_closed_forms():
    n, side = 16, 4
    itself = torch.eye(n)
    right = torch.zeros(n, n)
    for q in range(n):  # every query looks at its right-hand neighbour (or its left one at the edge)
        r, c = divmod(q, side)
        right[q, r * side + (c + 1 if c + 1 < side else c - 1)] = 1
    uniform = torch.full((n, n), 1 / n)
    pairs = [(a // side - b // side, a % side - b % side) for a in range(n) for b in range(n)]
    mean_distance = sum(math.hypot(*d) for d in pairs) / len(pairs)
    got = attention_distance(torch.stack([itself, right, uniform])[None])  # (1, 3)
    assert torch.allclose(got, torch.tensor([[0.0, 1.0, mean_distance]]), atol=1e-5)
    with pytest.raises(ValueError, match="square grid"):
        attention_distance(torch.ones(2, 5, 5))
