import atexit
import os
import shutil
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# scene pools are cached on disk (scenes/cache.py): the suite keeps its own cache, for this run only (the notebooks'
# kernels inherit it), so a learner's ~/.cache is neither read nor filled by the tests
if "DIFFUSION_COURSE_CACHE" not in os.environ:
    os.environ["DIFFUSION_COURSE_CACHE"] = tempfile.mkdtemp(prefix="diffusion-course-test-cache-")
    atexit.register(shutil.rmtree, os.environ["DIFFUSION_COURSE_CACHE"], ignore_errors=True)

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield
