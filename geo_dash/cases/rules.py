"""Case-model rules: mass petitions, statutory deadlines, overdue and prolonged matters.

Every threshold is a module constant or a dataclass field so that a province
can configure it; the defaults and their legal basis are documented here.

Mass petition (đông người)
    :data:`MASS_PETITION_MIN_PEOPLE` = 5.  The law does not define "đông người"
    with a number; 5 is the threshold from which a group bringing one matter
    must appoint representatives ("từ 05 đến 10 người thì cử 01 hoặc 02 người
    đại diện") — Law on Citizen Reception 2013 (Luật Tiếp công dân, art. 30)
    and, for complaints, Decree 124/2020/NĐ-CP (formerly Decree 75/2012) —
    and is the usual reporting convention for "khiếu kiện đông người".
    :func:`is_mass`: a value given in the file wins; otherwise it is derived
    from the number of people.

Statutory deadline (thời hạn giải quyết)
    :class:`DeadlineRule` defaults follow the Law on Complaints 2011, art. 28
    (first-instance resolution): at most 30 days, 45 for complex matters;
    in remote areas with difficult travel (vùng sâu, vùng xa) 45 and 60 days —
    i.e. +15 days.  The law counts from the date of acceptance (ngày thụ lý),
    which may be up to 10 days after receipt (art. 27); geo_dash only knows
    the received date, so it counts from that date plus
    ``acceptance_lag_days`` (default 0 — the earliest, strictest reading; set
    10 for the latest legal deadline).  Days are calendar days and, as in the
    Civil Code 2015 (art. 147), the starting day is not counted: received on
    1 March + 30 days → deadline 31 March.  The shift of a deadline that falls
    on a public holiday (Civil Code art. 148) is not modelled.
    Denunciations (Law on Denunciations 2018, art. 30: 30 days, extendable by
    30 once, twice for especially complex matters) and petitions/feedback get
    the same rule unless the file gives "Hạn giải quyết": configure a
    different :class:`DeadlineRule` per import if needed.

Overdue (quá hạn) and prolonged (kéo dài)
    A matter is *open* while its status is in
    :data:`~geo_dash.cases.vocab.OPEN_STATUSES` (tiếp nhận, đang giải quyết).
    :func:`is_overdue`: open and ``as_of`` is after the deadline.
    :func:`is_prolonged`: open and older than :data:`PROLONGED_AFTER_DAYS`
    (90) days since receipt.  "Kéo dài" has no legal number; 90 days is twice
    the longest ordinary first-instance time limit (45 days) and is a
    dashboard convention, configurable per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from geo_dash.cases.vocab import OPEN_STATUSES

__all__ = [
    "MASS_PETITION_MIN_PEOPLE",
    "PROLONGED_AFTER_DAYS",
    "DeadlineRule",
    "is_mass",
    "statutory_deadline",
    "is_open",
    "is_overdue",
    "is_prolonged",
]

MASS_PETITION_MIN_PEOPLE = 5
PROLONGED_AFTER_DAYS = 90


def is_mass(people_count: int | None, given: bool | None = None, *, min_people: int = MASS_PETITION_MIN_PEOPLE) -> bool:
    """Whether a matter is a mass petition (đông người).

    ``given`` (the file's "Đông người" column) wins when it is not None;
    otherwise ``people_count >= min_people``; an unknown count gives False.

    >>> is_mass(5), is_mass(4), is_mass(None), is_mass(2, given=True)
    (True, False, False, True)
    """
    if given is not None:
        return bool(given)
    if people_count is None:
        return False
    return people_count >= min_people


@dataclass(frozen=True)
class DeadlineRule:
    """Resolution time limit in calendar days (Law on Complaints 2011, art. 28)."""

    days: int = 30
    complex_days: int = 45
    remote_extra_days: int = 15
    acceptance_lag_days: int = 0

    def days_for(self, complex: bool = False, remote: bool = False) -> int:
        total = self.complex_days if complex else self.days
        if remote:
            total += self.remote_extra_days
        return total + self.acceptance_lag_days


def statutory_deadline(
    received_date: date, complex: bool = False, remote: bool = False, rule: DeadlineRule = DeadlineRule()
) -> date:
    """Deadline for resolving a matter received on ``received_date``.

    >>> statutory_deadline(date(2024, 3, 1))
    datetime.date(2024, 3, 31)
    >>> statutory_deadline(date(2024, 3, 1), complex=True, remote=True)
    datetime.date(2024, 4, 30)
    """
    return received_date + timedelta(days=rule.days_for(complex=complex, remote=remote))


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


def is_overdue(deadline_date: date | None, status: str, as_of: date) -> bool:
    """Open and past its deadline on ``as_of`` (the deadline day itself is still on time)."""
    return deadline_date is not None and is_open(status) and as_of > deadline_date


def is_prolonged(
    received_date: date, status: str, as_of: date, threshold_days: int = PROLONGED_AFTER_DAYS
) -> bool:
    """Open and received more than ``threshold_days`` days before ``as_of`` (kéo dài).

    >>> is_prolonged(date(2024, 1, 1), "dang_giai_quyet", date(2024, 4, 1))
    True
    >>> is_prolonged(date(2024, 1, 1), "da_giai_quyet", date(2024, 12, 1))
    False
    """
    return is_open(status) and (as_of - received_date).days > threshold_days
