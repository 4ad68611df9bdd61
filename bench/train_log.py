"""A spaCy training logger whose JSONL records also hold the words seen and the seconds taken.

`spacy.ConsoleLogger.v3` logs losses and scores per evaluation but not the time or the amount
of text trained on, so a log alone cannot give training words/s. This logger prints as v3
does and writes v3's records plus `words` (tokens in the batches so far) and `seconds`
(wall time since the first update, evaluations included). Self-contained, so `spacy train`
can load it with `--code`:

    python -m spacy train CONFIG --code bench/train_log.py \
        --training.logger.@loggers spacy-albert-bench.ThroughputLogger.v1 \
        --training.logger.output_file training/log.jsonl
"""

from pathlib import Path
from typing import IO, Any, Callable, Optional, Union

import srsly
from spacy.language import Language
from spacy.training.loggers import console_logger_v3
from spacy.util import registry

LogStep = Callable[[Optional[dict[str, Any]]], None]


def log_record(info: dict[str, Any], score_columns: list[str]) -> dict[str, Any]:
    """One evaluation's JSONL record: v3's fields (scores x100 but speed) + words, seconds."""
    scores = {}
    for column in score_columns:
        value = float(info["other_scores"].get(column, 0.0))
        scores[column] = value if column == "speed" else 100 * value
    return {
        "epoch": info["epoch"],
        "step": info["step"],
        "losses": {name: float(loss) for name, loss in info["losses"].items()},
        "scores": scores,
        "score": float(info["score"]),
        "words": int(info["words"]),
        "seconds": int(info["seconds"]),
    }


@registry.loggers("spacy-albert-bench.ThroughputLogger.v1")
def throughput_logger(
    progress_bar: Optional[str] = None,
    console_output: bool = True,
    output_file: Optional[Union[str, Path]] = None,
) -> Callable[[Language, IO, IO], tuple[LogStep, Callable[[], None]]]:
    """ConsoleLogger.v3's console output; a JSONL log (overwritten) with words and seconds.

    progress_bar (Optional[str]): As in ConsoleLogger.v3 ("train", "eval" or None).
    console_output (bool): Whether to print the table of evaluations.
    output_file (Optional[Union[str, Path]]): The JSONL log to write, or None.
    """
    console = console_logger_v3(progress_bar=progress_bar, console_output=console_output)

    def setup(nlp: Language, stdout: IO, stderr: IO) -> tuple[LogStep, Callable[[], None]]:
        log_console, finish_console = console(nlp, stdout, stderr)
        weights = nlp.config["training"]["score_weights"]
        columns = [column for column, weight in weights.items() if weight is not None]
        stream = None
        if output_file:
            Path(output_file).parent.mkdir(parents=True, exist_ok=True)
            stream = Path(output_file).open("w", encoding="utf-8")

        def log_step(info: Optional[dict[str, Any]]) -> None:
            log_console(info)
            if info is not None and stream is not None:
                stream.write(srsly.json_dumps(log_record(info, columns)) + "\n")
                stream.flush()

        def finish() -> None:
            finish_console()
            if stream is not None:
                stream.close()

        return log_step, finish

    return setup


def read_throughput(path: Union[str, Path]) -> tuple[int, int]:
    """(words, seconds) of the last record of a log this logger wrote."""
    records = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line]
    if not records:
        raise ValueError(f"{path} holds no training log records.")
    last = srsly.json_loads(records[-1])
    return int(last["words"]), int(last["seconds"])
