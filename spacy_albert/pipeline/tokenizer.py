"""A tokenizer setting that follows `[nlp] lang`, so one config serves en and zh.

spaCy configs name the tokenizer explicitly; `spacy.Tokenizer.v1` under `lang = "zh"`
would split Chinese on whitespace only. This defers to the language's own default:
spaCy's rule-based tokenizer for English, the `char` segmenter for Chinese (one token
per character — what Chinese ALBERT checkpoints and char-BIO data expect).

Either way, text with lone UTF-16 surrogates (what `errors="surrogateescape"` reading
gives) is tokenized with each surrogate replaced by U+FFFD: spaCy's string store cannot
hold a surrogate, and crashing would lose the doc (and a whole `nlp.pipe` batch).
"""

import warnings
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from spacy.lang.zh import ChineseTokenizer, Segmenter
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from ..models.tokenization import replace_lone_surrogates

TOKENIZER_NAME = "spacy-albert.LanguageDefaultTokenizer.v1"


@registry.tokenizers(TOKENIZER_NAME)
def create_language_default_tokenizer() -> Callable[[Language], Any]:
    """Build whatever tokenizer the pipeline's language class uses by default."""

    def create_tokenizer(nlp: Language) -> Any:
        default = type(nlp).default_config["nlp"]["tokenizer"]
        tokenizer = registry.resolve({"tokenizer": default})["tokenizer"](nlp)
        if type(tokenizer) is ChineseTokenizer:
            tokenizer = LinearCharChineseTokenizer(tokenizer.vocab, segmenter=tokenizer.segmenter)
        return SurrogateSafeTokenizer(tokenizer)

    return create_tokenizer


class LoneSurrogateWarning(UserWarning):
    """Input text had lone surrogates; the doc has U+FFFD at their offsets."""


class SurrogateSafeTokenizer:
    """A tokenizer that replaces lone surrogates by U+FFFD (one code point for one, so
    every character offset into the doc is an offset into the input) and warns.

    Everything else (serialization, `explain`, rules, `initialize`) is the wrapped
    tokenizer's own.
    """

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        if isinstance(text, str):
            text, replaced = replace_lone_surrogates(text)
            if replaced:
                warnings.warn(
                    f"The text has {replaced} lone surrogate(s), e.g. from bytes read with "
                    "errors='surrogateescape'; they are replaced by U+FFFD at the same offsets.",
                    LoneSurrogateWarning,
                    stacklevel=2,
                )
        return self.tokenizer(text)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterator[Doc]:
        for text in texts:
            yield self(text)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not on the wrapper. While pickle or copy rebuild it,
        # `tokenizer` itself is not set yet: looking it up here would recurse forever.
        if name == "tokenizer":
            raise AttributeError(name)
        return getattr(self.tokenizer, name)


class LinearCharChineseTokenizer(ChineseTokenizer):
    """spaCy's Chinese tokenizer, with the `char` segmenter in linear time.

    spaCy's char segmentation aligns the characters back to the text with
    `util.get_words_and_spaces`, which slices the rest of the text once per character:
    quadratic, about 4 minutes for a 1M-character doc. Same tokens and spaces here.
    """

    def __call__(self, text: str) -> Doc:
        if self.segmenter != Segmenter.char:
            return super().__call__(text)
        words, spaces = char_words_and_spaces(text)
        return Doc(self.vocab, words=words, spaces=spaces)


def char_words_and_spaces(text: str) -> tuple[list[str], list[bool]]:
    """`util.get_words_and_spaces(list(text), text)` in one pass over the text.

    Each non-whitespace character is a token; a run of whitespace before it becomes
    its own token, except one plain space after a character, which becomes that
    token's trailing space.
    """
    words: list[str] = []
    spaces: list[bool] = []
    pos = 0
    n_chars = len(text)
    for i, char in enumerate(text):
        if char.isspace():
            continue
        if i > pos:
            words.append(text[pos:i])
            spaces.append(False)
        words.append(char)
        pos = i + 1
        if pos < n_chars and text[pos] == " ":
            spaces.append(True)
            pos += 1
        else:
            spaces.append(False)
    if pos < n_chars:
        words.append(text[pos:])
        spaces.append(False)
    return words, spaces
