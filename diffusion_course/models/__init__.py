"""The denoisers: Team CNN (U-Net) and Team Transformers (DiT), plus the scene judge's network."""
from .base import Denoiser
from .dit import DiT
from .unet import UNet


def build(config) -> Denoiser:
    """A fresh model for a config (or a preset name)."""
    from ..config import DiTConfig, JudgeConfig, UNetConfig, preset

    if isinstance(config, str):
        config = preset(config)
    if isinstance(config, UNetConfig):
        return UNet(config)
    if isinstance(config, DiTConfig):
        return DiT(config)
    if isinstance(config, JudgeConfig):
        from .judge import Judge

        return Judge(config)
    raise TypeError(f"no model for config of type {type(config).__name__}")


__all__ = ["DiT", "Denoiser", "UNet", "build"]
