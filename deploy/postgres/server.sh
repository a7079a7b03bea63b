#!/bin/sh
# The postgres service's entrypoint (docker-compose.yml): the WAL archive's folders, in the postgres-pitr volume,
# exist and belong to the postgres user before the image's own entrypoint starts the server, which archives every
# WAL segment into /pitr/wal (pitr.sh archive-wal) and whose base backups pitr.sh keeps in /pitr/base.
set -eu
mkdir -p /pitr/wal /pitr/base
chown postgres:postgres /pitr /pitr/wal /pitr/base
exec docker-entrypoint.sh "$@"
