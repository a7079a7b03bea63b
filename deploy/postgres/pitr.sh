#!/usr/bin/env bash
# Point-in-time recovery for the docker-compose deployment. The server archives every WAL segment into
# PITR_DIR/wal as it fills, or after archive_timeout, through `archive-wal` (docker-compose.yml's archive_command:
# compressed, fsynced and renamed into place; a segment closed early by archive_timeout is mostly zeros, 16 MB that
# compress to a few kB); this script keeps base backups beside it (the postgres-pitr service, in the server's own
# image) and restores the whole cluster to any moment the archive covers. Kubernetes has its own: CloudNativePG's
# continuous archiving (deploy/k8s/overlays/production/backups.yaml).
#
#   pitr.sh run        a base backup whenever the newest is older than PITR_BASE_INTERVAL_SECONDS, then the pruning;
#                      again every PITR_POLL_SECONDS, until stopped (the service's command)
#   pitr.sh base       one base backup now, then the pruning; exit status 0 only if it was taken
#   pitr.sh prune      the pruning alone
#   pitr.sh check      exit 0 if the newest base backup is recent enough and the server's archiving is not failing
#                      (the service's healthcheck)
#   pitr.sh list       the base backups, newest first, and the WAL the archive holds
#   pitr.sh restore [--to YYYY-MM-DDTHH:MM:SSZ] [BASE]
#                      with the server stopped: PGDATA is replaced by base backup BASE (by default the newest that
#                      ended before the time), to be replayed from the archive up to the time (UTC; by default the
#                      archive's end) when the server starts; the data it replaces is kept beside it
#   pitr.sh erased-since YYYY-MM-DDTHH:MM:SSZ
#                      before such a restore, the server running: the accounts erased since, to erase again after it
#   pitr.sh archive-wal DIR PATH NAME    the server's archive_command (DIR %p %f): NAME.gz into DIR, once
#   pitr.sh restore-wal DIR NAME PATH    the restore_command a restore writes (DIR %f %p): DIR/NAME.gz back to PATH
#
# A base backup is a folder PITR_DIR/base/<UTC time it began>/ holding pg_basebackup's tar output (base.tar.gz,
# pg_wal.tar.gz, backup_manifest) and, once whole, COMPLETE (end=<seconds since the epoch>, end_name=<UTC time it
# ended>, start_wal=<the first WAL segment it needs>). Kept: the newest, and every one that ended within
# PITR_KEEP_DAYS; the archived WAL from the oldest kept base backup on (pg_archivecleanup removes the older).
#
# Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (a role with REPLICATION: the init script's `backup`), PGDATABASE
# (any database that role may connect to: the check reads pg_stat_archiver there), PITR_DIR (/pitr),
# PITR_BASE_INTERVAL_SECONDS (86400), PITR_KEEP_DAYS (7), PITR_POLL_SECONDS (600); for restore, PGDATA.
set -euo pipefail

PITR_DIR="${PITR_DIR:-/pitr}"
PITR_BASE_INTERVAL_SECONDS="${PITR_BASE_INTERVAL_SECONDS:-86400}"
PITR_KEEP_DAYS="${PITR_KEEP_DAYS:-7}"
PITR_POLL_SECONDS="${PITR_POLL_SECONDS:-600}"
BASE_DIR="$PITR_DIR/base"
WAL_DIR="$PITR_DIR/wal"
SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"  # for the restore_command a restore writes

for knob in PITR_BASE_INTERVAL_SECONDS PITR_KEEP_DAYS PITR_POLL_SECONDS; do
  if ! [[ "${!knob}" =~ ^[1-9][0-9]*$ ]]; then
    echo "pitr: $knob must be a positive whole number, not '${!knob}'" >&2
    exit 2
  fi
done

log() { echo "pitr: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }
fail() { echo "pitr: $*" >&2; exit 2; }

NAME_PATTERN='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z$'  # anything else in PITR_DIR/base is not ours
SEGMENT_PATTERN='^[0-9A-F]{24}$'

# The server's archive_command: the file PostgreSQL names (%p, relative to the data folder) compressed into
# DIR/NAME.gz through a temporary file, fsynced, renamed into place and the folder fsynced: a segment is archived
# whole or not at all. Archiving one again (a crash before PostgreSQL noted it) succeeds if the copy is the same,
# and fails if it differs (never overwritten: PostgreSQL keeps it in pg_wal and retries, pg_stat_archiver says so).
archive_wal() {
  local dir="$1" path="$2" name="$3" tmp
  [ $# -eq 3 ] || fail "usage: pitr.sh archive-wal DIR %p %f"
  if [ -f "$dir/$name.gz" ]; then
    if gzip -dc "$dir/$name.gz" | cmp -s - "$path"; then
      return 0
    fi
    echo "pitr: $dir/$name.gz is archived already with other content: not overwritten" >&2
    return 1
  fi
  tmp="$dir/.$name.gz.tmp.$$"
  if gzip -c "$path" > "$tmp" && sync "$tmp" && mv "$tmp" "$dir/$name.gz" && sync "$dir"; then
    return 0
  fi
  rm -f "$tmp"
  return 1
}

# The restore_command: DIR/NAME.gz back into PATH; status 1 when the archive does not have it (PostgreSQL asks for
# files that may not exist, a timeline's history, and ends recovery at the first segment it is missing).
restore_wal() {
  local dir="$1" name="$2" path="$3"
  [ $# -eq 3 ] || fail "usage: pitr.sh restore-wal DIR %f %p"
  [ -f "$dir/$name.gz" ] || return 1
  gzip -dc "$dir/$name.gz" > "$path"
}

# A field of a base backup's COMPLETE (empty when missing).
field() { sed -n "s/^$2=//p" "$BASE_DIR/$1/COMPLETE" 2>/dev/null | head -n 1; }

is_complete() { [[ "$(field "$1" end)" =~ ^[0-9]+$ ]] && [[ "$(field "$1" start_wal)" =~ $SEGMENT_PATTERN ]]; }

# The whole base backups, newest first (their names sort as their times do).
complete_bases() {
  local folder
  for folder in $(ls -1 "$BASE_DIR" 2>/dev/null | sort -r); do
    [[ "$folder" =~ $NAME_PATTERN ]] && [ -d "$BASE_DIR/$folder" ] && is_complete "$folder" && echo "$folder"
  done
  return 0
}

# Called as `base_once || ...`, where bash ignores `set -e`: every step that can fail is checked here.
base_once() {
  local name partial start_wal
  if ! mkdir -p "$BASE_DIR"; then
    log "cannot create $BASE_DIR: no base backup"
    return 1
  fi
  name="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
  while [ -e "$BASE_DIR/$name" ]; do  # one a second at most: the name is its time
    sleep 1
    name="$(date -u +%Y-%m-%dT%H-%M-%SZ)"
  done
  partial="$BASE_DIR/$name.partial"
  rm -rf "$partial"
  # Tar format, compressed; the WAL written meanwhile streamed into it, so it is consistent on its own. A fast
  # checkpoint: it begins at once rather than after a spread one.
  if ! pg_basebackup --no-password --pgdata="$partial" --format=tar --gzip --wal-method=stream --checkpoint=fast \
      --label="jesh $name"; then
    log "pg_basebackup failed: no base backup"
    rm -rf "$partial"
    return 1
  fi
  # The server names the first segment the backup needs in its backup_label: "START WAL LOCATION: 0/2000028 (file
  # 000000010000000000000002)".
  start_wal="$(tar -xzOf "$partial/base.tar.gz" backup_label 2>/dev/null \
    | sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\))$/\1/p')"
  if ! [[ "$start_wal" =~ $SEGMENT_PATTERN ]]; then
    log "base backup $name has no readable backup_label: discarded"
    rm -rf "$partial"
    return 1
  fi
  if ! { printf 'end=%s\nend_name=%s\nstart_wal=%s\n' "$(date +%s)" "$(date -u +%Y-%m-%dT%H-%M-%SZ)" \
         "$start_wal" > "$partial/COMPLETE" && mv "$partial" "$BASE_DIR/$name"; }; then
    log "cannot mark base backup $name complete"
    rm -rf "$partial"
    return 1
  fi
  log "base backup $name complete: $(du -sh "$BASE_DIR/$name" | cut -f1), from WAL segment $start_wal"
}

prune() {
  local now folder oldest="" removed=0 before after
  now="$(date +%s)"
  # shellcheck disable=SC2045  # our own folder names (UTC times), no spaces; an absent folder lists nothing
  for folder in $(ls -1 "$BASE_DIR" 2>/dev/null); do  # leftovers of a failed or interrupted base backup
    if [[ "$folder" == *.partial ]]; then
      rm -rf "${BASE_DIR:?}/$folder"
      removed=$((removed + 1))
    fi
  done
  for folder in $(complete_bases); do
    if [ -z "$oldest" ] || [ $((now - $(field "$folder" end))) -le $((PITR_KEEP_DAYS * 86400)) ]; then
      oldest="$folder"  # the newest is always kept
    else
      rm -rf "${BASE_DIR:?}/$folder"
      removed=$((removed + 1))
    fi
  done
  [ "$removed" -eq 0 ] || log "pruned $removed old or incomplete base backups"
  [ -n "$oldest" ] && [ -d "$WAL_DIR" ] || return 0
  # Every segment before the oldest kept base backup's first is of no use to a restore.
  before="$(ls -1 "$WAL_DIR" | wc -l)"
  if ! pg_archivecleanup -x .gz "$WAL_DIR" "$(field "$oldest" start_wal)"; then
    log "pg_archivecleanup failed: the archive keeps its older WAL"
    return 0
  fi
  after="$(ls -1 "$WAL_DIR" | wc -l)"
  [ "$before" -eq "$after" ] || log "removed $((before - after)) archived WAL files older than base backup $oldest"
}

check() {
  local newest age limit failing
  newest="$(complete_bases | head -n 1)"
  if [ -z "$newest" ]; then
    echo "pitr: no complete base backup in $BASE_DIR" >&2
    return 1
  fi
  age=$(($(date +%s) - $(field "$newest" end)))
  limit=$((PITR_BASE_INTERVAL_SECONDS + 2 * PITR_POLL_SECONDS + 600))
  if [ "$age" -gt "$limit" ]; then
    echo "pitr: the newest base backup ($newest) ended ${age}s ago, more than ${limit}s" >&2
    return 1
  fi
  # The server's own account of its archiving: failing when its last attempt failed (it retries the same segment,
  # and pg_wal grows until it succeeds).
  if ! failing="$(psql --no-psqlrc --no-password -XAtq -v ON_ERROR_STOP=1 -c \
      "SELECT CASE WHEN last_failed_time IS NOT NULL AND (last_archived_time IS NULL
                        OR last_failed_time > last_archived_time)
              THEN last_failed_wal || ' at ' || last_failed_time ELSE '' END FROM pg_stat_archiver")"; then
    echo "pitr: cannot read the server's archiving state (pg_stat_archiver)" >&2
    return 1
  fi
  if [ -n "$failing" ]; then
    echo "pitr: the server's WAL archiving is failing (last: $failing): its log says why" >&2
    return 1
  fi
}

list() {
  local folder segments
  for folder in $(complete_bases); do
    echo "$folder  ended $(field "$folder" end_name)  from WAL $(field "$folder" start_wal)  $(du -sh "$BASE_DIR/$folder" | cut -f1)"
  done
  segments="$(ls -1 "$WAL_DIR" 2>/dev/null | sed -n 's/^\([0-9A-F]\{24\}\)\.gz$/\1/p' | sort || true)"
  if [ -z "$segments" ]; then
    echo "archived WAL: none"
  else
    echo "archived WAL: $(head -n 1 <<< "$segments") .. $(tail -n 1 <<< "$segments")"
  fi
}

# A UTC time as typed (YYYY-MM-DDTHH:MM:SSZ): TIME_NAME as the folders are named, TIME_PG as PostgreSQL reads it.
utc_time() {
  [[ "$1" =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2})[T\ ]([0-9]{2}):([0-9]{2}):([0-9]{2})Z$ ]] \
    || fail "the time must be UTC, YYYY-MM-DDTHH:MM:SSZ (Nairobi is UTC+3), not '$1'"
  TIME_NAME="${BASH_REMATCH[1]}T${BASH_REMATCH[2]}-${BASH_REMATCH[3]}-${BASH_REMATCH[4]}Z"
  TIME_PG="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}:${BASH_REMATCH[3]}:${BASH_REMATCH[4]}+00"
}

# Before a restore to TIME, with the server still running: the accounts erased since (auth's users.erased_at), whom
# the restored cluster holds again. Once the services run, erase each again.
erased_since() {
  local erased
  [ $# -eq 1 ] || fail "usage: pitr.sh erased-since YYYY-MM-DDTHH:MM:SSZ"
  utc_time "$1"
  if ! erased="$(psql --no-psqlrc --no-password -XAtq -v ON_ERROR_STOP=1 -v since="$TIME_PG" --dbname=auth <<'SQL'
SELECT id FROM users WHERE erased_at >= CAST(:'since' AS timestamptz) - interval '1 minute' ORDER BY id;
SQL
  )"; then
    echo "pitr: cannot read auth's erasures" >&2
    return 1
  fi
  erased="$(echo $erased)"
  echo "accounts erased since $1: ${erased:-none}"
  [ -z "$erased" ] || echo "once the services run after the restore, erase each again (the console's customer page," \
    "or POST /api/auth/users/<id>/erase), so that no restored database keeps them"
}

restore() {
  local target="" target_pg="" base="" name="" chosen moved restoring
  while [ $# -gt 0 ]; do
    case "$1" in
      --to) [ $# -ge 2 ] || fail "--to needs a time: YYYY-MM-DDTHH:MM:SSZ (UTC)"; target="$2"; shift 2 ;;
      --*) fail "unknown option $1" ;;
      *) [ -z "$base" ] || fail "one base backup at most"; base="$1"; shift ;;
    esac
  done
  : "${PGDATA:?PGDATA (the data folder of the server) is required}"
  if [ -n "$target" ]; then
    utc_time "$target"
    name="$TIME_NAME"
    target_pg="$TIME_PG"
  fi
  if [ -f "$PGDATA/postmaster.pid" ]; then
    fail "PostgreSQL is running on $PGDATA (or did not stop cleanly): stop it first; nothing changed"
  fi
  if [ -n "$base" ]; then
    [[ "$base" =~ $NAME_PATTERN ]] && is_complete "$base" || fail "no complete base backup $base (pitr.sh list)"
    if [ -n "$target" ] && ! [[ "$(field "$base" end_name)" < "$name" ]]; then
      fail "base backup $base ended at $(field "$base" end_name), not before $target: choose an older one"
    fi
    chosen="$base"
  else
    chosen=""
    for base in $(complete_bases); do
      if [ -z "$target" ] || [[ "$(field "$base" end_name)" < "$name" ]]; then
        chosen="$base"
        break
      fi
    done
    [ -n "$chosen" ] || fail "no complete base backup ended before ${target:-now} (pitr.sh list)"
  fi
  restoring="$PGDATA.restoring"
  rm -rf "$restoring"
  mkdir -p "$(dirname "$PGDATA")"  # a new host's volume: the image's entrypoint has not made it yet
  mkdir -m 700 "$restoring"
  if ! { tar -xzf "$BASE_DIR/$chosen/base.tar.gz" -C "$restoring" && mkdir -p "$restoring/pg_wal" \
         && tar -xzf "$BASE_DIR/$chosen/pg_wal.tar.gz" -C "$restoring/pg_wal"; }; then
    rm -rf "$restoring"
    fail "base backup $chosen does not unpack: nothing changed"
  fi
  {
    echo "# pitr.sh restore $(date -u +%Y-%m-%dT%H:%M:%SZ): base backup $chosen, replayed to ${target:-its end}"
    echo "restore_command = 'bash \"$SCRIPT\" restore-wal \"$WAL_DIR\" %f \"%p\"'"
    if [ -n "$target" ]; then
      echo "recovery_target_time = '$target_pg'"
      echo "recovery_target_action = 'promote'"
    fi
  } >> "$restoring/postgresql.auto.conf"
  rm -f "$restoring/standby.signal"
  touch "$restoring/recovery.signal"
  moved="$PGDATA.before-$(date -u +%Y-%m-%dT%H-%M-%SZ)"
  if [ -d "$PGDATA" ]; then
    mv "$PGDATA" "$moved"
  fi
  mv "$restoring" "$PGDATA"
  log "PGDATA is base backup $chosen; start PostgreSQL: it replays the archived WAL to ${target:-its end} and opens"
  [ ! -d "$moved" ] || log "the data it replaced is in $moved (remove it once the restore is checked)"
}

run() {
  local newest
  log "WAL archive and base backups in $PITR_DIR, a base backup every ${PITR_BASE_INTERVAL_SECONDS}s"
  while true; do
    newest="$(complete_bases | head -n 1)"
    if [ -z "$newest" ] || [ $(($(date +%s) - $(field "$newest" end))) -ge "$PITR_BASE_INTERVAL_SECONDS" ]; then
      base_once || log "this round has no new base backup; the next round tries again"
    fi
    prune
    sleep "$PITR_POLL_SECONDS" &
    wait $!  # the trap below runs at once on `docker compose stop`
  done
}

trap 'exit 0' TERM INT

case "${1:-}" in
  run) run ;;
  base) base_once && prune ;;
  prune) prune ;;
  check) check ;;
  list) list ;;
  restore) shift; restore "$@" ;;
  erased-since) shift; erased_since "$@" ;;
  archive-wal) shift; archive_wal "$@" ;;
  restore-wal) shift; restore_wal "$@" ;;
  *) echo "usage: pitr.sh run|base|prune|check|list|erased-since TIME|restore [--to TIME] [BASE]" >&2; exit 2 ;;
esac
