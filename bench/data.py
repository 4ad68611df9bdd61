"""The benchmark's data: CoNLL-2003 and SST-2 from the shared data folder, read with the package.

Real data is read from `--data-dir` and never copied into the repository. CoNLL files go
through `spacy_albert.convert.read_conll`, the reader behind `spacy_albert convert conll`, so
the benchmark trains and scores on exactly what users get from the converter.
"""

import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

import torch
from spacy.tokens import Doc
from spacy.training import Example, biluo_to_iob
from spacy.training.iob_utils import doc_to_biluo_tags
from spacy.util import minibatch

from spacy_albert.convert import read_conll

from .settings import ROOT

T = TypeVar("T")
SST_DIR = Path("sst2") / "stsa_sentence_level"


@dataclass
class TaggedSentence:
    """One CoNLL sentence.

    words (list[str]): The tokens.
    tags (list[str]): One IOB2 tag per token ("O", "B-PER", "I-PER", ...).
    """

    words: list[str]
    tags: list[str]


def find_data_dir(explicit: Optional[str]) -> Path:
    """The data folder holding conll2003/ and sst2/ (default ../shared/data, /work/shared/data)."""
    candidates = [explicit] if explicit else [str(ROOT.parent / "shared" / "data"),
                                              "/work/shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "conll2003" / "train.txt").is_file():
            return Path(candidate)
    raise SystemExit(f"No CoNLL-2003 under {candidates}: pass --data-dir.")


def iob_tags(doc: Doc) -> list[str]:
    """One IOB2 tag per token of a doc's entities (tokens without annotation: "O")."""
    return biluo_to_iob(doc_to_biluo_tags(doc, missing="O"))


def read_conll_documents(path: Path) -> list[list[TaggedSentence]]:
    """CoNLL-2003 documents (split at -DOCSTART-) as lists of sentences."""
    documents = []
    # n_sents=sys.maxsize: one Doc per document, since read_conll never lets a doc span a
    # -DOCSTART- line; its gold sentence starts give the sentences back.
    for doc in read_conll(path, n_sents=sys.maxsize):
        tags = iob_tags(doc)
        documents.append([TaggedSentence([token.text for token in sent], tags[sent.start:sent.end])
                          for sent in doc.sents])
    return documents


def conll_sentences(data: Path, split: str) -> list[TaggedSentence]:
    """All sentences of conll2003/<split>.txt, in file order."""
    path = data / "conll2003" / f"{split}.txt"
    return [sentence for document in read_conll_documents(path) for sentence in document]


def read_sst(data: Path, split: str) -> list[tuple[str, int]]:
    """SST-2 sentence level (`label sentence` per line) as (text, label) pairs.

    data (Path): The data folder.
    split (str): "train", "dev" or "test".
    RETURNS (list[tuple[str, int]]): The sentences and their 0/1 labels.
    """
    path = data / SST_DIR / f"stsa.binary.{split}"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            label, sep, text = line.partition(" ")
            if not sep or label not in ("0", "1"):
                raise ValueError(f"{path}:{number}: expected '<0|1> <sentence>', got {line!r}")
            rows.append((text.strip(), int(label)))
    return rows


def count_words(texts: Sequence[str]) -> int:
    """Whitespace-separated words in the texts (the unit of every words/s figure)."""
    return sum(len(text.split()) for text in texts)


def short_texts(data: Path, n: int) -> list[str]:
    """~25-word news texts: consecutive CoNLL test sentences joined to >= 22 words."""
    texts: list[str] = []
    current: list[str] = []
    for sentence in conll_sentences(data, "test"):
        current.extend(sentence.words)
        if len(current) >= 22:
            texts.append(" ".join(current))
            current = []
        if len(texts) == n:
            break
    return texts


def long_docs(data: Path, n: int, words: int = 1500) -> list[str]:
    """Long news docs: consecutive CoNLL test documents joined to >= words (cut at words + 50).

    data (Path): The data folder.
    n (int): How many documents (fewer if the test set runs out).
    words (int): The least number of words per document.
    RETURNS (list[str]): The documents.
    """
    texts: list[str] = []
    current: list[str] = []
    for document in read_conll_documents(data / "conll2003" / "test.txt"):
        for sentence in document:
            current.extend(sentence.words)
        if len(current) >= words:
            texts.append(" ".join(current[: words + 50]))
            current = []
            if len(texts) == n:
                break
    return texts


def sample(rows: list[T], n: int, seed: int = 0) -> list[T]:
    """n rows drawn without replacement (all of them if n <= 0 or n >= len(rows))."""
    if n <= 0 or n >= len(rows):
        return list(rows)
    return random.Random(seed).sample(rows, n)


def spacy_examples(nlp: Any, conll: Sequence[TaggedSentence],
                   sst: Sequence[tuple[str, int]]) -> list[Example]:
    """CoNLL docs carry entities and no cats; SST-2 docs carry cats and missing entities."""
    examples = []
    for sentence in conll:
        reference = Doc(nlp.vocab, words=sentence.words, ents=sentence.tags)
        examples.append(Example(Doc(nlp.vocab, words=sentence.words), reference))
    for text, label in sst:
        predicted = nlp.make_doc(text)
        reference = nlp.make_doc(text)
        reference.cats = {"POSITIVE": float(label == 1), "NEGATIVE": float(label == 0)}
        examples.append(Example(predicted, reference))
    return examples


def epoch_batches(n: int, batch_size: int, seed: int) -> Iterator[list[int]]:
    """Endless shuffled passes over range(n), in batches (the seed's DataLoader(shuffle=True)).

    Each pass is a `torch.randperm` of one seeded generator, cut by `spacy.util.minibatch`.
    """
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield from minibatch(torch.randperm(n, generator=generator).tolist(), size=batch_size)


def interleave(conll: Sequence[TaggedSentence], sst: Sequence[tuple[str, int]], batch: int,
               steps: int, seed: int) -> list[tuple[list[TaggedSentence], list[tuple[str, int]]]]:
    """Per step: `batch` CoNLL sentences and `batch` SST-2 sentences (seeded passes)."""
    conll_batches = epoch_batches(len(conll), batch, seed)
    sst_batches = epoch_batches(len(sst), batch, seed + 1)
    return [([conll[i] for i in next(conll_batches)], [sst[i] for i in next(sst_batches)])
            for _ in range(steps)]
