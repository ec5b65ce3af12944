"""Notebook 00's roadmap lists exactly the notebooks that exist, as they introduce themselves."""
import json

import pytest

from diffusion_course.lessons import course


def _write(folder, name, first_cell, code=""):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": first_cell},
             {"cell_type": "code", "metadata": {}, "source": code, "outputs": [], "execution_count": None}]
    (folder / name).write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_roadmap_has_one_row_per_notebook_in_the_folder():
    found = course.notebooks()
    assert [nb.number for nb in found] == [p.name[:2] for p in sorted(course.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))]
    table = course.roadmap()
    assert len(table.splitlines()) == 2 + len(found)
    assert "coming" not in table
    for nb in found:
        assert f"{nb.number} · {nb.title}" in table and nb.title and nb.tagline
        assert nb.exercises, f"notebook {nb.number} checks no exercise"


def test_title_tagline_and_exercises_are_read_from_the_notebook(tmp_path):
    _write(tmp_path, "07_the_teachers_words.ipynb",
           "# 07 · The teacher's words\n\n*Words meet pictures. Then more.*\n\nBy the end...",
           'exercises.check("07.a", x)\nexercises.check( "07.b", y)\nexercises.check("07.a", z)')
    _write(tmp_path, "notes.ipynb", "# not a course notebook")
    (nb,) = course.notebooks(tmp_path)
    assert (nb.number, nb.title, nb.tagline, nb.exercises) == ("07", "The teacher's words", "Words meet pictures.",
                                                                ("07.a", "07.b"))
    assert "| **07 · The teacher's words** | *Words meet pictures.* | 2 |" in course.roadmap(tmp_path)


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="pass the folder"):
        course.roadmap(tmp_path)
