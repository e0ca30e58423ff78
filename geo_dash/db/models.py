"""SQLAlchemy models.  The schema itself is created by the Alembic migrations in
``geo_dash/db/migrations``; these classes describe it for queries."""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMES = ("legacy", "2025")
LEVELS = ("province", "district", "commune")
# The day the two-tier structure took effect (Resolution 202/2025/QH15 and the
# provincial merger resolutions): legacy units end the day before.
SCHEME_2025_START = dt.date(2025, 7, 1)
LEGACY_END = dt.date(2025, 6, 30)


class Base(DeclarativeBase):
    pass


class BoundaryLoad(Base):
    """One load of boundaries (bundled or a user's file): what, when, by whom, and what was repaired."""

    __tablename__ = "boundary_load"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    loaded_by: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    scheme: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(Text)
    n_units: Mapped[int] = mapped_column(Integer)
    n_repaired: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSONB)


class AdminUnit(Base):
    """A province, district or commune of one scheme, valid for a span of time."""

    __tablename__ = "admin_unit"
    __table_args__ = (
        UniqueConstraint("scheme", "code", name="uq_admin_unit_scheme_code"),
        CheckConstraint("scheme IN ('legacy', '2025')", name="ck_admin_unit_scheme"),
        CheckConstraint("level IN ('province', 'district', 'commune')", name="ck_admin_unit_level"),
        CheckConstraint("level <> 'district' OR scheme = 'legacy'", name="ck_admin_unit_no_district_2025"),
        CheckConstraint("geom IS NULL OR ST_IsValid(geom)", name="ck_admin_unit_geom_valid"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to", name="ck_admin_unit_validity"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)
    unit_type: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(5))
    province_code: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    geom_display = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
    area_km2: Mapped[float | None] = mapped_column(Double)
    population: Mapped[int | None] = mapped_column(BigInteger)
    population_source: Mapped[str | None] = mapped_column(Text)
    geom_source: Mapped[str | None] = mapped_column(Text)
    load_id: Mapped[int | None] = mapped_column(ForeignKey("boundary_load.id"))


class Crosswalk(Base):
    """Legacy commune -> 2025 commune(s), with the share of the legacy commune that went to each."""

    __tablename__ = "crosswalk"
    __table_args__ = (
        CheckConstraint("weight >= 0 AND weight <= 1", name="ck_crosswalk_weight"),
    )
    legacy_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    new_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    weight: Mapped[float] = mapped_column(Double)
    split: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(Text)
