"""The 0.1 clinic schema: patients, courses, sessions, pulses, outcomes (totals only).

Revision ID: 0001
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(200)),
        sa.Column("birth_date", sa.String(10)),
        sa.Column("sex", sa.String(20)),
        sa.Column("mrn", sa.String(64)),
        sa.Column("created_utc", sa.String(40), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_patients"),
        sa.UniqueConstraint("pseudonym", name="uq_patients_pseudonym"))
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("indication", sa.String(200), nullable=False),
        sa.Column("target_name", sa.String(200), nullable=False),
        sa.Column("targets", sa.JSON()),
        sa.Column("mri_path", sa.Text(), nullable=False),
        sa.Column("mri_sha256", sa.String(64), nullable=False),
        sa.Column("mri_from_mni", sa.JSON()),
        sa.Column("coil_model_id", sa.String(100), nullable=False),
        sa.Column("coil_calibration", sa.JSON()),
        sa.Column("pointer_calibration", sa.JSON()),
        sa.Column("plan_folder", sa.Text(), nullable=False),
        sa.Column("intensity_pct_rmt", sa.Float(), nullable=False),
        sa.Column("pattern", sa.String(50), nullable=False),
        sa.Column("frequency_hz", sa.Float()),
        sa.Column("pulses_per_session", sa.Integer(), nullable=False),
        sa.Column("sessions_planned", sa.Integer(), nullable=False),
        sa.Column("sessions_per_day", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_utc", sa.String(40), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_courses"),
        sa.UniqueConstraint("uid", name="uq_courses_uid"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE",
                                name="fk_courses_patient_id_patients"))
    op.create_index("ix_courses_patient_id", "courses", ["patient_id"])
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(64), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_utc", sa.String(40), nullable=False),
        sa.Column("ended_utc", sa.String(40)),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("folder", sa.Text(), nullable=False),
        sa.Column("registration", sa.JSON()),
        sa.Column("registration_error_mm", sa.Float()),
        sa.Column("calibrations", sa.JSON()),
        sa.Column("motor_threshold_pct_mso", sa.Float()),
        sa.Column("intensity_pct_mso", sa.Float()),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("pulses_total", sa.Integer(), nullable=False),
        sa.Column("pulses_with_pose", sa.Integer(), nullable=False),
        sa.Column("pulses_on_target", sa.Integer(), nullable=False),
        sa.Column("median_error_mm", sa.Float()),
        sa.Column("p95_error_mm", sa.Float()),
        sa.Column("events_synced_seq", sa.Integer(), nullable=False),
        sa.Column("updated_utc", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.UniqueConstraint("uid", name="uq_sessions_uid"),
        sa.UniqueConstraint("course_id", "number", name="uq_sessions_course_id_number"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE",
                                name="fk_sessions_course_id_courses"))
    op.create_table(
        "pulses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("wall_time_utc", sa.String(40), nullable=False),
        sa.Column("host_time_ns", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("sequence", sa.Integer()),
        sa.Column("output_pct_mso", sa.Float()),
        sa.Column("didt_a_per_us", sa.Float()),
        sa.Column("x_mm", sa.Float()),
        sa.Column("y_mm", sa.Float()),
        sa.Column("z_mm", sa.Float()),
        sa.Column("mri_from_hotspot", sa.JSON()),
        sa.Column("pose_reason", sa.Text(), nullable=False),
        sa.Column("target_name", sa.String(200)),
        sa.Column("position_error_mm", sa.Float()),
        sa.Column("angle_error_rad", sa.Float()),
        sa.Column("depth_error_mm", sa.Float()),
        sa.Column("twist_error_rad", sa.Float()),
        sa.Column("within_tolerance", sa.Boolean()),
        sa.PrimaryKeyConstraint("id", name="pk_pulses"),
        sa.UniqueConstraint("session_id", "index", name="uq_pulses_session_id_index"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE",
                                name="fk_pulses_session_id_sessions"))
    op.create_table(
        "outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer()),
        sa.Column("scale", sa.String(20), nullable=False),
        sa.Column("assessed_on", sa.String(10), nullable=False),
        sa.Column("timepoint", sa.String(100), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("rater", sa.String(100), nullable=False),
        sa.Column("entered_utc", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outcomes"),
        sa.UniqueConstraint("uid", name="uq_outcomes_uid"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE",
                                name="fk_outcomes_course_id_courses"),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="SET NULL",
                                name="fk_outcomes_session_id_sessions"))
    op.create_index("ix_outcomes_course_id", "outcomes", ["course_id"])


def downgrade() -> None:
    for table in ("outcomes", "pulses", "sessions", "courses", "patients"):
        op.drop_table(table)
