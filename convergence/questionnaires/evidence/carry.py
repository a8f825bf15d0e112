"""Evidence carried along when answers are copied from another response of the same questionnaire ("copy the
answers of another product"). Migrations and reopenings need nothing: evidence hangs on the response and the
question's code, which both keep (see models.py).

Only questionnaires' own code calls this, after it has checked the rights on both responses: it reads no right.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, literal, select

from convergence.core.i18n import N_
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.questionnaires.evidence.models import Evidence
from convergence.questionnaires.evidence.services import MAX_PER_ANSWER
from convergence.questionnaires.models import Response

# Copied by the database from row to row: a file's bytes never pass through the application.
_COPIED = ("item_code", "kind", "comment", "url", "filename", "content_type", "size", "sha256", "content")


async def copy_evidence(ctx: Context, source: Response, target: Response, codes: Iterable[str]) -> int:
    """Copy the source's evidence on these questions onto the target, skipping what the target already has
    (same file or same link) and what would pass the limit per answer; how many were copied."""
    wanted = set(codes)
    if not wanted:
        return 0
    columns = (Evidence.id, Evidence.item_code, Evidence.kind, Evidence.sha256, Evidence.url)
    theirs = (await ctx.session.execute(select(*columns).where(Evidence.response_id == source.id)
                                        .order_by(Evidence.id))).all()
    ours = (await ctx.session.execute(select(*columns).where(Evidence.response_id == target.id))).all()
    held = {(r.item_code, r.kind, r.sha256 or r.url) for r in ours}
    counts: dict[str, int] = {}
    for row in ours:
        counts[row.item_code] = counts.get(row.item_code, 0) + 1
    chosen = []
    for row in theirs:
        key = (row.item_code, row.kind, row.sha256 or row.url)
        if row.item_code not in wanted or key in held or counts.get(row.item_code, 0) >= MAX_PER_ANSWER:
            continue
        held.add(key)
        counts[row.item_code] = counts.get(row.item_code, 0) + 1
        chosen.append(row.id)
    if not chosen:
        return 0
    now = utcnow()
    actor_id = ctx.actor.id if ctx.actor else None
    await ctx.session.execute(insert(Evidence).from_select(
        ["company_id", "response_id", "added_by_id", "created_at", "updated_at", *_COPIED],
        select(literal(target.company_id), literal(target.id), literal(actor_id, type_=Evidence.added_by_id.type),
               literal(now, type_=Evidence.created_at.type), literal(now, type_=Evidence.updated_at.type),
               *(getattr(Evidence, name) for name in _COPIED)).where(Evidence.id.in_(chosen))))
    ctx.audit(N_("evidence.copied"), target_type="response", target_id=target.id, company_id=target.company_id,
              source_id=source.id, copied=len(chosen))
    return len(chosen)
