#!/usr/bin/env bash
# Restore databases from a backup made by backup.sh (deploy/README.md, "Backups").
#
#   restore.sh BACKUP [DATABASE ...]     BACKUP: a folder of BACKUP_DIR (its name, or a path); no DATABASE: all of it
#
# Each database is restored into a new database first (<name>_restoring, in one transaction); if any archive does
# not restore whole, nothing changes. Only then, all in one transaction, is each live one renamed
# <name>_before_<backup time> (kept until you drop it) and the restored one given its name, with the live one's
# owner and CONNECT rules. The service must be stopped: a database someone is connected to is refused, not cut off.
# Run it as a superuser: in compose, `docker compose exec -u postgres postgres jesh-restore.sh ...` (the postgres
# container mounts it and the backups; its local socket needs no password). Environment: the usual PGHOST,
# PGPORT, PGUSER, PGPASSWORD when run elsewhere; BACKUP_DIR (/backups).
set -euo pipefail

BACKUP_DIR="${BACKUP_DIR:-/backups}"
if [ $# -lt 1 ]; then
  echo "usage: restore.sh BACKUP [DATABASE ...]   (backups: backup.sh list)" >&2
  exit 2
fi
backup="$1"
shift
[ -d "$backup" ] || backup="$BACKUP_DIR/$backup"
if [ ! -f "$backup/COMPLETE" ]; then
  echo "restore: $backup is not a complete backup (no COMPLETE): refused" >&2
  exit 1
fi
if [ $# -gt 0 ]; then
  databases="$*"
else
  databases="$(cd "$backup" && ls -1 -- *.dump | sed 's/\.dump$//')"
fi
suffix="$(basename "$backup" | tr -c 'A-Za-z0-9\n' '_' | tr 'A-Z' 'a-z')"

psql_admin() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --quiet --tuples-only --no-align --dbname=postgres "$@"
}

owner_of() {
  psql_admin -v db="$1" <<'SQL'
SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = :'db';
SQL
}

# Everything is checked before anything changes.
for database in $databases; do
  if ! [[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]]; then
    echo "restore: '$database' is not a service's database name" >&2
    exit 1
  fi
  if [ ! -f "$backup/$database.dump" ]; then
    echo "restore: $backup has no $database.dump" >&2
    exit 1
  fi
  owner="$(owner_of "$database")"
  if [ -z "$owner" ]; then
    echo "restore: no database $database on this server (create it with the init script first)" >&2
    exit 1
  fi
  connected="$(psql_admin -v db="$database" <<'SQL'
SELECT count(*) FROM pg_stat_activity WHERE datname = :'db';
SQL
)"
  if [ "$connected" != "0" ]; then
    echo "restore: $connected connections to $database: stop its service first (docker compose stop ...)," \
      "or wait for a backup in progress" >&2
    exit 1
  fi
  if [ -n "$(owner_of "${database}_before_$suffix")" ]; then
    echo "restore: ${database}_before_$suffix exists already (restored from this backup before): drop it first" >&2
    exit 1
  fi
done

drop_staging() {
  local database
  for database in $databases; do
    psql_admin -v db="${database}_restoring" <<'SQL'
DROP DATABASE IF EXISTS :"db";
SQL
  done
}

# Each archive into a new database of its own; one that does not restore whole: nothing changes at all.
drop_staging
for database in $databases; do
  owner="$(owner_of "$database")"
  psql_admin -v db="${database}_restoring" -v owner="$owner" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
  # Who may connect stays as it is on the live database (the service's role, the backup role).
  psql_admin -v db="$database" <<'SQL' | while IFS="|" read -r privilege role; do
SELECT a.privilege_type, quote_ident(r.rolname)
FROM pg_database d, aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE d.datname = :'db' AND a.privilege_type IN ('CONNECT', 'TEMPORARY');
SQL
    if [ -n "$privilege" ]; then  # not `&&`: a false last test would fail the pipeline (pipefail, set -e)
      echo "GRANT $privilege ON DATABASE \"${database}_restoring\" TO $role;"
    fi
  done | psql_admin
  if ! pg_restore --no-password --exit-on-error --single-transaction --dbname="${database}_restoring" \
      "$backup/$database.dump"; then
    drop_staging
    echo "restore: $database could not be restored from $backup: no database was changed" >&2
    exit 1
  fi
done

# Then every swap in one transaction: the live databases are renamed <name>_before_<backup>, the restored ones
# take their names.
{
  echo "BEGIN;"
  for database in $databases; do
    echo "ALTER DATABASE \"$database\" RENAME TO \"${database}_before_$suffix\";"
    echo "ALTER DATABASE \"${database}_restoring\" RENAME TO \"$database\";"
  done
  echo "COMMIT;"
} | psql_admin
for database in $databases; do
  echo "restore: $database restored from $(basename "$backup"); the previous one is ${database}_before_$suffix"
done

# Erasures of customers' personal data since the backup (auth's users.erased_at; up to an hour before it completed,
# to be safe): the restored databases may hold those people again. Erasing them again makes every service forget
# them once more (an erased account: CustomerErased is published again; one the restore brought back: erased anew).
erasures_in="auth"
case " $databases " in *" auth "*) erasures_in="auth_before_$suffix" ;; esac
psql_in() {
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --quiet --tuples-only --no-align --dbname="$erasures_in" "$@"
}
if [ -n "$(owner_of "$erasures_in")" ] && [ -n "$(psql_in <<'SQL'
SELECT 1 FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = 'users' AND column_name = 'erased_at';
SQL
)" ]; then
  erased="$(psql_in -v since="$(cat "$backup/COMPLETE")" <<'SQL' | tr '\n' ' ' | sed 's/ *$//'
SELECT id FROM users WHERE erased_at >= to_timestamp(:since) - interval '1 hour' ORDER BY id;
SQL
)"
  if [ -n "$erased" ]; then
    echo "restore: accounts erased since this backup: $erased. Once the services run, erase each again (the" \
      "console's customer page, or POST /api/auth/users/<id>/erase) so that no restored database keeps them."
  fi
fi
