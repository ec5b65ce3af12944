"""How the judge is trained: its negatives, and a tiny end-to-end run of the recipe."""
import torch

from diffusion_course import scenes
from diffusion_course.config import JudgeTrainConfig
from diffusion_course.judging import metrics
from diffusion_course.judging import training as judge_training


def test_every_corruption_changes_the_scene_and_stays_in_range():
    x, _ = scenes.batch(8, seed=1)
    g = torch.Generator().manual_seed(0)
    for kind in judge_training.TRAIN_CORRUPTIONS + judge_training.MOSAICS + judge_training.HELD_OUT_CORRUPTIONS:
        y = judge_training.corrupt(x, kind, g)
        assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1, kind
        assert (y - x).abs().mean() > 0.01, kind
    shuffled = judge_training.corrupt(x, "shuffle", g)  # the same pieces, rearranged
    assert torch.allclose(shuffled.sum((1, 2, 3)), x.sum((1, 2, 3)), atol=1e-3)


def test_blur_keeps_a_flat_image_flat_and_smooths_an_edge():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(judge_training.blur(flat, 1.5), flat, atol=1e-6)
    edge = torch.zeros(1, 1, 16, 16)
    edge[..., 8:] = 1
    row = judge_training.blur(edge, 1.5)[0, 0, 8]
    assert 0 < row[7] < 0.5 < row[8] < 1  # the step is now a ramp


def test_label_targets_ignore_what_is_not_there():
    _, labels = scenes.batch(40, seed=3)
    t = metrics.label_targets(labels)
    for i, lab in enumerate(labels):
        assert t["presence"][i].tolist() == [float(o in lab.objects) for o in scenes.OBJECTS]
        assert (t["colour"][i] == -100) == (lab.rocket is None)
        assert (t["phase"][i] == -100) == (lab.moon is None)
        for k, rel in enumerate(scenes.RELATIONS):  # a relation is only taught where it applies
            truth = lab.relations[rel]
            assert t["relations_mask"][i, k] == float(truth is not None)
            assert truth is None or t["relations"][i, k] == float(truth)


def test_patch_mosaics_are_flat_or_seamed_at_their_patch_size():
    x, _ = scenes.batch(4, seed=2)
    g = torch.Generator().manual_seed(0)
    for p in (2, 4, 8):
        blocks = judge_training.corrupt(x, f"blocks{p}", g)
        assert torch.equal(blocks, blocks[..., ::p, ::p].repeat_interleave(p, -2).repeat_interleave(p, -1))
        grey = torch.zeros_like(x)  # on a flat grey picture nothing is clamped: the shift itself
        seams = judge_training.corrupt(grey, f"seams{p}", g)
        inside = seams[..., ::p, ::p].repeat_interleave(p, -2).repeat_interleave(p, -1)
        assert torch.equal(seams, inside) and seams.std() > 0.05


def test_the_recipe_runs_end_to_end_and_is_seeded():
    tiny = JudgeTrainConfig(steps=3, batch_size=8, pool_size=32, undertrained_images=4, undertrained_steps=2)
    a, losses = judge_training.train_judge(tiny, progress=False)
    b, _ = judge_training.train_judge(tiny, progress=False)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
