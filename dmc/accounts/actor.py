"""The acting user in one chosen role: the unit every service and selector is scoped by."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dmc.accounts.models import ROLE_EN, SCHOOL_ROLES, Role, RoleAssignment, User
from dmc.core.errors import DmcError, ErrorCode

if TYPE_CHECKING:
    from dmc.schools.models import AreaOffice, School


@dataclass(frozen=True)
class Actor:
    user: User
    role: str
    assignment_id: int | None
    school_id: int | None = None
    area_id: int | None = None
    #: the own school (school roles) as loaded with the assignment, with its area: lets
    #: ``schools.selectors.school_get`` answer for it without reading it again
    own_school: School | None = field(default=None, compare=False, repr=False)
    #: likewise the own area office (area roles)
    own_area: AreaOffice | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_assignment(cls, assignment: RoleAssignment, *, request_scoped: bool = False) -> Actor:
        """The actor of a role assignment. ``request_scoped``: the assignment was loaded with its
        school and the school's area for this one request (the session or token check), so the
        actor may carry that school (never for an actor kept longer: it would go stale)."""
        area_id = assignment.area_id
        if assignment.school is not None:
            area_id = assignment.school.area_id
        return cls(
            user=assignment.user,
            role=assignment.role,
            assignment_id=assignment.pk,
            school_id=assignment.school_id,
            area_id=area_id,
            own_school=assignment.school if request_scoped else None,
            own_area=assignment.area if request_scoped else None,
        )

    @property
    def is_school(self) -> bool:
        return self.role in SCHOOL_ROLES

    @property
    def is_area(self) -> bool:
        return self.role == Role.AREA_OFFICER

    @property
    def is_obec(self) -> bool:
        return self.role == Role.OBEC_ADMIN

    def covers_school(self, school_id: int, area_id: int) -> bool:
        """True when the school is inside this actor's scope."""
        if self.is_obec:
            return True
        if self.is_area:
            return area_id == self.area_id
        return school_id == self.school_id

    def require_role(self, *roles: str) -> None:
        if self.role not in roles:
            raise DmcError(
                ErrorCode.ROLE_NOT_ALLOWED,
                http_status=403,
                role_th=Role(self.role).label,
                role_en=ROLE_EN[Role(self.role)],
            )


def api_actor(request: object) -> Actor:
    """The actor an API request authenticated as (set by the API's auth classes)."""
    actor = getattr(request, "auth", None)
    if not isinstance(actor, Actor):
        raise DmcError(ErrorCode.NOT_AUTHENTICATED, http_status=401)
    return actor
