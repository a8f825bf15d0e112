"""JSON API of roadmaps: a product's (lines, maturity per theme projected, targets and gaps), the company's
(filtered, paginated), setting targets and owners, and both as CSV and iCalendar downloads."""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import Ctx, signed_in
from convergence.roadmap.exports import roadmap_csv, roadmap_ics
from convergence.roadmap.schemas import CompanyRoadmapPage, RoadmapLineOut, OwnerIn, ProductRoadmapOut, TargetsIn
from convergence.roadmap.services import Roadmap, RoadmapService

READ = errors(SIGNED_IN, 404)
CSV = "text/csv"
ICS = "text/calendar"
LINES_RULE = """Lines are the product's scored questions not yet compliant that were answered or given a planned date
of compliance, derived from its responses as they stand; `overdue` when the planned date has passed and the answer
is still not compliant. Read level on the product; ANS reviewers may read any product's roadmap."""


def _download(media_type: str, description: str) -> dict[int, ResponseSpec]:
    return {**READ, 200: ResponseSpec(data_container=str, media_type=media_type, description=description)}


def _file(content: str | bytes, media_type: str, name: str) -> Response[str | bytes]:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "convergence.invalid"


def csv_file(roadmap: Roadmap, name: str) -> Response[str | bytes]:
    return _file(roadmap_csv(roadmap), f"{CSV}; charset=utf-8", f"{name}.csv")


def ics_file(roadmap: Roadmap, base_url: str, name: str) -> Response[str | bytes]:
    return _file(roadmap_ics(roadmap, host(base_url)), f"{ICS}; charset=utf-8", f"{name}.ics")


class RoadmapApi(Controller):
    path = "/api/v1"
    tags = ["Roadmap"]
    guards = [signed_in]

    @get("/products/{product_id:int}/roadmap", responses=READ, description=LINES_RULE)
    async def product(self, roadmap_service: NamedDependency[RoadmapService],
                      product_id: FromPath[int]) -> ProductRoadmapOut:
        return ProductRoadmapOut.of(await roadmap_service.product(product_id))

    @put("/products/{product_id:int}/roadmap/targets", responses=errors(SIGNED_IN, BODY, 404, 409),
         description="Sets (0 to 100) or clears (null) the target maturity of some themes (managers, validate "
                     "level). 422 `unknown_theme`, `invalid_target`; 409 `busy` when someone set the same target at that moment. Answers the roadmap with its gaps.")
    async def targets(self, roadmap_service: NamedDependency[RoadmapService], product_id: FromPath[int],
                      data: JSONBody[TargetsIn]) -> ProductRoadmapOut:
        return ProductRoadmapOut.of(await roadmap_service.set_targets(product_id, data.targets))

    @put("/products/{product_id:int}/roadmap/lines/{item_code:str}/owner", responses=errors(SIGNED_IN, BODY, 404, 409),
         description="Assigns a line to an active member of the company with a right on the product (edit "
                     "level); `owner_id: null` gives it back to the answer's last editor. 422 `invalid_owner`; "
                     "404 when the product has no such line.")
    async def assign_owner(self, roadmap_service: NamedDependency[RoadmapService], product_id: FromPath[int],
                    item_code: FromPath[str], data: JSONBody[OwnerIn]) -> RoadmapLineOut:
        return RoadmapLineOut.of(await roadmap_service.set_owner(product_id, item_code, data.owner_id))

    @get("/products/{product_id:int}/roadmap.csv", media_type=CSV,
         responses=_download(CSV, "The lines as CSV: UTF-8 with a BOM, `;`-separated, formula-safe."))
    async def product_csv(self, roadmap_service: NamedDependency[RoadmapService],
                          product_id: FromPath[int]) -> Response[str | bytes]:
        return csv_file(await roadmap_service.product(product_id), f"roadmap-product-{product_id}")

    @get("/products/{product_id:int}/roadmap.ics", media_type=ICS,
         responses=_download(ICS, "The dated lines as all-day iCalendar events (RFC 5545), stable UIDs."))
    async def product_ics(self, roadmap_service: NamedDependency[RoadmapService], ctx: Ctx,
                          product_id: FromPath[int]) -> Response[str | bytes]:
        return ics_file(await roadmap_service.product(product_id), ctx.settings.base_url,
                        f"roadmap-product-{product_id}")

    @get("/roadmap", responses=READ,
         description="The lines of every product of the actor's company they may read, filtered by `theme`, "
                     "`owner` (a user id, `me` or `none`) and `overdue`, with every product's gaps to its targets.")
    async def company(self, roadmap_service: NamedDependency[RoadmapService], theme: FromQuery[str | None] = None,
                      owner: FromQuery[str | None] = None, overdue: FromQuery[bool] = False, limit: Limit = 50,
                      offset: Offset = 0) -> CompanyRoadmapPage:
        roadmap = await roadmap_service.company(theme=theme, owner=owner, overdue=overdue, limit=limit,
                                                offset=offset)
        return CompanyRoadmapPage.of(roadmap, limit, offset)

    @get("/roadmap.csv", media_type=CSV, responses=_download(CSV, "Every line (same filters) as CSV."))
    async def company_csv(self, roadmap_service: NamedDependency[RoadmapService], theme: FromQuery[str | None] = None,
                          owner: FromQuery[str | None] = None,
                          overdue: FromQuery[bool] = False) -> Response[str | bytes]:
        return csv_file(await roadmap_service.company(theme=theme, owner=owner, overdue=overdue), "roadmap")

    @get("/roadmap.ics", media_type=ICS, responses=_download(ICS, "Every dated line (same filters) as iCalendar."))
    async def company_ics(self, roadmap_service: NamedDependency[RoadmapService], ctx: Ctx,
                          theme: FromQuery[str | None] = None, owner: FromQuery[str | None] = None,
                          overdue: FromQuery[bool] = False) -> Response[str | bytes]:
        return ics_file(await roadmap_service.company(theme=theme, owner=owner, overdue=overdue),
                        ctx.settings.base_url, "roadmap")
