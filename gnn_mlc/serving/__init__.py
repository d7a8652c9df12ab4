"""Serving: from a model directory's parts to top-k recommendations, for one file or a sharded batch job.

Imports neither scikit-learn nor the estimator nor the training loop (a test checks it in a fresh interpreter).
"""

from gnn_mlc.serving.batch import JobSummary, run_scoring_job
from gnn_mlc.serving.options import ScoringOptions
from gnn_mlc.serving.predict import PredictSummary, predict_file
from gnn_mlc.serving.scorer import Scorer
from gnn_mlc.serving.topk import recommendations_table, top_k_labels, write_table

__all__ = ["JobSummary", "PredictSummary", "Scorer", "ScoringOptions", "predict_file", "recommendations_table",
           "run_scoring_job", "top_k_labels", "write_table"]
