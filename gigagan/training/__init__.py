"""Training: losses, the trainer, checkpoints, EMA and data-parallel helpers."""

from gigagan.training.trainer import TrainConfig, Trainer

__all__ = ["TrainConfig", "Trainer"]
