"""Which cases of the municipality a staff member works on: the one rule every staff lookup of a case applies.

Supervisors and admins see every case; a clerk sees the cases of their departments (a case without a
department is for supervisors and admins only, so a clerk without a department sees none). The rule is
held by ``CaseService`` (a case page, its files and every change of a case: 404 outside it) and by
``InboxService`` (lists, counts and anything built on them). ``accounts.departments.case_scope`` says which
departments a person works for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from backend.cases.models import Case


@dataclass(frozen=True)
class CaseScope:
    # The person the scope belongs to (the inbox's "mine"); None outside a staff request.
    user_id: uuid.UUID | None = None
    # The departments whose cases they see; None: every case of the municipality.
    departments: frozenset[uuid.UUID] | None = None

    @property
    def sees_all(self) -> bool:
        return self.departments is None

    def allows(self, department_id: uuid.UUID | None) -> bool:
        return self.departments is None or (department_id is not None and department_id in self.departments)

    def condition(self) -> ColumnElement[bool]:
        """The rule as a condition on ``Case`` (true for everything when the person sees every case)."""
        if self.departments is None:
            return true()
        if not self.departments:
            return false()
        return Case.department_id.in_(sorted(self.departments))


# Citizens (by their tracking token), jobs and the command line: the municipality's every case.
EVERY_CASE = CaseScope()
