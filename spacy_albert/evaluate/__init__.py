"""Evaluation: which docs count (gold), scores (scoring, chance), figures (plots,
displacy_page), the report (report) and the orchestrator (run.evaluate_pipeline)."""

from .chance import chance_level
from .displacy_page import render_entities_html
from .gold import has_gold_cats, has_ner_annotation, with_gold_cats, with_ner_annotation
from .plots import plot_confusion, plot_training_curve, read_train_log
from .report import print_report, render_markdown, write_report
from .results import (
    CategoryScores,
    ChanceFinding,
    EntityScores,
    EntityTypeScores,
    EvaluationResult,
    ExclusiveConfusion,
    MultilabelConfusion,
    OutputFiles,
    PipelineInfo,
    PredictionSpeed,
    SeqevalScores,
    TextcatScores,
)
from .run import (
    TextcatInfo,
    evaluate_pipeline,
    find_ner_components,
    find_textcat_components,
    load_examples,
    predict,
)
from .scoring import (
    aligned_pred_spans,
    doc_to_iob2,
    examples_to_iob2,
    score_entities,
    score_seqeval,
    score_textcat,
)

__all__ = [
    "CategoryScores",
    "ChanceFinding",
    "EntityScores",
    "EntityTypeScores",
    "EvaluationResult",
    "ExclusiveConfusion",
    "MultilabelConfusion",
    "OutputFiles",
    "PipelineInfo",
    "PredictionSpeed",
    "SeqevalScores",
    "TextcatInfo",
    "TextcatScores",
    "aligned_pred_spans",
    "chance_level",
    "doc_to_iob2",
    "evaluate_pipeline",
    "examples_to_iob2",
    "find_ner_components",
    "find_textcat_components",
    "has_gold_cats",
    "has_ner_annotation",
    "load_examples",
    "plot_confusion",
    "plot_training_curve",
    "predict",
    "print_report",
    "read_train_log",
    "render_entities_html",
    "render_markdown",
    "score_entities",
    "score_seqeval",
    "score_textcat",
    "with_gold_cats",
    "with_ner_annotation",
    "write_report",
]
