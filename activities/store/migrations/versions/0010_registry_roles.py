"""The registry names each matter's coordinator and supervisors, per matter or per locality.

Revision ID: 0010_registry_roles
Revises: 0009_credentials
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_registry_roles"
down_revision = "0009_credentials"
branch_labels = None
depends_on = None

CODE = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "registry_roles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("matter_code", CODE, nullable=True),
        sa.Column("area_code", CODE, nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("department_code", CODE, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_roles")),
        sa.ForeignKeyConstraint(
            ["matter_code"],
            ["collaboration_matters.code"],
            name=op.f("fk_registry_roles_matter_code_collaboration_matters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["area_code"], ["departments.code"], name=op.f("fk_registry_roles_area_code_departments")
        ),
        sa.ForeignKeyConstraint(
            ["department_code"], ["departments.code"], name=op.f("fk_registry_roles_department_code_departments")
        ),
        sa.CheckConstraint("role IN ('coordinator', 'supervisor')", name=op.f("ck_registry_roles_role")),
        sa.CheckConstraint("matter_code IS NULL OR area_code IS NULL", name=op.f("ck_registry_roles_one_scope")),
    )
    op.create_index(op.f("ix_registry_roles_matter_code"), "registry_roles", ["matter_code"])
    op.create_index(op.f("ix_registry_roles_area_code"), "registry_roles", ["area_code"])
    op.create_index(
        "uq_registry_roles_scope_role_department",
        "registry_roles",
        [sa.text("coalesce(matter_code, '')"), sa.text("coalesce(area_code, '')"), "role", "department_code"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("registry_roles")
