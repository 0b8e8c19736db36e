"""Score-based diffusion (the reference baseline): SDEs, the DDPM++ score network, samplers and the generator.

Importing ``lartpcbench.models.sgm.generator`` registers the generator named "sgm".
"""
