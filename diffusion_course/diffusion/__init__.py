"""Diffusion itself, the library a reader studies: sampling (``samplers``: DDPM, DDIM, DPM-Solver++ as one
generator loop), guidance (``guidance``: classifier-free and CLIP guidance, callables passed to the sampler),
training (``training``: Algorithm 1 with Min-SNR weighting, EMA; ``telling``: what a model is told of each scene;
``run_state``: a run's state on disk, so it resumes exactly), what a step costs (``cost``), weights on disk
(``checkpoints``) and training on several processes (``distributed``).

The noise schedules the models are built with sit one floor lower, in ``diffusion_course.schedules``.
"""
