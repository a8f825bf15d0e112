"""Bulk registration of editions and versions from a CSV file: a dry-run preview, then all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from convergence.identity.context import Context
from convergence.core.errors import Invalid
from convergence.core.i18n import N_
from convergence.identity.policy import Permission, Tenant
from convergence.products.models import Kind, Product, compose_name
from convergence.products.services import NamingWarning, ProductInput, ProductService, product_input

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
COLUMNS = ("name", "os", "os_other", "device", "edition", "version", "kind", "base_products", "commercial_name",
           "description")
REQUIRED_COLUMNS = ("name", "os", "device")
KIND_WORDS = {"base": Kind.BASE, "socle": Kind.BASE, "option": Kind.OPTION}
# Field messages of `product_input` keep their English sentence; the line error names the column.
Note = NamingWarning


@dataclass
class ImportLine:
    line: int
    values: dict[str, str]
    data: ProductInput | None = None
    base_refs: list[Product | ImportLine] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    errors: list[tuple[str, Note]] = field(default_factory=list)  # (column, message)
    product: Product | None = None

    @property
    def display_name(self) -> str:
        if self.data is not None:
            return self.data.display_name
        v = self.values
        return compose_name(v.get("name", ""), v.get("os", ""), v.get("os_other", ""), v.get("device", ""))

    @property
    def label(self) -> str:
        parts = (self.display_name, self.data.edition if self.data else "", self.data.version if self.data else "")
        return " ".join(p for p in parts if p)

    @property
    def base_labels(self) -> list[str]:
        return [ref.label for ref in self.base_refs]

    def error(self, column: str, message: str, **params: str) -> None:
        self.errors.append((column, Note("line_error", message, params)))

    def json(self) -> dict[str, Any]:
        data = self.data
        return {
            "line": self.line, "display_name": self.display_name, "name": data.name if data else self.values.get("name"),
            "edition": data.edition if data else self.values.get("edition", ""),
            "version": data.version if data else self.values.get("version", ""),
            "kind": data.kind if data else self.values.get("kind", ""), "base_products": self.base_labels,
            "naming_warnings": [{"code": w.code, "detail": w.text} for w in self.warnings],
            "errors": [{"line": self.line, "column": column, "detail": note.text} for column, note in self.errors],
        }


@dataclass
class ImportPlan:
    lines: list[ImportLine]

    @property
    def valid(self) -> bool:
        return bool(self.lines) and not any(line.errors for line in self.lines)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [error for line in self.lines for error in line.json()["errors"]]

    def json(self, *, dry_run: bool) -> dict[str, Any]:
        return {"dry_run": dry_run, "valid": self.valid, "to_create": len(self.lines) if self.valid else 0,
                "lines": [line.json() for line in self.lines], "errors": self.errors}


def read_csv(content: bytes) -> list[ImportLine]:
    """Decodes (UTF-8, with or without BOM), detects `;` or `,`, checks the header and the limits."""
    if len(content) > MAX_BYTES:
        raise Invalid("The file is too large: 2 MB at most.", code="import_too_large")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file must be encoded in UTF-8.", code="import_bad_encoding") from None
    if not text.strip():
        raise Invalid("The file is empty.", code="import_empty")
    first = text.lstrip("\r\n").splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header: list[str] = []
        while not any(cell.strip() for cell in header):
            row = next(reader, None)
            if row is None:  # blank cells only ('" "')
                raise Invalid("The file is empty.", code="import_empty")
            header = row
        columns = [cell.strip().lower().lstrip("\ufeff") for cell in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        unknown = [c for c in columns if c and c not in COLUMNS]
        if missing or unknown or len(set(columns)) != len(columns):
            raise Invalid("The first line must name the columns: name, os, os_other, device, edition, version, "
                          "kind, base_products, commercial_name, description (name, os and device are required).",
                          code="import_bad_header", missing=missing, unknown=unknown)
        lines: list[ImportLine] = []
        start = reader.line_num + 1
        for row in reader:
            line_number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) >= MAX_LINES:
                raise Invalid("The file has too many lines: 5,000 products at most.", code="import_too_many_lines")
            values = {column: (row[i].strip() if i < len(row) else "") for i, column in enumerate(columns) if column}
            line = ImportLine(line_number, values)
            if len(row) > len(columns):
                line.error("", N_("This line has more values than the header has columns."))
            lines.append(line)
    except csv.Error:
        raise Invalid("The file could not be read as CSV.", code="import_unreadable") from None
    if not lines:
        raise Invalid("The file has no product line under its header.", code="import_empty")
    return lines


class ImportService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.products = ProductService(ctx)

    def allowed(self, company_id: int) -> None:
        """Importing creates products in the company: 403/404 as for one creation."""
        self.ctx.require(Permission.PRODUCTS_CREATE, Tenant(company_id))

    async def plan(self, company_id: int, content: bytes) -> ImportPlan:
        self.allowed(company_id)
        lines = read_csv(content)
        readable = await self.products.company_products(company_id)
        taken = set((await self.session.scalars(select(Product.identity_key).where(
            Product.company_id == company_id))).all())
        by_display: dict[str, list[Product | ImportLine]] = {}
        by_name: dict[str, list[Product | ImportLine]] = {}

        def remember(ref: Product | ImportLine, display: str, name: str) -> None:
            by_display.setdefault(display.casefold(), []).append(ref)
            by_name.setdefault(" ".join(name.split()).casefold(), []).append(ref)

        for product in readable:
            if product.kind == Kind.BASE:
                remember(product, product.display_name, product.name)
        seen: dict[str, int] = {}
        for line in lines:
            self._check(line, taken, seen, by_display, by_name)
            if line.data is not None and line.data.kind == Kind.BASE:
                remember(line, line.data.display_name, line.data.name)
        return ImportPlan(lines)

    def _check(self, line: ImportLine, taken: set[str], seen: dict[str, int],
               by_display: dict[str, list[Product | ImportLine]], by_name: dict[str, list[Product | ImportLine]]) -> None:
        values = dict(line.values)
        base_names = [n.strip() for n in values.pop("base_products", "").split("|") if n.strip()]
        kind = values.get("kind", "").strip().lower()
        if not kind:
            values["kind"] = Kind.OPTION if base_names else Kind.BASE
        else:
            values["kind"] = KIND_WORDS.get(kind, kind)
        values["commercial_name"] = values.get("commercial_name") or None  # type: ignore[assignment]
        try:
            line.data = product_input(values)
        except Invalid as exc:
            for column, message in exc.fields.items():
                line.error(column, message)
            return
        data = line.data
        line.warnings = data.warnings()
        if data.kind == Kind.OPTION:
            if not base_names:
                line.error("base_products", N_("An option product must extend at least one base product."))
            for name in base_names:
                matches = by_display.get(" ".join(name.split()).casefold()) or by_name.get(
                    " ".join(name.split()).casefold()) or []
                if not matches:
                    line.error("base_products", N_("No base product of your company is named %(name)s (bases "
                               "defined in the file must come before their options)."), name=name)
                elif len(matches) > 1:
                    line.error("base_products", N_("Several base products match %(name)s: %(labels)s. Remove "
                               "the ambiguity (distinct names or display names)."), name=name,
                               labels=", ".join(m.label for m in matches))
                elif matches[0] not in line.base_refs:
                    line.base_refs.append(matches[0])
        elif base_names:
            line.error("base_products", N_("Only option products extend base products."))
        if data.key in taken:
            line.error("name", N_("A product with the same name, edition, version, OS and device already exists "
                       "in your company."))
        elif data.key in seen:
            line.error("name", N_("Line %(line)s already registers this name, edition, version, OS and device."),
                       line=str(seen[data.key]))
        else:
            seen[data.key] = line.line

    async def run(self, company_id: int, content: bytes, *, dry_run: bool) -> tuple[ImportPlan, list[Product]]:
        plan = await self.plan(company_id, content)
        if dry_run:
            return plan, []
        return plan, await self.commit(company_id, plan)

    async def commit(self, company_id: int, plan: ImportPlan) -> list[Product]:
        """All or nothing: one wrong line and nothing is written."""
        if not plan.valid:
            raise Invalid("The file has errors on some lines: nothing was registered.", code="import_invalid",
                          errors=plan.errors)
        actor = self.ctx.actor
        assert actor is not None
        created: list[Product] = []
        for line in plan.lines:
            data = line.data
            assert data is not None
            product = Product(company_id=company_id, name=data.name, os=data.os, os_other=data.os_other,
                              device=data.device, edition=data.edition, version=data.version, kind=data.kind,
                              description=data.description, commercial_name=data.commercial_name,
                              identity_key=data.key, created_by_id=actor.id)
            product.bases = [ref if isinstance(ref, Product) else ref.product for ref in line.base_refs]  # type: ignore[misc]
            line.product = product
            created.append(product)
        self.session.add_all(created)
        await self.session.flush()
        for product in created:
            self.ctx.audit("product.created", target_type="product", target_id=product.id, company_id=company_id,
                           display_name=product.display_name, kind=product.kind, via="import",
                           base_product_ids=[b.id for b in product.bases])
        self.ctx.audit("product.imported", target_type="company", target_id=company_id, company_id=company_id,
                       created=len(created), product_ids=[p.id for p in created])
        return created

