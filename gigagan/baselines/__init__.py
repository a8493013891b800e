"""Baselines that GigaGAN is measured against on the same data and budget."""
