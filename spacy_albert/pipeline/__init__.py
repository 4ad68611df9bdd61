"""spaCy components: the shared ALBERT encoder, the missing-aware textcat, the ner that
reads long docs in segments, tokenizers, entity confidence and calibration."""
