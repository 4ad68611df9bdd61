#!/usr/bin/env python
"""Generate the spacy-albert demo/test corpus (English and Chinese), deterministically.

The sentence frames, name pools, cue phrases and filler rules are data, in
`corpus/templates/{en,zh}.json`; this file is the generator. Every frame, name and cue was
written for this project; nothing is copied from a public data set. All person and organisation
names are invented. Locations are ordinary city names or invented places.

Usage (from the repository root):

    python corpus/make_corpus.py            # (re)write corpus/{en,zh}/*.jsonl and pretrain.txt
    python corpus/make_corpus.py --check    # exit 1 if the committed files differ from the output

The output depends only on this file and the templates (string seeds, no set iteration, no hash
randomisation), so the committed files are exactly what this script writes.

Template file keys:
    sep: the text between sentences (" " for English, "" for Chinese).
    pools: entity slot kind -> {"train": [...], "dev": [...]} names ("Name|F" or "Name|M" for PER).
    fillers: neutral slot -> filler rule. A rule is a literal string, a list of rules (joined
        in order), {"pick": [...]} (one option), {"int": [lo, hi], "times": k, "thousands":
        true} (a number, optionally scaled and written with thousands separators) or
        {"either": p, "then": rule, "else": rule} ("then" with probability p).
    cues: polar slot -> {"+": [...], "-": [...]} phrases that take the record's sentiment.
    frames: "TOPIC", "TOPIC+TOPIC" or "GENERAL" -> ["pol|text", ...] with pol 0 (neutral),
        * (cue slots follow the record), + or -; a leading "d" marks a frame used only in dev
        (and never in pretrain.txt). Slots are {KIND} or {KIND2} (a second, different name).
    emoji: {"+": [...], "-": [...]}; hashtags: topic -> [...].
"""

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
LANG_CODES = ("en", "zh")
SEED = "spacy-albert-corpus-v1"
TOPICS = ["BUSINESS", "SPORTS", "TECH", "POLITICS"]
GENERAL = "GENERAL"  # frames key of the general sentiment lines (no topic)
SPLIT_SIZES = {"train": 320, "dev": 80}
TWO_TOPIC_SHARE = 0.2  # share of records with two topics
DEV_UNSEEN_P = 0.2  # chance that a dev entity slot takes a name never used in train
DEV_ONLY_FRAME_P = 0.3  # chance that a dev record draws a dev-only frame where one fits
EXTRA_SENTIMENT_P = 0.25  # add a general sentiment sentence even if the topic sentence is polar
EXTRA_NEUTRAL_P = 0.15  # add a second, neutral sentence on the same topic
EMOJI_P = 0.03
BALANCE_P = 0.5  # chance that a train entity slot takes one of the least-used names ...
MIN_TRAIN_USES = 3  # ... which it always does while some name is used fewer times than this
HASHTAG_P = 0.06
PRETRAIN_LINES = 1500

Piece = tuple[str, Optional[str]]  # (text, entity label or None)
FillerRule = Union[str, list, dict]  # see "fillers" in the module docstring

# Entity slot kind -> label. MR (title + surname) and LAST (surname of the last person) are PER too.
ENTITY_KINDS = {"PER": "PER", "BCO": "ORG", "TCO": "ORG", "TEAM": "ORG", "PARTY": "ORG",
                "LOC": "LOC", "NAT": "LOC"}
PERSON_REFS = ("MR", "LAST")
SLOT_RE = re.compile(r"\{([A-Z_]+?)(\d?)\}")
TEMPLATE_KEYS = ["sep", "pools", "fillers", "cues", "frames", "emoji", "hashtags"]


class TemplateError(ValueError):
    """A template file the generator cannot use (the message names the file)."""


@dataclass(eq=False)  # frames are compared by identity, like the lists that exclude them
class Frame:
    """One sentence frame.

    text (str): The text with {SLOT} placeholders.
    pol (str): "0" neutral, "*" cue slots follow the record, "+" or "-" fixed polarity.
    dev_only (bool): Whether the frame is used only in dev.
    topics (tuple[str, ...]): The topics the frame belongs to (empty: general).
    """

    text: str
    pol: str
    dev_only: bool
    topics: tuple[str, ...]


@dataclass
class Templates:
    """One language's template data (see the module docstring for the file format)."""

    sep: str
    pools: dict[str, dict[str, list[str]]]
    fillers: dict[str, FillerRule]
    cues: dict[str, dict[str, list[str]]]
    frames: dict[tuple[str, ...], list[Frame]]
    emoji: dict[str, list[str]]
    hashtags: dict[str, list[str]]


@dataclass
class Corpus:
    """The generated records of one language and its raw pretraining lines."""

    splits: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pretrain: list[str] = field(default_factory=list)


def _check_rule(rule: Any, where: str) -> None:
    """Raise TemplateError unless `rule` is a filler rule (see the module docstring)."""
    if isinstance(rule, str):
        return
    if isinstance(rule, list):
        for part in rule:
            _check_rule(part, where)
        return
    if isinstance(rule, dict) and set(rule) == {"pick"} and rule["pick"]:
        return
    if isinstance(rule, dict) and "int" in rule and set(rule) <= {"int", "times", "thousands"}:
        return
    if isinstance(rule, dict) and set(rule) == {"either", "then", "else"}:
        _check_rule(rule["then"], where)
        _check_rule(rule["else"], where)
        return
    raise TemplateError(f"{where}: not a filler rule: {rule!r}")


def fill(rule: FillerRule, rng: random.Random) -> str:
    """Draw one filler from a rule; parts are drawn left to right (the output depends on it).

    rule (FillerRule): A rule as described in the module docstring.
    rng (random.Random): The record's generator.
    RETURNS (str): The filler text.
    """
    if isinstance(rule, str):
        return rule
    if isinstance(rule, list):
        return "".join(fill(part, rng) for part in rule)
    if "pick" in rule:
        return rng.choice(rule["pick"])
    if "int" in rule:
        value = rng.randint(*rule["int"]) * rule.get("times", 1)
        return f"{value:,}" if rule.get("thousands") else str(value)
    return fill(rule["then"] if rng.random() < rule["either"] else rule["else"], rng)


def _parse_frame(spec: str, topics: tuple[str, ...], templates: Templates, where: str) -> Frame:
    head, sep, text = spec.partition("|")
    dev_only = head.startswith("d")
    pol = head[1:] if dev_only else head
    if not sep or pol not in ("0", "*", "+", "-"):
        raise TemplateError(f"{where}: frame {spec!r} does not start with 0|, *|, +| or -|")
    for slot in (m.group(1) for m in SLOT_RE.finditer(text)):
        if not (slot in ENTITY_KINDS or slot in PERSON_REFS or slot in templates.fillers
                or slot in templates.cues):
            raise TemplateError(f"{where}: unknown slot {{{slot}}} in frame {spec!r}")
        if pol == "0" and slot in templates.cues:
            raise TemplateError(f"{where}: neutral frame {spec!r} has the cue slot {{{slot}}}")
    return Frame(text, pol, dev_only, topics)


def load_templates(code: str, directory: Path = TEMPLATES) -> Templates:
    """Read and check `<directory>/<code>.json`.

    code (str): The language code, e.g. "en".
    directory (Path): The folder of the template files.
    RETURNS (Templates): The templates, frames parsed and checked.
    """
    path = directory / f"{code}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise TemplateError(f"{path}: cannot read the templates: {err}") from err
    if not isinstance(data, dict) or sorted(data) != sorted(TEMPLATE_KEYS):
        raise TemplateError(f"{path}: expected an object with the keys {TEMPLATE_KEYS}")
    for slot, rule in data["fillers"].items():
        _check_rule(rule, f"{path}: fillers.{slot}")
    templates = Templates(data["sep"], data["pools"], data["fillers"], data["cues"], {},
                          data["emoji"], data["hashtags"])
    for key, specs in data["frames"].items():
        topics = () if key == GENERAL else tuple(key.split("+"))
        if any(topic not in TOPICS for topic in topics):
            raise TemplateError(f"{path}: frames key {key!r} is not {GENERAL} or TOPIC[+TOPIC]")
        templates.frames[topics] = [
            _parse_frame(spec, topics, templates, f"{path}: frames.{key}") for spec in specs
        ]
    return templates


class Context:
    """Per-record state: which names were used (no repeats) and the last person mentioned."""

    def __init__(self, rng: random.Random, templates: Templates, split: str,
                 counts: Optional[dict[str, int]] = None):
        self.rng = rng
        self.templates = templates
        self.split = split
        self.counts = counts  # name -> uses so far in this split; steers train to full coverage
        self.used: list[str] = []
        self.last_person: Optional[str] = None

    def name(self, kind: str, count: bool = True) -> str:
        """Draw an unused name of `kind` (balanced towards little-used names in train)."""
        pools = self.templates.pools[kind]
        use_dev = self.split == "dev" and self.rng.random() < DEV_UNSEEN_P
        pool = pools["dev"] if use_dev else pools["train"]
        options = ([n for n in pool if n not in self.used]
                   or [n for n in pools["train"] if n not in self.used])
        least = min(self.counts.get(n, 0) for n in options) if self.counts is not None else 0
        if self.counts is not None and (least < MIN_TRAIN_USES or self.rng.random() < BALANCE_P):
            options = [n for n in options if self.counts.get(n, 0) == least]
        chosen = self.rng.choice(options)
        self.used.append(chosen)
        if self.counts is not None and count:  # only full-name mentions count towards coverage
            self.counts[chosen] = self.counts.get(chosen, 0) + 1
        return chosen


def render(frame: Frame, pol: str, ctx: Context) -> list[Piece]:
    """Fill a frame's slots: names for entity slots, the record's cues, neutral fillers."""
    templates, rng = ctx.templates, ctx.rng
    pieces: list[Piece] = []
    pos = 0
    text = frame.text
    for m in SLOT_RE.finditer(text):
        if m.start() > pos:
            pieces.append((text[pos:m.start()], None))
        slot = m.group(1)
        if slot in ENTITY_KINDS:
            name = ctx.name(slot)
            if slot == "PER":
                ctx.last_person = name
            pieces.append((name.split("|")[0], ENTITY_KINDS[slot]))
        elif slot in PERSON_REFS:
            if slot == "LAST" and ctx.last_person:
                person = ctx.last_person
            else:
                person = ctx.name("PER", False)
            ctx.last_person = person
            full, gender = person.split("|")
            if slot == "MR":
                pieces.append(("Mr. " if gender == "M" else "Ms. ", None))
            pieces.append((full.split(" ")[-1], "PER"))
        elif slot in templates.cues:
            pieces.append((rng.choice(templates.cues[slot][pol]), None))
        else:
            pieces.append((fill(templates.fillers[slot], rng), None))
        pos = m.end()
    if pos < len(text):
        pieces.append((text[pos:], None))
    # Sentence-initial cue fillers ("excellent" in "{ADJ}.") get a capital letter; same length.
    first, label = pieces[0]
    if label is None and first[:1].islower():
        pieces[0] = (first[0].upper() + first[1:], None)
    return pieces


def choose(rng: random.Random, frames: list[Frame], pol: str, split: str,
           exclude: list[Frame], allowed: str = "0*+-") -> Frame:
    """Draw a frame that fits the polarity (dev-only frames only in dev, sometimes)."""
    ok = [f for f in frames if f.pol in ("0", "*", pol) and f.pol in allowed and f not in exclude]
    dev_only = [f for f in ok if f.dev_only]
    shared = [f for f in ok if not f.dev_only]
    if split == "dev" and dev_only and rng.random() < DEV_ONLY_FRAME_P:
        return rng.choice(dev_only)
    return rng.choice(shared)


def compose(rng: random.Random, templates: Templates, split: str, pol: str, topics: list[str],
            counts: Optional[dict[str, int]] = None) -> list[list[Piece]]:
    """Return the sentences (lists of pieces) of one record."""
    frames = templates.frames
    ctx = Context(rng, templates, split, counts)
    chosen: list[Frame] = []
    if len(topics) == 2 and rng.random() < 0.5:
        chosen.append(choose(rng, frames[tuple(topics)], pol, split, chosen))
    else:
        for t in topics:
            chosen.append(choose(rng, frames[(t,)], pol, split, chosen))
        rng.shuffle(chosen)
    if len(topics) == 1 and rng.random() < EXTRA_NEUTRAL_P:
        chosen.insert(rng.randint(0, 1), choose(rng, frames[(topics[0],)], pol, split, chosen, "0"))
    polar = any(f.pol != "0" for f in chosen)
    if not polar or rng.random() < EXTRA_SENTIMENT_P:
        general = choose(rng, frames[()], pol, split, chosen, "*+-")
        if rng.random() < 0.8:
            chosen.append(general)
        else:
            chosen.insert(0, general)
    sents = [render(f, pol, ctx) for f in chosen]
    if rng.random() < HASHTAG_P:
        tag = rng.choice(templates.hashtags[rng.choice(topics)])
        if templates.sep:  # English: trailing hashtag
            sents[-1].append((" " + tag, None))
        else:  # Weibo style: leading topic tag
            sents[0].insert(0, (tag + " ", None))
    if rng.random() < EMOJI_P:
        sents[-1].append((templates.sep + rng.choice(templates.emoji[pol]), None))
    return sents


def to_text(pieces: list[Piece], offset: int = 0) -> tuple[str, list[list]]:
    """Join pieces into a text and its [start, end, label] entity offsets."""
    out, ents, pos = [], [], offset
    for text, label in pieces:
        if label is not None:
            ents.append([pos, pos + len(text), label])
        out.append(text)
        pos += len(text)
    return "".join(out), ents


def record_specs(rng: random.Random, n: int) -> list[tuple[str, list[str]]]:
    """Balanced (sentiment, topics): n/4 records per primary topic, half positive, 20% with two
    topics."""
    specs = []
    per_topic = n // len(TOPICS)
    n_two = round(per_topic * TWO_TOPIC_SHARE)
    k = 0
    for t in TOPICS:
        others = [o for o in TOPICS if o != t]
        for i in range(per_topic):
            pol = "+" if i % 2 == 0 else "-"
            topics = [t]
            if i < n_two:
                topics.append(others[k % len(others)])
                k += 1
                topics.sort(key=TOPICS.index)
            specs.append((pol, topics))
    rng.shuffle(specs)
    return specs


def _split_records(code: str, templates: Templates, split: str, n: int, seen: set[str],
                   train_sents: list[str]) -> list[dict[str, Any]]:
    """The records of one split; texts are new to `seen`, train sentences go to train_sents."""
    rng = random.Random(f"{SEED}-{code}-{split}")
    records = []
    counts: Optional[dict[str, int]] = {} if split == "train" else None
    for i, (pol, topics) in enumerate(record_specs(rng, n), start=1):
        for _ in range(200):
            sents = compose(rng, templates, split, pol, topics, counts)
            joined: list[Piece] = []
            for j, s in enumerate(sents):
                if j:
                    joined.append((templates.sep, None))
                joined.extend(s)
            text, ents = to_text(joined)
            if text not in seen:
                break
        else:
            raise RuntimeError(f"could not find a new text for {code}-{split}-{i}")
        seen.add(text)
        if split == "train":
            train_sents.extend(to_text(s)[0].strip() for s in sents)
        records.append({
            "id": f"{code}-{split}-{i:04d}",
            "text": text,
            "cats": {"POSITIVE": 1.0 if pol == "+" else 0.0,
                     "NEGATIVE": 0.0 if pol == "+" else 1.0},
            "topics": topics,
            "entities": ents,
        })
    return records


def _pretrain_lines(code: str, templates: Templates, train_sents: list[str],
                    dev_texts: set[str]) -> list[str]:
    """Raw text for the vocabulary and MLM demo: train sentences plus more sentences from the
    same frames and name pools (never dev-only frames or names, never a dev record's text)."""
    lines: list[str] = []
    have = set()
    for s in train_sents:
        if s not in have and s not in dev_texts:
            have.add(s)
            lines.append(s)
    rng = random.Random(f"{SEED}-{code}-pretrain")
    tries = 0
    while len(lines) < PRETRAIN_LINES:
        tries += 1
        if tries >= 100_000:
            raise RuntimeError(f"{code}: pretrain generation stalled at {len(lines)} lines")
        pol = rng.choice("+-")
        topics = [rng.choice(TOPICS)]
        if rng.random() < TWO_TOPIC_SHARE:
            topics.append(rng.choice([t for t in TOPICS if t != topics[0]]))
            topics.sort(key=TOPICS.index)
        for s in compose(rng, templates, "train", pol, topics):
            line = to_text(s)[0].strip()
            if line not in have and line not in dev_texts and len(lines) < PRETRAIN_LINES:
                have.add(line)
                lines.append(line)
    return lines


def build(code: str, templates: Optional[Templates] = None) -> Corpus:
    """Generate one language's corpus.

    code (str): The language code ("en" or "zh"); it seeds the generators.
    templates (Optional[Templates]): The templates (default: `load_templates(code)`).
    RETURNS (Corpus): The records per split and the pretraining lines.
    """
    templates = templates if templates is not None else load_templates(code)
    corpus = Corpus()
    seen: set[str] = set()
    train_sents: list[str] = []
    for split, n in SPLIT_SIZES.items():
        corpus.splits[split] = _split_records(code, templates, split, n, seen, train_sents)
    dev_texts = {r["text"] for r in corpus.splits["dev"]}
    corpus.pretrain = _pretrain_lines(code, templates, train_sents, dev_texts)
    return corpus


def serialise(corpus: Corpus) -> dict[str, str]:
    """File name -> content: one JSONL file per split and pretrain.txt."""
    files = {}
    for split, records in corpus.splits.items():
        files[f"{split}.jsonl"] = "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    files["pretrain.txt"] = "".join(line + "\n" for line in corpus.pretrain)
    return files


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: corpus/)")
    ap.add_argument("--check", action="store_true",
                    help="compare with the files on disk instead of writing; exit 1 if they differ")
    args = ap.parse_args(argv)
    status = 0
    for code in LANG_CODES:
        try:
            files = serialise(build(code))
        except TemplateError as err:
            print(err, file=sys.stderr)
            return 2
        for name, content in files.items():
            path = args.out / code / name
            if args.check:
                current = path.read_bytes().decode("utf-8") if path.exists() else None
                if current != content:
                    print(f"differs: {path}")
                    status = 1
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as fh:
                    fh.write(content)
                print(f"wrote {path} ({content.count(chr(10))} lines)")
    if args.check and status == 0:
        print("corpus is up to date")
    return status


if __name__ == "__main__":
    sys.exit(main())
