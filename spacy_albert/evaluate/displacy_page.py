"""The displaCy page of predicted entities next to the gold ones."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Union

from spacy import displacy
from spacy.training import Example

from .gold import has_ner_annotation
from .scoring import aligned_pred_spans

PathLike = Union[str, Path]


def render_entities_html(
    examples: Sequence[Example], path: PathLike, limit: int = 25
) -> Path | None:
    """Write a displaCy `ent` page of the first `limit` predicted docs that
    have predicted entities or NER gold. Each predicted doc is followed by
    its gold doc (when NER-annotated) so errors can be read side by side; the
    titles give the counts.

    examples (Sequence[Example]): Examples with predictions.
    path (PathLike): Where to write the HTML.
    limit (int): How many docs to show.
    RETURNS (Optional[Path]): The path written, or None if no doc qualifies
        or `limit` is 0.
    """
    chosen = [
        (i, eg)
        for i, eg in enumerate(examples)
        if eg.predicted.ents or has_ner_annotation(eg.reference)
    ][: max(limit, 0)]
    if not chosen:
        return None
    docs = []
    for i, eg in chosen:
        pred = eg.predicted.copy()
        if has_ner_annotation(eg.reference):
            gold_spans = {(e.label_, e.start, e.end) for e in eg.reference.ents}
            correct = len(gold_spans & set(aligned_pred_spans(eg)))
            pred.user_data["title"] = (
                f"#{i} predicted: {len(pred.ents)} entities, {correct} correct "
                f"of {len(gold_spans)} gold"
            )
            gold = eg.reference.copy()
            gold.user_data["title"] = f"#{i} gold"
            docs.extend([pred, gold])
        else:
            pred.user_data["title"] = f"#{i} predicted: {len(pred.ents)} entities (no NER gold)"
            docs.append(pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W006: no entities in a doc, expected for some
        page = displacy.render(docs, style="ent", page=True, jupyter=False)
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
