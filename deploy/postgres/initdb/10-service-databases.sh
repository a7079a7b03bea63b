#!/usr/bin/env bash
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
# One database and one login role per service; each role owns its own database and nothing else,
# and no role but the superuser may connect to a database it does not own. Beside them the role `backup`, which
# the backup service (deploy/postgres/backup.sh) dumps with: it connects to every service's database and may read
# everything (pg_read_all_data), and write nothing; and the PITR service (deploy/postgres/pitr.sh) takes base backups
# with it (REPLICATION).
# Needs JESH_SERVICES (space-separated names), <NAME>_DB_PASSWORD for each name and BACKUP_DB_PASSWORD, all checked
# before anything is created: the image runs this once, and a half-made cluster would not be made again.
set -euo pipefail

: "${JESH_SERVICES:?JESH_SERVICES (the service names) is required}"

for service in $JESH_SERVICES; do
  password_var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  if [ -z "${!password_var:-}" ]; then
    echo "init: $password_var is required" >&2
    exit 1
  fi
done
: "${BACKUP_DB_PASSWORD:?BACKUP_DB_PASSWORD (the backup role) is required}"

psql_admin() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" "$@"
}

# Nobody but the superuser connects to the maintenance databases.
psql_admin <<'SQL'
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;
SQL

for service in $JESH_SERVICES; do
  password_var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="${!password_var}"
  # psql variables quote the role name (:"role") and the password (:'password') safely.
  psql_admin -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
SQL
  echo "init: database and role \"$service\" created"
done

psql_admin -v password="$BACKUP_DB_PASSWORD" <<'SQL'
CREATE ROLE backup LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE REPLICATION IN ROLE pg_read_all_data;
SQL
# Base backups (deploy/postgres/pitr.sh) are a replication connection, which "all" in pg_hba.conf does not match:
# the backup role may make one from the backend network, with its password. The image restarts the server after
# these scripts, so the line is read then.
if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/pg_hba.conf" ]; then
  echo "host replication backup all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi
for service in $JESH_SERVICES; do
  psql_admin -v db="$service" <<'SQL'
GRANT CONNECT ON DATABASE :"db" TO backup;
SQL
done
echo "init: role \"backup\" created (reads every service's database, writes none; takes base backups)"
