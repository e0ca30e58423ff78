"""An index for the whole-country map: one month of the cube across every province.

The map page's national view reads ``cube_month`` by ``(scheme, month)`` alone; the existing
indexes lead with the province (PostgreSQL 15 has no skip scan), so that read scanned the whole
cube — ~230 ms per filter change at 1,000,000 cases (benchmarks/results/scale).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_cube_month_national ON cube_month (scheme, month)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_cube_month_national")
