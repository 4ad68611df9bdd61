"""A tokenizer setting that follows `[nlp] lang`, so one config serves en and zh.

spaCy configs name the tokenizer explicitly; `spacy.Tokenizer.v1` under `lang = "zh"`
would split Chinese on whitespace only. This defers to the language's own default:
spaCy's rule-based tokenizer for English, the `char` segmenter for Chinese (one token
per character — what Chinese ALBERT checkpoints and char-BIO data expect).
"""

from typing import Any, Callable

from spacy.language import Language
from spacy.util import registry

TOKENIZER_NAME = "spacy-albert.LanguageDefaultTokenizer.v1"


@registry.tokenizers(TOKENIZER_NAME)
def create_language_default_tokenizer() -> Callable[[Language], Any]:
    """Build whatever tokenizer the pipeline's language class uses by default."""

    def create_tokenizer(nlp: Language) -> Any:
        default = type(nlp).default_config["nlp"]["tokenizer"]
        return registry.resolve({"tokenizer": default})["tokenizer"](nlp)

    return create_tokenizer
