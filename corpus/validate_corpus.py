#!/usr/bin/env python
"""Check the corpus: schema, spaCy token boundaries, balance, overlap; print counts per split.

    python corpus/validate_corpus.py            # exits 1 on any problem
    python corpus/validate_corpus.py --markdown # also print the README tables

A maintenance tool for whoever edits make_corpus.py or corpus/templates/; tests/test_corpus.py
runs it.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
from pathlib import Path

import spacy

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep corpus/ free of __pycache__
sys.path.insert(0, str(HERE))
import make_corpus  # noqa: E402

TOPICS = ["BUSINESS", "SPORTS", "TECH", "POLITICS"]
ENT_LABELS = ["PER", "ORG", "LOC"]
SPLITS = ["train", "dev"]
EMOJI_RE = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]|\\[(?:赞|哈哈|怒|泪)\\]")
MAX_BYTES = 1_500_000

problems: list = []


def fail(msg: str) -> None:
    problems.append(msg)


def check_record(rec: dict, nlp, where: str, lang: str, split: str, idx: int) -> None:
    if list(rec) != ["id", "text", "cats", "topics", "entities"]:
        fail(f"{where}: keys {list(rec)}")
        return
    if rec["id"] != f"{lang}-{split}-{idx:04d}":
        fail(f"{where}: id {rec['id']}")
    text = rec["text"]
    if not isinstance(text, str) or not text or text != text.strip() or "\n" in text:
        fail(f"{where}: bad text {text!r}")
    cats = rec["cats"]
    if sorted(cats) != ["NEGATIVE", "POSITIVE"] or sorted(cats.values()) != [0.0, 1.0]:
        fail(f"{where}: cats {cats}")
    if any(type(v) is not float for v in cats.values()):
        fail(f"{where}: cats values must be floats {cats}")
    topics = rec["topics"]
    bad_topic = any(t not in TOPICS for t in topics)
    if not (1 <= len(topics) <= 2) or len(set(topics)) != len(topics) or bad_topic:
        fail(f"{where}: topics {topics}")
    if topics != sorted(topics, key=TOPICS.index):
        fail(f"{where}: topics not in canonical order {topics}")
    doc = nlp.make_doc(text)
    prev_end = 0
    for ent in rec["entities"]:
        if not (isinstance(ent, list) and len(ent) == 3):
            fail(f"{where}: entity {ent}")
            continue
        s, e, label = ent
        if label not in ENT_LABELS or not (0 <= s < e <= len(text)):
            fail(f"{where}: entity {ent}")
            continue
        if s < prev_end:
            fail(f"{where}: overlapping/unsorted {rec['entities']}")
        prev_end = e
        span_text = text[s:e]
        if span_text != span_text.strip() or not span_text:
            fail(f"{where}: whitespace in span {span_text!r}")
        if doc.char_span(s, e, label=label) is None:
            fail(f"{where}: span {ent} {span_text!r} not on token boundaries "
                 f"{[t.text for t in doc]}")


def shipped(path: Path) -> bool:
    """Whether a file under corpus/ is one the project ships, not data a workflow wrote
    here (.gitignore: /corpus/*.spacy, /corpus/*_real/) or a bytecode cache."""
    parts = path.relative_to(HERE).parts
    return not (parts[0].endswith("_real") or "__pycache__" in parts
                or (len(parts) == 1 and path.suffix == ".spacy"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    tables = {}
    for lang in ["en", "zh"]:
        nlp = spacy.blank(lang)
        if lang == "zh":
            assert nlp.tokenizer.segmenter == "char", nlp.tokenizer.segmenter
        data = {}
        for split in SPLITS:
            path = HERE / lang / f"{split}.jsonl"
            raw = path.read_bytes()
            if b"\r" in raw:
                fail(f"{path}: CR characters")
            if not raw.endswith(b"\n"):
                fail(f"{path}: no final newline")
            lines = raw.decode("utf-8").split("\n")[:-1]
            recs = []
            for i, line in enumerate(lines, start=1):
                rec = json.loads(line)
                if json.dumps(rec, ensure_ascii=False) != line:
                    fail(f"{path}:{i}: not in canonical json.dumps(ensure_ascii=False) form")
                check_record(rec, nlp, f"{path.name}:{i}", lang, split, i)
                recs.append(rec)
            data[split] = recs

        # Duplicates and overlap
        texts = [r["text"] for s in SPLITS for r in data[s]]
        if len(texts) != len(set(texts)):
            fail(f"{lang}: duplicate texts")
        pre_path = HERE / lang / "pretrain.txt"
        pre_raw = pre_path.read_bytes()
        if b"\r" in pre_raw or not pre_raw.endswith(b"\n"):
            fail(f"{pre_path}: line endings")
        pre = pre_raw.decode("utf-8").split("\n")[:-1]
        if any(not line.strip() or line != line.strip() for line in pre):
            fail(f"{pre_path}: empty or padded line")
        if len(pre) != len(set(pre)):
            fail(f"{pre_path}: duplicate lines")
        pre_set = set(pre)
        dev_in_pre = sum(r["text"] in pre_set for r in data["dev"])
        if dev_in_pre:
            fail(f"{lang}: {dev_in_pre} dev texts appear verbatim in pretrain.txt")

        # Names
        names = {s: collections.Counter() for s in SPLITS}
        for s in SPLITS:
            for r in data[s]:
                for st, en, lab in r["entities"]:
                    names[s][(r["text"][st:en], lab)] += 1
        train_names = set(names["train"])
        dev_mentions = sum(names["dev"].values())
        dev_unseen = sum(c for k, c in names["dev"].items() if k not in train_names)
        pools = make_corpus.load_templates(lang).pools
        dev_pool = [n.split("|")[0] for kind in pools for n in pools[kind]["dev"]]
        train_pool = [n.split("|")[0] for kind in pools for n in pools[kind]["train"]]
        pre_text = "\n".join(pre)
        train_text = "\n".join(r["text"] for r in data["train"])
        leaked = sorted(n for n in dev_pool if n in pre_text or n in train_text)
        if leaked:
            fail(f"{lang}: dev-only names in train or pretrain.txt: {leaked}")
        train_full = collections.Counter(k[0] for k in names["train"].elements())
        uncovered = sorted(n for n in train_pool if train_full[n] < 2)
        if uncovered:
            fail(f"{lang}: train-pool names used fewer than twice in train: {uncovered}")
        # A label conflict (same string both PER and LOC, say) would make NER ambiguous.
        by_text = collections.defaultdict(set)
        for s in SPLITS:
            for (t, lab) in names[s]:
                by_text[t].add(lab)
        conflicts = {t: labs for t, labs in by_text.items() if len(labs) > 1}
        if conflicts:
            fail(f"{lang}: names with several labels {conflicts}")
        rare = sorted(k for k, c in names["train"].items() if c < 2)

        # Counts
        table = {}
        for s in SPLITS:
            recs = data[s]
            n = len(recs)
            c = collections.Counter()
            for r in recs:
                c["POSITIVE" if r["cats"]["POSITIVE"] == 1.0 else "NEGATIVE"] += 1
                for t in r["topics"]:
                    c[t] += 1
                c["two_topics"] += len(r["topics"]) == 2
                for _, _, lab in r["entities"]:
                    c[lab] += 1
                ne = len(r["entities"])
                c["no_entities"] += ne == 0
                c["3plus_entities"] += ne >= 3
                c["emoji"] += bool(EMOJI_RE.search(r["text"]))
                c["chars"] += len(r["text"])
            c["records"] = n
            table[s] = c
            pos = c["POSITIVE"] / n
            if not 0.45 <= pos <= 0.55:
                fail(f"{lang}-{s}: POSITIVE share {pos:.2f}")
            for t in TOPICS:
                share = c[t] / n
                if not 0.18 <= share <= 0.35:
                    fail(f"{lang}-{s}: {t} share {share:.2f}")
            if not 0.15 <= c["two_topics"] / n <= 0.25:
                fail(f"{lang}-{s}: two-topic share {c['two_topics'] / n:.2f}")
        table["pretrain"] = collections.Counter(records=len(pre), chars=sum(map(len, pre)))
        tables[lang] = table
        print(f"== {lang}")
        for s in SPLITS:
            c = table[s]
            print(f"  {s:5s} records={c['records']} POS={c['POSITIVE']} NEG={c['NEGATIVE']} "
                  + " ".join(f"{t}={c[t]}" for t in TOPICS)
                  + f" two_topics={c['two_topics']} "
                  + " ".join(f"{lab}={c[lab]}" for lab in ENT_LABELS)
                  + f" no_ents={c['no_entities']} 3+ents={c['3plus_entities']} emoji={c['emoji']}"
                  + f" avg_chars={c['chars'] / c['records']:.0f}")
        print(f"  pretrain lines={len(pre)}; distinct entity names train={len(train_names)}; "
              f"dev mentions unseen in train: {dev_unseen}/{dev_mentions} "
              f"({dev_unseen / dev_mentions:.0%}); train names seen once: {len(rare)} {rare[:8]}")

    # Reproducible and small
    res = subprocess.run([sys.executable, str(HERE / "make_corpus.py"), "--check"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        fail(f"make_corpus.py --check: {res.stdout.strip()} {res.stderr.strip()}")
    files = [p for p in HERE.rglob("*") if p.is_file() and shipped(p)]
    size = sum(p.stat().st_size for p in files)
    print(f"corpus/ size: {size:,} bytes")
    if size > MAX_BYTES:
        fail(f"corpus/ is {size} bytes")

    if args.markdown:
        for lang, table in tables.items():
            print(f"\n### {lang}\n")
            cols = ["records", "POSITIVE", "NEGATIVE", *TOPICS, "two_topics", *ENT_LABELS,
                    "no_entities", "3plus_entities"]
            print("| split | " + " | ".join(cols) + " |")
            print("|---|" + "---:|" * len(cols))
            for s in SPLITS:
                print(f"| {s} | " + " | ".join(str(table[s][c]) for c in cols) + " |")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems[:50]:
            print("  " + p)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
