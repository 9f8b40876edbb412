"""Trident's task-agnostic code: backbones, layers, data, training, reports and export."""
