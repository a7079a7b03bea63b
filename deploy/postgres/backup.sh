#!/usr/bin/env bash
# Backups of every service's database for the docker-compose deployment (the postgres-backup service runs it in the
# official postgres image, so pg_dump is the server's own version). Kubernetes has its own: CloudNativePG's
# continuous archiving (deploy/k8s/overlays/production/backups.yaml).
#
#   backup.sh run     back up now, then every BACKUP_INTERVAL_SECONDS, until stopped (the service's command)
#   backup.sh once    one backup and the pruning after it; exit status 0 only if every database was dumped
#   backup.sh check   exit 0 if the newest complete backup is recent enough (the service's healthcheck)
#   backup.sh list    the complete backups, newest first
#
# A backup is a folder BACKUP_DIR/<UTC time>/ holding one pg_dump archive per database (custom format: compressed,
# restored with deploy/postgres/restore.sh) and, written last, COMPLETE (the time in seconds since the epoch). A
# folder without it is a backup that failed or was cut short: never restored, removed by the next run.
# Kept: every backup of the last BACKUP_KEEP_RECENT_HOURS, then the newest of each day up to BACKUP_KEEP_DAYS, and
# always the newest one. Run one backup service only (the pruning assumes nobody else writes the folder).
#
# Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (a superuser: it reads every database), JESH_DATABASES
# (space-separated), BACKUP_DIR (/backups), BACKUP_INTERVAL_SECONDS (3600), BACKUP_KEEP_RECENT_HOURS (48),
# BACKUP_KEEP_DAYS (14).
set -euo pipefail

: "${JESH_DATABASES:?JESH_DATABASES (the databases to back up) is required}"
BACKUP_DIR="${BACKUP_DIR:-/backups}"
BACKUP_INTERVAL_SECONDS="${BACKUP_INTERVAL_SECONDS:-3600}"
BACKUP_KEEP_RECENT_HOURS="${BACKUP_KEEP_RECENT_HOURS:-48}"
BACKUP_KEEP_DAYS="${BACKUP_KEEP_DAYS:-14}"

for knob in BACKUP_INTERVAL_SECONDS BACKUP_KEEP_RECENT_HOURS BACKUP_KEEP_DAYS; do
  if ! [[ "${!knob}" =~ ^[1-9][0-9]*$ ]]; then
    echo "backup: $knob must be a positive whole number, not '${!knob}'" >&2
    exit 2
  fi
done

log() { echo "backup: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }

NAME_PATTERN='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z$'  # anything else in BACKUP_DIR is not ours

# Our backup folders, newest first (their names sort as their times do).
backup_folders() {
  local folder
  for folder in $(ls -1 "$BACKUP_DIR" 2>/dev/null | sort -r); do
    [[ "$folder" =~ $NAME_PATTERN ]] && [ -d "$BACKUP_DIR/$folder" ] && echo "$folder"
  done
  return 0
}

is_complete() { [[ "$(cat "$BACKUP_DIR/$1/COMPLETE" 2>/dev/null)" =~ ^[0-9]+$ ]]; }

# The complete backups, newest first.
complete_backups() {
  local folder
  for folder in $(backup_folders); do
    is_complete "$folder" && echo "$folder"
  done
  return 0
}

# Called as `backup_once || ...`, where bash ignores `set -e`: every step that can fail is checked here.
backup_once() {
  if ! mkdir -p "$BACKUP_DIR"; then
    log "cannot create $BACKUP_DIR: no backup"
    return 1
  fi
  local name folder database
  name="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
  while ! mkdir "$BACKUP_DIR/$name"; do  # one backup a second at most: the name is its time
    if [ ! -d "$BACKUP_DIR/$name" ]; then
      log "cannot write to $BACKUP_DIR: no backup"
      return 1
    fi
    sleep 1
    name="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
  done
  folder="$BACKUP_DIR/$name"
  for database in $JESH_DATABASES; do
    # --format=custom: compressed, and pg_restore can restore it into a new database in one transaction.
    if ! pg_dump --format=custom --no-password --dbname="$database" --file="$folder/$database.dump"; then
      log "pg_dump of $database failed: backup $name is incomplete"
      rm -rf "$folder"
      return 1
    fi
  done
  if ! { date +%s > "$folder/COMPLETE.tmp" && mv "$folder/COMPLETE.tmp" "$folder/COMPLETE"; }; then
    log "cannot mark backup $name complete"
    rm -rf "$folder"
    return 1
  fi
  log "backup $name complete: $(du -sh "$folder" | cut -f1) for $(echo $JESH_DATABASES | wc -w) databases"
}

prune() {
  local now newest folder stamp age day kept_days="" removed=0
  now="$(date +%s)"
  # Leftovers of a failed or interrupted run (nothing else writes here meanwhile).
  for folder in $(backup_folders); do
    if ! is_complete "$folder"; then
      rm -rf "${BACKUP_DIR:?}/$folder"
      removed=$((removed + 1))
    fi
  done
  newest=""
  for folder in $(complete_backups); do
    stamp="$(cat "$BACKUP_DIR/$folder/COMPLETE")"
    age=$((now - stamp))
    day="${folder:0:10}"
    if [ -z "$newest" ]; then
      newest="$folder"  # always kept
    elif [ "$age" -le $((BACKUP_KEEP_RECENT_HOURS * 3600)) ]; then
      :
    elif [ "$age" -le $((BACKUP_KEEP_DAYS * 86400)) ] && [[ " $kept_days " != *" $day "* ]]; then
      :
    else
      rm -rf "${BACKUP_DIR:?}/$folder"
      removed=$((removed + 1))
      continue
    fi
    kept_days="$kept_days $day"
  done
  [ "$removed" -eq 0 ] || log "pruned $removed old or incomplete backups"
}

check() {
  local newest stamp limit
  newest="$(complete_backups)"
  newest="${newest%%$'\n'*}"  # the first line (no `head`: under pipefail its early exit is an error)
  if [ -z "$newest" ]; then
    echo "backup: no complete backup in $BACKUP_DIR" >&2
    return 1
  fi
  stamp="$(cat "$BACKUP_DIR/$newest/COMPLETE")"
  limit=$((2 * BACKUP_INTERVAL_SECONDS + 600))
  if [ $(($(date +%s) - stamp)) -gt "$limit" ]; then
    echo "backup: the newest complete backup ($newest) is older than ${limit}s" >&2
    return 1
  fi
  echo "backup: newest complete backup $newest"
}

case "${1:-}" in
  once)
    status=0
    backup_once || status=1
    prune
    exit "$status"
    ;;
  run)
    trap 'log "stopped"; exit 0' TERM INT
    log "every ${BACKUP_INTERVAL_SECONDS}s into $BACKUP_DIR: $JESH_DATABASES"
    while true; do
      backup_once || true  # logged; the healthcheck turns unhealthy when backups keep failing
      prune
      sleep "$BACKUP_INTERVAL_SECONDS" &
      wait $!
    done
    ;;
  check) check ;;
  list) complete_backups ;;
  *)
    echo "usage: backup.sh run | once | check | list" >&2
    exit 2
    ;;
esac
