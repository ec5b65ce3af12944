"""Matplotlib figures. Display only: nothing here changes data.

Pixels (uint8 conversion, grids, PNGs) live in ``images``; these modules lay them out in figures:
``figures`` the course's common ones and those of notebooks 02-03, ``teams`` those of notebooks
04-05 (inside Team Transformers, and the race between the teams), ``collapse`` notebook 06's (variety against
training time), ``clip`` notebook 07's (the tiny CLIP: similarities, embedding space, saliency, relation
pairs), ``words`` notebook 08's (drawing from words: maps beside pictures, failures, the composition scoreboard
and the guidance trade-off), ``sketchbook`` those of notebook 09 (latent channels, nudging a channel, latents
before and after scaling), ``showing`` those of notebook 10 (when the drawing is decided, where forks disagree,
what a restoration invented).
"""
from .clip import embedding_map, relation_scores, saliency_row, similarity_heatmap
from .collapse import over_steps, variety_curves
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
           steps_curves,
)
from .showing import commitment_timeline, cost_table, fork_maps, uncertainty
from .sketchbook import latent_channels, latent_histograms, nudges
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
           time_to_quality,
)
from .words import best_scales, composition_table, listening, panels, readings_grid, tradeoff, word_maps

__all__ = ["attention_distances", "attention_heads", "attention_moments", "best_scales", "budget_curves",
           "commitment_timeline", "composition_table", "cost_table", "embedding_map", "equal_budgets", "filmstrip",
           "fork_maps", "grids", "latent_channels", "latent_histograms", "level_activity", "listening", "loss_curve",
           "loss_weights", "nudges", "over_steps", "panels", "plot_schedules", "position_similarity", "puzzle_pieces",
           "quality_curves", "race", "readings_grid", "receptive_fields", "relation_scores", "rows", "saliency_row",
           "scoreboard", "show_grid", "show_patches", "similarity_heatmap", "steps_curves", "table", "time_to_quality",
           "tradeoff", "uncertainty", "variety_curves", "word_maps"]
