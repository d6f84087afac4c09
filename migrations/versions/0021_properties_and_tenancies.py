"""Properties and tenancies: a customer's address, postcode, tenancy reference and tenancy end move
from the customer row to a property (one per distinct address and postcode) and a tenancy linking
the customer to it, so a customer can move and a marker can be on a place

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "property",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reference", sa.String(40), nullable=False, unique=True),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("postcode", sa.String(12), nullable=False),
        sa.Column("uprn", sa.String(12), nullable=True, unique=True),
    )
    op.create_index("ix_property_postcode", "property", ["postcode"])
    if op.get_bind().dialect.name == "postgresql":  # the substring search of check before visiting (as 0003)
        for column in ("address", "postcode", "reference"):
            op.create_index(f"ix_property_{column}_trgm", "property", [column], postgresql_using="gin",
                            postgresql_ops={column: "gin_trgm_ops"})
    op.create_table(
        "tenancy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customer.id"), nullable=False),
        sa.Column("property_id", sa.Integer(), sa.ForeignKey("property.id"), nullable=False),
        sa.Column("reference", sa.String(40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_tenancy_customer_id", "tenancy", ["customer_id"])
    op.create_index("ix_tenancy_property_id", "tenancy", ["property_id"])
    op.create_index("ix_tenancy_reference", "tenancy", ["reference"])

    conn = op.get_bind()
    customer = sa.table("customer", sa.column("id"), sa.column("address"), sa.column("postcode"),
                        sa.column("tenancy_ref"), sa.column("tenancy_ended_at"))
    prop = sa.table("property", sa.column("id"), sa.column("reference"), sa.column("address"),
                    sa.column("postcode"))
    tenancy = sa.table("tenancy", sa.column("customer_id"), sa.column("property_id"), sa.column("reference"),
                       sa.column("ended_at"))
    homes = {}  # (address, postcode) -> property id: people at one address share one property
    rows = conn.execute(sa.select(customer).order_by(customer.c.id)).all()
    for row in rows:
        address, postcode = row.address or "", row.postcode or ""
        if not (address or postcode or row.tenancy_ref or row.tenancy_ended_at):
            continue  # no address on record: no tenancy
        # a customer with a tenancy but no address gets a property of their own, not one shared
        # with everyone else whose address is unknown
        key = (address, postcode) if (address or postcode) else ("", "", row.id)
        if key not in homes:
            number = len(homes) + 1
            conn.execute(prop.insert().values(id=number, reference=f"P{number}", address=address, postcode=postcode))
            homes[key] = number
        conn.execute(tenancy.insert().values(customer_id=row.id, property_id=homes[key], reference=row.tenancy_ref,
                                             ended_at=row.tenancy_ended_at))
    if conn.dialect.name == "postgresql" and homes:
        conn.execute(sa.text("SELECT setval('property_id_seq', (SELECT max(id) FROM property))"))

    # ALTER TABLE ... DROP COLUMN, not a batch copy of the table: SQLite (3.35+) drops them in place,
    # where copying the customer table would break the foreign keys of every row referring to it
    if conn.dialect.name != "postgresql":  # PostgreSQL drops a column's indexes with it (trigram ones too)
        op.drop_index("ix_customer_postcode", table_name="customer")
        op.drop_index("ix_customer_tenancy_ref", table_name="customer")
    for column in ("address", "postcode", "tenancy_ref", "tenancy_ended_at"):
        op.execute(f"ALTER TABLE customer DROP COLUMN {column}")


def downgrade():
    with op.batch_alter_table("customer") as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(300), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("postcode", sa.String(12), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("tenancy_ref", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("tenancy_ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_customer_postcode", ["postcode"])
        batch_op.create_index("ix_customer_tenancy_ref", ["tenancy_ref"])
    # each customer's latest tenancy goes back on their row
    op.execute("""UPDATE customer SET
        address = COALESCE((SELECT p.address FROM tenancy t JOIN property p ON p.id = t.property_id
                            WHERE t.customer_id = customer.id ORDER BY t.id DESC LIMIT 1), ''),
        postcode = COALESCE((SELECT p.postcode FROM tenancy t JOIN property p ON p.id = t.property_id
                             WHERE t.customer_id = customer.id ORDER BY t.id DESC LIMIT 1), ''),
        tenancy_ref = (SELECT t.reference FROM tenancy t WHERE t.customer_id = customer.id ORDER BY t.id DESC LIMIT 1),
        tenancy_ended_at = (SELECT t.ended_at FROM tenancy t WHERE t.customer_id = customer.id
                            ORDER BY t.id DESC LIMIT 1)""")
    op.drop_table("tenancy")
    op.drop_table("property")
