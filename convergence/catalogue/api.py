"""JSON API of the public catalogue: read-only, open to anyone (no sign-in)."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from convergence.catalogue.schemas import CatalogueEntryOut, CatalogueEntryPage
from convergence.catalogue.services import CatalogueService
from convergence.core.api_docs import errors
from convergence.core.params import FromPath, FromQuery, Limit, Offset


class CatalogueApi(Controller):
    path = "/api/v1/catalogue"
    tags = ["Catalogue"]

    @get("/", responses=errors())
    async def list_entries(self, catalogue_service: NamedDependency[CatalogueService],
                           q: FromQuery[str | None] = None, category: FromQuery[str | None] = None,
                           step: FromQuery[str | None] = None, limit: Limit = 50,
                           offset: Offset = 0) -> CatalogueEntryPage:
        """The products referenced in the Mon Espace Santé catalogue, by commercial name (accents and case
        ignored). `q` searches the commercial name, the vendor and the description (every word must match,
        accents and case ignored); `category` is a category code, `step` a Mon Espace Santé step code
        (`mes-without-exchange`, `mes-with-exchange`)."""
        query = await catalogue_service.parse({"q": q, "category": category, "step": step})
        page = await catalogue_service.search(query, limit, offset)
        return CatalogueEntryPage(items=[CatalogueEntryOut.of(e) for e in page.entries], total=page.total,
                                  limit=limit, offset=offset)

    @get("/{listing_id:int}", responses=errors(404))
    async def show_entry(self, catalogue_service: NamedDependency[CatalogueService],
                         listing_id: FromPath[int]) -> CatalogueEntryOut:
        """One entry; an id that is not a referenced product (unknown, under review, refused) answers 404. The
        id of a referencing since renewed answers the current entry."""
        current = await catalogue_service.current_id(listing_id)
        return CatalogueEntryOut.of(await catalogue_service.entry(current or listing_id))
