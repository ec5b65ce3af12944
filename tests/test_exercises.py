import pytest
import torch
from einops import rearrange

from diffusion_course import TrainConfig, Trainer, exercises
from diffusion_course.exercises import basics, core, denoising, teams
from diffusion_course.exercises import guidance as guidance_exercises
from diffusion_course.exercises import showing as showing_exercises
from diffusion_course.scenes import ScenePool

WRONG = {
    "00.count_rockets": 99,
    "00.dequantize": lambda u8: u8 / 255,  # [0, 1], not [-1, 1]
    "01.q_sample": lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps,  # forgot the square roots
    "01.half_life": (100, 100),
    "01.snr_db": 3.0,
    "02.x0_hat": lambda x, e, ab: x - e,
    "02.ddim_step": lambda x, e, ab, abp: x,
    "02.training_loss": lambda model, x0, g: model(x0, torch.zeros(len(x0), dtype=torch.long)).pow(2).mean(),
    "03.receptive_field": lambda n, k=3: n * k,
    "03.unet_receptive_fields": lambda blocks, levels: [3 + 4 * blocks * (level + 1) for level in range(levels)],
    "03.cell_size": 16,
    "04.tokens": lambda size, patch: size // patch,
    "04.patchify": lambda x, p: x.flatten(2).transpose(1, 2).reshape(x.shape[0], -1, p * p * x.shape[1]),  # pixels
    "04.attend": lambda attn, v: (attn @ v).mean(1),  # the heads averaged, not side by side
    "05.patch_cost": 4,
    "05.equal_flop_steps": lambda steps, a, b: steps * b / a,  # the ratio upside down
    "05.standard_error": lambda p, n: p * (1 - p) / n,  # forgot the square root
    "06.template": lambda x: x[0],  # one of the fitting pictures
    "06.twins": lambda f, base, factor=0.25: (torch.cdist(f, f).min(1).values < factor * base).float().mean(),  # self
    "06.memorised": lambda s, t, base, factor=0.25: torch.cdist(s.flatten(1), t.flatten(1)).mean(1) < factor * base,
    "07.logits": lambda i, t, tau: i @ t.T / tau,  # forgot to normalise
    "07.clip_loss": lambda s, k: torch.nn.functional.cross_entropy(k * s, torch.arange(len(s))),  # one direction
    "07.top1": lambda s: (s.argmax(0) == torch.arange(len(s))).float().mean(),  # the other axis
    "08.cfg": lambda model, x_t, t, prompt, scale: model(x_t, t, prompt=prompt),  # the scale ignored
    "08.clip_guide": lambda *case: guidance_exercises._clip_variant(*case, reads="x_t"),  # the CLIP read x_t
    "08.pick_scale": lambda scores, floor: max(scores, key=lambda s: s["composition"])["scale"],  # no floor, one cell
    "09.kl": lambda m, lv: (m ** 2 + lv.exp()).sum(dim=(1, 2, 3)),  # half a formula
    "09.scale": lambda z: z.std(),  # the standard deviation, not its inverse
    "09.walk": lambda a, b, stops: torch.stack([a] * stops),  # never leaves z_a
    "09.dusty_sketch": lambda e, d, s, x0, t, noise: d(s.q_sample(e(x0), t, 0 * noise)),  # no dust
    "10.committed_step": lambda agree, share: 0,  # always the first step
    "10.confidently_wrong": lambda versions, truth, calm, off: 0.0,  # nothing is ever confidently wrong
    "10.put_back": lambda x_prev, x0, known, t_prev, eps, alpha_bar: x_prev,  # nothing put back
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_solution_passes_and_wrong_answer_fails(name, capsys):
    assert exercises.check(name, exercises.solution(name, show=False)) is True
    assert exercises.check(name, WRONG[name]) is False
    assert exercises.check(name, None) is False
    assert "not answered yet" in capsys.readouterr().out


def test_every_exercise_is_covered_here():
    assert set(core._CHECKERS) == set(WRONG)


def _variant_loss(**mistake):
    return lambda model, x0, g: denoising._loss_variant(model, x0, g, **mistake)


NAMED_MISTAKES = [  # (exercise, a typical wrong answer, words the checker must use to name it)
    ("09.kl", lambda m, lv: (m ** 2 + lv.exp() - 1 - lv).sum(dim=(1, 2, 3)), "1/2 is missing"),
    ("09.kl", lambda m, lv: 0.5 * (m ** 2 + lv.exp() - 1 - lv).mean(dim=(1, 2, 3)), "instead of their sum"),
    ("09.kl", lambda m, lv: 0.5 * (m ** 2 + lv.exp() - lv).sum(dim=(1, 2, 3)), "- 1 is missing"),
    ("04.patchify", lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (h w) (c p1 p2)", p1=p, p2=p), "colour's pixels"),
    ("04.patchify", lambda x, p: rearrange(x, "b c (h p1) (w p2) -> b (w h) (p1 p2 c)", p1=p, p2=p), "(w h)"),
    ("04.attend", lambda a, v: rearrange(a.transpose(-1, -2) @ v, "b h n d -> b n (h d)"), "transposed weights"),
    ("04.attend", lambda a, v: rearrange(a @ v, "b h n d -> b n (d h)"), "interleaved"),
    ("09.dusty_sketch", lambda e, d, s, x, t, n: d(n), "the sketch is missing"),
    ("09.dusty_sketch", lambda e, d, s, x, t, n: d(e(x)), "the dust is missing"),
    ("09.scale", lambda z: z.std(), "not its inverse"),
    ("09.scale", lambda z: 1 / z.var(), "variance"),
    ("09.walk", lambda a, b, s: exercises.solution("09.walk", show=False)(b, a, s), "backwards"),
    ("09.walk", lambda a, b, s: torch.stack([torch.lerp(a, b, float(w)) for w in torch.linspace(0, 1, s)]),
     "straight line"),
    ("06.template", lambda x: x.mean(dim=0), "the mean: it minimises"),
    ("06.twins", lambda f, base, factor=0.25: (torch.cdist(f, f).min(1).values < factor * base).float().mean(),
     "its own twin"),
    ("06.memorised", lambda s, t, base, factor=0.25: torch.cdist(s.flatten(1), t.flatten(1)).mean(1) < factor * base,
     "mean distance"),
    ("07.logits", lambda i, t, tau: i @ t.T / tau, "not normalised"),
    ("07.clip_loss", lambda s, k: torch.nn.functional.cross_entropy(k * s, torch.arange(len(s))), "one direction only"),
    ("00.count_rockets", 16, "every scene"),
    ("00.dequantize", lambda u8: u8 / 255, "[0, 1]"),
    ("00.dequantize", lambda u8: (u8 * 2) / 255 - 1, "overflow"),
    ("01.q_sample", lambda x0, t, eps, ab: ab[t] * x0 + (1 - ab[t]) * eps, "square root"),
    ("01.q_sample", lambda x0, t, eps, ab: (1 - ab[t]).sqrt() * x0 + ab[t].sqrt() * eps, "swapped"),
    ("01.half_life", exercises.solution("01.half_life", show=False)[::-1], "swapped"),
    ("01.snr_db", 10 ** (basics._sol_01_snr_db() / 10), "ratio"),  # the SNR itself, not in dB
    ("01.snr_db", 2 * basics._sol_01_snr_db(), "amplitudes"),
    ("02.x0_hat", lambda x, e, ab: (x - (1 - ab).sqrt() * e) / ab, "square root"),
    ("02.x0_hat", lambda x, e, ab: (x + (1 - ab).sqrt() * e) / ab.sqrt(), "sign"),
    ("02.ddim_step", lambda x, e, ab, abp: x, "alpha_bar_prev"),
    ("02.training_loss", _variant_loss(weight="none"), "Min-SNR"),
    ("02.training_loss", _variant_loss(eps_first=True), "drawn before t"),
    ("02.training_loss", _variant_loss(target="x0"), "predicts the dust"),
    ("03.receptive_field", lambda n, k=3: k ** n, "multiplying"),
    ("03.unet_receptive_fields", lambda b, n: teams._unet_fields(b, n, doubling=False), "twice as far"),
    ("03.unet_receptive_fields", lambda b, n: teams._unet_fields(b, n, stem=1), "stem"),
    ("03.cell_size", 16, "side × side"),
    ("08.cfg", guidance_exercises._cfg_mistake(lambda c, u, s: c + s * (c - u)), "Ho & Salimans"),
    ("08.cfg", guidance_exercises._cfg_mistake(lambda c, u, s: u + s * (u - c)), "away from the words"),
    ("08.clip_guide", lambda *case: guidance_exercises._clip_variant(*case, reads="x_t"), "dusty x_t"),
    ("08.clip_guide", lambda *case: guidance_exercises._clip_variant(*case, sign=1.0), "away from the caption"),
    ("08.clip_guide", lambda *case: guidance_exercises._clip_variant(*case, noise_factor=False), "√(1 − ᾱ_t)"),
    ("08.clip_guide", lambda *case: guidance_exercises._clip_variant(*case, through_model=False), "through the model"),
    *[("10.committed_step", wrong, words[:30]) for words, wrong in showing_exercises._commit_mistakes().items()],
    *[("10.confidently_wrong", wrong, words[:30])
      for words, wrong in showing_exercises._confident_mistakes().items()],
    *[("10.put_back", wrong, words[:30]) for words, wrong in showing_exercises._put_back_mistakes().items()],
    *[("08.pick_scale", wrong, words) for wrong, words in zip(guidance_exercises._scale_mistakes().values(),
                                                                ("floor was not applied", "largest scale",
                                                                 "single best prompt", "return the scale"))],
]


@pytest.mark.parametrize("name, wrong, words", NAMED_MISTAKES)
def test_typical_mistake_is_named(name, wrong, words, capsys):
    assert exercises.check(name, wrong) is False
    out = capsys.readouterr().out
    assert "it looks like" in out and words in out, out


def test_training_loss_reference_is_the_packages_loss():
    """The 02 checker's reference loss equals ``Trainer.loss`` on the same batch (same t and ε draws)."""
    trainer = Trainer("unet-tiny", TrainConfig(precision="fp32"), pool=ScenePool(8), progress=False, device="cpu")
    x0 = trainer.pool.sample(4, generator=torch.Generator().manual_seed(1))
    trainer.generator = torch.Generator().manual_seed(5)
    ours = exercises.solution("02.training_loss", show=False)(trainer.model, x0, torch.Generator().manual_seed(5))
    assert torch.allclose(ours, trainer.loss(x0), atol=1e-6)


def test_unet_receptive_field_rule_matches_the_model():
    for blocks, levels in [(2, 3), (1, 3), (3, 2)]:
        fields = teams._model_fields(blocks, levels)
        assert teams._unet_fields(blocks, levels) == fields
        assert exercises.solution("03.unet_receptive_fields", show=False)(blocks, levels) == fields
    assert teams._model_fields(2, 3) == [11, 29, 65]  # the shipped U-Net, as notebook 03 says


def test_verify_prints_only_check_lines(capsys):
    assert exercises.verify("01.q_sample", "02.training_loss", "03.cell_size") is True
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("✅") for line in lines), lines
    assert not any("def " in line or "return" in line for line in lines)


def test_checkers_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    exercises.verify("02.training_loss", "03.unet_receptive_fields")
    assert torch.equal(torch.rand(3), expected)


def test_broken_learner_code_is_reported_not_raised(capsys):
    assert exercises.check("02.x0_hat", lambda *a: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="exercises:"):
        exercises.check("99.nope", 1)


# ----------------------------------------------------------------------------- notebook 08's exercises and figures

def test_08_the_cfg_reference_is_the_formula_in_two_passes():
    """The checker's reference (the package's batched guide) equals the exercise's solution, two passes."""
    case = guidance_exercises._cfg_cases()[0]
    ours = exercises.solution("08.cfg", show=False)(*case)
    assert torch.allclose(ours, guidance_exercises._reference_cfg(*case), atol=1e-5)


def test_08_checkers_leave_the_global_rng_alone(capsys):
    guidance_exercises._words.cache_clear()
    guidance_exercises._model.cache_clear()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    assert exercises.verify("08.cfg", "08.clip_guide", "08.pick_scale")
    assert torch.equal(torch.rand(3), expected)


def test_08_the_typical_clip_mistakes_really_differ_from_the_answer():
    case = guidance_exercises._clip_cases()[0]
    right = guidance_exercises._reference_clip(*case)
    for mistake in ({"reads": "x_t"}, {"sign": 1.0}, {"noise_factor": False}, {"through_model": False}):
        assert not torch.allclose(guidance_exercises._clip_variant(*case, **mistake), right, atol=1e-3), mistake


def _fake_words_results(teams=("Team CNN", "Team Transformers")) -> dict:
    """A words section shaped like ``bench``'s (see ``bench.run``), with made-up numbers."""
    from diffusion_course import scenes
    from diffusion_course.lessons import composition

    scales = {"cfg": [0.0, 1.0, 3.0, 7.5], "clip": [0.0, 30.0, 100.0, 300.0]}
    scores = []
    for k, team in enumerate(teams):
        for kind, kind_scales in scales.items():
            for p, prompt in enumerate(scenes.CHALLENGE_PROMPTS[:None if kind == "cfg" else 2]):  # as bench does
                for i, s in enumerate(kind_scales):
                    comp = 0.1 + 0.1 * i - 0.05 * k - 0.02 * p
                    scores.append(composition.Score(team, composition.TEAMS[team][kind], prompt, kind, s, 64, comp,
                                                    0.9 - 0.1 * i, 1.05 - 0.2 * i))
    return {"cfg_cost": {"images": 64, "steps": 50, "plain_seconds": 10.0, "cfg_seconds": 19.0, "ratio": 1.9},
            "n": 64, "steps": 50, "scales": scales, "scores": composition.as_dicts(scores),
            "best": composition.best(scores, "cfg"), "best_clip": composition.best(scores, "clip"),
            "real": dict.fromkeys(scenes.CHALLENGE_PROMPTS, 0.9)}


def test_08_scoreboard_figures_read_the_bench_words_section(capsys):
    import matplotlib.pyplot as plt

    from diffusion_course import scenes
    from diffusion_course.judging import scoreboard
    from diffusion_course.looking import plotting

    words = _fake_words_results()
    curve = scoreboard.by_scale(words["scores"], "Team CNN", "cfg")
    assert list(curve) == words["scales"]["cfg"]
    cells = [s for s in words["scores"] if s["team"] == "Team CNN" and s["kind"] == "cfg" and s["scale"] == 3.0]
    assert curve[3.0]["composition"] == pytest.approx(sum(c["composition"] for c in cells) / len(cells))
    assert curve[3.0]["n"] == 64 * len(cells)  # the prompts pooled: the interval of their mean over all drawings
    assert (curve[3.0]["composition_low"], curve[3.0]["composition_high"]) == pytest.approx(
        scoreboard.wilson(curve[3.0]["composition"], 64 * len(cells)))
    table = plotting.composition_table(words)
    assert len(table.axes) == 2 and len(table.axes[0].get_yticklabels()) == 2 * len(scenes.CHALLENGE_PROMPTS)
    assert len(plotting.tradeoff(words).axes) == 3
    rows = plotting.best_scales(words)
    # the made-up diversity falls 0.2 a scale (1.05, 0.85, 0.65, ...): the best scale that keeps 0.8 is the second,
    # though the louder ones compose better
    assert "Team Transformers, CFG × 1" in rows and "real scenes (the judge's ceiling)" in rows
    assert "Team CNN, CLIP × 30" in capsys.readouterr().out and "Team CNN, CFG × 7.5" not in rows
    verdict = scoreboard.compare_teams(words, "cfg")  # the made-up CNN is 5 points ahead: within the noise of 64
    assert "no clear winner" in verdict and "Team CNN on 0, Team Transformers on 0, neither on 5" in verdict
    flipped = scoreboard.compare_teams(words, "cfg", teams=("Team Transformers", "Team CNN"))  # a pair, named
    assert flipped.startswith("CFG: Team Transformers") and "a difference of +5 points" in flipped
    assert "nothing to compare" in scoreboard.compare_teams(words, "cfg", teams=("Team CNN", "Team Sketch"))
    assert "nothing to compare" in scoreboard.compare_relations(words, teams=("Team Sketch", "Team CNN"))[0]
    for c in words["scores"]:  # with 4096 drawings a cell, the same 5 points are far beyond the noise
        c["n"] = 4096
    assert "Team CNN composes better" in scoreboard.compare_teams(words, "cfg")
    assert "Team CNN on 5, Team Transformers on 0, neither on 0" in scoreboard.compare_teams(words, "cfg")
    one_team = _fake_words_results(teams=("Team CNN",))  # a team that was not shipped is absent, not an error
    plotting.composition_table(one_team), plotting.tradeoff(one_team), plotting.best_scales(one_team)
    assert "nothing to compare" in scoreboard.compare_teams(one_team, "clip")
    pick = exercises.solution("08.pick_scale", show=False)
    assert pick([s for s in words["scores"] if s["team"] == "Team CNN" and s["kind"] == "cfg"], 0.8) == 1.0
    plt.close("all")


def test_08_panels_word_maps_and_readings_grid_draw_what_they_are_given():
    import matplotlib.pyplot as plt

    from diffusion_course import build
    from diffusion_course.diffusion import guidance
    from diffusion_course.looking import plotting
    from diffusion_course.looking.trace import annotate
    from diffusion_course.words import clip

    words = clip.load()
    with torch.random.fork_rng(devices=[]):
        model = build("unet-words-tiny").eval()
    model.set_null_prompt(clip.prompt(*words, [""]))
    said = clip.prompt(*words, "the pup sitting in a rocket flying near the moon")
    trace = annotate(model, 2, steps=4, every=1, taps=["mid.words"], prompt=said, guide=guidance.ClassifierFree(2.0))
    fig = plotting.word_maps(trace, "mid.words", ["pup", "moon"], {"early": 0, "late": 3})
    assert len(fig.axes) == 2 * 3
    with pytest.raises(ValueError, match="not tokens of this prompt"):
        plotting.word_maps(trace, "mid.words", ["dragon"], {"early": 0})
    fig = plotting.panels({"a": {"image": trace.final[0], "map": torch.rand(8, 8)}, "b": {"image": trace.final[1]}})
    assert len(fig.axes) == 4
    assert len(plotting.readings_grid(trace.final, ["pup, rocket", "empty sky"], "what the judge read").axes) == 2
    assert len(plotting.readings_grid(trace.final[:0], [], "nothing wrong").axes) == 1
    plt.close("all")


# ----------------------------------------------------------------------------- notebook 10's exercises and figures

def test_10_the_put_back_reference_is_what_known_pixels_does():
    """The checker's reference, given KnownPixels' own noise, equals ``analysis.KnownPixels`` at every kind of step."""
    from diffusion_course.looking import analysis

    model = showing_exercises._model("unet-scenes")
    for x_prev, x0, known, t_prev, _, alpha_bar in showing_exercises._put_back_cases():
        keep = analysis.KnownPixels(model, x0, known, seed=3)
        eps = torch.randn(x0.shape, generator=torch.Generator().set_state(keep.generator.get_state()))
        want = keep(x_prev, t_prev)
        assert torch.allclose(showing_exercises._reference_put_back(x_prev, x0, known, t_prev, eps, alpha_bar), want)
        assert torch.allclose(exercises.solution("10.put_back", show=False)(x_prev, x0, known, t_prev, eps, alpha_bar),
                              want.float(), atol=1e-6)


def test_10_the_committed_step_cases_tell_the_mistakes_apart():
    """On the hand-made run, the answer and every typical mistake give different steps (5, 2, 7, 4)."""
    flicker, share = showing_exercises._commit_cases()[0]
    answers = [showing_exercises._reference_committed_step(flicker, share),
               *(wrong(flicker, share) for wrong in showing_exercises._commit_mistakes().values())]
    assert answers == [5, 2, 7, 4]
    assert showing_exercises._reference_committed_step(*showing_exercises._commit_cases()[2]) is None


def test_10_checkers_leave_the_global_rng_alone(capsys):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    assert exercises.verify("10.committed_step", "10.confidently_wrong", "10.put_back")
    assert torch.equal(torch.rand(3), expected)


def test_10_cost_table_prints_what_the_looking_cost(capsys):
    from diffusion_course.looking import plotting

    cost = {"model_images": 8, "steps": 25, "plain_seconds": 0.5, "default_taps": ["mid", "mid.attn"],
            "kinds": {"attention": {"taps": 3, "time_ratio": 1.2, "trace_mb": 23.4}},
            "by_stride": {"1": {"recorded_steps": 25, "time_ratio": 1.1, "trace_mb": 20.2},
                          "5": {"recorded_steps": 6, "time_ratio": 1.0, "trace_mb": 4.9}},
            "mb_per_images_all_steps": {"1": 2.5, "16": 40.1}, "all_taps": 10, "all_taps_all_steps_mb": 270.0,
            "budget_mb": 100.0, "budget_stride_all_taps": 3}
    plotting.cost_table(cost)
    out = capsys.readouterr().out
    assert "every attention tap (3), every step" in out and "1.20×" in out and "23.4 MB" in out
    assert "the default taps, every 5 step(s)" in out and "16 image(s) 40.1 MB" in out
    assert "270 MB; within the 100 MB budget annotate keeps every 3 step(s)" in out
    plotting.cost_table(cost | {"budget_stride_all_taps": None})
    assert "not even one step" in capsys.readouterr().out


def test_an_unanswered_stub_is_told_to_write_its_function_without_the_hint(capsys):
    assert exercises.check("10.committed_step", lambda agree, share: None) is False
    out = capsys.readouterr().out
    assert "write it and run the cell again" in out and "backward" not in out
    first_case_only = showing_exercises._commit_cases()[0][0]  # a function that answers some runs and not others
    assert exercises.check("10.committed_step", lambda a, s: None if a.equal(first_case_only) else 0) is False
    assert "backward" in capsys.readouterr().out
