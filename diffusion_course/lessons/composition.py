"""The magic drawing challenge, re-run with words (notebook 08): does each team draw what it is told?

Both teams draw every prompt of ``scenes.CHALLENGE_PROMPTS`` from the same dust (the same seeds) at a
sweep of guidance scales, and the judge scores each drawing:

* **composition**: recognisable, and everything the judge reads agrees with everything the prompt says
  (its objects and no others, colours, phases, every relation: ``metrics.matches``). A well-drawn pup
  *beside* the rocket does not match "sitting in".
* **recognisable**: a clean scene, whatever it shows.
* **diversity**: the spread of the drawings' judge features as a share of the spread of real scenes
  that satisfy the same prompt (``scenes.sample_for``): 1 is as varied as the real thing.
* **relations**: for each relation the prompt states, the share of drawings that are recognisable and show that
  relation as said, whatever else they get wrong. Near/far and left/right of the moon need the whole picture;
  the pup in or beside its rocket is a local affair (``scoreboard.compare_relations`` sets the teams side by side).

A rate comes with its 95 % Wilson interval (``scoreboard.wilson``); ``scoreboard`` also groups the cells by scale and
writes the verdict. ``listening`` asks why a relation is not followed: how far eps_hat moves when that relation
is said the other way round, beside how alike the tiny CLIP finds the two sentences. Two kinds of guidance:

    "cfg"   the team's model that listens (unet-words, latent-dit-words) hears the prompt; classifier-free
            guidance at scale s (s = 1: plain conditional). A latent model draws in its sketchbook
            (``sketchbook.latent.draw``) and is judged on the pictures its autoencoder paints.
    "clip"  the team's unconditional model (unet-scenes, latent-dit), which never heard a word, is steered by
            the tiny CLIP's gradient through x0_hat at scale s (s = 0: unguided); for a latent model the
            CLIP reads x0_hat painted by the autoencoder, and the gradient flows back through the painter
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from .. import scenes
from ..diffusion.checkpoints import load_pretrained
from ..diffusion.guidance import ClassifierFree, ClipGuidance
from ..judging import metrics
from ..judging.scoreboard import DIVERSITY_FLOOR, by_scale
from ..models.base import evaluating
from ..shipped import CheckpointError
from ..sketchbook import latent
from ..words import clip

# the listening teams trained under the same rules (three stages: 8,000 steps on 20,000 scenes, 4,000 on 100,000,
# 4,000 on 200,000, a fifth of the captions loose); Team Transformers draws in the sketchbook, where it can draw, and
# Team CNN in the sketchbook is its rival in the same space (classifier-free guidance only)
TEAMS = {"Team CNN": {"cfg": "unet-words", "clip": "unet-scenes"},
         "Team Transformers": {"cfg": "latent-dit-words", "clip": "latent-dit"},
         "Team CNN in the sketchbook": {"cfg": "latent-unet-words"}}
# the pair that lives in the same space: both draw in the sketchbook, so the teams differ only in their networks
SKETCHBOOK_PAIR = ("Team CNN in the sketchbook", "Team Transformers")


@dataclass
class Score:
    """One team, prompt, kind of guidance and scale: how its ``n`` drawings did."""

    team: str
    model: str
    prompt: str
    kind: str  # "cfg" or "clip"
    scale: float
    n: int
    composition: float  # its 95 % interval over the n drawings: scoreboard.wilson(composition, n)
    recognisable: float
    diversity: float  # ratio to real scenes that satisfy the prompt
    seconds: float = 0.0  # drawing time (machine-dependent; for the record)
    relations: dict[str, float] = field(default_factory=dict)  # per relation the prompt states: shown as said


def guide_for(kind: str, scale: float, prompt: str, words, paint=None):
    """The guide and the model's prompt for one kind of guidance (see the module docstring); ``paint``: a latent
    model's decoder, through which the CLIP reads its guesses."""
    if kind == "cfg":
        return ClassifierFree(scale), clip.prompt(*words, prompt)
    if kind == "clip":
        return ClipGuidance(*words, prompt, scale, paint=paint), None
    raise ValueError(f"unknown kind of guidance {kind!r}; choose 'cfg' or 'clip'")


def draw(model, prompt: str, kind: str, scale: float, n: int, words, seed: int = 0, steps: int = 50,
         batch: int = 64) -> torch.Tensor:
    """``n`` drawings of ``prompt`` (n, 3, H, W) in [-1, 1], from seed ``seed``'s dust (a latent model's painted
    by its autoencoder)."""
    paint = latent.painter(model) if kind == "clip" else None  # (the CLIP reads a latent model's painted guess)
    guide, said = guide_for(kind, scale, prompt, words, paint)
    return latent.draw(model, n, steps=steps, seed=seed, batch=batch, guide=guide,
                       **({"prompt": said} if said is not None else {}))


class Reference:
    """Real scenes that satisfy each prompt, read once by the judge (diversity's yardstick)."""

    def __init__(self, judge, n: int):
        self.judge, self.n, self.readings = judge, n, {}

    def __call__(self, prompt: str) -> dict:
        if prompt not in self.readings:
            x, _ = scenes.sample_for(prompt, self.n, seed=scenes.HELD_OUT_SEED)
            self.readings[prompt] = metrics.read(self.judge, x, redraw_objects=False)
        return self.readings[prompt]


def score(judge, x: torch.Tensor, prompt: str, reference: Reference) -> dict:
    """Composition, recognisable rate, diversity and each stated relation's rate of drawings ``x`` of ``prompt``."""
    r = metrics.read(judge, x)
    return {"composition": metrics.matches(r, prompt).float().mean().item(),
            "recognisable": metrics.recognisable_reading(r).float().mean().item(),
            "diversity": metrics.diversity_reading(r, reference(prompt))["ratio_to_real"],
            "relations": relations_shown(r, prompt)}


def relations_shown(r: dict, prompt: str) -> dict[str, float]:
    """Per relation ``prompt`` states (``scenes.RELATIONS``), the share of the read drawings that are recognisable
    and show it as said: the pup in the rocket counts as shown whether or not the moon is where it was asked."""
    wanted, clean = scenes.parse(prompt), metrics.recognisable_reading(r).tolist()
    facts = metrics.reading_facts(r)
    return {k: sum(ok and f.get(k) == wanted[k] for ok, f in zip(clean, facts)) / len(facts)
            for k in scenes.RELATIONS if wanted[k] is not None}


def failures(judge, x: torch.Tensor, prompt: str) -> tuple[torch.Tensor, list[str]]:
    """The recognisable drawings that do not show what was asked, and what the judge read in each
    (a pup beside the rocket when it should sit in it): (images, descriptions)."""
    r = metrics.read(judge, x)
    wrong = metrics.recognisable_reading(r) & ~metrics.matches(r, prompt)
    facts = metrics.reading_facts(r)
    said = [describe(facts[i]) for i in torch.nonzero(wrong)[:, 0].tolist()]
    return x[wrong], said


def describe(f: dict) -> str:
    """A short account of facts the judge read (``metrics.reading_facts``), e.g.
    "pup, rocket, moon; pup beside (left), rocket flying, far from the moon (right of it)"."""
    objects = ", ".join(k for k in ("pup", "rocket", "moon") if f[k]) or "empty sky"
    said = []
    if f.get("pup_in_rocket") is not None:
        said.append("pup in" if f["pup_in_rocket"] else "pup beside")
    if f.get("pup_left_of_rocket") is not None:
        said[-1] += " (left)" if f["pup_left_of_rocket"] else " (right)"
    if f.get("rocket_flying") is not None:
        said.append("rocket flying" if f["rocket_flying"] else "rocket standing")
    if f.get("rocket_near_moon") is not None:
        said.append("near the moon" if f["rocket_near_moon"] else "far from the moon")
    if f.get("rocket_left_of_moon") is not None:
        said.append("left of it" if f["rocket_left_of_moon"] else "right of it")
    return "; ".join([objects, ", ".join(said)]) if said else objects


def sweep(judge, words, scales: dict[str, tuple[float, ...]], prompts=scenes.CHALLENGE_PROMPTS, n: int = 128,
          steps: int = 50, seed: int = 0, teams: dict = TEAMS, reference_n: int | None = None,
          progress=None, loaded: dict | None = None) -> list[Score]:
    """Every team x prompt x kind x scale (``scales[kind]``): drawings from the same seed, scored.
    A team whose model is not shipped is skipped (its scores are absent). ``progress(score)`` is called
    after each cell. ``loaded``: models the caller has loaded already, by name (the others are loaded here)."""
    reference = Reference(judge, reference_n or n)
    loaded = loaded or {}
    out = []
    for team, models in teams.items():
        for kind, kind_scales in scales.items():
            if kind not in models:  # (a team with no model for this kind of guidance)
                continue
            try:
                model = loaded[models[kind]] if models[kind] in loaded else load_pretrained(models[kind], "cpu")
            except CheckpointError:
                continue
            for prompt in prompts:
                for s in kind_scales:
                    started = time.perf_counter()
                    x = draw(model, prompt, kind, s, n, words, seed=seed, steps=steps)
                    cell = Score(team, models[kind], prompt, kind, s, n, **score(judge, x, prompt, reference),
                                 seconds=time.perf_counter() - started)
                    out.append(cell)
                    if progress is not None:
                        progress(cell)
    return out


# one sentence of the training captions' kind that states all four relations (``scenes.phrasings``)
EVERY_RELATION = "a blue pup sitting in a red rocket flying to the left of the full moon, near it"


@torch.no_grad()
def listening(model, words, sentence: str = EVERY_RELATION, n: int = 64, t: int = 900, seed: int = 0,
              progress: bool = False) -> dict:
    """How much each relation the sentence states moves a model that listens. For each relation of
    ``scenes.words.SWAPS`` the sentence says, the same words with that relation said the other way round:
    the root-mean-square change of the model's eps_hat on the same ``n`` dusty real scenes (x_t at step
    ``t`` of scenes that satisfy the sentence), and the cosine between the tiny CLIP's embeddings of the two
    sentences (1: the CLIP hears no difference). A relation the model ignores moves eps_hat by little. The
    default t = 900 is early in sampling, where the layout (what goes where) is chosen (notebook 10)."""
    if not getattr(model, "listens", False):
        raise ValueError("listening needs a model that listens to words (unet-words, latent-dit-words)")
    x0, _ = scenes.sample_for(sentence, n, seed=seed)
    device = next(model.parameters()).device
    ae = latent.autoencoder_for(model)
    if ae is not None:  # a latent model hears the sentence over the scenes' latents
        x0 = latent.Sketchbook(model, ae).encode(x0)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    x_t, tt = model.schedule.q_sample(x0, t, noise).to(device), torch.full((n,), t, device=device)
    swapped = {r: s for r in scenes.words.SWAPS if (s := scenes.words.swap_relation(sentence, r)) is not None}
    said = [clip.prompt(*words, s) for s in (sentence, *swapped.values())]
    with evaluating(model):
        eps = [model(x_t, tt, prompt=p.expand(n).to(device)).float()
               for p in tqdm(said, desc="listening", disable=not progress, leave=False)]
    return {r: {"swapped": s, "eps_change": (eps[i + 1] - eps[0]).pow(2).mean().sqrt().item(),
                "clip_cosine": (said[0].pooled[0] @ said[i + 1].pooled[0]).item()}
            for i, (r, s) in enumerate(swapped.items())}


def best(scores: list[Score], kind: str = "cfg", floor: float = DIVERSITY_FLOOR) -> dict[str, dict]:
    """Per team, the scale with the highest composition averaged over the prompts among the scales whose mean
    diversity keeps ``floor`` (louder guidance buys composition with variety), and its figures. When no scale
    keeps the floor, the best of all of them, with ``keeps_floor`` False."""
    rows, out = as_dicts(scores), {}
    for team in dict.fromkeys(s["team"] for s in rows if s["kind"] == kind):
        curve = by_scale(rows, team, kind)
        fair = [s for s in curve if curve[s]["diversity"] >= floor] or list(curve)
        scale = max(fair, key=lambda s: curve[s]["composition"])
        worst = min((c for c in rows if c["team"] == team and c["kind"] == kind and c["scale"] == scale),
                    key=lambda c: c["composition"])
        out[team] = {"scale": scale, **{k: curve[scale][k] for k in ("composition", "recognisable", "diversity")},
                     "keeps_floor": curve[scale]["diversity"] >= floor,
                     "worst_prompt": worst["prompt"], "worst_composition": worst["composition"]}
    return out


def as_dicts(scores: list[Score]) -> list[dict]:
    return [asdict(s) for s in scores]
