"""Typed shapes of the products API (api.md, "Products"). Request fields are taken loosely and checked by the
service (`product_input`), which answers each broken rule with its own code (`invalid_os`, `version_required`...);
the document still states their types and choices."""

from __future__ import annotations

from typing import Any, Self

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import UNSET, Flag, Integers, Page, Text, loose
from convergence.products.models import OS, Device, Kind, Product
from convergence.products.services import naming_warnings


class ProductIn(msgspec.Struct, kw_only=True):
    """POST takes the required fields; PATCH any of them (the others stay)."""

    name: Text = UNSET
    os: loose(OpenAPIType.STRING, enum=[o.value for o in OS]) = UNSET  # type: ignore[valid-type]
    os_other: Text = UNSET
    device: loose(OpenAPIType.STRING, enum=[d.value for d in Device]) = UNSET  # type: ignore[valid-type]
    edition: Text = UNSET
    version: Text = UNSET
    kind: loose(OpenAPIType.STRING, enum=[k.value for k in Kind]) = UNSET  # type: ignore[valid-type]
    description: Text = UNSET
    commercial_name: Text = UNSET
    base_product_ids: Integers = UNSET


class DuplicateIn(msgspec.Struct, kw_only=True):
    as_option: Flag = UNSET
    base_product_ids: Integers = UNSET
    edition: Text = UNSET
    version: Text = UNSET


class NewVersionIn(msgspec.Struct, kw_only=True):
    version: Text = UNSET
    edition: Text = UNSET
    commercial_name: Text = UNSET
    description: Text = UNSET


class NamingWarning(msgspec.Struct, kw_only=True):
    code: str
    detail: str


class ProductOut(msgspec.Struct, kw_only=True):
    id: int
    company_id: int
    name: str
    os: str
    os_other: str | None
    device: str
    edition: str
    version: str
    kind: str
    description: str
    commercial_name: str | None
    display_name: str
    naming_warnings: list[NamingWarning]
    base_product_ids: list[int]
    previous_version_id: int | None
    created_by_id: int | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(
            id=p.id, company_id=p.company_id, name=p.name, os=p.os, os_other=p.os_other or None, device=p.device,
            edition=p.edition, version=p.version, kind=p.kind, description=p.description,
            commercial_name=p.commercial_name, display_name=p.display_name,
            naming_warnings=[NamingWarning(code=w.code, detail=w.text)
                             for w in naming_warnings(p.name, p.os, p.os_other, p.device)],
            base_product_ids=[b.id for b in p.bases], previous_version_id=p.previous_version_id,
            created_by_id=p.created_by_id, created_at=p.created_at.isoformat(), updated_at=p.updated_at.isoformat())


class ProductPage(Page[ProductOut], kw_only=True):
    items: list[ProductOut]


class ImportErrorOut(msgspec.Struct, kw_only=True):
    """What is wrong on a line of the file, and in which `column`."""

    line: int
    column: str
    detail: str


class ImportLineOut(msgspec.Struct, kw_only=True):
    """A line of the file as it would be registered; `base_products`: the labels of the bases it names."""

    line: int
    display_name: str
    name: str | None
    edition: str
    version: str
    kind: str
    base_products: list[str]
    naming_warnings: list[NamingWarning]
    errors: list[ImportErrorOut]


class ImportPlanOut(msgspec.Struct, kw_only=True):
    """The dry run's answer: every line; `valid` when none has an error, `to_create` then counts them."""

    dry_run: bool
    valid: bool
    to_create: int
    lines: list[ImportLineOut]
    errors: list[ImportErrorOut]

    @classmethod
    def of(cls, plan: dict[str, Any], **more: Any) -> Self:
        """From `ImportPlan.json()`; `more`: the fields a subclass adds."""
        return msgspec.convert({**plan, **more}, cls, from_attributes=True)


class ImportedOut(ImportPlanOut, kw_only=True):
    """The import's answer (`dry_run=false`): the plan, and the products registered."""

    created: int
    items: list[ProductOut]
