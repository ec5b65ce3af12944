"""The teacher's words: what a model that listens reads of a sentence (``prompts.Prompt``) and the tiny CLIP that
reads it (``clip``, the only module that imports open_clip), how that CLIP is trained (``clip_training``) and how
well it reads (``clip_measures``).

This room sits below the models: a model reads a ``Prompt`` and never imports the CLIP that made it.
"""
