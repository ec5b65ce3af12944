"""The networks: Team CNN (U-Net), Team Transformers (DiT), the scene judge's classifier, the latent
sketchbook's autoencoder, and notebook 06's template (no dust) and tiny GAN."""
from ..config import AutoencoderConfig, DiTConfig, GANConfig, JudgeConfig, TemplateConfig, UNetConfig, preset
from .autoencoder import Autoencoder
from .base import Denoiser
from .dit import DiT
from .gan import GAN
from .judge import Judge
from .template import Template
from .unet import UNet


def build(config) -> Denoiser | Judge | Autoencoder | GAN:
    """A fresh model for a config (or a preset name)."""
    if isinstance(config, str):
        config = preset(config)
    if isinstance(config, TemplateConfig):  # (before UNetConfig: a template is built like a U-Net)
        return Template(config)
    if isinstance(config, UNetConfig):
        return UNet(config)
    if isinstance(config, DiTConfig):
        return DiT(config)
    if isinstance(config, JudgeConfig):
        return Judge(config)
    if isinstance(config, AutoencoderConfig):
        return Autoencoder(config)
    if isinstance(config, GANConfig):
        return GAN(config)
    raise TypeError(f"no model for config of type {type(config).__name__}")


__all__ = ["GAN", "Autoencoder", "Denoiser", "DiT", "Judge", "Template", "UNet", "build"]
