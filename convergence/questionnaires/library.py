"""The library of questionnaires (`/library`, for anyone signed in): every questionnaire with its versions, the
items of a version by theme, and what changed between two versions. Reference data, the same for everyone;
managers also see how many of their company's responses use an earlier version, and migrate them from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from sqlalchemy import select

from convergence.core.errors import DomainError, Invalid, NotAuthenticated, NotFound
from convergence.core.formatting import local_today
from convergence.core.i18n import N_, gettext
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery, QueryParameter
from convergence.identity.policy import Permission
from convergence.identity.web import Ctx, signed_in
from convergence.questionnaires import engine
from convergence.questionnaires.models import Item, Questionnaire, Step, Theme
from convergence.questionnaires.services import localized
from convergence.questionnaires.versions import ItemDiff, VersionService, diff_items


@dataclass
class Entry:
    """One questionnaire of the library: its versions, oldest first, and where it is answered."""

    code: str
    versions: list[Questionnaire]
    step: Step | None  # None: a global-strategy questionnaire

    @property
    def latest(self) -> Questionnaire:
        return self.versions[-1]


@dataclass
class Section:
    theme: str
    title: str
    items: list[Item]


@dataclass
class VersionPage:
    entry: Entry
    questionnaire: Questionnaire
    sections: list[Section]
    previous: Questionnaire | None  # the version before, to compare with


@dataclass
class Diff:
    entry: Entry
    before: Questionnaire
    after: Questionnaire
    changes: list[ItemDiff]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


def sections(items: list[Item], themes: dict[str, Theme]) -> list[Section]:
    out: list[Section] = []
    for item in items:
        if not out or out[-1].theme != item.theme:
            title = localized(themes[item.theme], "title") if item.theme in themes else item.theme
            out.append(Section(theme=item.theme, title=title, items=[]))
        out[-1].items.append(item)
    return out


class LibraryService:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.session = ctx.session

    def _signed_in(self) -> None:
        if self.ctx.actor is None:
            raise NotAuthenticated("Please sign in.")

    async def entries(self) -> list[Entry]:
        """Every questionnaire, in the order of the tracks and steps, the global strategy last."""
        self._signed_in()
        steps = {s.id: s for s in (await self.session.scalars(select(Step))).all()}
        by_code: dict[str, list[Questionnaire]] = {}
        for q in (await self.session.scalars(select(Questionnaire).order_by(Questionnaire.code,
                                                                            Questionnaire.version))).all():
            by_code.setdefault(q.code, []).append(q)
        entries = [Entry(code=code, versions=versions, step=steps.get(versions[-1].step_id or 0))
                   for code, versions in by_code.items()]

        def order(entry: Entry) -> tuple[int, int, int, int, str]:
            step = entry.step
            if step is None:
                return (1, 0, 0, entry.latest.position, entry.code)
            return (0, step.track.position, step.position, entry.latest.position, entry.code)

        return sorted(entries, key=order)

    async def entry(self, code: str) -> Entry:
        self._signed_in()
        versions = list((await self.session.scalars(select(Questionnaire).where(Questionnaire.code == code)
                                                    .order_by(Questionnaire.version))).all())
        if not versions:
            raise NotFound("This questionnaire is not in the library.")
        step = await self.session.get(Step, versions[-1].step_id) if versions[-1].step_id else None
        return Entry(code=code, versions=versions, step=step)

    @staticmethod
    def _version(entry: Entry, version: object) -> Questionnaire:
        found = next((q for q in entry.versions if q.version == version), None)
        if found is None:
            raise NotFound("This version of the questionnaire does not exist.")
        return found

    async def version(self, code: str, version: int | None = None) -> VersionPage:
        """A version (the latest when None) with its items by theme."""
        entry = await self.entry(code)
        questionnaire = entry.latest if version is None else self._version(entry, version)
        themes = {t.code: t for t in (await self.session.scalars(select(Theme))).all()}
        earlier = [q for q in entry.versions if q.version < questionnaire.version]
        return VersionPage(entry=entry, questionnaire=questionnaire, sections=sections(questionnaire.items, themes),
                           previous=earlier[-1] if earlier else None)

    async def diff(self, code: str, raw_from: object = None, raw_to: object = None) -> Diff:
        """What changed from one version to another; by default from the version before the latest to it."""
        entry = await self.entry(code)
        to = entry.latest if raw_to in (None, "") else self._pick(entry, raw_to, "to")
        if raw_from in (None, ""):
            earlier = [q for q in entry.versions if q.version < to.version]
            before = earlier[-1] if earlier else to
        else:
            before = self._pick(entry, raw_from, "from")
        return Diff(entry=entry, before=before, after=to, changes=diff_items(before.items, to.items))

    def _pick(self, entry: Entry, raw: object, name: str) -> Questionnaire:
        number = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_int(raw)
        found = next((q for q in entry.versions if q.version == number), None)
        if found is None:
            raise Invalid("Choose versions of this questionnaire.", code="invalid_version",
                          fields={name: "Choose versions of this questionnaire."})
        return found


# What the library calls an item's type and the parts of an item that change between versions.
TYPE_LABELS = {"boolean": N_("Yes / no"), "choice": N_("One choice"), "multi_choice": N_("Several choices"),
               "text": N_("Text"), "number": N_("Number"), "date": N_("Date")}
FIELD_LABELS = {"label": N_("wording"), "type": N_("type"), "options": N_("options"), "bounds": N_("bounds")}
LABELS = {"type_labels": TYPE_LABELS, "field_labels": FIELD_LABELS}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    return ", ".join(_shown(v) for v in value) if isinstance(value, list) else str(value)


def item_facts(item: Item) -> dict[str, Any]:
    """What the library shows of an item besides its label: bounds as sentences, the condition that shows it."""
    condition = item.enable_when or {}
    shown = None
    if condition.get("item"):
        if "equals" in condition or "in" in condition:
            shown = gettext("Asked when the answer to %(item)s is %(value)s.", item=condition["item"],
                            value=_shown(condition.get("equals", condition.get("in"))))
        else:
            shown = gettext("Asked when %(item)s is answered.", item=condition["item"])
    return {"hint": " ".join(str(p) for p in engine.bounds_hint(item, local_today())), "condition": shown}


class LibraryPages(Controller):
    path = "/library"
    guards = [signed_in]
    include_in_schema = False

    @staticmethod
    async def _behind(ctx: Any) -> int | None:
        """How many of the company's responses use an earlier version: told to the managers who migrate them."""
        if not ctx.can(Permission.RESPONSES_MIGRATE) or ctx.company_id is None:
            return None
        return await VersionService(ctx).behind_count(ctx.company_id)

    @get("/")
    async def index(self, library_service: NamedDependency[LibraryService], request: Request[Any, Any, Any], ctx: Ctx,
                    migrated: FromQuery[str] = "", skipped: FromQuery[str] = "", drafts: FromQuery[str] = "") -> Any:
        done = {key: parse_int(value) for key, value in
                (("migrated", migrated), ("skipped", skipped), ("drafts", drafts)) if value}
        return render(request, "library/index.html", {
            "entries": await library_service.entries(), "behind": await self._behind(ctx), "done": done,
            "localized": localized, "errors": {}})

    @post("/migrate")
    async def migrate_company(self, version_service: NamedDependency[VersionService],
                              library_service: NamedDependency[LibraryService], request: Request[Any, Any, Any],
                              ctx: Ctx) -> Any:
        try:
            result = await version_service.migrate_company(ctx.company_id)
        except DomainError as exc:
            return render(request, "library/index.html", {
                "entries": await library_service.entries(), "behind": await self._behind(ctx), "done": {},
                "localized": localized, "errors": form_errors(exc)}, status=exc.status_code)
        return redirect(request, f"/library?migrated={len(result.migrated)}&skipped={result.skipped_submitted}"
                                 f"&drafts={result.back_to_draft}")

    @get("/{code:str}")
    async def latest(self, library_service: NamedDependency[LibraryService], request: Request[Any, Any, Any],
                     code: FromPath[str]) -> Any:
        page = await library_service.version(code)
        return render(request, "library/version.html", {"page": page, "facts": item_facts, "localized": localized,
                                                        **LABELS})

    @get("/{code:str}/versions/{version:int}")
    async def version(self, library_service: NamedDependency[LibraryService], request: Request[Any, Any, Any],
                      code: FromPath[str], version: FromPath[int]) -> Any:
        page = await library_service.version(code, version)
        return render(request, "library/version.html", {"page": page, "facts": item_facts, "localized": localized,
                                                        **LABELS})

    @get("/{code:str}/diff")
    async def diff(self, library_service: NamedDependency[LibraryService], request: Request[Any, Any, Any],
                   code: FromPath[str], from_: Annotated[str, QueryParameter(name="from")] = "",
                   to: FromQuery[str] = "") -> Any:
        errors: dict[str, str] = {}
        try:
            diff = await library_service.diff(code, from_ or None, to or None)
        except Invalid as exc:
            errors = form_errors(exc)
            diff = await library_service.diff(code)
        return render(request, "library/diff.html", {"diff": diff, "facts": item_facts, "localized": localized,
                                                     "errors": errors, **LABELS}, partial="library/_diff.html",
                      status=422 if errors else 200)


class VersionPages(Controller):
    """The migration actions of the response and product pages, and the contributors' confirmation of a
    flagged question (questionnaires/versions.py)."""

    guards = [signed_in]
    include_in_schema = False

    @staticmethod
    def _refused(request: Request[Any, Any, Any], exc: DomainError, back: str) -> Any:
        return render(request, "library/refused.html", {"errors": form_errors(exc), "back": back},
                      status=exc.status_code)

    @post("/responses/{response_id:int}/migrate")
    async def migrate(self, version_service: NamedDependency[VersionService], request: Request[Any, Any, Any],
                      response_id: FromPath[int]) -> Any:
        try:
            await version_service.migrate(response_id)
        except DomainError as exc:
            return self._refused(request, exc, f"/responses/{response_id}")
        return redirect(request, f"/responses/{response_id}#versions")

    @post("/responses/{response_id:int}/confirm")
    async def confirm(self, version_service: NamedDependency[VersionService], request: Request[Any, Any, Any],
                      response_id: FromPath[int]) -> Any:
        form = await request.form()
        raw = form.get("item_id")
        item_id = parse_int(raw)
        try:
            await version_service.confirm(response_id, item_id if item_id is not None else str(raw or ""))
        except DomainError as exc:
            return self._refused(request, exc, f"/responses/{response_id}")
        return redirect(request, f"/responses/{response_id}#item-{item_id}")

    @post("/products/{product_id:int}/questionnaires/migrate")
    async def migrate_product(self, version_service: NamedDependency[VersionService],
                              request: Request[Any, Any, Any], product_id: FromPath[int]) -> Any:
        try:
            result = await version_service.migrate_product(product_id)
        except DomainError as exc:
            return self._refused(request, exc, f"/products/{product_id}/questionnaires")
        return redirect(request, f"/products/{product_id}/questionnaires?migrated={len(result.migrated)}"
                                 f"&skipped={result.skipped_submitted}&drafts={result.back_to_draft}#versions")
