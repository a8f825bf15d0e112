"""Products: registration, naming rule, base/option links, duplication, versions, catalogue, rights.

Every read goes through `ProductService`, which scopes by the actor's company (another company's product
answers 404), loads what the actor holds on each product (`convergence.companies.access.grant`) and asks
the one policy (`identity/policy.py`) what that allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, column, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.access import grant, member, readable_product_ids, require_company
from convergence.identity.context import Context
from convergence.core import events
from convergence.core.db import lock_rows_in_order
from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.i18n import gettext as _
from convergence.core.i18n import N_
from convergence.core.inputs import TextProblem, clean_text, is_id
from convergence.identity.policy import Grant, Permission, Tenant
from convergence.products.models import OS, Device, Kind, Product, compose_name, identity_key

NAME_MAX = 120
OS_OTHER_MAX = 60
EDITION_MAX = 100
VERSION_MAX = 50
COMMERCIAL_NAME_MAX = 200
DESCRIPTION_MAX = 5000
# Each text field: its column's length, and the sentence when the text (normalised) is longer.
TEXT_LIMITS = {
    "name": (NAME_MAX, N_("The name is too long (120 characters at most).")),
    "os_other": (OS_OTHER_MAX, N_("The operating system name is too long (60 characters at most).")),
    "edition": (EDITION_MAX, N_("The edition is too long (100 characters at most).")),
    "version": (VERSION_MAX, N_("The version is too long (50 characters at most).")),
    "commercial_name": (COMMERCIAL_NAME_MAX, N_("The commercial name is too long (200 characters at most).")),
    "description": (DESCRIPTION_MAX, N_("The description is too long (5,000 characters at most).")),
}
# Beyond this the composed name is hard to read in catalogues: a warning, not a refusal.
NAME_ADVISED_MAX = 60

OS_WORDS = frozenset({"ios", "ipados", "android", "windows", "linux", "macos", "osx", "harmonyos", "chromeos"})
DEVICE_WORDS = frozenset({"mobile", "website", "web", "smartphone", "tablet", "tablette", "desktop"})
FIELDS = ("name", "os", "os_other", "device", "edition", "version", "kind", "description", "commercial_name")


# ------------------------------------------------------------------------------------------ naming rule

@dataclass(frozen=True)
class NamingWarning:
    code: str
    message: str  # English msgid, translated when shown
    params: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return _(self.message, **self.params)


def naming_warnings(name: str, os: str, os_other: str, device: str) -> list[NamingWarning]:
    """Flags names that break the rule "(Name of the Product) (OS) (Device)" (the product is still saved)."""
    name = " ".join((name or "").split())
    warnings: list[NamingWarning] = []
    if not name:
        return [NamingWarning("name_empty", N_("The product name is empty."))]
    words = {w.casefold() for w in re.findall(r"\w+", name)}
    own_os = {w.casefold() for w in re.findall(r"\w+", os_other or "")} if os == OS.OTHER else set()
    found_os = sorted(words & (OS_WORDS | own_os))
    if found_os:
        warnings.append(NamingWarning(
            "name_contains_os", N_("The product name already contains an operating system (%(words)s): the OS is "
            "added by the naming rule, keep it out of the name."), {"words": ", ".join(found_os)}))
    found_device = sorted(words & DEVICE_WORDS)
    if found_device:
        warnings.append(NamingWarning(
            "name_contains_device", N_("The product name already contains a device (%(words)s): the device is "
            "added by the naming rule, keep it out of the name."), {"words": ", ".join(found_device)}))
    if len(name) > NAME_ADVISED_MAX:
        warnings.append(NamingWarning(
            "name_too_long", N_("The product name is longer than %(max)s characters: citizens and reviewers will "
            "find it hard to read."), {"max": str(NAME_ADVISED_MAX)}))
    if os == OS.OTHER and (os_other or "").strip().casefold() in {o.value.casefold() for o in OS if o != OS.OTHER}:
        warnings.append(NamingWarning(
            "os_other_is_listed", N_("This operating system is in the list: choose it instead of Other.")))
    return warnings


# ------------------------------------------------------------------------------------------- validation

@dataclass
class ProductInput:
    name: str = ""
    os: str = ""
    os_other: str = ""
    device: str = ""
    edition: str = ""
    version: str = ""
    kind: str = Kind.BASE
    description: str = ""
    commercial_name: str | None = None
    base_product_ids: list[int] | None = None  # None: not given (PATCH keeps the current links)

    @property
    def display_name(self) -> str:
        return compose_name(self.name, self.os, self.os_other, self.device)

    @property
    def key(self) -> str:
        return identity_key(self.name, self.edition, self.version, self.os, self.os_other, self.device)

    def warnings(self) -> list[NamingWarning]:
        return naming_warnings(self.name, self.os, self.os_other, self.device)


def _choice(value: str, choices: type[OS] | type[Device]) -> str | None:
    for choice in choices:
        if value.strip().casefold() == choice.value.casefold():
            return choice.value
    return None


def _text(data: dict[str, Any], name: str, problems: dict[str, str]) -> str | None:
    """A text field as stored: normalised, single-line but for the description, within its column."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems[name] = N_("Must be text.")
        return None
    # os, device and kind are then checked against their choices, with their own sentence.
    limit, too_long = TEXT_LIMITS.get(name, (DESCRIPTION_MAX, N_("This text is too long.")))
    try:
        text = clean_text(value, max_len=limit, multiline=name == "description", too_long=too_long)
    except TextProblem as exc:
        problems[name] = exc.message
        return None
    return text if name == "description" else " ".join(text.split())


def parse_base_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(is_id(v) for v in value):
        raise Invalid("The base products must be a list of product ids.", code="invalid_input",
                      fields={"base_product_ids": N_("Must be a list of product ids.")})
    return list(dict.fromkeys(value))


def product_input(data: dict[str, Any], current: Product | None = None) -> ProductInput:
    """Checks the fields of a create (current None) or a partial update; the rule checks come after."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in FIELDS:
        if name in data:
            values[name] = _text(data, name, problems)
    merged = ProductInput(
        name=current.name if current else "", os=current.os if current else "",
        os_other=current.os_other if current else "", device=current.device if current else "",
        edition=current.edition if current else "", version=current.version if current else "",
        kind=current.kind if current else Kind.BASE, description=current.description if current else "",
        commercial_name=current.commercial_name if current else None)
    for name, value in values.items():
        if name in problems:
            continue  # the current value stays; the field's problem is reported
        if name == "commercial_name":
            merged.commercial_name = value or None
        else:
            setattr(merged, name, value or "")
    if "base_product_ids" in data:
        merged.base_product_ids = parse_base_ids(data.get("base_product_ids"))

    if not merged.name:
        problems.setdefault("name", N_("Give the name of the product."))
    os = _choice(merged.os, OS)
    if os is None:
        problems.setdefault("os", N_("Choose iOS, Android, Windows, Linux or Other."))
    else:
        merged.os = os
    if merged.os == OS.OTHER:
        if not merged.os_other:
            problems.setdefault("os_other", N_("Name the operating system."))
    else:
        merged.os_other = ""
    device = _choice(merged.device, Device)
    if device is None:
        problems.setdefault("device", N_("Choose Mobile or Website."))
    else:
        merged.device = device
    if merged.kind not in (Kind.BASE, Kind.OPTION):
        problems.setdefault("kind", N_("Choose base or option."))
    if problems:
        first = next(iter(problems))
        code = {"os": "invalid_os", "device": "invalid_device", "kind": "invalid_kind"}.get(first, "invalid_input")
        raise Invalid("Some fields of the product are missing or wrong.", code=code, fields=problems)
    return merged


# ---------------------------------------------------------------------------------------------- service

@dataclass
class CatalogueGroup:
    base: Product | None  # None: options whose bases the actor cannot see
    options: list[Product]
    base_matches: bool = True  # False: the base is shown only as the heading of matching options


# Products never import questionnaires: a product's responses, which its deletion cascades to, named by table.
_RESPONSE = table("response", column("id"), column("product_id"))


class ProductService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # -- rights

    async def grant(self, product: Product) -> Grant:
        """What the actor holds on the product: pages ask the policy with it which actions to offer."""
        return await grant(self.ctx, product.company_id, product.id, product.created_by_id)

    async def _readable(self, products: list[Product]) -> list[Product]:
        """The products the actor may read: one rights query for the whole list, not one per product."""
        readable = await readable_product_ids(self.ctx)
        if readable is None:
            return products
        user = member(self.ctx)
        return [p for p in products if p.id in readable or p.created_by_id == user.id]

    async def get(self, product_id: int, permission: Permission = Permission.PRODUCT_READ) -> Product:
        """A product of the actor's company on which the policy allows `permission` (404 when it is another
        company's or the actor holds no right on it, 403 when the right is too low)."""
        member(self.ctx)
        product = await self.session.get(Product, product_id)
        if product is None:
            raise NotFound("This product does not exist.")
        self.ctx.require(permission, await self.grant(product))
        return product

    async def source(self, product_id: int) -> Product:
        """A product to copy or to register a new version of: creating products, and editing this one."""
        self.ctx.require(Permission.PRODUCTS_CREATE)
        return await self.get(product_id, Permission.PRODUCT_EDIT)

    def creating(self) -> int:
        """The company a new product goes into: the actor's, when they may create products."""
        return self.ctx.require(Permission.PRODUCTS_CREATE).company_id  # type: ignore[return-value]

    def preview(self, name: str, os: str, os_other: str, device: str) -> dict[str, Any]:
        """The display name the naming rule composes and its warnings (the form's live preview)."""
        member(self.ctx)
        name = " ".join(name.split())
        return {"display_name": compose_name(name, os, os_other, device) if name else "",
                "warnings": naming_warnings(name, os, os_other, device)}

    # -- reads

    async def company_products(self, company_id: int) -> list[Product]:
        require_company(self.ctx, company_id)
        rows = (await self.session.scalars(select(Product).where(Product.company_id == company_id)
                                           .order_by(Product.name, Product.os, Product.device, Product.edition,
                                                     Product.version, Product.id))).all()
        return await self._readable(list(rows))

    async def list(self, company_id: int, *, kind: str | None = None, os: str | None = None,
                   device: str | None = None, q: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[Product], int]:
        """One window of the readable products matching the filters (as `filter_products`, in SQL), and the
        count of all of them. `q` looks in the name, display name, commercial name, edition and version."""
        require_company(self.ctx, company_id)
        where = [Product.company_id == company_id]
        readable = await readable_product_ids(self.ctx)
        if readable is not None:
            where.append(or_(Product.id.in_(readable), Product.created_by_id == member(self.ctx).id))
        if kind:
            where.append(Product.kind == kind)
        if os:
            where.append(func.lower(Product.os) == os.lower())
        if device:
            where.append(func.lower(Product.device) == device.lower())
        needle = " ".join((q or "").split()).lower()
        if needle:
            os_label = case((Product.os == OS.OTHER, Product.os_other), else_=Product.os)
            display = Product.name + " " + os_label + " " + Product.device
            where.append(or_(*(func.lower(func.coalesce(column, "")).contains(needle, autoescape=True) for column in (
                display, Product.commercial_name, Product.edition, Product.version))))
        total = await self.session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
        rows = (await self.session.scalars(select(Product).where(*where).order_by(
            Product.name, Product.os, Product.device, Product.edition, Product.version, Product.id)
            .limit(limit).offset(offset))).all()
        return list(rows), total

    async def catalogue(self, company_id: int, *, kind: str | None = None, os: str | None = None,
                        device: str | None = None, q: str | None = None,
                        visible: list[Product] | None = None) -> list[CatalogueGroup]:
        """Base products each followed by their options (an option with several bases appears under each).

        `visible`: the company's products as `company_products` just gave them, when the caller has them."""
        if visible is None:
            visible = await self.company_products(company_id)
        shown = {p.id for p in filter_products(visible, kind=kind, os=os, device=device, q=q)}
        visible_ids = {p.id for p in visible}
        groups: list[CatalogueGroup] = []
        for base in (p for p in visible if p.kind == Kind.BASE):
            options = [o for o in base.options if o.id in shown and o.id in visible_ids]
            if base.id in shown or options:
                groups.append(CatalogueGroup(base, options, base_matches=base.id in shown))
        orphans = [p for p in visible if p.kind == Kind.OPTION and p.id in shown
                   and not any(b.id in visible_ids for b in p.bases)]
        if orphans:
            groups.append(CatalogueGroup(None, orphans))
        return groups

    async def lineage(self, product: Product) -> tuple[list[Product], list[Product]]:
        """Earlier versions (oldest first) and the versions registered from this one, among readable ones."""
        earlier: list[Product] = []
        seen = {product.id}
        current = product
        while current.previous_version_id is not None and current.previous_version_id not in seen:
            previous = await self.session.get(Product, current.previous_version_id)
            if previous is None or previous.company_id != product.company_id:
                break
            seen.add(previous.id)
            if (await self.grant(previous)).level is not None:
                earlier.insert(0, previous)
            current = previous
        later = (await self.session.scalars(select(Product).where(Product.previous_version_id == product.id)
                                            .order_by(Product.id))).all()
        return earlier, await self._readable(list(later))

    async def base_choices(self, company_id: int, exclude: int | None = None) -> list[Product]:
        products = await self.company_products(company_id)
        return [p for p in products if p.kind == Kind.BASE and p.id != exclude]

    # -- rule checks

    async def _bases(self, company_id: int, ids: list[int], self_id: int | None = None) -> list[Product]:
        if not ids:
            raise Invalid("An option product must extend at least one base product.", code="option_needs_base",
                          fields={"base_product_ids": N_("Choose at least one base product.")})
        # The company's products, not `id IN (...)`: a list of ids as long as a request can carry would exceed
        # the database's number of parameters.
        rows = {p.id: p for p in (await self.session.scalars(select(Product).where(
            Product.company_id == company_id))).all()}
        bases: list[Product] = []
        for base_id in ids:
            base = rows.get(base_id)
            if (base is None or base.kind != Kind.BASE or base.id == self_id
                    or (await self.grant(base)).level is None):
                raise Invalid("Each base product must be a base product of your company.",
                              code="invalid_base_product", base_product_id=base_id,
                              fields={"base_product_ids": "Each base product must be a base product of your "
                                                          "company."})
            bases.append(base)
        return bases

    async def _check_unique(self, company_id: int, key: str, exclude: int | None = None) -> None:
        query = select(Product.id).where(Product.company_id == company_id, Product.identity_key == key)
        if exclude is not None:
            query = query.where(Product.id != exclude)
        if await self.session.scalar(query.limit(1)) is not None:
            raise Conflict("A product with the same name, edition, version, OS and device already exists in "
                           "your company.", code="duplicate_product")

    def _options_block(self, product: Product, action: str) -> None:
        if product.options:
            names = ", ".join(f"« {o.label} »" for o in product.options)
            message = (_("This base product cannot be deleted: the option products %(names)s depend on it. "
                         "Remove them or link them to another base first.", names=names) if action == "delete"
                       else _("This base product cannot become an option: the option products %(names)s depend "
                              "on it. Link them to another base first.", names=names))
            raise Conflict(message, code="base_has_options",
                           options=[{"id": o.id, "display_name": o.display_name, "edition": o.edition,
                                     "version": o.version} for o in product.options])

    # -- writes

    async def create(self, company_id: int, data: ProductInput | dict[str, Any], *, via: str = "form",
                     previous: Product | None = None) -> Product:
        """A new product; `data` as given (a mapping) is checked only once the actor may create here."""
        actor = self.ctx.require(Permission.PRODUCTS_CREATE, Tenant(company_id))
        if not isinstance(data, ProductInput):
            data = product_input(data)
        bases: list[Product] = []
        if data.kind == Kind.OPTION:
            bases = await self._bases(company_id, data.base_product_ids or [])
        elif data.base_product_ids:
            raise Invalid("A base product does not extend other products: leave the base products empty.",
                          code="base_with_bases",
                          fields={"base_product_ids": N_("Only option products extend base products.")})
        await self._check_unique(company_id, data.key)
        product = Product(company_id=company_id, name=data.name, os=data.os, os_other=data.os_other,
                          device=data.device, edition=data.edition, version=data.version, kind=data.kind,
                          description=data.description, commercial_name=data.commercial_name,
                          identity_key=data.key, created_by_id=actor.id,
                          previous_version_id=previous.id if previous else None)
        product.bases = bases
        self.session.add(product)
        await self.session.flush()
        await self.session.refresh(product, ["options"])
        self.ctx.audit("product.created", target_type="product", target_id=product.id, company_id=company_id,
                       display_name=product.display_name, kind=product.kind, via=via,
                       base_product_ids=[b.id for b in bases])
        return product

    async def update(self, product_id: int, data: dict[str, Any]) -> Product:
        """PATCH: the fields given replace the current ones; the whole product is then checked again
        (changing a base into an option or back follows the same rules as a creation)."""
        product = await self.get(product_id, Permission.PRODUCT_EDIT)
        changes = product_input(data, product)
        if changes.kind == Kind.OPTION:
            if product.kind == Kind.BASE:
                self._options_block(product, "convert")
            ids = changes.base_product_ids if changes.base_product_ids is not None else [b.id for b in product.bases]
            bases = await self._bases(product.company_id, ids, self_id=product.id)
        else:
            if changes.base_product_ids:
                raise Invalid("A base product does not extend other products: leave the base products empty.",
                              code="base_with_bases",
                              fields={"base_product_ids": N_("Only option products extend base products.")})
            bases = []
        await self._check_unique(product.company_id, changes.key, exclude=product.id)
        before = {name: getattr(product, name) for name in FIELDS}
        before_bases = sorted(b.id for b in product.bases)
        for name in FIELDS:
            setattr(product, name, getattr(changes, name))
        product.identity_key = changes.key
        product.bases = bases
        await self.session.flush()
        changed = {name: [before[name], getattr(product, name)] for name in FIELDS
                   if before[name] != getattr(product, name)}
        if before_bases != sorted(b.id for b in bases):
            changed["base_product_ids"] = [before_bases, sorted(b.id for b in bases)]
        self.ctx.audit("product.updated", target_type="product", target_id=product.id,
                       company_id=product.company_id, changes=changed)
        if changed:
            await events.emit(self.session, events.PRODUCT_CHANGED, product_id=product.id,
                              company_id=product.company_id, actor_id=self.ctx.actor.id if self.ctx.actor else None,
                              reason="updated", changes=sorted(changed))
        return product

    async def delete(self, product_id: int) -> None:
        product = await self.get(product_id, Permission.PRODUCT_EDIT)
        self._options_block(product, "delete")
        self.ctx.audit("product.deleted", target_type="product", target_id=product.id,
                       company_id=product.company_id, display_name=product.display_name,
                       edition=product.edition, version=product.version, kind=product.kind)
        await lock_rows_in_order(self.session, _RESPONSE.c.id, _RESPONSE.c.product_id == product.id)
        await self.session.delete(product)
        await self.session.flush()

    async def duplicate(self, product_id: int, data: dict[str, Any]) -> Product:
        """A copy of a product, optionally converted into an option of chosen base products.

        The copy needs its own identity: `edition`/`version` may be given; otherwise, when the copy would
        duplicate, the edition gets a "(copy)" suffix.
        """
        source = await self.source(product_id)
        as_option = data.get("as_option", False)
        if not isinstance(as_option, bool):
            raise Invalid("Say whether the copy is an option product (true or false).", code="invalid_input",
                          fields={"as_option": N_("Must be true or false.")})
        overrides = {name: data[name] for name in ("edition", "version") if data.get(name) is not None}
        copy = product_input({**overrides}, source)
        copy.base_product_ids = None
        if as_option:
            copy.kind = Kind.OPTION
            copy.base_product_ids = parse_base_ids(data.get("base_product_ids"))
        elif "base_product_ids" in data and data.get("base_product_ids") is not None:
            ids = parse_base_ids(data.get("base_product_ids"))
            copy.base_product_ids = ids if source.kind == Kind.OPTION else (ids or None)
        if copy.kind == Kind.OPTION and copy.base_product_ids is None:
            copy.base_product_ids = [b.id for b in source.bases]
        if not overrides:
            copy.edition = await self._free_edition(source.company_id, copy)
        product = await self.create(source.company_id, copy, via="duplicate")
        self.ctx.audit("product.duplicated", target_type="product", target_id=product.id,
                       company_id=product.company_id, source_id=source.id, as_option=as_option,
                       display_name=product.display_name, edition=product.edition, version=product.version)
        return product

    async def _free_edition(self, company_id: int, copy: ProductInput) -> str:
        taken = set((await self.session.scalars(select(Product.identity_key).where(
            Product.company_id == company_id))).all())
        if copy.key not in taken:
            return copy.edition
        original = copy.edition
        for number in range(1, 1000):
            suffix = _("(copy)") if number == 1 else _("(copy %(n)s)", n=str(number))
            stem = original[:EDITION_MAX - len(suffix) - 1].rstrip()
            copy.edition = f"{stem} {suffix}".strip()
            if copy.key not in taken:
                return copy.edition
        raise Conflict("A product with the same name, edition, version, OS and device already exists in "
                       "your company.", code="duplicate_product")

    async def new_version(self, product_id: int, data: dict[str, Any]) -> Product:
        """A new version registered from the old one: same product, new version, linked to its predecessor."""
        source = await self.source(product_id)
        version = data.get("version")
        if not isinstance(version, str) or not " ".join(version.split()):
            raise Invalid("Give the new version number.", code="version_required",
                          fields={"version": "Give the new version number."})
        extra = {name: data[name] for name in ("edition", "commercial_name", "description") if name in data}
        copy = product_input({"version": version, **extra}, source)
        copy.base_product_ids = [b.id for b in source.bases] if source.kind == Kind.OPTION else None
        product = await self.create(source.company_id, copy, via="new_version", previous=source)
        self.ctx.audit("product.version_created", target_type="product", target_id=product.id,
                       company_id=product.company_id, previous_version_id=source.id, version=product.version)
        await events.emit(self.session, events.PRODUCT_CHANGED, product_id=source.id, company_id=source.company_id,
                          actor_id=self.ctx.actor.id if self.ctx.actor else None, reason="new_version",
                          new_product_id=product.id)
        return product


def filter_products(products: list[Product], *, kind: str | None = None, os: str | None = None,
                    device: str | None = None, q: str | None = None) -> list[Product]:
    needle = " ".join((q or "").split()).casefold()
    result = []
    for p in products:
        if kind and p.kind != kind:
            continue
        if os and p.os.casefold() != os.casefold():
            continue
        if device and p.device.casefold() != device.casefold():
            continue
        if needle and not any(needle in (value or "").casefold() for value in (
                p.name, p.display_name, p.commercial_name, p.edition, p.version)):
            continue
        result.append(p)
    return result


def check_filters(kind: str | None, os: str | None, device: str | None) -> None:
    if kind and kind not in (Kind.BASE, Kind.OPTION):
        raise Invalid("Unknown kind: use base or option.", code="invalid_kind")
    if os and _choice(os, OS) is None:
        raise Invalid("Unknown operating system: use iOS, Android, Windows, Linux or Other.", code="invalid_os")
    if device and _choice(device, Device) is None:
        raise Invalid("Unknown device: use Mobile or Website.", code="invalid_device")


def version_chains(products: list[Product]) -> dict[int, list[Product]]:
    """For each product, the earlier versions it was registered from (oldest first), among `products`."""
    by_id = {p.id: p for p in products}
    chains: dict[int, list[Product]] = {}
    for product in products:
        chain: list[Product] = []
        current, seen = product, {product.id}
        while current.previous_version_id in by_id and current.previous_version_id not in seen:
            current = by_id[current.previous_version_id]  # type: ignore[index]
            seen.add(current.id)
            chain.insert(0, current)
        if chain:
            chains[product.id] = chain
    return chains


async def products_for_rights(session: AsyncSession, company_id: int) -> list[Product]:
    """Every product of a company, for identity's rights grid (plugged in by `convergence.app`)."""
    return list((await session.scalars(select(Product).where(Product.company_id == company_id)
                                       .order_by(Product.id))).all())
