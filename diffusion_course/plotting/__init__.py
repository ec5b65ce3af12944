"""Matplotlib figures. Display only: nothing here changes data.

Pixels (uint8 conversion, grids, PNGs) live in ``images``; these modules lay them out in figures:
``figures`` the course's common ones and those of notebooks 02-03, ``teams`` those of notebooks
04-05 (inside Team Transformers, and the race between the teams), ``words`` those of notebook 07
(the tiny CLIP: similarities, embedding space, saliency, relation pairs).
"""
from .figures import (
                      filmstrip,
                      level_activity,
                      loss_curve,
                      loss_weights,
                      plot_schedules,
                      quality_curves,
                      receptive_fields,
                      rows,
                      show_grid,
                      show_patches,
)
from .teams import (
                      attention_distances,
                      attention_heads,
                      attention_moments,
                      budget_curves,
                      equal_budgets,
                      grids,
                      position_similarity,
                      puzzle_pieces,
                      race,
                      scoreboard,
                      table,
)
from .words import embedding_map, relation_scores, saliency_row, similarity_heatmap

__all__ = ["attention_distances", "attention_heads", "attention_moments", "budget_curves", "embedding_map",
           "equal_budgets", "filmstrip", "grids", "level_activity", "loss_curve", "loss_weights", "plot_schedules",
           "position_similarity", "puzzle_pieces", "quality_curves", "race", "receptive_fields", "relation_scores",
           "rows", "saliency_row", "scoreboard", "show_grid", "show_patches", "similarity_heatmap", "table"]
