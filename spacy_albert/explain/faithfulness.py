"""A faithfulness check of explanations: does deleting the top tokens change the prediction most?"""

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy
from spacy.language import Language

from .attribution import explain


@dataclass
class DeletionCheck:
    """The result of `deletion_check`.

    n (int): Texts used.
    skipped (int): Texts with k or fewer non-space tokens, left out.
    drop_top (float): Mean probability drop when the top-k attributed tokens are deleted.
    drop_random (float): Mean probability drop when k random tokens are deleted.
    share_top_larger (float): Share of texts where the top-k drop is the larger one.
    """

    n: int
    skipped: int
    drop_top: float
    drop_random: float
    share_top_larger: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def deletion_check(
    nlp: Language, texts: Sequence[str], k: int = 2, n_steps: int = 16, n_random: int = 3,
    seed: int = 0,
) -> DeletionCheck:
    """A faithfulness check: delete each text's top-k attributed tokens, or k random ones.

    For each text, the predicted category (highest score of the first text classifier)
    is explained; the k tokens with the largest attributions are removed from the text,
    and, separately, k random non-space tokens (`n_random` draws, fixed seed). Faithful
    attributions lower the label's probability more when their top tokens go.

    nlp (Language): The pipeline.
    texts (Sequence[str]): Texts with more than k non-space tokens (others are skipped).
    k (int): Tokens to delete.
    n_steps (int): Integration steps.
    n_random (int): Random deletions per text.
    seed (int): Seed of the random deletions.
    RETURNS (DeletionCheck): Mean drops over the texts used.
    """
    rng = random.Random(seed)
    drops_top: list[float] = []
    drops_random: list[float] = []
    for text in texts:
        doc = nlp(text)
        if not doc.cats:
            raise ValueError("deletion_check needs a pipeline that sets doc.cats")
        label = max(doc.cats, key=lambda name: doc.cats[name])
        explanation = explain(nlp, text, labels=[label], n_steps=n_steps)
        target = explanation.get(label, "textcat")[0]
        words = [i for i, token in enumerate(explanation.tokens) if token.strip()]
        if len(words) <= k:
            continue
        top = sorted(words, key=lambda i: -target.attributions[i])[:k]
        variants = [explanation.text_without(set(top))]
        variants += [explanation.text_without(set(rng.sample(words, k)))
                     for _ in range(n_random)]
        scores = [d.cats[label] for d in nlp.pipe(variants)]
        drops_top.append(doc.cats[label] - scores[0])
        drops_random.append(doc.cats[label] - float(numpy.mean(scores[1:])))
    top_arr, random_arr = numpy.asarray(drops_top), numpy.asarray(drops_random)
    used = len(drops_top)
    return DeletionCheck(
        n=used,
        skipped=len(texts) - used,
        drop_top=float(top_arr.mean()) if used else 0.0,
        drop_random=float(random_arr.mean()) if used else 0.0,
        share_top_larger=float((top_arr > random_arr).mean()) if used else 0.0,
    )
