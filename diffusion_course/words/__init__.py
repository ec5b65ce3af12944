"""The teacher's words: what a model that listens reads of a sentence (``prompts.Prompt``) and the tiny CLIP that
reads it (``clip``, the only module that imports open_clip).

This room sits below the models: a model reads a ``Prompt`` and never imports the CLIP that made it.
"""
