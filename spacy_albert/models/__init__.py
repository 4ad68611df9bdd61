"""thinc/torch layers: the registered encoder, exact alignment, HF loading, precision, int8."""
