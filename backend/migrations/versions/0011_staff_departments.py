"""staff and departments: supervisor role, departments with members, services routed to them, deactivated
memberships, password reset links, outbox e-mails without a case

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import datetime
import uuid

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

GUID = advanced_alchemy.types.guid.GUID(length=16)
STAMP = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("tenant_id", GUID, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("updated_at", STAMP, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "department",
        sa.Column("id", GUID, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_department_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_department_name"),
    )
    op.create_index(op.f("ix_department_tenant_id"), "department", ["tenant_id"])
    op.create_table(
        "department_member",
        sa.Column("id", GUID, nullable=False),
        sa.Column("department_id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_department_member_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_department_member_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_department_member_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_member")),
        sa.UniqueConstraint("department_id", "user_id", name="uq_department_member"),
    )
    op.create_index(op.f("ix_department_member_tenant_id"), "department_member", ["tenant_id"])
    op.create_index(op.f("ix_department_member_department_id"), "department_member", ["department_id"])
    op.create_index(op.f("ix_department_member_user_id"), "department_member", ["user_id"])
    op.create_table(
        "password_reset",
        sa.Column("id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", STAMP, nullable=False),
        sa.Column("used_at", STAMP, nullable=True),
        *_audit(),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_password_reset_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_password_reset_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_token_hash")),
    )
    op.create_index(op.f("ix_password_reset_tenant_id"), "password_reset", ["tenant_id"])
    op.create_index(op.f("ix_password_reset_user_id"), "password_reset", ["user_id"])
    with op.batch_alter_table("membership") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("department_id", GUID, nullable=True))
        batch.create_foreign_key(
            batch.f("fk_service_department_id_department"), "department", ["department_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index(batch.f("ix_service_department_id"), ["department_id"], unique=False)
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("case_id", existing_type=GUID, nullable=True)
    _departments_from_names()


def _departments_from_names() -> None:
    """Each distinct department name of a municipality's services becomes a department the services route to."""
    bind = op.get_bind()
    service = sa.table(
        "service",
        sa.column("id", GUID),
        sa.column("tenant_id", GUID),
        sa.column("department", sa.String()),
        sa.column("department_id", GUID),
    )
    department = sa.table(
        "department",
        sa.column("id", GUID),
        sa.column("tenant_id", GUID),
        sa.column("name", sa.String()),
        sa.column("created_at", STAMP),
        sa.column("updated_at", STAMP),
    )
    now = datetime.datetime.now(datetime.UTC)
    rows = bind.execute(sa.select(service.c.tenant_id, service.c.department).distinct()).all()
    made: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
    for tenant_id, raw in rows:
        name = " ".join((raw or "").split())[:120]
        if not name:
            continue
        key = (tenant_id, name.casefold())
        if key not in made:
            made[key] = uuid.uuid4()
            values = {"id": made[key], "tenant_id": tenant_id, "name": name, "created_at": now, "updated_at": now}
            bind.execute(sa.insert(department).values(**values))
        bind.execute(
            sa.update(service)
            .where(service.c.tenant_id == tenant_id, service.c.department == raw)
            .values(department_id=made[key])
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("case_id", existing_type=GUID, nullable=False)
    with op.batch_alter_table("service") as batch:
        batch.drop_index(batch.f("ix_service_department_id"))
        batch.drop_constraint(batch.f("fk_service_department_id_department"), type_="foreignkey")
        batch.drop_column("department_id")
    with op.batch_alter_table("membership") as batch:
        batch.drop_column("active")
    op.drop_index(op.f("ix_password_reset_user_id"), table_name="password_reset")
    op.drop_index(op.f("ix_password_reset_tenant_id"), table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_index(op.f("ix_department_member_user_id"), table_name="department_member")
    op.drop_index(op.f("ix_department_member_department_id"), table_name="department_member")
    op.drop_index(op.f("ix_department_member_tenant_id"), table_name="department_member")
    op.drop_table("department_member")
    op.drop_index(op.f("ix_department_tenant_id"), table_name="department")
    op.drop_table("department")
