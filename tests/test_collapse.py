"""Everyone draws the same (notebook 06): descriptions, the template, the tiny GAN, and the collapse and
memorisation detectors on constructed sets where the right answer is known."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from diffusion_course import config, load_pretrained, sample, scenes
from diffusion_course.config import GANConfig, GANTrainConfig, TrainConfig
from diffusion_course.diffusion.telling import UNSAID
from diffusion_course.diffusion.training import Trainer
from diffusion_course.judging import metrics
from diffusion_course.judging.memorisation import memorisation
from diffusion_course.lessons import adversarial, collapse, templates
from diffusion_course.models import GAN, Template, build
from diffusion_course.pools import ImagePool


@pytest.fixture(scope="module")
def judge():
    return load_pretrained("judge", "cpu")


# ----------------------------------------------------------------------------- descriptions

def test_a_description_has_one_slot_per_fact_said_and_zeros_for_the_unsaid():
    _, labels = scenes.batch(40, seed=3)
    for lab in labels:
        f = scenes.facts(lab)
        v = scenes.describe(f)
        said = [k for k, value in f.items() if value is not None]
        assert v.sum() == len(said)  # one slot per fact said, none for the unsaid
        for k in said:
            slot = f"{k}={f[k]}" if k in ("colour", "phase") else f"{k}={'yes' if f[k] else 'no'}"
            assert v[scenes.DESCRIPTION.index(slot)] == 1
    assert not scenes.describe({}).any()  # nothing said: the zero vector
    prompt = scenes.describe(scenes.parse("the pup sitting in a red rocket flying near the moon"))
    assert prompt[scenes.DESCRIPTION.index("colour=red")] == 1 and prompt[scenes.DESCRIPTION.index("phase=full")] == 0
    with pytest.raises(ValueError, match="unknown"):
        scenes.describe({"dragon": True})
    with pytest.raises(ValueError, match="not a fact"):
        scenes.describe({"colour": "blue"})
    assert config.PRESETS["unet-labels"].cond_dim == len(scenes.DESCRIPTION)


def test_a_described_model_reads_its_description_and_refuses_the_wrong_shape():
    model = build("unet-labels-tiny").eval()
    for w in model.parameters():  # (the description's path and each block's last conv start at zero: wake them)
        if w.ndim > 1 and not w.any():
            torch.nn.init.normal_(w, std=0.1)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([500, 500])
    said = templates.describe("the pup sitting in a rocket flying near the moon")
    with torch.no_grad():
        told, other = model(x, t, cond=said), model(x, t, cond=templates.describe("a rocket"))
        assert not torch.allclose(told, other)
        assert torch.equal(model(x, t), model(x, t, cond=torch.zeros(1, len(scenes.DESCRIPTION))))
        assert torch.equal(told, model(x, t, cond=said.expand(2, -1)))
    with pytest.raises(ValueError, match=r"descriptions of shape \(1 or 2, 24\)"):
        model(x, t, cond=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="not told descriptions"):
        templates.draw(build("unet-tiny"), "a rocket", 2)


def test_training_descriptions_drop_what_a_sentence_may_leave_out():
    pool_cfg = dict(pool_size=64, steps=2, batch_size=8)
    whole = Trainer("unet-labels-tiny", TrainConfig(cond_dropout=0.0, plain_share=0.0, **pool_cfg), progress=False)
    idx = torch.arange(64)
    expected = np.stack([scenes.describe(scenes.facts(lab)) for lab in whole.pool.labels])
    assert np.array_equal(whole.descriptions(idx).numpy(), expected)
    half = Trainer("unet-labels-tiny", TrainConfig(cond_dropout=0.5, plain_share=1.0, **pool_cfg), progress=False)
    d = half.descriptions(idx)
    empty = d.sum(1) == 0
    assert 10 < empty.sum() < 54  # about half say nothing at all
    unsaid = [i for i, s in enumerate(scenes.DESCRIPTION) if s.split("=")[0] in UNSAID]
    assert d[:, unsaid].sum() == 0  # plain_share 1: no colour, phase or side is ever said
    half.run()
    assert half.step == 2 and np.isfinite(half.losses).all()


# ----------------------------------------------------------------------------- the template

def test_the_template_draws_one_picture_however_often_it_is_asked():
    template = build("template-labels-tiny")
    assert isinstance(template, Template)
    torch.nn.init.normal_(template.net.conv_out.weight, std=0.1)
    a = templates.draw(template, "the pup beside a rocket flying near the moon", 16, seed=0)
    b = templates.draw(template, "the pup beside a rocket flying near the moon", 4, seed=7)
    assert torch.equal(a, a[:1].expand_as(a)) and torch.allclose(a[:4], b, atol=1e-5)  # no dust: no seed, no variety
    assert not torch.equal(a[0], templates.draw(template, "a full moon", 1)[0])
    with pytest.raises(ValueError, match="24 numbers"):
        templates.describe(np.zeros(5))
    with pytest.raises(ValueError, match="3 descriptions for 16 pictures"):
        templates.draw(template, np.zeros((3, len(scenes.DESCRIPTION))), 16)


def test_the_pixel_loss_pulls_the_template_to_the_average_of_what_fits():
    """Eight different scenes, all told the same description: the template trained on them moves toward their
    mean picture, closer to it than to any one of them (the minimiser of a squared error is the mean)."""
    x, _ = scenes.batch(8, seed=11)
    pool = scenes.ScenePool(8, seed=11)
    trainer = templates.TemplateTrainer("template-labels-tiny", TrainConfig(steps=150, batch_size=16, lr=3e-3,
                                                                            warmup=10, cond_dropout=0.0),
                                        pool=pool, progress=False)
    trainer.facts = [trainer.facts[0]] * 8  # one description for all eight
    trainer.cfg = TrainConfig(steps=150, batch_size=16, lr=3e-3, warmup=10, cond_dropout=0.0, plain_share=0.0)
    trainer.run()
    out = templates.draw(trainer.model, scenes.describe(trainer.facts[0]), 1)[0]
    to_mean = (out - x.mean(0)).square().mean()
    to_each = (out[None] - x).square().mean(dim=(1, 2, 3))
    assert to_mean < to_each.min(), (to_mean, to_each)


# ----------------------------------------------------------------------------- the tiny GAN

def test_the_gan_draws_from_a_seed_and_resumes_exactly(tmp_path):
    for cfg in (GANConfig(), GANConfig(batchnorm=True)):
        gan = GAN(cfg)
        assert 200_000 < gan.num_params() < 1_000_000  # a tiny GAN: a few hundred thousand parameters
        x = gan.sample(6, seed=3)
        assert x.shape == (6, 3, 32, 32) and x.abs().max() <= 1
        assert torch.allclose(x[:2], gan.sample(2, seed=3), atol=1e-6)  # a picture does not depend on its batch
    pool = ImagePool(scenes.ScenePool(64, seed=0).images)
    cfg = GANTrainConfig(steps=4, batch_size=8, checkpoint_every=2)
    straight = adversarial.GANTrainer(GANConfig(width=8), cfg, pool=pool, progress=False).run()
    adversarial.GANTrainer(GANConfig(width=8), cfg, run_dir=tmp_path, pool=pool, progress=False).run(steps=2)
    resumed = adversarial.GANTrainer(GANConfig(width=8), cfg, run_dir=tmp_path, pool=pool, progress=False)
    assert resumed.step == 2
    resumed.run()
    for a, b in zip(straight.gan.state_dict().values(), resumed.gan.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(Exception, match="other settings"):
        adversarial.GANTrainer(GANConfig(width=8), GANTrainConfig(steps=4, batch_size=8, lr=1e-3),
                               run_dir=tmp_path, pool=pool, progress=False)


def test_the_gan_command_writes_both_curves(tmp_path):
    out = tmp_path / "gan"
    run = subprocess.run([sys.executable, "-m", "diffusion_course", "gan", "--steps", "4", "--probe-every", "2",
                          "--against", "unet-tiny", "--diffusion-probe-every", "1", "--probe-images", "16",
                          "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert [p["step"] for p in card["curve"]] == [2, 4] and card["diffusion_curve"][0]["step"] == 0
    assert {"recognisable_rate", "diversity", "twins", "contents_tv"} <= set(card["curve"][0])
    assert card["diffusion"]["preset"] == "unet-tiny" and out.with_suffix(".png").exists()
    assert card["probe_images"] == 16
    raced = collapse.race(card)
    assert raced["seconds"] <= card["train_seconds"] and raced["gan"]["train_seconds"] <= raced["seconds"]
    bad = subprocess.run([sys.executable, "-m", "diffusion_course", "gan", "--against", "unet-labels", "--out",
                          str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --against takes an unconditional")


# ----------------------------------------------------------------------------- detectors

def test_twins_flag_a_generator_that_draws_a_few_pictures_over_and_over(judge):
    real = scenes.batch(128, seed=scenes.HELD_OUT_SEED)[0]
    four = scenes.batch(4, seed=21)[0]
    few = (four.repeat(32, 1, 1, 1) + 0.01 * torch.randn(128, 3, 32, 32)).clamp(-1, 1)
    d = metrics.diversity(judge, few, real)
    assert d["twins"] > 0.9 and d["collapsed"] is True
    assert d["ratio_to_real"] > metrics.COLLAPSE_BELOW  # the mean distance alone would not have seen it
    fresh = metrics.diversity(judge, scenes.batch(128, seed=22)[0], real)
    assert fresh["twins"] < 0.25 and fresh["collapsed"] is False


def test_memorisation_finds_planted_copies_and_their_sources():
    train = scenes.batch(200, seed=0)[0]
    planted = torch.tensor([3, 50, 77, 199])
    fresh = scenes.batch(12, seed=31)[0]
    x = torch.cat([(train[planted] + 0.02 * torch.randn(4, 3, 32, 32)).clamp(-1, 1), fresh])
    m = memorisation(x, train, scenes.batch(64, seed=32)[0])
    assert m["flagged"].tolist() == [True] * 4 + [False] * 12
    assert torch.equal(m["nearest"][:4], planted) and m["memorised_fraction"] == pytest.approx(4 / 16)


def test_distances_need_two_images_of_one_size(judge):
    x = scenes.batch(8, seed=1)[0]
    for call in (lambda: metrics.diversity(judge, x[:1], x), lambda: memorisation(x[:1], x, x),
                 lambda: memorisation(x, x[:1], x)):
        with pytest.raises(ValueError, match="at least two images"):
            call()
    small = torch.nn.functional.interpolate(x, size=16)
    with pytest.raises(ValueError, match="same picture size"):
        memorisation(x, small, x)
    with pytest.raises(ValueError, match="same picture size"):
        metrics.diversity(judge, x, small)


# ----------------------------------------------------------------------------- the shipped models

def test_fewer_training_scenes_memorise_more():
    """The shipped unet-memo-16 draws copies of its 16 scenes; unet-memo-1024 far fewer."""
    small, big = (collapse.memorised(f"unet-memo-{k}", n=24, steps=20) for k in (16, 1024))
    assert small["training_scenes"] == 16 and big["training_scenes"] == 1024
    assert small["memorised_fraction"] >= 0.5 > big["memorised_fraction"] + 0.25
    assert small["nearest_images"].shape == small["images"].shape


def test_told_the_same_thing_the_template_repeats_itself_and_diffusion_does_not(judge):
    """The shipped pair (same backbone, same steps): the template draws one blur per description; the described
    diffusion model draws varied, recognisable scenes, and follows the description far more often than when it is
    told nothing."""
    described = load_pretrained("unet-labels", "cpu")
    models = {"template": load_pretrained("template-labels", "cpu"), "diffusion": described}
    told = collapse.told(judge, models, prompts=collapse.TOLD_PROMPTS[1:3], n=16, steps=25)
    t, d = told["mean"]["template"], told["mean"]["diffusion"]
    assert t["diversity"] == 0 and t["twins"] == 1
    assert d["diversity"] > 0.5 and d["twins"] < 0.5 and d["recognisable"] > t["recognisable"] + 0.3
    prompt = collapse.TOLD_PROMPTS[1]
    nothing_said = metrics.read(judge, sample(described, 32, steps=25, seed=5))
    said = metrics.read(judge, templates.draw(described, prompt, 32, steps=25, seed=5))
    assert metrics.matches(said, prompt).float().mean() > metrics.matches(nothing_said, prompt).float().mean() + 0.2


def test_the_command_line_draws_notebook_06s_models(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "diffusion_course", "sample", *args], capture_output=True,
                              text=True, timeout=300)

    for model in ("unet-labels", "template-labels", "gan-scenes"):
        told = ["--prompt", "a full moon"] if model != "gan-scenes" else []
        ok = run("--model", model, *told, "-n", "4", "--steps", "5", "--out", str(tmp_path / f"{model}.png"))
        assert ok.returncode == 0 and (tmp_path / f"{model}.png").exists(), ok.stderr[-1000:]
    bad = run("--model", "template-labels", "--prompt", "a full moon", "--cfg", "3")
    assert bad.returncode == 2 and bad.stderr.startswith("error: 'template-labels' takes no guidance")
    bad = run("--model", "gan-scenes", "--prompt", "a full moon")
    assert bad.returncode == 2 and "is a GAN" in bad.stderr
