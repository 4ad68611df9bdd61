"""spaCy components: the shared ALBERT encoder, the missing-aware textcat, tokenizers."""
