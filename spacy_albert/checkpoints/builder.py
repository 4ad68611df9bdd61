"""Build an ALBERT checkpoint offline: vocabulary from a corpus, randomly initialised weights.

English follows albert-base-v2: a lowercasing SentencePiece unigram model with ALBERT's
id layout (`<pad>`=0, `<unk>`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4), read by
`AlbertTokenizerFast`. Chinese follows the public albert_chinese_* checkpoints: a
character WordPiece `vocab.txt` read by `BertTokenizerFast`. Either way the output
directory loads with `AutoTokenizer` / `AutoModel.from_pretrained(dir)` offline.

A randomly initialised encoder does not learn at the shipped configs' fine-tuning
learning rate (meant for pretrained weights), so every checkpoint directory written here
carries `spacy_albert_training.json`: the `spacy train` overrides that suit its weights.
"""

import collections
import dataclasses
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional, Union

import srsly
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from thinc.api import fix_random_seed
from transformers import AlbertConfig, AlbertModel, AlbertTokenizerFast, BertTokenizerFast

MODEL_MAX_LENGTH = 512
SPECIAL_TOKENS = {"en": ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"],
                  "zh": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}
LANGS = tuple(SPECIAL_TOKENS)


@dataclass(frozen=True)
class AlbertSize:
    """Shape of an ALBERT encoder."""

    embedding_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int


SIZES: dict[str, AlbertSize] = {
    "tiny": AlbertSize(32, 64, 2, 2, 256),
    "small": AlbertSize(64, 256, 4, 4, 1024),
    # albert-base-v2's shape.
    "base": AlbertSize(128, 768, 12, 12, 3072),
}
DEFAULT_VOCAB_SIZE = {"en": 8000, "zh": 6000}
TRAINING_RECIPE_FILE = "spacy_albert_training.json"


@dataclass(frozen=True)
class TrainingRecipe:
    """The `spacy train` overrides that suit a checkpoint's weights, with the reason."""

    init: Literal["random", "pretrained"]
    overrides: Mapping[str, Union[int, float]]
    reason: str

    def cli_flags(self) -> str:
        """The overrides as `spacy train` command-line flags."""
        return " ".join(f"--{key} {value}" for key, value in self.overrides.items())


# What lets a random-init ALBERT learn (tests/conftest.py trains the tiny ones with it; a
# small one at the default lr 5e-5 stayed at chance on cats, issue 12).
RANDOM_INIT_RECIPE = TrainingRecipe(
    init="random",
    overrides={
        "training.optimizer.learn_rate.initial_rate": 0.001,
        "training.optimizer.learn_rate.warmup_steps": 30,
        "components.transformer.learn_rate_scale": 1,
    },
    reason="randomly initialised weights stay near chance at the shipped configs' "
    "fine-tuning learning rate for the encoder, which is meant for pretrained weights: "
    "here the encoder learns at the heads' rate",
)
PRETRAINED_RECIPE = TrainingRecipe(
    init="pretrained",
    overrides={},
    reason="the shipped configs' fine-tuning defaults are meant for pretrained weights",
)


def read_corpus_lines(paths: Sequence[Path]) -> list[str]:
    """Non-empty lines of UTF-8 text files, or doc texts of `.spacy` DocBins.

    paths (Sequence[Path]): Text files (one sentence per line) or `.spacy` files.
    RETURNS (List[str]): The lines; a clear error is raised when there are none.
    """
    lines: list[str] = []
    for path in paths:
        if path.suffix == ".spacy":
            vocab = Vocab()
            texts = [doc.text for doc in DocBin().from_disk(path).get_docs(vocab)]
        else:
            texts = path.read_text(encoding="utf-8").splitlines()
        lines.extend(line.strip() for line in texts if line.strip())
    if not lines:
        names = ", ".join(str(path) for path in paths)
        raise ValueError(f"The corpus ({names}) has no non-empty lines to build a vocabulary from.")
    return lines


def train_sentencepiece(lines: Iterable[str], output_dir: Path, vocab_size: int) -> Path:
    """Train a lowercasing unigram SentencePiece model with ALBERT's special-token ids.

    Trained from an in-memory iterator into memory, so no temp path ends up in the
    model's trainer spec and the same corpus always gives the same bytes.
    """
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([line.lower() for line in lines]),
        model_writer=model,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        model_type="unigram",
        character_coverage=1.0,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        normalization_rule_name="nmt_nfkc",
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    path = output_dir / "spiece.model"
    path.write_bytes(model.getvalue())
    return path


def char_vocab(lines: Iterable[str], vocab_size: int) -> list[str]:
    """A BERT-Chinese style vocabulary: specials, ASCII pieces, then chars by frequency."""
    counts: collections.Counter = collections.Counter()
    for line in lines:
        counts.update(ch.lower() for ch in unicodedata.normalize("NFC", line) if not ch.isspace())
    ascii_chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    ascii_pieces = ascii_chars + ["##" + ch for ch in ascii_chars if ch.isalnum()]
    vocab = list(SPECIAL_TOKENS["zh"]) + ascii_pieces
    seen = set(vocab)
    for char, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if len(vocab) >= vocab_size:
            break
        if char not in seen:
            vocab.append(char)
            seen.add(char)
    return vocab


def build_tokenizer(
    lang: str, lines: list[str], output_dir: Path, vocab_size: int
) -> Union[AlbertTokenizerFast, BertTokenizerFast]:
    """Write the vocabulary files for `lang` into output_dir and return the fast tokenizer."""
    if lang == "en":
        spiece = train_sentencepiece(lines, output_dir, vocab_size)
        return AlbertTokenizerFast(
            vocab_file=str(spiece),
            do_lower_case=True,
            keep_accents=False,
            model_max_length=MODEL_MAX_LENGTH,
        )
    vocab_file = output_dir / "vocab.txt"
    vocab_file.write_text("\n".join(char_vocab(lines, vocab_size)) + "\n", encoding="utf-8")
    return BertTokenizerFast(
        vocab_file=str(vocab_file),
        do_lower_case=True,
        tokenize_chinese_chars=True,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=MODEL_MAX_LENGTH,
    )


def albert_config(size: str, vocab_size: int) -> AlbertConfig:
    """An AlbertConfig of the named size for a vocabulary of vocab_size pieces."""
    shape = SIZES[size]
    return AlbertConfig(
        vocab_size=vocab_size,
        embedding_size=shape.embedding_size,
        hidden_size=shape.hidden_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        intermediate_size=shape.intermediate_size,
        max_position_embeddings=MODEL_MAX_LENGTH,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )


def write_training_recipe(output_dir: Path, recipe: TrainingRecipe) -> Path:
    """Write the recipe as `spacy_albert_training.json` into a checkpoint directory."""
    path = output_dir / TRAINING_RECIPE_FILE
    srsly.write_json(path, dataclasses.asdict(recipe))
    return path


def init_model(
    output_dir: Union[str, Path],
    corpus: Union[str, Path, Sequence[Union[str, Path]]],
    lang: str = "en",
    size: str = "tiny",
    vocab_size: Optional[int] = None,
    seed: int = 0,
) -> Path:
    """Build a randomly initialised ALBERT with a vocabulary learned from a corpus.

    output_dir (Union[str, Path]): Directory to write (created if needed).
    corpus (Union[str, Path, Sequence]): UTF-8 text file(s), one sentence per line,
        or `.spacy` DocBins whose doc texts are used.
    lang (str): 'en' (SentencePiece, AlbertTokenizerFast) or 'zh' (char WordPiece,
        BertTokenizerFast).
    size (str): 'tiny', 'small' or 'base' (albert-base-v2's shape).
    vocab_size (Optional[int]): Target vocabulary size; the corpus may yield fewer.
    seed (int): Seeds vocabulary training and weight initialisation.
    RETURNS (Path): The output directory, with `RANDOM_INIT_RECIPE` written beside the weights.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {tuple(SIZES)}, got {size!r}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    corpus_paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    lines = read_corpus_lines([Path(path) for path in corpus_paths])
    tokenizer = build_tokenizer(
        lang, lines, output_dir, vocab_size or DEFAULT_VOCAB_SIZE[lang]
    )
    tokenizer.save_pretrained(str(output_dir))
    fix_random_seed(seed)
    model = AlbertModel(albert_config(size, len(tokenizer)))
    model.save_pretrained(str(output_dir), safe_serialization=True)
    write_training_recipe(output_dir, RANDOM_INIT_RECIPE)
    return output_dir

