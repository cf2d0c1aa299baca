"""Patient linkage: which source patient records are the same person.

``extract`` reads one identity row per source patient record from the analytic store, ``train`` fits the
splink model on them, ``score`` scores candidate pairs (all, or those touching new records), ``partition``
turns the scored edges and reviewers' decisions into registry patients and a review queue. Nothing here
writes to the store: the caller records the model, the clusters and the reviews.
"""

from registry.linkage.clusters import Link, Partition, partition
from registry.linkage.identity import extract
from registry.linkage.model import LinkageModel, train
from registry.linkage.scoring import score_pairs as score

__all__ = ["LinkageModel", "Link", "Partition", "extract", "partition", "score", "train"]
