"""The scene judge and the metrics, on constructed cases where the right answer is known."""
import pytest
import torch

from diffusion_course import load_pretrained, scenes
from diffusion_course.judging import metrics
from diffusion_course.judging import training as judge_training
from diffusion_course.judging.memorisation import memorisation


@pytest.fixture(scope="module")
def judge():
    return load_pretrained("judge", "cpu")


@pytest.fixture(scope="module")
def real():
    return scenes.batch(400, seed=scenes.HELD_OUT_SEED + 1)


def test_judge_reads_held_out_scenes_and_their_relations(judge, real):
    x, labels = real
    acc = metrics.label_accuracy(judge, x, labels)
    rates = {k: v for k, v in acc.items() if not k.endswith("_px")}
    assert set(scenes.RELATIONS) <= set(rates)
    assert min(rates.values()) >= 0.98, acc
    assert max(v for k, v in acc.items() if k.endswith("_px")) < 0.5, acc  # the geometry head, in pixels


def test_matches_scores_objects_and_relations(judge):
    prompt = scenes.CHALLENGE_PROMPTS[0]  # the pup sitting in a rocket flying near the moon
    inside, _ = scenes.sample_for(prompt, 24, seed=1)
    beside, _ = scenes.sample_for("the pup beside a rocket flying near the moon", 24, seed=1)
    assert metrics.matches(metrics.read(judge, inside), prompt).float().mean() >= 0.9
    assert metrics.matches(metrics.read(judge, beside), prompt).float().mean() <= 0.1
    no_moon, _ = scenes.sample_for("the pup sitting in a rocket flying", 16, seed=1)
    assert metrics.matches(metrics.read(judge, no_moon), prompt).float().mean() <= 0.1  # an object missing
    with pytest.raises(ValueError, match="grammar knows"):
        metrics.matches(metrics.read(judge, inside[:2]), "a unicorn")


def test_patch_mosaics_warps_and_stray_blobs_are_not_recognisable(judge, real):
    x, _ = real
    g = torch.Generator().manual_seed(11)
    for kind in (*judge_training.MOSAICS, "warp", "stretch", "blobs"):
        rate = metrics.recognisable_rate(judge, judge_training.corrupt(x[:160], kind, g))
        assert rate <= 0.05, (kind, rate)


def test_with_objects_counts_empty_skies(judge, real):
    x, labels = real
    r = metrics.read(judge, x, redraw_objects=False)
    share = metrics.with_objects_reading(r).float().mean().item()
    truth = sum(bool(lab.objects) for lab in labels) / len(labels)
    assert abs(share - truth) < 0.01 and 0.85 < truth < 0.97


def test_recognisable_rate_separates_scenes_from_noise_and_blur(judge, real):
    x, _ = real
    g = torch.Generator().manual_seed(3)
    assert metrics.recognisable_rate(judge, x) >= 0.99
    assert metrics.recognisable_rate(judge, scenes.batch(200, seed=scenes.HELD_OUT_SEED, world=1)[0]) >= 0.97
    assert metrics.recognisable_rate(judge, torch.randn(200, 3, 32, 32, generator=g).clamp(-1, 1)) <= 0.02
    heavy_blur = torch.stack([judge_training.blur(xi[None], 2.5)[0] for xi in x[:200]])
    assert metrics.recognisable_rate(judge, heavy_blur) <= 0.05
    for kind in judge_training.HELD_OUT_CORRUPTIONS:  # never seen in training
        assert metrics.recognisable_rate(judge, judge_training.corrupt(x[:200], kind, g)) <= 0.3, kind


def test_frechet_distance_closed_forms():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2000, 6, generator=g)
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    # N(0, I) vs N(m, I): |m|^2; N(0, I) vs N(0, 4I): d (1 + 4 - 2 * 2) = d
    assert metrics.frechet_distance(a, a + 1.0) == pytest.approx(6.0, rel=1e-6)
    assert metrics.frechet_distance(a, 2 * a) == pytest.approx(6 * 1.0 * torch.cov(a.T).diag().mean().item(), rel=0.05)


def test_judged_fid_is_zero_for_identical_sets_and_grows_with_damage(judge, real):
    x, _ = real
    g = torch.Generator().manual_seed(1)
    same = metrics.judged_fid(judge, x, x)
    other = metrics.judged_fid(judge, x, scenes.batch(400, seed=scenes.HELD_OUT_SEED + 2)[0])
    noisy = metrics.judged_fid(judge, x, judge_training.corrupt(x, "noisy_scene", g))
    assert abs(same) < 1e-6 and same < other < noisy


def test_diversity_flags_a_collapsed_generator(judge, real):
    x, _ = real
    collapsed = (x[:1].expand(200, -1, -1, -1) + 0.01 * torch.randn(200, 3, 32, 32)).clamp(-1, 1)
    assert metrics.diversity(judge, collapsed, x)["collapsed"] is True
    ok = metrics.diversity(judge, scenes.batch(200, seed=5)[0], x)
    assert ok["collapsed"] is False and 0.8 < ok["ratio_to_real"] < 1.25
    only_pups = torch.stack([xi for xi, l in zip(*scenes.batch(300, seed=6)) if l.pup and not l.rocket])
    assert metrics.coverage(judge, only_pups, x)["contents_tv"] > 0.5


def test_memorisation_flags_copies_of_the_training_set():
    train, _ = scenes.batch(300, seed=0)
    fresh, _ = scenes.batch(100, seed=9)
    ref, _ = scenes.batch(100, seed=10)
    copied = memorisation(train[:100], train, ref)
    assert copied["memorised_fraction"] == 1.0 and copied["median_nn_ratio"] == 0.0
    new = memorisation(fresh, train, ref)
    assert new["memorised_fraction"] <= 0.05 and 0.7 < new["median_nn_ratio"] < 1.4


def test_caption_agreement(judge, real):
    x, labels = real
    assert metrics.caption_agreement(judge, x, labels) >= 0.95
    assert metrics.caption_agreement(judge, x, labels[1:] + labels[:1]) <= 0.5


def test_judge_refuses_wrong_shapes(judge):
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\)"):
        judge.features(torch.zeros(3, 32, 32))
    for bad in (torch.zeros(2, 3, 16, 16), torch.zeros(2, 32, 32, 3), torch.full((2, 3, 32, 32), 255.0),
                torch.zeros(2, 3, 32, 32, dtype=torch.uint8)):
        with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\) in \[-1, 1\]"):
            metrics.recognisable_rate(judge, bad)
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        memorisation(torch.zeros(2, 3, 32, 32) + 2, torch.zeros(2, 3, 32, 32), torch.zeros(2, 3, 32, 32))


def test_evaluate_reads_the_judge_once_for_samples_and_once_for_the_reference(judge, real):
    x, _ = real
    calls = []
    handle = judge.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    try:
        out = metrics.evaluate(judge, x[:64])
    finally:
        handle.remove()
    assert calls == [64, 64]  # one reading of the 64 samples, one of 64 held-out scenes
    ref = metrics.reference_scenes(64)[0]
    assert out["recognisable_rate"] == metrics.recognisable_rate(judge, x[:64])
    assert out["frechet_distance"] == metrics.judged_fid(judge, x[:64], ref)
    assert out["coverage_contents_tv"] == metrics.coverage(judge, x[:64], ref)["contents_tv"]
    assert out["diversity_ratio_to_real"] == metrics.diversity(judge, x[:64], ref)["ratio_to_real"]
