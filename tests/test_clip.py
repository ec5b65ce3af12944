"""The tiny CLIP: open_clip's own offline loader, learning, determinism and bad input."""
import os

import numpy as np
import open_clip
import pytest
import torch

from diffusion_course import scenes
from diffusion_course.config import ClipTrainConfig
from diffusion_course.shipped import CheckpointError
from diffusion_course.words import clip, clip_measures, clip_training

TINY = ClipTrainConfig(steps=3, batch_size=8, pool_size=32, warmup=1)


@pytest.fixture(scope="module")
def shipped():
    return clip.load()


def test_the_shipped_model_loads_through_open_clips_local_dir_offline(shipped):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{clip.DIR}")
    tokenizer = open_clip.get_tokenizer(f"local-dir:{clip.DIR}")
    ours, our_tokenizer = shipped
    x, labels = scenes.batch(4, seed=1)
    captions = [scenes.caption(lab) for lab in labels]
    with torch.no_grad():
        a = model.eval().encode_image(x, normalize=True) @ model.encode_text(tokenizer(captions), normalize=True).T
    assert torch.allclose(a, clip.similarity(ours, our_tokenizer, x, captions), atol=1e-5)
    assert tokenizer.context_length == clip.MODEL_CFG["text_cfg"]["context_length"]


def test_the_shipped_model_reads_held_out_scenes_far_above_chance(shipped):
    x, labels = scenes.batch(128, seed=9000)  # never drawn for training or for the bench
    r = clip_measures.retrieval(*shipped, x, labels, group=32)
    assert r["image_to_text"] >= 0.8 and r["text_to_image"] >= 0.8, r  # chance: about 1 in 32
    untrained = clip_measures.retrieval(*clip.build(), x, labels, group=32)
    assert untrained["image_to_text"] <= 0.3


def test_the_shipped_model_tells_each_relation_from_its_swap(shipped):
    # the pairs that matter for the challenge: left <-> right is read from positions alone, and a CLIP
    # trained on random relation swaps told left from right in 78 % of the pairs (config.ClipTrainConfig)
    x, labels = scenes.batch(256, seed=9000)
    pairs = clip_measures.relation_pairs(*shipped, x, labels)
    assert set(pairs) == set(scenes.words.SWAPS) | {"all"}
    assert min(pairs.values()) >= 0.9, pairs
    untrained = clip_measures.relation_pairs(*clip.build(), x, labels)
    assert untrained["left_right"] <= 0.75  # an untrained CLIP: about chance


def test_hard_negatives_change_exactly_one_relation():
    _, labels = scenes.batch(60, seed=5)
    idx, swapped = clip_training.hard_negatives([scenes.caption(lab) for lab in labels], np.random.default_rng(0))
    assert len(idx) >= 10
    for i, s in zip(idx, swapped):
        a, b = scenes.parse(scenes.caption(labels[i])), scenes.parse(s)
        changed = [k for k in scenes.RELATIONS if a[k] != b[k]]
        assert 1 <= len(changed) <= 2 and {k: a[k] for k in scenes.OBJECTS} == {k: b[k] for k in scenes.OBJECTS}
        assert not scenes.satisfies(b, scenes.facts(labels[i]))  # the swapped caption is false of the scene


def test_without_a_side_share_the_hard_negatives_are_drawn_uniformly_among_the_stated_relations():
    # the first shipped CLIP's rule: one of the relations a caption states, uniformly, one rng.integers call
    # per caption (so a CLIP re-made with side_negative_share=0 is the one shipped before 2026-11-29)
    _, labels = scenes.batch(200, seed=7)
    captions = [c for lab in labels for c in scenes.phrasings(lab)[:2]]
    rng, expected = np.random.default_rng(3), []
    for i, c in enumerate(captions):
        options = [s for r in scenes.words.SWAPS if (s := scenes.words.swap_relation(c, r)) is not None]
        if options:
            expected.append((i, options[int(rng.integers(len(options)))]))
    idx, swapped = clip_training.hard_negatives(captions, np.random.default_rng(3))
    assert list(zip(idx, swapped)) == expected and len(expected) > 100


def test_side_share_makes_left_right_the_hard_negative_that_often():
    # captions that say a side and two or three other relations: at random, left <-> right is one choice
    # among those; with side_share s it is chosen with probability s + (1 - s) * (the random rate)
    _, labels = scenes.batch(400, seed=6)
    captions = [c for lab in labels for c in scenes.phrasings(lab) if scenes.words.swap_relation(c, "left_right")]
    assert len(captions) >= 200

    def rate(share):
        idx, swapped = clip_training.hard_negatives(captions, np.random.default_rng(1), side_share=share)
        assert idx == list(range(len(captions)))
        return np.mean([scenes.words.swap_relation(c, "left_right") == s for c, s in zip(captions, swapped)])

    at_random, half, always = rate(0.0), rate(0.5), rate(1.0)
    assert always == 1.0 and 0.15 < at_random < 0.6
    assert abs(half - (0.5 + 0.5 * at_random)) < 0.06


def test_training_is_seeded_and_saves_in_open_clips_format(tmp_path):
    a, tok, losses, _ = clip_training.train(TINY, progress=False)
    b, _, _, _ = clip_training.train(TINY, progress=False)
    assert len(losses) == 3 and all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    path = clip.save(a, tmp_path / "tiny")
    back, tok2 = clip.load(path)
    x, _ = scenes.batch(2, seed=0)
    before, after = clip.similarity(a, tok, x, ["a blue pup"]), clip.similarity(back, tok2, x, ["a blue pup"])
    assert torch.allclose(before, after, atol=1e-5)


def test_loading_leaves_the_callers_random_state_alone():
    torch.manual_seed(3)
    expected = torch.rand(4)
    torch.manual_seed(3)
    clip.load()
    assert torch.equal(torch.rand(4), expected)  # a seeded notebook draws the same whether or not it loaded the CLIP


def test_bad_input_is_refused_with_what_to_do(shipped, tmp_path):
    model, tokenizer = shipped
    for bad in ([""], ["  "], [3], []):
        with pytest.raises(ValueError, match="non-empty strings"):
            clip.encode_texts(model, tokenizer, bad)
    with pytest.warns(UserWarning, match="context length of 24"):
        clip.encode_texts(model, tokenizer, ["a blue pup beside a red rocket flying " * 4])
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\) in \[-1, 1\]"):
        clip.encode_images(model, torch.zeros(2, 3, 64, 64))
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        clip.encode_images(model, torch.full((2, 3, 32, 32), 255.0))
    with pytest.raises(CheckpointError, match="python -m diffusion_course clip"):
        clip.load(tmp_path / "nothing")
    broken = tmp_path / "broken"
    clip.write_config(broken)
    (broken / clip.WEIGHTS_FILE).write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="re-make it with"):
        clip.load(broken)
