"""JSON API of semester publications: publishing and withdrawing (ANS support), the standing publications
(anyone: anonymised figures), and a product's comparison with the latest one (whoever may read the product)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.params import FromPath, JSONBody, Limit, Offset
from convergence.identity.web import signed_in
from convergence.publications.schemas import ComparisonOut, PublicationOut, PublicationPage, PublishIn, WithdrawIn
from convergence.publications.services import PublicationService

PUBLISH_RULE = """Publishes the semester's anonymised snapshot of the market (ANS support): per step and theme,
how many products and companies, the mean, quartiles, extremes and the distribution over maturity bands, computed
from the products whose step is validated. A cell fewer than 5 companies stand behind is suppressed. The figures
are frozen: later changes to responses do not alter them. `label` defaults to the current semester; the one just
ended may be given. 422 `invalid_label` / `invalid_semester`; 409 `already_published` (one standing publication per
semester: withdraw it first) or `empty_market`."""


class PublicationsApi(Controller):
    path = "/api/v1"
    tags = ["Publications"]

    @post("/publications", status_code=201, guards=[signed_in], description=PUBLISH_RULE,
          responses=errors(SIGNED_IN, BODY, 409))
    async def publish(self, publication_service: NamedDependency[PublicationService],
                      data: JSONBody[PublishIn]) -> PublicationOut:
        return PublicationOut.of(await publication_service.publish(data.label))

    @get("/publications", responses=errors(),
         description="Anyone: the standing publications, newest semester first, without their figures (ANS "
                     "support also sees the withdrawn ones).")
    async def list_publications(self, publication_service: NamedDependency[PublicationService], limit: Limit = 50,
                                offset: Offset = 0) -> PublicationPage:
        rows, total = await publication_service.listing(limit, offset)
        return PublicationPage(items=[PublicationOut.of(p, full=False) for p in rows], total=total, limit=limit,
                               offset=offset)

    @get("/publications/{publication_id:int}", responses=errors(404),
         description="Anyone: a standing publication with its figures per step and theme (404 once withdrawn, "
                     "except for ANS support).")
    async def publication(self, publication_service: NamedDependency[PublicationService],
                          publication_id: FromPath[int]) -> PublicationOut:
        return PublicationOut.of(await publication_service.get(publication_id))

    @post("/publications/{publication_id:int}/withdraw", status_code=200, guards=[signed_in],
          responses=errors(SIGNED_IN, BODY, 404, 409),
          description="ANS support: withdraws a publication (it leaves the public list and the comparisons, and "
                      "its semester may be published again). 409 `already_withdrawn`.")
    async def withdraw(self, publication_service: NamedDependency[PublicationService],
                       publication_id: FromPath[int], data: JSONBody[WithdrawIn]) -> PublicationOut:
        return PublicationOut.of(await publication_service.withdraw(publication_id, data.reason))

    @get("/products/{product_id:int}/comparison", guards=[signed_in], responses=errors(SIGNED_IN, 404),
         description="Whoever may read the product: its maturity per step and theme beside the latest "
                     "publication's median and quartiles.")
    async def comparison(self, publication_service: NamedDependency[PublicationService],
                         product_id: FromPath[int]) -> ComparisonOut:
        return ComparisonOut.of(await publication_service.comparison(product_id))
