"""Models that listen, and guidance: cross-attention, classifier-free guidance against its formula, CLIP
guidance through x0_hat (not x_t), what the trace records, and the one-line errors for bad input."""
import dataclasses

import pytest
import torch

from diffusion_course import build, sample
from diffusion_course.config import preset
from diffusion_course.diffusion import guidance
from diffusion_course.looking.taps import taps
from diffusion_course.looking.trace import annotate
from diffusion_course.schedules import predict_x0
from diffusion_course.words import clip

PROMPT = "the pup sitting in a rocket flying near the moon"


@pytest.fixture(scope="module")
def words():
    return clip.load()


def randomised(name: str, words, seed: int = 0):
    """A fresh model with every weight random (the zero inits would hide the words), its null prompt set."""
    m = build(name)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    if m.listens:
        m.set_null_prompt(clip.prompt(*words, [""]))
    return m.eval()


@pytest.fixture(scope="module", params=["unet-words-tiny", "dit-words-tiny"])
def model(request, words):
    return randomised(request.param, words)


def test_a_prompt_carries_tokens_a_mask_and_a_unit_pooled_embedding(words):
    p = clip.prompt(*words, [PROMPT, ""])
    assert p.tokens.shape == (2, 24, 64) and p.pooled.shape == (2, 64)
    assert p.words[0] == ["<start>", "the", "pup", "sitting", "in", "a", "rocket", "flying", "near", "the", "moon",
                          "<end>"]
    assert p.mask.sum(1).tolist() == [12, 2] and p.words[1] == ["<start>", "<end>"]
    assert torch.allclose(p.pooled.norm(dim=-1), torch.ones(2), atol=1e-5)
    five = clip.prompt(*words, PROMPT).expand(5)
    assert len(five) == 5 and torch.equal(five.tokens[4], p.tokens[0]) and five.texts == [PROMPT] * 5
    with pytest.raises(ValueError, match="one prompt for all"):
        p.expand(3)


def test_cross_attention_rows_sum_to_one_over_the_real_tokens_only(model, words):
    p = clip.prompt(*words, [PROMPT, "a blue pup"])
    names = [n for n, k in model.tap_kinds().items() if k == "words"]
    assert names
    with taps(model, names) as seen:
        model(torch.randn(2, 3, 32, 32), torch.tensor([10, 900]), prompt=p)
    for name in names:
        probs = seen[name]  # (B, heads, N, L)
        assert torch.allclose(probs.sum(-1), torch.ones(probs.shape[:-1]), atol=1e-5)
        assert (probs * ~p.mask[:, None, None, :]).abs().max() == 0  # padding is never read


def test_what_is_said_changes_what_is_predicted_and_no_prompt_is_the_null_prompt(model, words):
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([400, 400])
    with torch.no_grad():
        said = model(x, t, prompt=clip.prompt(*words, PROMPT))
        other = model(x, t, prompt=clip.prompt(*words, "a green rocket standing far from the full moon"))
        silent, null = model(x, t), model(x, t, prompt=clip.prompt(*words, ""))
    assert not torch.allclose(said, other, atol=1e-4)
    torch.testing.assert_close(silent, null)


def test_classifier_free_guidance_is_its_formula_in_one_batched_pass(model, words):
    p = clip.prompt(*words, PROMPT)
    x, t = torch.randn(3, 3, 32, 32), torch.full((3,), 500)
    calls = []
    hook = model.register_forward_pre_hook(lambda _m, args: calls.append(args[0].shape[0]))
    try:
        extras = {}
        guided = guidance.ClassifierFree(3.0)(model, x, t, extras, prompt=p)
    finally:
        hook.remove()
    assert calls == [6]  # one forward pass on the doubled batch
    with torch.no_grad():
        eps_c, eps_u = model(x, t, prompt=p), model(x, t)
    torch.testing.assert_close(guided, eps_u + 3.0 * (eps_c - eps_u), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(extras["cfg_delta"], eps_c - eps_u, atol=1e-5, rtol=1e-4)


def test_guidance_scales_zero_and_one_are_the_unconditional_and_conditional_samples(model, words):
    p = clip.prompt(*words, PROMPT)
    cond, uncond = sample(model, 2, steps=5, seed=4, prompt=p), sample(model, 2, steps=5, seed=4)
    assert (cond - uncond).abs().max() > 0.1  # the words change the drawing, so the two checks below can tell
    # (the guided pass runs both halves in one doubled batch: another summation order, ~1e-4 after 5 steps)
    torch.testing.assert_close(sample(model, 2, steps=5, seed=4, prompt=p, guide=guidance.ClassifierFree(1.0)),
                               cond, atol=1e-3, rtol=0)
    torch.testing.assert_close(sample(model, 2, steps=5, seed=4, prompt=p, guide=guidance.ClassifierFree(0.0)),
                               uncond, atol=1e-3, rtol=0)


def test_no_guide_and_the_plain_guide_give_bit_identical_samples(model):
    assert torch.equal(sample(model, 2, steps=4, seed=1), sample(model, 2, steps=4, seed=1, guide=guidance.plain))


def test_clip_guidance_takes_its_gradient_through_x0_hat_not_x_t(words):
    unet = randomised("unet-tiny", words)
    clip_model, tokenizer = words
    guide = guidance.ClipGuidance(clip_model, tokenizer, PROMPT, scale=2.0)
    x_t, t = torch.randn(2, 3, 32, 32) * 0.6, torch.full((2,), 300)
    extras = {}
    eps_guided = guide(unet, x_t, t, extras)
    alpha_bar = unet.schedule.alpha_bar[300].float()
    text = clip.encode_texts(clip_model, tokenizer, [PROMPT])

    def grad_of(read):  # d sim(CLIP(read(x))) / dx, by hand
        x = x_t.clone().requires_grad_(True)
        sim = (clip.encode_images(clip_model, read(x).clamp(-1, 1)) @ text.T).sum()
        return torch.autograd.grad(sim, x)[0]

    through_x0 = grad_of(lambda x: predict_x0(x, unet(x, t), alpha_bar))
    of_x_t = grad_of(lambda x: x)
    torch.testing.assert_close(extras["guidance_grad"], through_x0, atol=1e-6, rtol=1e-4)
    assert not torch.allclose(extras["guidance_grad"], of_x_t, atol=1e-3, rtol=0.1)
    with torch.no_grad():
        eps = unet(x_t, t)
    torch.testing.assert_close(eps_guided, eps - 2.0 * (1 - alpha_bar).sqrt() * through_x0, atol=1e-6, rtol=1e-4)
    assert extras["clip_similarity"].shape == (2,)


def test_clip_guidance_on_latents_reads_the_painted_guess(words):
    """With ``paint`` (a latent model's decoder), the CLIP reads D(x0_hat) and the gradient flows back through the
    decoder and the model to the latent x_t; without it, latents are refused in one line."""
    from diffusion_course.sketchbook import latent

    model = randomised("latent-unet-tiny", words)
    paint = latent.painter(model)
    clip_model, tokenizer = words
    x_t, t = torch.randn(2, 4, 8, 8), torch.full((2,), 300)
    extras = {}
    eps_guided = guidance.ClipGuidance(clip_model, tokenizer, PROMPT, 2.0, paint=paint)(model, x_t, t, extras)
    alpha_bar = model.schedule.alpha_bar[300].float()
    text = clip.encode_texts(clip_model, tokenizer, [PROMPT])
    x = x_t.clone().requires_grad_(True)
    sim = clip.encode_images(clip_model, paint(predict_x0(x, model(x, t), alpha_bar)).clamp(-1, 1)) @ text.T
    by_hand = torch.autograd.grad(sim.sum(), x)[0]
    torch.testing.assert_close(extras["guidance_grad"], by_hand, atol=1e-6, rtol=1e-4)
    with torch.no_grad():
        eps = model(x_t, t)
    torch.testing.assert_close(eps_guided, eps - 2.0 * (1 - alpha_bar).sqrt() * by_hand, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="give ClipGuidance paint="):
        guidance.ClipGuidance(clip_model, tokenizer, PROMPT, 2.0)(model, x_t, t, {})


def test_clip_guidance_levers_against_hand_computations(words):
    unet = randomised("unet-tiny", words)
    clip_model, tokenizer = words
    x_t, t = torch.randn(2, 3, 32, 32) * 0.6, torch.full((2,), 700)
    alpha_bar = unet.schedule.alpha_bar[700].float()
    with torch.no_grad():
        eps = unet(x_t, t)
    plain_extras, normal_extras = {}, {}
    guidance.ClipGuidance(*words, PROMPT, 2.0)(unet, x_t, t, plain_extras)
    grad = plain_extras["guidance_grad"]
    # normalise: the same gradient, each image's rescaled to unit root-mean-square before the scale
    normalised = guidance.ClipGuidance(*words, PROMPT, 2.0, normalise=True)(unet, x_t, t, normal_extras)
    unit = grad / grad.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt()
    torch.testing.assert_close(normalised, eps - 2.0 * (1 - alpha_bar).sqrt() * unit, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(normal_extras["guidance_grad"], grad)  # the record is the raw gradient
    # a window that leaves t = 700 out: the plain step, a zero gradient, and the similarity still read
    extras = {}
    outside = guidance.ClipGuidance(*words, PROMPT, 2.0, window=(0.0, 0.5))(unet, x_t, t, extras)
    assert torch.equal(outside, eps) and not extras["guidance_grad"].any()
    torch.testing.assert_close(extras["clip_similarity"], plain_extras["clip_similarity"])
    inside = guidance.ClipGuidance(*words, PROMPT, 2.0, window=(0.5, 1.0))(unet, x_t, t, {})
    torch.testing.assert_close(inside, eps - 2.0 * (1 - alpha_bar).sqrt() * grad, atol=1e-5, rtol=1e-4)
    # blend: the CLIP reads sqrt(1 - a) x0_hat + (1 - sqrt(1 - a)) x_t, and the gradient goes through that mix
    extras = {}
    guidance.ClipGuidance(*words, PROMPT, 2.0, blend=True)(unet, x_t, t, extras)
    x = x_t.clone().requires_grad_(True)
    fac = (1 - alpha_bar).sqrt()
    read = fac * predict_x0(x, unet(x, t), alpha_bar) + (1 - fac) * x
    text = clip.encode_texts(clip_model, tokenizer, [PROMPT])
    (by_hand,) = torch.autograd.grad((clip.encode_images(clip_model, read.clamp(-1, 1)) @ text.T).sum(), x)
    torch.testing.assert_close(extras["guidance_grad"], by_hand, atol=1e-6, rtol=1e-4)
    with pytest.raises(ValueError, match="guidance window"):
        guidance.ClipGuidance(*words, PROMPT, 2.0, window=(0.8, 0.2))
    assert repr(guidance.ClipGuidance(*words, PROMPT, 3, normalise=True, window=(0.2, 1))).endswith(
        "scale=3, normalise, window=(0.2, 1))")


def test_best_of_keeps_the_drawings_the_clip_likes_best(words):
    from diffusion_course import scenes

    inside, _ = scenes.sample_for(PROMPT, 4, seed=3)
    beside, _ = scenes.sample_for("the pup beside a rocket flying near the moon", 12, seed=3)
    mixed = torch.cat([beside[:6], inside, beside[6:]])
    kept, sim = guidance.best_of(mixed, *words, PROMPT, 4)
    by_hand = clip.similarity(*words, mixed, [PROMPT])[:, 0]
    torch.testing.assert_close(sim, by_hand.sort(descending=True).values[:4])  # the top 4, best first
    picked = {i for i in range(len(mixed)) for k in kept if torch.equal(mixed[i], k)}
    assert len(picked & {6, 7, 8, 9}) >= 3  # mostly the pups inside: the CLIP hears "in" against "beside"
    with pytest.raises(ValueError, match="keep between 1 and the 16"):
        guidance.best_of(mixed, *words, PROMPT, 17)


def test_the_trace_records_word_attention_and_guidance_maps(words):
    m = randomised("unet-words-tiny", words)
    p = clip.prompt(*words, PROMPT)
    tr = annotate(m, 2, steps=4, every=1, taps=["mid.words"], prompt=p, guide=guidance.ClassifierFree(2.0))
    assert tr.taps["mid.words"].shape == (4, 2, 4, 64, 24)  # the prompt's rows of the doubled batch
    assert tr.words(0)[2] == "pup" and tr.meta["guide"] == "ClassifierFree(scale=2)"
    assert tr.frames("mid.words", 0, 2).shape == (4, 8, 8)
    assert tr.words(0)[tr.loudest_word("mid.words")] not in ("<start>", "<end>", "a", "the")
    assert "cfg_delta" in tr.names() and tr.frames("cfg_delta").shape == (4, 32, 32)
    assert torch.equal(tr.final, sample(m, 2, steps=4, prompt=p, guide=guidance.ClassifierFree(2.0)))
    with pytest.raises(ValueError, match="not a token index"):
        tr.frames("mid.words", 0, 99)
    unet = randomised("unet-tiny", words)
    tr = annotate(unet, 1, steps=3, every=1, taps=[], guide=guidance.ClipGuidance(*words, PROMPT, 1.0))
    assert tr.frames("guidance_grad").shape == (3, 32, 32) and tr.extras["clip_similarity"].shape == (3, 1)


def test_listening_measures_how_far_each_relation_said_the_other_way_moves_eps_hat(words):
    from diffusion_course import scenes
    from diffusion_course.lessons import composition
    from diffusion_course.looking import plotting

    deaf = build("unet-words-tiny").eval()  # its words start at zero: it hears nothing yet
    deaf.set_null_prompt(clip.prompt(*words, [""]))
    heard = composition.listening(deaf, words, n=4)
    assert list(heard) == ["pup_in_rocket", "rocket_near_moon", "rocket_flying", "left_right"]
    assert all(h["eps_change"] == 0 for h in heard.values())
    model = randomised("unet-words-tiny", words)
    heard = composition.listening(model, words, n=4, t=700, seed=3)
    x0, _ = scenes.sample_for(composition.EVERY_RELATION, 4, seed=3)  # by hand, for one relation
    x_t = model.schedule.q_sample(x0, 700, torch.randn(x0.shape, generator=torch.Generator().manual_seed(3)))
    far = composition.EVERY_RELATION.replace("near it", "far from it")
    assert heard["rocket_near_moon"]["swapped"] == far
    with torch.no_grad():
        eps = [model(x_t, torch.full((4,), 700), prompt=clip.prompt(*words, s).expand(4))
               for s in (composition.EVERY_RELATION, far)]
    assert heard["rocket_near_moon"]["eps_change"] == pytest.approx((eps[1] - eps[0]).pow(2).mean().sqrt().item(),
                                                                     rel=1e-4)
    e = clip.encode_texts(*words, [composition.EVERY_RELATION, far])
    assert heard["rocket_near_moon"]["clip_cosine"] == pytest.approx((e[0] @ e[1]).item(), abs=1e-5)
    fig = plotting.listening({"random": heard, "deaf": {r: {**h, "eps_change": 1e-6} for r, h in heard.items()}})
    assert [len(ax.patches) for ax in fig.axes] == [8, 4]  # a bar per relation and team; one per relation
    assert "left_right" not in composition.listening(model, words, PROMPT, n=4)  # a sentence that does not say it
    with pytest.raises(ValueError, match="a model that listens"):
        composition.listening(build("unet-tiny"), words, n=4)


def test_bad_input_gets_a_one_line_error_and_an_empty_prompt_draws_unconditionally(words):
    m = randomised("unet-words-tiny", words)
    unet = randomised("unet-tiny", words)
    with pytest.raises(ValueError, match=">= 0"):
        guidance.ClassifierFree(-1.0)
    with pytest.raises(ValueError, match=">= 0"):
        guidance.ClipGuidance(*words, PROMPT, -0.5)
    with pytest.raises(ValueError, match="does not read prompts"):
        sample(unet, 1, steps=2, prompt=clip.prompt(*words, PROMPT))
    with pytest.raises(ValueError, match="needs a model that listens"):
        sample(unet, 1, steps=2, guide=guidance.ClassifierFree(2.0))
    with pytest.raises(ValueError, match="needs something to say"):
        sample(m, 1, steps=2, guide=guidance.ClassifierFree(2.0))
    with pytest.warns(UserWarning, match="prompt is empty"):
        empty = sample(m, 2, steps=3, seed=5, prompt=clip.prompt(*words, ""), guide=guidance.ClassifierFree(4.0))
    assert torch.equal(empty, sample(m, 2, steps=3, seed=5))
    m16 = build(dataclasses.replace(preset("unet-tiny"), image_size=16))
    with pytest.raises(ValueError, match="reads 32x32 images but the model draws 16x16"):
        sample(m16, 1, steps=2, guide=guidance.ClipGuidance(*words, PROMPT, 1.0))
    dragon = sample(m, 1, steps=3, prompt=clip.prompt(*words, "a dragon"))  # outside the scene world: still draws
    assert dragon.shape == (1, 3, 32, 32) and torch.isfinite(dragon).all()
    stranger = clip.build(seed=1)  # another tiny CLIP of the same shapes: its tokens would fit, its meanings not
    with pytest.raises(ValueError, match=r"read by another tiny CLIP .* differ by up to 0\.\d"):
        sample(m, 1, steps=2, prompt=clip.prompt(*stranger, PROMPT))
    with pytest.raises(ValueError, match="read by different tiny CLIPs"):
        clip.prompt(*words, PROMPT).cat(clip.prompt(*stranger, ""))
    fresh = build("unet-words-tiny")  # no null prompt yet (before training): setting it takes any CLIP's reading
    fresh.set_null_prompt(clip.prompt(*stranger, ""))
    assert sample(fresh, 1, steps=2, prompt=clip.prompt(*stranger, PROMPT)).shape == (1, 3, 32, 32)  # its own CLIP
    with pytest.raises(ValueError, match="read by another tiny CLIP"):
        sample(fresh, 1, steps=2, prompt=clip.prompt(*words, PROMPT))


@pytest.mark.parametrize("name", ["unet-words", "latent-dit-words"])
def test_the_shipped_models_that_listen_take_prompts_read_by_the_shipped_clip(name, words):
    from diffusion_course import load_pretrained

    model = load_pretrained(name, "cpu")
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a prompt read under autocast is still the same CLIP's
        p = clip.prompt(*words, PROMPT)
    assert (p.reader - model.null_pooled).abs().max() < 1e-5  # the null prompt it stored is this CLIP's ""
    size = model.config.image_size  # (a latent model draws its sketchbook's latents)
    assert sample(model, 1, steps=2, prompt=p).shape == (1, model.config.in_channels, size, size)
