"""The latent sketchbook (notebook 09): how its autoencoder is trained (``autoencoding``) and diffusion in its
latent space (``latent``: the unchanged sampler, painting through the decoder).
"""
