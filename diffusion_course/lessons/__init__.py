"""The notebooks' experiments, one module each, measured for the notebook and for ``bench``: the course's list of
notebooks (``course``), notebook 02's live run (``live``), notebook 05's race (``challenge``), the speed curves
(``budgets``: time to quality; ``stepping``: fewer steps), notebook 06's templates, GAN and memorisation
(``templates``, ``adversarial``, ``collapse``), notebook 08's composition sweep (``composition``), notebook 09's
(``sketching``) and notebook 10's measurements (``showing``).
"""
