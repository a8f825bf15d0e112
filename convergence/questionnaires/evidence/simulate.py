"""The simulation's evidence: on answered responses of the simulated market, some answers get a link to the
vendor's documentation, and a few a small generated PDF, as contributors attach them while answering.

Written as rows (the responses may be submitted or validated by now, when the service would refuse a change),
each with its audit event, by whoever last saved the response. Reproducible for a given `rng`; responses that
already have evidence are left alone, so a second run only adds to responses answered since.
"""

from __future__ import annotations

import hashlib
import random

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import noload

from convergence.core import audit
from convergence.questionnaires import reference
from convergence.questionnaires.evidence.models import Evidence, Kind
from convergence.questionnaires.models import Response, Status

RESPONSE_RATE = 0.3  # of the answered responses without evidence
PDF_RATE = 0.15  # of the evidence written
LINK_COMMENTS = ("Procédure publiée dans notre documentation.", "Voir la section conformité de la notice.", "")
PDF_COMMENTS = ("Extrait du rapport d'audit.", "Attestation de l'hébergeur.", "")


def tiny_pdf(title: str, body: str) -> bytes:
    """A one-page PDF (a few kilobytes): enough for the checks and the download to be real."""
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(text=title)
    pdf.ln(10)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(w=0, text=body)
    return bytes(pdf.output())


async def simulate_evidence(session: AsyncSession, rng: random.Random, *, limit: int = 400) -> int:
    """Attach evidence to answers of simulated responses; how many pieces were written (at most `limit`)."""
    with_evidence = select(Evidence.response_id).distinct()
    candidates = list((await session.scalars(select(Response).where(
        Response.status != Status.NOT_STARTED, Response.answered_count > 0, Response.id.not_in(with_evidence))
        .order_by(Response.id).limit(limit * 4).options(noload(Response.questionnaire)))).all())
    await reference.attach(session, candidates)
    written = 0
    for response in candidates:
        if written >= limit:
            break
        if rng.random() >= RESPONSE_RATE:
            continue
        answered = [item for item in response.questionnaire.items if str(item.id) in (response.answers or {})]
        for item in rng.sample(answered, min(len(answered), rng.randint(1, 3))):
            if rng.random() < PDF_RATE:
                content = tiny_pdf("Justificatif", f"Question {item.code}. Réponse n° {response.id}.")
                evidence = Evidence(kind=Kind.FILE, filename=f"justificatif-{item.code}.pdf",
                                    content_type="application/pdf", size=len(content),
                                    sha256=hashlib.sha256(content).hexdigest(), content=content,
                                    comment=rng.choice(PDF_COMMENTS))
            else:
                evidence = Evidence(kind=Kind.LINK, comment=rng.choice(LINK_COMMENTS),
                                    url=f"https://docs.editeur-{response.company_id}.example/conformite/{item.code}")
            evidence.company_id, evidence.response_id, evidence.item_code = (response.company_id, response.id,
                                                                             item.code)
            evidence.added_by_id = response.last_saved_by_id
            session.add(evidence)
            await session.flush()
            audit.record(session, "evidence.added", actor_id=response.last_saved_by_id, target_type="response",
                         target_id=response.id, company_id=response.company_id, evidence_id=evidence.id,
                         item_code=item.code, kind=evidence.kind, name=evidence.filename or evidence.url or "",
                         size=evidence.size)
            written += 1
    return written
