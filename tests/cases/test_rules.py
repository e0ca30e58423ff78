from datetime import date

import pytest

from geo_dash.cases import rules
from geo_dash.cases.rules import (
    MASS_PETITION_MIN_PEOPLE,
    PROLONGED_AFTER_DAYS,
    DeadlineRule,
    is_mass,
    is_overdue,
    is_prolonged,
    statutory_deadline,
)


def test_mass_threshold_is_five_people():
    assert MASS_PETITION_MIN_PEOPLE == 5
    assert is_mass(4) is False
    assert is_mass(5) is True
    assert is_mass(120) is True
    assert is_mass(None) is False


def test_given_mass_flag_wins_over_the_count():
    assert is_mass(1, given=True) is True
    assert is_mass(50, given=False) is False
    assert is_mass(None, given=True) is True
    assert is_mass(7, given=None) is True


def test_mass_threshold_is_configurable():
    assert is_mass(5, min_people=10) is False
    assert is_mass(10, min_people=10) is True


@pytest.mark.parametrize(
    "complex_,remote,days",
    [(False, False, 30), (True, False, 45), (False, True, 45), (True, True, 60)],
)
def test_law_on_complaints_art_28_defaults(complex_, remote, days):
    received = date(2024, 3, 1)
    deadline = statutory_deadline(received, complex=complex_, remote=remote)
    assert (deadline - received).days == days


def test_deadline_does_not_count_the_received_day_and_crosses_year_ends():
    assert statutory_deadline(date(2024, 3, 1)) == date(2024, 3, 31)
    assert statutory_deadline(date(2024, 12, 15)) == date(2025, 1, 14)
    assert statutory_deadline(date(2024, 2, 1)) == date(2024, 3, 2)  # leap year


def test_deadline_rule_is_configurable():
    lag = DeadlineRule(acceptance_lag_days=10)  # latest legal reading: thụ lý up to 10 days after receipt
    assert statutory_deadline(date(2024, 3, 1), rule=lag) == date(2024, 4, 10)
    denunciation = DeadlineRule(days=30, complex_days=60, remote_extra_days=0)
    assert statutory_deadline(date(2024, 3, 1), complex=True, remote=True, rule=denunciation) == date(2024, 4, 30)
    assert DeadlineRule().days_for(complex=True, remote=True) == 60


def test_overdue_only_when_open_and_after_the_deadline_day():
    deadline = date(2024, 3, 31)
    assert is_overdue(deadline, "dang_giai_quyet", date(2024, 4, 1)) is True
    assert is_overdue(deadline, "tiep_nhan", date(2024, 4, 1)) is True
    assert is_overdue(deadline, "dang_giai_quyet", date(2024, 3, 31)) is False
    assert is_overdue(deadline, "da_giai_quyet", date(2025, 1, 1)) is False
    assert is_overdue(deadline, "rut_don", date(2025, 1, 1)) is False
    assert is_overdue(None, "dang_giai_quyet", date(2025, 1, 1)) is False


def test_prolonged_is_open_and_older_than_the_threshold():
    assert PROLONGED_AFTER_DAYS == 90
    received = date(2024, 1, 1)
    assert is_prolonged(received, "dang_giai_quyet", date(2024, 3, 31)) is False  # 90 days
    assert is_prolonged(received, "dang_giai_quyet", date(2024, 4, 1)) is True  # 91 days
    assert is_prolonged(received, "tiep_nhan", date(2024, 4, 1)) is True
    assert is_prolonged(received, "da_giai_quyet", date(2030, 1, 1)) is False
    assert is_prolonged(received, "khong_thu_ly", date(2030, 1, 1)) is False
    assert is_prolonged(received, "dang_giai_quyet", date(2024, 2, 15), threshold_days=30) is True


def test_is_open():
    assert rules.is_open("tiep_nhan") and rules.is_open("dang_giai_quyet")
    assert not rules.is_open("da_giai_quyet")
