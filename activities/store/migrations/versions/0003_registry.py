"""Registry (兩庫一單): departments and their functions, collaboration matters with limits, the roster.

Revision ID: 0003_registry
Revises: 0001_foundation
"""

import sqlalchemy as sa
from alembic import op

from activities.store.base import AwareDateTime

revision = "0003_registry"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None

CODE = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("code", CODE, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", CODE, nullable=True),
        sa.Column("is_locality", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(500), nullable=True),
        sa.Column("secret_ref", sa.String(100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_departments")),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["departments.code"], name=op.f("fk_departments_parent_code_departments")
        ),
        sa.CheckConstraint("level IN ('city', 'county', 'district', 'zone')", name=op.f("ck_departments_level")),
    )
    op.create_index(op.f("ix_departments_parent_code"), "departments", ["parent_code"])

    op.create_table(
        "department_functions",
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("item_code", CODE, nullable=False),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("department_code", "item_kind", "item_code", name=op.f("pk_department_functions")),
        sa.ForeignKeyConstraint(
            ["department_code"],
            ["departments.code"],
            name=op.f("fk_department_functions_department_code_departments"),
        ),
        sa.CheckConstraint("item_kind IN ('approval', 'supervision')", name=op.f("ck_department_functions_item_kind")),
    )
    op.create_index("ix_department_functions_item", "department_functions", ["item_kind", "item_code"])

    op.create_table(
        "collaboration_matters",
        sa.Column("code", CODE, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(32), nullable=True),
        sa.Column("theme", sa.String(100), nullable=True),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("trigger_item", CODE, nullable=True),
        sa.Column("target_item", CODE, nullable=True),
        sa.Column("claim_mode", sa.String(16), nullable=False),
        sa.Column("card_profile", sa.String(64), nullable=False),
        sa.Column("statutory_limit_amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("statutory_limit_unit", sa.String(16), nullable=True),
        sa.Column("extension_cap_amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("extension_cap_unit", sa.String(16), nullable=True),
        sa.Column("max_extensions", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", AwareDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_collaboration_matters")),
    )
    op.create_index("ix_collaboration_matters_trigger", "collaboration_matters", ["trigger", "trigger_item"])

    op.create_table(
        "matter_parties",
        sa.Column("matter_code", CODE, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("matter_code", "role", "department_code", name=op.f("pk_matter_parties")),
        sa.ForeignKeyConstraint(
            ["matter_code"],
            ["collaboration_matters.code"],
            name=op.f("fk_matter_parties_matter_code_collaboration_matters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_matter_parties_department_code_departments")
        ),
    )

    op.create_table(
        "matter_step_limits",
        sa.Column("matter_code", CODE, nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("matter_code", "step", name=op.f("pk_matter_step_limits")),
        sa.ForeignKeyConstraint(
            ["matter_code"],
            ["collaboration_matters.code"],
            name=op.f("fk_matter_step_limits_matter_code_collaboration_matters"),
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "roster",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("matter_code", CODE, nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("person_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster")),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_roster_department_code_departments")
        ),
        sa.ForeignKeyConstraint(
            ["matter_code"], ["collaboration_matters.code"], name=op.f("fk_roster_matter_code_collaboration_matters")
        ),
        sa.CheckConstraint("role IN ('liaison', 'backup')", name=op.f("ck_roster_role")),
    )
    op.create_index(op.f("ix_roster_department_code"), "roster", ["department_code"])
    op.create_index(
        "uq_roster_department_matter_role",
        "roster",
        ["department_code", sa.text("coalesce(matter_code, '')"), "role"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("roster")
    op.drop_table("matter_step_limits")
    op.drop_table("matter_parties")
    op.drop_index("ix_collaboration_matters_trigger", table_name="collaboration_matters")
    op.drop_table("collaboration_matters")
    op.drop_index("ix_department_functions_item", table_name="department_functions")
    op.drop_table("department_functions")
    op.drop_index(op.f("ix_departments_parent_code"), table_name="departments")
    op.drop_table("departments")
