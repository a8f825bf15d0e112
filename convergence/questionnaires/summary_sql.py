"""The SQL that computes review_summary rows (see questionnaires.models.review_summary), in one place.

Migration 0014 builds its triggers and its backfill from these statements, and `convergence simulate` rebuilds the
rows of a bulk load with the same ones (its load runs with the triggers off): one definition of the figures, so
that a row written by a trigger and a row rebuilt in bulk cannot differ.

Plain SQL text, identical on SQLite and PostgreSQL: {where} is filled by the caller (a condition on
review_summary for REFRESH, on the enrolment `e`, its product `p` and company `c` for INSERT).
"""

from __future__ import annotations

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
LOADED_TABLES = ("enrolment", "response")
