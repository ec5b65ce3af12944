import dataclasses
import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from diffusion_course import build, config, load_model, load_pretrained, scenes, schedules, shipped
from diffusion_course.config import TrainConfig
from diffusion_course.diffusion import checkpoints
from diffusion_course.diffusion.training import Trainer, lr_at, min_snr_weight
from diffusion_course.judging import metrics
from diffusion_course.precision import cpu_has_native_bf16, vector_units

TINY = config.preset("unet-tiny")


@pytest.fixture(scope="module")
def pool():
    return scenes.ScenePool(256, seed=0)


def cfg(**kw):
    return TrainConfig(**{"steps": 12, "batch_size": 16, "warmup": 4, "precision": "fp32", **kw})


def test_min_snr_weight_closed_form():
    snr = torch.tensor([0.1, 1.0, 5.0, 20.0, 1000.0])
    assert torch.allclose(min_snr_weight(snr, 5.0), torch.tensor([1.0, 1.0, 1.0, 0.25, 0.005]))
    assert torch.equal(min_snr_weight(snr, 0), torch.ones(5))


def test_lr_schedule_warms_up_then_decays():
    c = TrainConfig(steps=1000, warmup=100, lr=1e-3)
    assert lr_at(0, c) == pytest.approx(1e-5)
    assert lr_at(99, c) == pytest.approx(1e-3)
    assert lr_at(550, c) == pytest.approx(1e-3 * (0.05 + 0.95 * 0.5))
    assert lr_at(1000, c) == pytest.approx(5e-5)


def test_ema_warms_up():
    tr = Trainer(TINY, cfg(), pool=scenes.ScenePool(32), progress=False)
    before = [p.clone() for p in tr.ema.parameters()]
    tr.train_step()
    # decay at step 0 is 1/10, so the EMA moves 90 % of the way to the new weights
    for e, b, p in zip(tr.ema.parameters(), before, tr.model.parameters()):
        assert torch.allclose(e, 0.1 * b + 0.9 * p, atol=1e-6)


def test_a_few_steps_reduce_the_loss(pool):
    tr = Trainer(TINY, cfg(steps=80, lr=3e-3, batch_size=32), pool=pool, progress=False).run()
    first, last = sum(tr.losses[:10]) / 10, sum(tr.losses[-10:]) / 10
    assert last < 0.6 * first, (first, last)


def test_a_learners_own_loss_trains_exactly_as_the_trainers_loss(pool):
    """Notebook 02's course loss (t, then eps, from the trainer's generator; Min-SNR weighted) handed to the trainer
    as ``loss_fn`` takes the very steps of the trainer's own loss: the same losses and the same weights."""
    from diffusion_course import exercises
    own = Trainer(TINY, cfg(), pool=pool, progress=False,
                  loss_fn=exercises.solution("02.training_loss", show=False)).run(steps=4)
    builtin = Trainer(TINY, cfg(), pool=pool, progress=False).run(steps=4)
    assert own.losses == pytest.approx(builtin.losses, rel=1e-5)
    for a, b in zip(own.ema.parameters(), builtin.ema.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    plain = Trainer(TINY, cfg(), pool=pool, progress=False,
                    loss_fn=lambda m, x0, g: m(x0, torch.zeros(len(x0), dtype=torch.long)).square().mean()).run(steps=2)
    assert plain.losses[0] != pytest.approx(builtin.losses[0], rel=1e-3)  # another loss takes other steps
    with pytest.raises(ValueError, match="unconditional"):
        Trainer("unet-words-tiny", cfg(), pool=pool, progress=False, loss_fn=lambda m, x0, g: x0.sum())


def test_resume_continues_exactly(tmp_path, pool):
    straight = Trainer(TINY, cfg(), pool=pool, progress=False).run(steps=8)
    part = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=4)
    assert (tmp_path / "run" / "state.safetensors").exists()
    resumed = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False)
    assert resumed.step == 4 and resumed.losses == part.losses
    resumed.run(steps=8)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    for a, b in zip(resumed.ema.state_dict().values(), straight.ema.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_checkpoint_every_zero_saves_only_when_the_run_ends(tmp_path, pool):
    tr = Trainer(TINY, cfg(checkpoint_every=0), run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=3)
    assert tr.step == 3 and Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False).step == 3


def test_a_step_interrupted_midway_leaves_no_trace_and_the_run_resumes_exactly(tmp_path, pool, monkeypatch):
    """Ctrl-C (or a copy of a distributed run dying) in the middle of a step: the state saved on the way out
    is the state after the last whole step, generator included."""
    straight = Trainer(TINY, cfg(), pool=pool, progress=False).run(steps=6)
    tr = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False)
    calls, loss_at = [], tr.loss_at

    def interrupted_on_the_fourth_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return loss_at(*args, **kwargs)

    monkeypatch.setattr(tr, "loss_at", interrupted_on_the_fourth_step)
    with pytest.raises(KeyboardInterrupt):
        tr.run(steps=6)
    resumed = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False)
    assert resumed.step == 3
    resumed.run(steps=6)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)


def test_probe_builds_a_curve_that_survives_resume_and_leaves_training_unchanged(tmp_path, pool):
    seen = []

    def probe(ema):
        seen.append(ema.training)
        return {"mean_weight": sum(p.sum().item() for p in ema.parameters())}

    plain = Trainer(TINY, cfg(), pool=pool, progress=False).run(steps=6)
    part = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False, probe=probe, probe_every=2)
    part.run(steps=4)
    resumed = Trainer(TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False, probe=probe, probe_every=2)
    assert [p["step"] for p in resumed.curve] == [2, 4]
    resumed.run(steps=6)
    assert [p["step"] for p in resumed.curve] == [2, 4, 6] and seen == [False] * 3  # probed in eval mode
    assert all(p["train_seconds"] >= 0 for p in resumed.curve)
    assert resumed.losses == pytest.approx(plain.losses, rel=1e-5)  # probing draws no training randomness
    assert resumed.model.training


def test_probe_reads_quality_with_the_judge():
    measure = metrics.probe(load_pretrained("judge", "cpu"), n=8, steps=5)
    point = measure(build("unet-tiny").eval())
    assert point["recognisable_rate"] == 0.0 and point["frechet_distance"] > 50  # an untrained model draws dust


def test_resume_refuses_other_settings(tmp_path, pool):
    Trainer(TINY, cfg(), run_dir=tmp_path, pool=pool, progress=False).run(steps=2)
    with pytest.raises(shipped.CheckpointError, match="other settings"):
        Trainer(TINY, cfg(lr=1.0), run_dir=tmp_path, pool=pool, progress=False)
    with pytest.raises(shipped.CheckpointError, match="model config"):
        Trainer(config.preset("unet-small"), cfg(), run_dir=tmp_path, pool=pool, progress=False)


def test_bf16_autocast_trains(pool):
    tr = Trainer(TINY, cfg(precision="bf16"), pool=pool, progress=False).run(steps=3)
    assert tr.autocast_dtype == torch.bfloat16 and all(torch.isfinite(torch.tensor(tr.losses)))
    with pytest.raises(ValueError, match="precision"):
        Trainer(TINY, cfg(precision="fp8"), pool=pool, progress=False)


def test_the_machine_is_named_with_its_widest_vector_instructions():
    """Two CPUs of one name can differ in what makes bf16 pay (seconds move with it): the flags tell them apart."""
    assert vector_units("fpu sse2 avx avx2 fma") == "AVX2"
    assert vector_units("avx2 avx512f avx512bw") == "AVX-512"
    assert vector_units("avx2 avx512f avx512_bf16") == "AVX-512 with bf16"
    assert vector_units("fpu sse2") == "" and not cpu_has_native_bf16("avx2 avx512f")
    assert vector_units() in shipped.machine()


def test_save_and_load_round_trip(tmp_path):
    model = build("unet-tiny")
    torch.nn.init.normal_(model.conv_out.weight)
    path = checkpoints.save_model(tmp_path / "m", model, {"note": "test"})
    again = load_model(path)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(model.eval()(x, 3), again(x, 3))
    assert json.loads((tmp_path / "m.json").read_text()) == {"note": "test"}
    assert again.config == model.config


def test_missing_and_corrupt_checkpoints_fail_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    with pytest.raises(shipped.CheckpointError, match="python -m diffusion_course train --preset unet-small"):
        load_pretrained("unet-small")  # a preset with no shipped weights here: the command that makes them
    with pytest.raises(shipped.CheckpointError, match="Pass one of the shipped names"):
        load_pretrained("unet-nope")  # no such preset: no command that would fail
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all")
    with pytest.raises(shipped.CheckpointError, match="not a readable safetensors"):
        load_model(bad)
    assert bad.exists()  # never deleted behind the user's back


def test_schedule_travels_with_the_model():
    m = build(config.UNetConfig(channels=(16, 32, 32), blocks=1, schedule="linear", T=200))
    assert m.schedule.name == "linear" and m.schedule.T == 200
    assert torch.allclose(m.schedule.alpha_bar, schedules.linear(200).alpha_bar)


def test_the_loss_is_algorithm_1_with_min_snr_weights():
    tr = Trainer("unet-tiny", TrainConfig(precision="fp32", min_snr_gamma=5.0), pool=scenes.ScenePool(8),
                 progress=False)
    for p in tr.model.parameters():  # leave eps_hat = 0, so that the weights show
        torch.nn.init.normal_(p, std=0.05)
    x0 = tr.pool.sample(4)
    t, eps = torch.tensor([0, 250, 600, 999]), torch.randn(4, 3, 32, 32)
    s = tr.model.schedule
    ab = s.alpha_bar[t].float().view(4, 1, 1, 1)
    eps_hat = tr.model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t)
    w = min_snr_weight(s.snr[t].float(), 5.0)
    by_hand = (w * (eps_hat - eps).square().mean((1, 2, 3))).mean()
    assert torch.allclose(tr.loss_at(x0, t, eps), by_hand, atol=1e-6)


def test_min_snr_on_the_noise_of_a_v_model_is_min_snr_on_v():
    """Salimans & Ho's v: ||eps_hat - eps||^2 = alpha_bar ||v_hat - v||^2, so the trainer's weight
    min(SNR, gamma) / SNR on the noise is Hang et al.'s min(SNR, gamma) / (SNR + 1) on v."""
    cfg = config.UNetConfig(channels=(16, 32, 32), blocks=1, prediction="v")
    tr = Trainer(cfg, TrainConfig(precision="fp32", min_snr_gamma=2.0), pool=scenes.ScenePool(8), progress=False)
    for p in tr.model.parameters():
        torch.nn.init.normal_(p, std=0.05)
    x0 = tr.pool.sample(4)
    t, eps = torch.tensor([0, 250, 600, 999]), torch.randn(4, 3, 32, 32)
    s = tr.model.schedule
    ab, snr = s.alpha_bar[t].float().view(4, 1, 1, 1), s.snr[t].float()
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    eps_hat = tr.model(x_t, t)
    v_hat = (eps_hat - (1 - ab).sqrt() * x_t) / ab.sqrt()  # what its last layer said
    v = ab.sqrt() * eps - (1 - ab).sqrt() * x0
    by_hand = (snr.clamp(max=2.0) / (snr + 1) * (v_hat - v).square().mean((1, 2, 3))).mean()
    assert torch.allclose(tr.loss_at(x0, t, eps), by_hand, rtol=1e-3)


def test_the_loss_noises_exactly_as_the_trainer_always_has():
    """The loss uses the schedule's q_sample; it must match, bit for bit, the float32 alpha_bar form
    the shipped models were trained with, so that a re-run of their recipe reproduces them."""
    for preset in ("unet-tiny", "dit-tiny"):
        s = build(preset).schedule
        g = torch.Generator().manual_seed(0)
        x0 = scenes.ScenePool(64, seed=0, progress=False).sample(64, generator=g)
        t, eps = torch.randint(0, s.T, (64,), generator=g), torch.randn(x0.shape, generator=g)
        ab = s.alpha_bar.float()[t].view(-1, 1, 1, 1)
        assert torch.equal(s.q_sample(x0, t, eps), ab.sqrt() * x0 + (1 - ab).sqrt() * eps), preset


# ----------------------------------------------------------------------------- models that listen

WORDS_TINY = config.preset("unet-words-tiny")


def test_a_model_that_listens_hears_each_scene_in_its_own_words_and_sometimes_nothing(pool):
    tr = Trainer(WORDS_TINY, cfg(cond_dropout=0.25), pool=pool, progress=False)
    idx = torch.arange(len(pool)).repeat(8)  # 2048 captions
    said = tr.captions(idx)
    empty = [c == "" for c in said]
    assert sum(empty) / len(said) == pytest.approx(0.25, abs=0.03)
    for i, caption in zip(idx.tolist()[:300], said[:300]):
        if caption:  # every caption is true of its own scene
            assert scenes.satisfies(scenes.parse(caption), scenes.facts(pool.labels[i])), caption
    assert len(set(said)) > len(pool) // 2  # phrasings vary
    null = tr.model.null_prompt()
    assert null.mask.sum() == 2 and null.pooled.norm().item() == pytest.approx(1.0, abs=1e-5)


def test_some_captions_leave_near_and_far_unsaid(pool):
    """``unsaid_share`` of the captions of scenes with a rocket and a moon leave near/far unsaid; without it
    none does, and its captions are the ones drawn before the setting existed (no extra random draw)."""
    idx = torch.arange(len(pool)).repeat(8)
    related = [scenes.facts(pool.labels[i])["rocket_near_moon"] is not None for i in idx.tolist()]

    def unsaid(share):
        said = Trainer(WORDS_TINY, cfg(cond_dropout=0.0, unsaid_share=share), pool=pool, progress=False).captions(idx)
        for i, caption in zip(idx.tolist(), said):
            assert scenes.satisfies(scenes.parse(caption), scenes.facts(pool.labels[i])), caption
        return [scenes.parse(c)["rocket_near_moon"] is None for c, r in zip(said, related) if r], said

    loose, _ = unsaid(0.3)
    assert sum(loose) / len(loose) == pytest.approx(0.3, abs=0.04)
    never, said = unsaid(0.0)
    assert not any(never)
    tr = Trainer(WORDS_TINY, cfg(cond_dropout=0.0), pool=pool, progress=False)
    u = torch.rand(len(idx), 3, generator=torch.Generator().manual_seed(tr.cfg.seed)).tolist()
    phrased = [tr.phrasings[i][int(pick * len(tr.phrasings[i]))] for (_, pick, _), i in zip(u, idx.tolist())]
    assert said == [scenes.plain(c) if bare < tr.cfg.plain_share else c for c, (_, _, bare) in zip(phrased, u)]


def test_a_run_saved_before_a_setting_existed_resumes_with_its_default(tmp_path, pool):
    Trainer(TINY, cfg(), run_dir=tmp_path, pool=pool, progress=False).run(steps=2)
    path = tmp_path / "state.safetensors"
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    older = json.loads(meta["train_config"])
    del older["unsaid_share"]  # as a state saved before the setting was added
    save_file(load_file(path), path, metadata=meta | {"train_config": json.dumps(older)})
    assert Trainer(TINY, cfg(), run_dir=tmp_path, pool=pool, progress=False).step == 2
    with pytest.raises(shipped.CheckpointError, match="unsaid_share"):
        Trainer(TINY, cfg(unsaid_share=0.5), run_dir=tmp_path, pool=pool, progress=False)


def test_a_model_that_listens_trains_and_resumes_exactly(tmp_path, pool):
    straight = Trainer(WORDS_TINY, cfg(), pool=pool, progress=False).run(steps=6)
    Trainer(WORDS_TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=3)
    resumed = Trainer(WORDS_TINY, cfg(), run_dir=tmp_path / "run", pool=pool, progress=False).run(steps=6)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    assert all(torch.isfinite(torch.tensor(straight.losses)))


def test_starting_from_a_shipped_model_starts_as_that_model(pool):
    """The new layers (cross-attention, the caption's path into the time embedding) start at zero, so a
    model that listens, started from the shipped unconditional U-Net, predicts exactly what it predicts."""
    from diffusion_course.words import clip

    tr = Trainer(config.preset("unet-words"), cfg(init_from="unet-scenes"), pool=pool, progress=False)
    unconditional = load_pretrained("unet-scenes", "cpu")
    x, t = torch.randn(4, 3, 32, 32), torch.tensor([10, 200, 500, 900])
    prompt = clip.prompt(*clip.load(), "the pup sitting in a rocket flying near the moon")
    with torch.no_grad():
        torch.testing.assert_close(tr.model.eval()(x, t, prompt=prompt), unconditional(x, t), atol=1e-5, rtol=1e-4)
    with pytest.raises(shipped.CheckpointError, match="does not fit this model's shape"):
        Trainer(config.preset("unet-words"), cfg(init_from="dit-scenes"), pool=pool, progress=False)
    narrower = dataclasses.replace(config.preset("unet-words"), channels=(16, 32, 32))  # same names, narrower layers
    with pytest.raises(shipped.CheckpointError, match=r"\(it has other shapes of \["):  # the only reason
        Trainer(narrower, cfg(init_from="unet-scenes"), pool=pool, progress=False)


def test_starting_from_a_model_that_listened_to_another_clip_keeps_this_runs_null_prompt(pool, tmp_path):
    """Re-training a model that listens after the tiny CLIP was re-made: the weights come from the old model,
    the null prompt from the new CLIP, and training on the new CLIP's prompts is not refused as a mismatch."""
    from diffusion_course.words import clip

    stranger = clip.save(clip.build(seed=1)[0], tmp_path / "stranger-clip")  # another CLIP of the same shapes
    tr = Trainer(config.preset("unet-words"), cfg(init_from="unet-words", clip=str(stranger)), pool=pool,
                 progress=False)
    torch.testing.assert_close(tr.model.null_pooled, clip.prompt(*clip.load(stranger), "").pooled)
    shipped = load_pretrained("unet-words", "cpu")
    assert not torch.allclose(tr.model.null_pooled, shipped.null_pooled, atol=1e-3)
    torch.testing.assert_close(tr.model.state_dict()["conv_out.weight"], shipped.state_dict()["conv_out.weight"])
    assert all(torch.isfinite(torch.tensor(tr.run(steps=2).losses)))
