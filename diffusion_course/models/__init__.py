"""The networks: Team CNN (U-Net), Team Transformers (DiT), the scene judge's classifier, and the latent
sketchbook's autoencoder."""
from ..config import AutoencoderConfig, DiTConfig, JudgeConfig, UNetConfig, preset
from .autoencoder import Autoencoder
from .base import Denoiser
from .dit import DiT
from .judge import Judge
from .unet import UNet


def build(config) -> Denoiser | Judge | Autoencoder:
    """A fresh model for a config (or a preset name)."""
    if isinstance(config, str):
        config = preset(config)
    if isinstance(config, UNetConfig):
        return UNet(config)
    if isinstance(config, DiTConfig):
        return DiT(config)
    if isinstance(config, JudgeConfig):
        return Judge(config)
    if isinstance(config, AutoencoderConfig):
        return Autoencoder(config)
    raise TypeError(f"no model for config of type {type(config).__name__}")


__all__ = ["Autoencoder", "Denoiser", "DiT", "Judge", "UNet", "build"]
