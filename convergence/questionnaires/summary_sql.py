"""The SQL that computes review_summary rows (see questionnaires.models.review_summary), in one place.

Migration 0014 builds its triggers and its backfill from these statements, and `convergence simulate` rebuilds the
rows of a bulk load with the same ones (its load runs with the triggers off): one definition of the figures, so
that a row written by a trigger and a row rebuilt in bulk cannot differ.

Plain SQL text, identical on SQLite and PostgreSQL: {where} is filled by the caller (a condition on
review_summary for REFRESH, on the enrolment `e`, its product `p` and company `c` for INSERT).
"""

from __future__ import annotations

from convergence.core.db import MARKET_FIGURES_LOCK

# Status ranks follow convergence.questionnaires.models.Status, least advanced first; a step without responses is
# not_started, 0.
RANK = ("coalesce(min(CASE r.status WHEN 'not_started' THEN 0 WHEN 'draft' THEN 1 WHEN 'submitted' THEN 2 "
        "WHEN 'validated' THEN 3 ELSE 0 END), 0)")

# The figures of the summary rows matching {where} (over review_summary), from their responses, in one correlated
# aggregate (no derived table: SQLite would not see the outer row from one).
REFRESH = """
UPDATE review_summary SET (status_rank, status, maturity, answered, required, validated_at, changed_at) = (
  SELECT {rank},
         CASE {rank} WHEN 3 THEN 'validated' WHEN 2 THEN 'submitted' WHEN 1 THEN 'draft' ELSE 'not_started' END,
         round(CAST(coalesce(avg(r.maturity), 0.0) AS NUMERIC(10, 4)), 1),
         coalesce(sum(r.answered_count), 0),
         coalesce(sum((SELECT count(*) FROM item i WHERE i.questionnaire_id = r.questionnaire_id AND i.required)), 0),
         CASE WHEN {rank} = 3 THEN max(r.validated_at) END,
         max(r.updated_at)
  FROM response r
  WHERE r.product_id = review_summary.product_id AND r.step_id = review_summary.step_id
)
WHERE {where}""".replace("{rank}", RANK)

# A summary row for the enrolments matching {where} (over enrolment e), figures filled by REFRESH after it.
INSERT = """
INSERT INTO review_summary (product_id, step_id, company_id, company_key, product_key, status, status_rank,
                            maturity, answered, required)
SELECT e.product_id, e.step_id, p.company_id, lower(c.name), lower(p.name), 'not_started', 0, 0, 0, 0
FROM enrolment e JOIN product p ON p.id = e.product_id JOIN company c ON c.id = p.company_id
WHERE {where}"""

# What a bulk load of enrolments and responses switches off and rebuilds afterwards with INSERT and REFRESH: the
# triggers of migration 0014 on those two tables (names start with this prefix on both databases).
TRIGGER_PREFIX = "review_summary_"
# review_status_count's triggers sit on review_summary itself (migration 0023); a bulk load switches them off too and
# adds its pairs once (STATUS_DELTA), instead of one new version of a count row per summary row written.
STATUS_TRIGGER_PREFIX = "review_status_count_"
STATUS_DELTA = ("INSERT INTO review_status_count (step_id, status_rank, n) "
                "SELECT step_id, status_rank, count(*) FROM review_summary WHERE {where} "
                "GROUP BY step_id, status_rank "
                "ON CONFLICT (step_id, status_rank) DO UPDATE SET n = review_status_count.n + excluded.n")
LOADED_TABLES = ("enrolment", "response")

# ------------------------------------------------------------------------------------------- theme score counts

# review_theme_count (convergence.review.theme_counts, migration 0022): how many started responses of enrolled
# (product, step) pairs give each numeric score to each theme, per (step, status rank of the pair's summary row).
# The dashboard's theme box plots read it instead of expanding the JSON scores of every response of the market.
#
# THEME_DELTA adds ({sign} "") or takes away ({sign} "-") the contribution of the enrolments matching {where}
# (over enrolment e): the triggers take a pair's contribution away BEFORE a change of its responses or its
# enrolment and add it back AFTER, so each count follows the pair's status rank as well as its scores. The rank is
# computed from the responses (as review_summary's REFRESH does), not read from review_summary, so that the order in
# which the two tables' triggers fire does not matter. {score} is the dialect's numeric score of ts.value (NULL
# when the JSON value is not a number), as the review's query computed it per request before.
# Counts a change brought to zero stay (the readers skip them): their number is bounded by the distinct (step,
# rank, theme, score) ever used, and deleting them would cost every autosave a scan. A rebuild drops them.
THEME_DELTA = """
INSERT INTO review_theme_count (step_id, status_rank, theme, score, n)
SELECT g.step_id, g.status_rank, g.theme, g.score, {sign}count(*) FROM (
  SELECT x.step_id AS step_id, (SELECT {rank} FROM response r
                                WHERE r.product_id = x.product_id AND r.step_id = x.step_id) AS status_rank,
         ts.key AS theme, {score} AS score
  FROM enrolment e JOIN response x ON x.product_id = e.product_id AND x.step_id = e.step_id,
       json_each(x.theme_scores) ts
  WHERE {where} AND x.status <> 'not_started'
) g
WHERE g.score IS NOT NULL
GROUP BY g.step_id, g.status_rank, g.theme, g.score
ON CONFLICT (step_id, status_rank, theme, score) DO UPDATE SET n = review_theme_count.n + excluded.n"""

THEME_SCORE = {
    "sqlite": "CASE WHEN ts.type IN ('integer', 'real') THEN ts.value END",
    "postgresql": "CASE WHEN json_typeof(ts.value) = 'number' THEN CAST(CAST(ts.value AS TEXT) AS FLOAT) END",
}

# PostgreSQL: the counts are rows every writer of a step shares, and a change takes a pair's contribution away
# (locking the rows of its old scores) before adding the new one (locking others): two autosaves crossing scores
# would deadlock. The triggers first take this transaction-scoped advisory lock, so that writers of the counts
# queue instead (until their commit: an autosave holds it a millisecond or two). The two-key form: a key space
# apart from the one-key locks of core.ratelimit. SQLite has one writer at a time already.
THEME_LOCK = f"pg_advisory_xact_lock{MARKET_FIGURES_LOCK}"  # core/db.py: lock_rows_in_order


def theme_delta(dialect: str, where: str, sign: str = "") -> str:
    """THEME_DELTA for a dialect ("sqlite" or "postgresql"), over the enrolments `e` matching `where`."""
    return THEME_DELTA.replace("{rank}", RANK).replace("{score}", THEME_SCORE[dialect]).replace(
        "{sign}", sign).replace("{where}", where)


def theme_rebuild(dialect: str) -> list[str]:
    """Every count recomputed from the enrolments and responses (the migration's backfill, a repair)."""
    return ["DELETE FROM review_theme_count", theme_delta(dialect, "1 = 1")]
