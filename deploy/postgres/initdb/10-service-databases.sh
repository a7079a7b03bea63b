#!/usr/bin/env bash
# Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d).
# One database and one login role per service; each role owns its own database and nothing else,
# and no role but the superuser may connect to a database it does not own.
# Needs JESH_SERVICES (space-separated names) and <NAME>_DB_PASSWORD for each name.
set -euo pipefail

: "${JESH_SERVICES:?JESH_SERVICES (the service names) is required}"

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
  password="${!password_var:-}"
  if [ -z "$password" ]; then
    echo "init: $password_var is required" >&2
    exit 1
  fi
  # psql variables quote the role name (:"role") and the password (:'password') safely.
  psql_admin -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"role" TO :"role";
SQL
  echo "init: database and role \"$service\" created"
done
