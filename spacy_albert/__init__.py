"""spacy-albert: ALBERT under spaCy's textcat and ner, one shared encoder run once per doc."""

from .models.architectures import albert_tok2vec_transformer_v1, albert_transformer_v1
from .pipeline.confidence import make_albert_calibrator, make_albert_entity_scorer
from .pipeline.ner import AlbertEntityRecognizer, make_albert_ner
from .pipeline.textcat import AlbertTextCategorizer, make_albert_textcat
from .pipeline.tokenizer import create_language_default_tokenizer
from .pipeline.transformer import AlbertTransformer, make_albert_transformer

__version__ = "0.1.0"

__all__ = [
    "AlbertEntityRecognizer",
    "AlbertTextCategorizer",
    "AlbertTransformer",
    "albert_tok2vec_transformer_v1",
    "albert_transformer_v1",
    "create_language_default_tokenizer",
    "make_albert_calibrator",
    "make_albert_entity_scorer",
    "make_albert_ner",
    "make_albert_textcat",
    "make_albert_transformer",
]
