"""Showing its work: commitment on a constructed trajectory, forks that reproduce the run, inpainting that
keeps its evidence, restoration from a chosen step."""
import pytest
import torch

from diffusion_course import load_pretrained, sample, scenes
from diffusion_course.looking import analysis
from diffusion_course.looking.analysis import FACTS, LAYOUT, commitment


@pytest.fixture(scope="module")
def unet():
    return load_pretrained("unet-scenes", "cpu")


def test_commitment_on_a_constructed_trajectory():
    """10 samples, 5 steps. The pup is settled in every sample from step 1; the moon flips back and forth
    in 3 samples until step 3 and in 1 sample until the end; everything else agrees from step 0."""
    S, B, F = 5, 10, len(FACTS)
    final = torch.zeros(B, F, dtype=torch.bool)
    final[:, FACTS.index("pup")] = True
    over = final.expand(S, B, F).clone()
    over[0, :, FACTS.index("pup")] = False  # step 0: no pup yet in any sample
    moon = FACTS.index("moon")
    over[[0, 2], :3, moon] = True  # samples 0-2: a moon at steps 0 and 2, gone at 1 and from 3 on
    over[3, 9, moon] = True  # sample 9: a moon at step 3, none at the end
    c = commitment(over, final, [999, 799, 599, 399, 199])
    assert c.facts == (*FACTS, LAYOUT)
    assert c.shown[:, FACTS.index("pup")].tolist() == [0, 1, 1, 1, 1]
    # settled at s = agrees at s and every later step: moon 6/10 at step 0 (samples 3-8), 9/10 from step 3...
    assert c.settled[:, moon].tolist() == pytest.approx([0.6, 0.6, 0.6, 0.9, 1.0])
    assert c.step["pup"] == 1 and c.step["moon"] == 3 and c.step["rocket"] == 0
    assert c.settled[:, -1].tolist() == pytest.approx([0, 0.6, 0.6, 0.9, 1.0])  # the layout: all facts at once
    assert c.step[LAYOUT] == 3 and c.shown[:, -1].tolist() == pytest.approx([0, 1.0, 0.7, 0.9, 1.0])
    assert commitment(over, final, list(range(5)), share=0.95).step["moon"] == 4
    with pytest.raises(ValueError, match="must match"):
        commitment(over, final[:5], list(range(5)))


def test_the_committed_step_is_the_samples_own_steps_kth_earliest_and_the_bootstrap_brackets_it():
    """A sample's own settling step is where its run of agreement to the end begins; the batch's committed step is
    the ceil(share x B)-th earliest of them, which is what the bootstrap recomputes on every resampling."""
    S, moon = 20, FACTS.index("moon")

    def settling_at(own: list[int]):
        return _settling_at(own, S)

    own = torch.randint(0, S - 8, (64,), generator=torch.Generator().manual_seed(0)).tolist()
    c = settling_at(own)
    assert c.settles[:, moon].tolist() == own and c.settles[:, FACTS.index("pup")].eq(0).all()
    assert c.step["moon"] == sorted(own)[57]  # ceil(0.9 x 64) = the 58th earliest
    low, high = c.interval("moon")
    assert low <= c.step["moon"] <= high and high > low  # 64 samples leave some doubt
    same = analysis.later_by(c, c, "moon")
    assert same["gap"] == 0 and same["low"] <= 0 <= same["high"]
    later = settling_at([s + 8 for s in own])
    gap = analysis.later_by(c, later, "moon")
    assert gap["gap"] == 8 and gap["low"] > 0  # beyond the noise
    assert analysis.later_by(later, c, "moon")["high"] < 0


def _settling_at(own: list[int], S: int = 25):
    """A made-up batch whose sample b shows a moon (its final image has none) until step own[b]."""
    final = torch.zeros(len(own), len(FACTS), dtype=torch.bool)
    over = final.expand(S, *final.shape).clone()
    for b, s in enumerate(own):
        over[:s, b, FACTS.index("moon")] = True
    return commitment(over, final, list(range(S)))


def test_the_claim_about_the_layout_is_read_with_its_noise():
    """``showing.verdict`` on made-up runs: a Team Transformers that settles the layout 8 steps earlier over 64
    samples makes the claim hold; 2 steps earlier over 8 widely spread samples is within the noise; the summary
    that bench stores restores the same Commitment."""
    from diffusion_course.lessons import showing

    def teams(cnn: list[int], trf: list[int]) -> dict:
        runs = [showing.commitment_summary(_settling_at(own)) for own in (cnn, cnn, trf)]
        return {"teams": {name: {"team": team, "commitment": c}
                          for (name, team), c in zip(showing.TEAMS.items(), runs)}}

    spread = torch.randint(0, 6, (64,), generator=torch.Generator().manual_seed(0)).tolist()
    restored = showing.restored(showing.commitment_summary(_settling_at(spread)))
    assert restored.step == _settling_at(spread).step and torch.equal(restored.settles, _settling_at(spread).settles)
    said = showing.verdict(teams([s + 12 for s in spread], [s + 4 for s in spread]))
    assert "The gap is -8 steps" in said and "the claim holds here" in said
    wide = torch.randint(0, 16, (8,), generator=torch.Generator().manual_seed(1)).tolist()
    assert "within the noise" in showing.verdict(teams([s + 2 for s in wide], wide))
    assert "later, beyond the noise" in showing.verdict(teams(spread, [s + 12 for s in spread]))
    assert "no commitment" in showing.verdict({"teams": {}})


def test_a_latent_run_is_read_as_pictures_through_its_painter(unet):
    """``paint`` turns every x̂₀ and the finished latents into pictures (here a stand-in painter that doubles the
    grid): the judge then reads pictures whatever the model drew on."""
    def paint(z):
        return z.repeat_interleave(2, -1).repeat_interleave(2, -2)[..., :32, :32]

    over, final = analysis.x0_hats(unet, 2, steps=4, seed=1, paint=paint)
    plain_over, plain_final = analysis.x0_hats(unet, 2, steps=4, seed=1)
    assert over.shape == plain_over.shape and torch.equal(over, paint(plain_over.flatten(0, 1)).view_as(over))
    assert torch.equal(final, paint(plain_final))
    f = analysis.fork(unet, 2, 2, continuations=2, steps=4, seed=1, paint=paint)
    assert f.finals.shape == (2, 2, 3, 32, 32) and f.x_t.shape == (2, 3, 32, 32)


def test_a_fork_with_the_runs_own_noise_is_the_run(unet):
    reference = sample(unet, 3, steps=10, seed=4)
    for k in (0, 6):
        f = analysis.fork(unet, 3, k=k, continuations=1, steps=10, seed=4)
        assert torch.equal(f.finals[0], reference), k
        assert f.disagreement.abs().max() == 0
    f = analysis.fork(unet, 3, k=6, continuations=3, steps=10, seed=4)
    assert torch.equal(f.finals[0], reference) and not torch.equal(f.finals[1], reference)
    assert f.disagreement.shape == (3, 32, 32) and f.disagreement.max() > 0
    with pytest.raises(ValueError, match="eta > 0"):
        analysis.fork(unet, 3, k=2, steps=10, eta=0.0)
    with pytest.raises(ValueError, match="k must be a step of the run, 0 to 9"):
        analysis.fork(unet, 3, k=10, steps=10)


def test_early_forks_disagree_more_than_late_ones(unet):
    early = analysis.fork(unet, 4, k=2, continuations=4, steps=20, seed=1).disagreement.mean()
    late = analysis.fork(unet, 4, k=17, continuations=4, steps=20, seed=1).disagreement.mean()
    assert late < 0.5 * early, (early, late)


def test_inpainting_keeps_the_evidence_and_fills_the_rest(unet):
    x0, _ = scenes.batch(4, seed=3)
    known = torch.ones(1, 1, 32, 32, dtype=torch.bool)
    known[..., 8:24, 8:24] = False  # the middle is missing
    filled = analysis.inpaint(unet, x0, known, steps=20, seed=0)
    assert (filled - x0).abs()[..., ~known[0, 0]].max() > 0.1  # the middle was drawn anew ...
    keep = known.expand_as(x0)
    assert (filled[keep] - x0[keep]).abs().max() < 1e-6  # ... and every known pixel is the input's
    runs = analysis.versions(lambda s: analysis.inpaint(unet, x0, known, steps=20, seed=s), 3)
    unsure = analysis.spread(runs)
    assert unsure[:, ~known[0, 0]].mean() > 0.02 and unsure[:, known[0, 0]].max() < 1e-6
    with pytest.raises(ValueError, match="bool mask"):
        analysis.inpaint(unet, x0, known.float())


def test_restoring_from_a_late_step_stays_close_to_the_picture(unet):
    x0, _ = scenes.batch(8, seed=5)
    near = analysis.restore(unet, analysis.dust(unet, x0, k=18, steps=20), k=18, steps=20)
    far = analysis.restore(unet, analysis.dust(unet, x0, k=2, steps=20), k=2, steps=20)
    assert near.shape == x0.shape
    assert (near - x0).abs().mean() < 0.5 * (far - x0).abs().mean()


# ----------------------------------------------------------------------------- the hand-out page

def run_cli(*argv):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "diffusion_course", *argv], capture_output=True, text=True,
                          timeout=600)


def test_the_report_page_is_self_contained(tmp_path):
    import re
    from pathlib import Path

    import diffusion_course

    out = tmp_path / "page.html"
    done = run_cli("report", "--model", "unet-words", "--prompt",
                   "the pup sitting in a rocket", "-n", "2", "--steps", "6", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    bundle = (Path(diffusion_course.__file__).parent / "looking" / "static" / "html-manager-embed.js").read_text()
    assert bundle.replace("</script", "<\\/script") in page  # the viewer's JavaScript, inlined as shipped ...
    rest = page.replace(bundle.replace("</script", "<\\/script"), "")
    outside = re.search(r"https?://|(src|href)=[\"']//|url\(\s*[\"']?//", rest)  # ... and nothing else points out
    assert outside is None, rest[outside.start() - 80:outside.end() + 80]
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', rest)) == 2
    assert "application/vnd.jupyter.widget-state+json" in rest and "When was the drawing decided?" in rest
    # never overwritten without --force
    again = run_cli("report", "--model", "unet-words", "--out", str(out))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "exists; pass --force" in again.stderr
    assert out.read_text() == page


@pytest.mark.parametrize("argv, says", [
    (["--model", "nope"], "no pretrained model 'nope'"),
    (["--out", "/nonexistent-folder/page.html"], "the folder /nonexistent-folder does not exist"),
    (["--out", "."], "is a folder"),
    (["--model", "unet-scenes", "--prompt", "a blue pup"], "does not listen to words"),
])
def test_report_refuses_bad_input_in_one_line(argv, says, tmp_path):
    done = run_cli("report", *argv) if "--out" in argv else run_cli("report", *argv, "--out", str(tmp_path / "p.html"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and says in done.stderr, done.stderr
    assert not (tmp_path / "p.html").exists()
