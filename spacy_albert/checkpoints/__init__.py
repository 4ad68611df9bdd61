"""Checkpoints: build an ALBERT offline, import pretrained ones, MLM domain pretraining."""
