"""Recording a sampling run and showing what was recorded.

Recording: ``taps`` (hooks on a model's named taps, in a context manager), ``trace`` (``annotate`` -> ``Trace``)
and ``analysis`` (commitment, forks, the point of no return, inpainting). Showing: ``widgets`` (ipywidgets
viewers; the only module that imports ipywidgets), ``plotting/`` (matplotlib figures, one module per part of the
course) and ``handout`` (the page a teacher hands out). Display never changes what was recorded, and ``taps`` and
``trace`` never import a display module.
"""
