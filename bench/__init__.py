"""Benchmarks of spacy-albert against the Hugging Face way (`python -m bench.run`)."""

import os

# Before transformers / huggingface_hub are imported by any bench module: they read these
# once. The benchmark never reaches the hub, and tokenizers must not fork thread pools.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
