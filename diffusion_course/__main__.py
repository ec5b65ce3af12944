"""``python -m diffusion_course ...`` (and ``torchrun -m diffusion_course ...``): the command line, ``cli``
(its docstring has the examples)."""
from .cli import main

if __name__ == "__main__":
    main()
