"""GET /staff/statistics: the municipality's figures, for supervisors and administrators.

Clerks do not see this page: it shows the whole municipality, and a clerk's view is limited to the cases of
their departments. (A clerk's own figures would need every query here limited the way the inbox limits its
list; until then the page stays with the roles that see every case.)
"""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from backend.accounts.controllers import STAFF_DEPENDENCIES
from backend.accounts.models import SEES_ALL_CASES
from backend.accounts.services import StaffIdentity
from backend.cases.controllers import provide_cases
from backend.cases.services import CaseService
from backend.cases.workflow import OPEN_STATUSES
from backend.core.errors import Forbidden
from backend.core.i18n import gettext as _
from backend.inbox.statistics import StatisticsService


class StatisticsController(Controller):
    path = "/staff"
    dependencies = {**STAFF_DEPENDENCIES, "cases": Provide(provide_cases)}

    @get("/statistics")
    async def statistics(self, staff: NamedDependency[StaffIdentity], cases: NamedDependency[CaseService]) -> Template:
        if staff.role not in SEES_ALL_CASES:
            raise Forbidden(_("Only supervisors and administrators can open the statistics."))
        dashboard = await StatisticsService(cases).dashboard()
        return Template(
            "staff/statistics.html",
            context={"staff": staff, "stats": dashboard, "open_statuses": OPEN_STATUSES},
        )
