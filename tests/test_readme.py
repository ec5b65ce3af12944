"""The README's figures come from the bench's results file: this checks they have not drifted."""
import re
from pathlib import Path

from diffusion_course import bench, scenes
from diffusion_course.lessons import budgets

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_quality_table_matches_the_bench_results():
    r = bench.load_results()
    q = r["quality"]
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (unet-scenes|dit-scenes|latent-dit) \([^)]*\) \| (\d) \| (\d+)% \| (\d+)% \| (\d+)% \|$",
                      readme, re.M)
    assert {name for name, *_ in rows} == {"unet-scenes", "dit-scenes", "latent-dit"}
    for name, world, rec, eye, judged in rows:
        eye_row = q["eye_calibration"][name]["all"]
        assert int(world) == q[name]["scene_world"]
        assert int(rec) == round(100 * q[name]["recognisable_rate"])
        assert int(eye) == round(100 * eye_row["eye_clean"])
        assert int(judged) == round(100 * eye_row["judge_recognisable"])


def test_the_readme_composition_table_matches_the_bench_results():
    w = bench.load_results()["words"]
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (Team CNN|Team Transformers|Team CNN in the sketchbook) \| (classifier-free|CLIP) \| "
                      r"([\d.]+) \| (\d+)% \| (\d+)% \| (\d+)% \| ([\d.]+) \|$", readme, re.M)
    assert len(rows) == sum(len(w[k]) for k in ("best", "best_clip")) >= 2
    for team, kind, scale, comp, worst, rec, div in rows:
        b = w["best" if kind == "classifier-free" else "best_clip"][team]
        assert float(scale) == b["scale"] and int(comp) == round(100 * b["composition"])
        assert int(worst) == round(100 * b["worst_composition"]) and int(rec) == round(100 * b["recognisable"])
        assert div == f"{b['diversity']:.2f}"


def test_the_readme_composition_prose_matches_the_bench_results():
    """The sentences under the table quote single cells: each team's composition on the story's own sentence
    at its best scale of classifier-free guidance."""
    w = bench.load_results()["words"]
    readme = (ROOT / "README.md").read_text()
    quoted = re.findall(r"(Team CNN|Team Transformers) reaches (\d+) % on the story's own sentence", readme)
    assert quoted
    for team, rate in quoted:
        cell, = [c for c in w["scores"] if c["team"] == team and c["kind"] == "cfg"
                 and c["scale"] == w["best"][team]["scale"] and c["prompt"] == scenes.CHALLENGE_PROMPTS[0]]
        assert int(rate) == round(100 * cell["composition"])


def test_the_readme_claims_about_the_teams_match_the_bench_results():
    """The two claims of the story, as the README states them: the whole picture's relations (near/far and left/right)
    per team at its best scale of classifier-free guidance (Team CNN on pixels, and Team CNN in the same sketchbook as
    Team Transformers), and the step at which each team in the sketchbook settles its layout, each figure as the bench
    measured it and the verdicts as the scoreboard and showing say."""
    from diffusion_course.judging import scoreboard
    from diffusion_course.lessons import composition, showing

    r = bench.load_results()
    w, shown = r["words"], r["showing"]
    readme = (ROOT / "README.md").read_text()
    whole = re.findall(r"the whole picture's relations as said in (\d+) % of Team CNN's drawings and (\d+) % of "
                       r"Team Transformers'", readme)
    assert len(whole) == 1
    for team, quoted in zip(("Team CNN", "Team Transformers"), whole[0]):
        rate, _ = scoreboard.relation_rate(w["scores"], team, "cfg", w["best"][team]["scale"], scoreboard.WHOLE_PICTURE)
        assert int(quoted) == round(100 * rate)
    said = scoreboard.compare_relations(w)[0]
    assert ("no clear winner" in said) == ("no clear winner on the whole picture" in readme)
    settles = dict(re.findall(r"(Team CNN|Team Transformers) in the sketchbook settles its layout at step (\d+)",
                              readme))
    assert set(settles) == {"Team CNN", "Team Transformers"}
    for name, team in zip(showing.CLAIM, ("Team CNN", "Team Transformers")):
        assert int(settles[team]) == shown["teams"][name]["commitment"]["step"]["layout"]
    assert ("within the noise" in shown["verdict"]) == ("within the noise of when the layout settles" in readme)
    sketch = re.findall(r"Team CNN that listens in the sketchbook \(`latent-unet-words`[^)]*\) reads the whole "
                        r"picture's relations as said in (\d+) % of its drawings against Team Transformers' (\d+) %",
                        readme)
    assert len(sketch) == 1
    for team, quoted in zip(composition.SKETCHBOOK_PAIR, sketch[0]):
        rate, _ = scoreboard.relation_rate(w["scores"], team, "cfg", w["best"][team]["scale"], scoreboard.WHOLE_PICTURE)
        assert int(quoted) == round(100 * rate)
    said = scoreboard.compare_relations(w, teams=composition.SKETCHBOOK_PAIR)[0]
    assert ("no clear winner" in said) == ("no clear winner in the same sketchbook" in readme)


def test_the_readme_live_runs_match_the_bench_results():
    """What a learner's own models draw, as the README states it: notebook 02's live run and 05's race leg at equal
    FLOPs, from ``bench --only live`` (which runs them as the notebooks do)."""
    live = bench.load_results()["live"]
    readme = (ROOT / "README.md").read_text()
    own = re.findall(r"trained for (\d+) steps in the sketchbook with the learner's own loss \((\d+) s on the "
                     r"benchmark's machine, encoding the scenes included\), draws (\d+) % recognisable", readme)
    run = live["02_live"]
    assert own == [(str(run["steps"]), str(round(run["train_seconds"])), str(round(100 * run["recognisable_rate"])))]
    race = re.findall(r"at equal FLOPs Team CNN reaches (\d+) % and Team Transformers (\d+) %", readme)
    leg = {team.split(" (")[0]: s["recognisable_rate"] for team, s in live["05_race"]["equal FLOPs"].items()}
    assert race == [(str(round(100 * leg["Team CNN"])), str(round(100 * leg["Team Transformers"])))]


def test_the_readme_race_in_the_sketchbook_matches_the_bench_results():
    """Notebook 05's head-to-head as the README states it: both teams at 10 CPU minutes (read off their probe curves,
    with the verdict the notebook computes) and the finished models as the quality table read them."""
    from diffusion_course.judging import scoreboard

    r = bench.load_results()
    h, q = r["head_to_head"], r["quality"]
    cnn, trf = bench.TEAMS
    readme = (ROOT / "README.md").read_text()
    early = re.findall(r"At 10 CPU minutes of training Team CNN draws (\d+) % recognisable scenes and Team "
                       r"Transformers (\d+) %, (a lead beyond|within) the noise", readme)
    assert len(early) == 1
    row, = [row for row in h["equal_budget"] if row["budget"] == "10 CPU minutes"]
    a, b = row[cnn]["recognisable_rate"], row[trf]["recognisable_rate"]
    assert (int(early[0][0]), int(early[0][1])) == (round(100 * a), round(100 * b))
    who = scoreboard.leader(*scoreboard.difference(a, h["probe_images"], b, h["probe_images"]), cnn, trf)
    assert (early[0][2] == "a lead beyond") == (who == cnn)
    late = re.findall(r"trained ([\d.]+)× as long in minutes, reads (\d+) % against Team CNN's (\d+) %", readme)
    assert len(late) == 1
    times, t_rate, c_rate = late[0]
    assert times == f"{h['teams'][trf]['train_cpu_minutes'] / h['teams'][cnn]['train_cpu_minutes']:.1f}"
    assert int(t_rate) == round(100 * q[trf]["recognisable_rate"])
    assert int(c_rate) == round(100 * q[cnn]["recognisable_rate"])
    gap = scoreboard.difference(q[cnn]["recognisable_rate"], q[cnn]["images"], q[trf]["recognisable_rate"],
                                q[trf]["images"])
    assert ("ahead beyond the noise by the judge" in readme) == (scoreboard.leader(*gap, cnn, trf) == trf)


def test_the_readme_tables_of_notebook_06_match_the_bench_results():
    c = bench.load_results()["collapse"]
    readme = (ROOT / "README.md").read_text()
    told = re.findall(r"^\| (template-labels|unet-labels) \| ([\d.]+) \| (\d+)% \| (\d+)% \| (\d+)% \|$", readme, re.M)
    assert {name for name, *_ in told} == {"template-labels", "unet-labels"}
    for name, div, twins, rec, asked in told:
        m = c["told"]["mean"][name]
        assert div == f"{m['diversity']:.2f}" and int(twins) == round(100 * m["twins"])
        assert int(rec) == round(100 * m["recognisable"]) and int(asked) == round(100 * m["matches"])
    memorised = re.findall(r"^\| (unet-memo-\d+|unet-scenes) \| ([\d,]+) \| (\d+)% \|$", readme, re.M)
    rows = {m["name"]: m for m in c["memorised"]["models"]}
    assert {name for name, *_ in memorised} == set(rows)
    for name, scenes_seen, share in memorised:
        assert int(scenes_seen.replace(",", "")) == rows[name]["training_scenes"]
        assert int(share) == round(100 * rows[name]["memorised_fraction"])


def test_the_readme_time_to_quality_table_matches_the_bench_results():
    b = bench.load_results()["budgets"]
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| (unet-fast|dit-fast|unet-scenes|dit-scenes) \| ([\d.]+) \| (\d+)% \| (\d+)% \| (\d+)% \| "
                      r"(not reached|[\d.]+) \|$", readme, re.M)
    assert {name for name, *_ in rows} == set(b["curves"])
    for name, gflop, at12, at50, at100, to90 in rows:
        c = b["curves"][name]
        at = {p["budget"]: p["recognisable_rate"] for p in c["points"]}
        hit = budgets.first_reaching(c["points"])
        assert gflop == f"{c['gflop_per_step']:.1f}" and int(at12) == round(100 * at[12.0])
        assert int(at50) == round(100 * at[50.0]) and int(at100) == round(100 * at[100.0])
        assert to90 == ("not reached" if hit is None else f"{hit['tflop']:.0f}")


def test_the_readme_levers_table_matches_the_bench_results():
    t = bench.load_results()["levers"]
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| ((?:pixel|latent)(?:,| U-Net)[^|]*?) \| ([\d.]+) \| (\d+)% \| (\d+)% \| (\d+)% \|$",
                      readme, re.M)
    assert {name for name, *_ in rows} == set(t["rows"])
    for name, gflop, *rates in rows:
        row = t["rows"][name]
        at = {p["budget"]: p["recognisable_rate"] for p in row["points"]}
        assert gflop == f"{row['gflop_per_step']:.1f}"
        assert [int(r) for r in rates] == [round(100 * at[b]) for b in t["budgets"]]
