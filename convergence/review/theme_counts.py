"""review_theme_count: the theme score distribution of the review's box plots, kept by the database.

One row per (step, status rank of the (product, step) pair, theme, score): how many started responses of enrolled
pairs give that numeric score to that theme. Written only by the triggers of migration 0022, in the transaction
that changes a response or an enrolment (the statements are in convergence.questionnaires.summary_sql), so that
every writer keeps it exact. Its size is the number of distinct scores in use, not the number of responses: the
dashboard's charts read a few hundred rows whatever the size of the market, when its filters are the step, track
and status (the other filters select pairs this table does not tell apart, and read the responses instead).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, Table, Text

from convergence.core.models import metadata

review_theme_count = Table(
    "review_theme_count",
    metadata,
    Column("step_id", ForeignKey("step.id", ondelete="CASCADE"), primary_key=True),
    Column("status_rank", Integer, primary_key=True),  # the pair's review_summary.status_rank
    Column("theme", Text, primary_key=True),  # a theme code, as the JSON scores name it
    Column("score", Float, primary_key=True),
    Column("n", Integer, nullable=False),
)

# How many (product, step) pairs of review_summary stand at each (step, status rank): the dashboard's status chart
# and the total of an unfiltered (or step, track, status-filtered) view, read in a few rows instead of counting
# every pair of the market. Written only by the triggers of migration 0023, on review_summary itself.
review_status_count = Table(
    "review_status_count",
    metadata,
    Column("step_id", ForeignKey("step.id", ondelete="CASCADE"), primary_key=True),
    Column("status_rank", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
)
