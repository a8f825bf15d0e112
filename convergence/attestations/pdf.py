"""The attestation as a PDF (fpdf2), in the reader's language, with its state at the time it is downloaded, its
verification code and the signed facts, so that a printed or mailed copy can still be checked (at /verify, or
offline with the public key)."""

from __future__ import annotations

import logging
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from convergence.attestations.services import AttestationView
from convergence.core.formatting import format_date, format_datetime, format_percent
from convergence.core.i18n import gettext as _
from convergence.core.models import utcnow

FONT_DIR = Path("vendor") / "dejavu-2.37"  # under the settings' static directory; DejaVu has every French glyph
FONT = "DejaVu"
# fpdf2 subsets the font with fontTools, which logs every glyph at INFO: nothing an operator needs.
logging.getLogger("fontTools").setLevel(logging.WARNING)
TONES = {"valid": (22, 101, 52), "revoked": (180, 35, 24), "invalidated": (180, 35, 24)}


def render_pdf(view: AttestationView, static_dir: Path, base_url: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(_("Maturity attestation") + f" {view.code}")
    pdf.set_subject(view.title("product"))
    pdf.set_author(view.fact("issuer") or base_url)
    pdf.set_creator("Convergence")
    pdf.add_font(FONT, "", str(static_dir / FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(static_dir / FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, size: float = 10, style: str = "", height: float = 6) -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    line(_("Convergence — simulator of the ANS platform"), 9)
    line(_("Maturity attestation"), 20, "B", 11)
    pdf.set_text_color(*TONES.get(view.validity.state, (0, 0, 0)))
    line(_("State on %(moment)s:", moment=format_datetime(utcnow())) + " " + str(view.validity.sentence), 11, "B")
    if view.attestation.revoke_reason:
        line(_("Reason given: %(reason)s", reason=view.attestation.revoke_reason), 10)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    rows = [
        (_("Company"), f"{view.fact('company', 'name') or ''} (SIREN {view.fact('company', 'siren') or ''})"),
        (_("Product"), view.title("product")),
        (_("Track"), view.title("track")),
        (_("Step"), view.title("step")),
        (_("Questionnaire"), _("%(title)s, version %(version)s", title=view.title("questionnaire"),
                               version=view.fact("questionnaire", "version") or "")),
        (_("Validated on"), format_date(view.fact("response", "validated_at"))),
        (_("Published on"), format_date(view.fact("published_at"))),
        (_("Maturity"), format_percent(view.fact("maturity"))),
        (_("Verification code"), view.code),
    ]
    for label, value in rows:
        pdf.set_font(FONT, "B", 10)
        pdf.cell(48, 7, label)
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(width - 48, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    line(_("Maturity per theme"), 13, "B", 8)
    with pdf.table(col_widths=(3, 1), text_align=("LEFT", "RIGHT"), line_height=7) as table:
        pdf.set_font(FONT, "", 10)
        header = table.row()
        header.cell(_("Theme"))
        header.cell(_("Maturity"))
        for theme in view.themes():
            row = table.row()
            row.cell(theme["title"])
            row.cell(format_percent(theme["maturity"]))
    pdf.ln(4)
    verify_url, page_url, key_url = base_url + "/verify", base_url + view.path(), base_url + "/attestations/public-key"
    line(_("Check this attestation at %(url)s with the code %(code)s, or open %(page)s.",
           url=verify_url, code=view.code, page=page_url), 10)
    pdf.ln(2)
    line(_("Signature (Ed25519, key %(key)s, public key at %(url)s) over the UTF-8 bytes of the facts below:",
           key=view.attestation.key_id, url=key_url), 8)
    pdf.set_font("Courier", "", 7)
    pdf.multi_cell(width, 3.5, view.attestation.signature, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FONT, "", 6.5)
    pdf.multi_cell(width, 3.2, view.attestation.facts, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    # The same facts and signature as attached files: a verifier reads the exact bytes instead of retyping them.
    pdf.embed_file(basename=f"attestation-{view.attestation.code}.json", bytes=view.attestation.facts.encode("utf-8"),
                   desc=_("Signed facts (canonical JSON)"))
    pdf.embed_file(basename=f"attestation-{view.attestation.code}.sig", bytes=view.attestation.signature.encode("ascii"),
                   desc=_("Ed25519 signature, base64"))
    return bytes(pdf.output())
