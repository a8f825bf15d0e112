"""The service categories of the Mon Espace Santé catalogue: a citizen browses by them, a vendor picks one when
filing. Codes are stored; labels are English msgids translated when shown."""

from __future__ import annotations

from convergence.core.messages import N_

CATEGORIES: dict[str, str] = {
    "prevention": N_("Prevention and well-being"),
    "chronic": N_("Chronic disease follow-up"),
    "telehealth": N_("Teleconsultation and telehealth"),
    "appointments": N_("Appointment booking"),
    "coordination": N_("Care coordination"),
    "medication": N_("Medication and pharmacy"),
    "mental_health": N_("Mental health"),
    "parenthood": N_("Pregnancy and parenthood"),
    "autonomy": N_("Autonomy and disability"),
    "other": N_("Other services"),
}
