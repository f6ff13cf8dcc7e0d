#!/bin/sh
# One-shot: create Temporal's PostgreSQL databases and bring their schemas up to date with
# `temporal-sql-tool` from the temporalio/admin-tools image (the temporalio/server image does not set up
# its database; the old auto-setup image is no longer built).
#   https://docs.temporal.io/self-hosted-guide/setup#postgresql
#   schema folders: /etc/temporal/schema/postgresql/v12/{temporal,visibility}/versioned in admin-tools
set -eu
: "${POSTGRES_SEEDS:?}" "${DB_PORT:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
export SQL_PASSWORD="$POSTGRES_PWD"
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }

# compose starts this once PostgreSQL's health check passes (depends_on: service_healthy).
schema=/etc/temporal/schema/postgresql/v12
for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  dir=${pair##*:}
  tool --db "$db" create-database || true # already there on a second run
  tool --db "$db" setup-schema -v 0.0 || true # the versioning table; a no-op once set up
  tool --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo "temporal-schema: $DBNAME and $VISIBILITY_DBNAME up to date"
