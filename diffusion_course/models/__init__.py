"""The networks: Team CNN (U-Net), Team Transformers (DiT), and the scene judge's classifier."""
from ..config import DiTConfig, JudgeConfig, UNetConfig, preset
from .base import Denoiser
from .dit import DiT
from .judge import Judge
from .unet import UNet


def build(config) -> Denoiser | Judge:
    """A fresh model for a config (or a preset name)."""
    if isinstance(config, str):
        config = preset(config)
    if isinstance(config, UNetConfig):
        return UNet(config)
    if isinstance(config, DiTConfig):
        return DiT(config)
    if isinstance(config, JudgeConfig):
        return Judge(config)
    raise TypeError(f"no model for config of type {type(config).__name__}")


__all__ = ["Denoiser", "DiT", "Judge", "UNet", "build"]
