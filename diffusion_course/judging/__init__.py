"""The scene judge and what is read off it: how the judge is trained (``training``: what is *not* a scene, the
loop, validation), analysis by synthesis (``redraw``), the sample-quality metrics (``metrics``), memorisation
(``memorisation``: each drawing's nearest training image, no judge needed), the eye-calibration set
(``calibration``) and the scoreboard's arithmetic (``scoreboard``).
"""
