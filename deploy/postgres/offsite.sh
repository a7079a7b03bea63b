#!/bin/sh
# Off-site, encrypted copies of the compose deployment's backups (deploy/README.md, "Backups"). The backup-offsite
# service runs it in restic's official image: restic encrypts everything it writes (AES-256 with a key sealed by
# RESTIC_PASSWORD) before it leaves this host, to any repository restic speaks (S3 and S3-compatible stores,
# rest-server, SFTP, B2, Azure, GCS). POSIX sh: the image has BusyBox, not bash.
#
#   offsite.sh run            send now, then every OFFSITE_INTERVAL_SECONDS, until stopped (the service's command)
#   offsite.sh once           send the newest complete backup (if it is not there yet), then apply the retention
#   offsite.sh check          exit 0 if the newest backup off-site is recent enough (the service's healthcheck)
#   offsite.sh list           the backups off-site (restic's snapshots)
#   offsite.sh verify         restic check of the repository, reading OFFSITE_VERIFY_PERCENT of its data back; `run`
#                             does it once a day, and `check` reports unhealthy while the last one failed
#   offsite.sh fetch [NAME]   bring a backup back into BACKUP_DIR (NAME: its folder's name; none: the newest),
#                             then restore it with restore.sh; prints the folder's name
#   offsite.sh fetch-pitr     bring the newest copy of the point-in-time archive back into PITR_DIR (a new host,
#                             before its PostgreSQL first starts), then restore with pitr.sh restore
#
# What is sent is the newest complete folder of backup.sh (BACKUP_DIR/<UTC time>/ with COMPLETE), one restic
# snapshot per folder, stamped with the backup's own time and tagged with its name: a folder is sent once, however
# often this runs. Kept off-site: every backup of the last OFFSITE_KEEP_RECENT_HOURS, the newest of each of the last
# OFFSITE_KEEP_DAYS days and of the last OFFSITE_KEEP_MONTHS months (restic forget --prune). The repository is made
# on first use. Run one backup-offsite service per repository.
#
# With PITR_DIR (pitr.sh's folder: base backups and the WAL archive), it is also sent every
# OFFSITE_PITR_INTERVAL_SECONDS, as one more snapshot tagged jesh-pitr (restic sends only what is new: the new WAL
# segments and base backups), so a lost host loses at most that much more than the server had archived. Each round
# of the dumps keeps the archive's snapshots of the last hour, the newest of each of the last
# OFFSITE_KEEP_RECENT_HOURS hours, and always the newest: each holds the whole archive, so a lost host can still be
# brought back to any moment of its last PITR_KEEP_DAYS.
#
# Environment: RESTIC_REPOSITORY, RESTIC_PASSWORD (or RESTIC_PASSWORD_FILE) and the store's own credentials
# (AWS_ACCESS_KEY_ID, ...: restic's documentation), BACKUP_DIR (/backups), OFFSITE_INTERVAL_SECONDS (3600),
# BACKUP_INTERVAL_SECONDS (3600, backup.sh's: the healthcheck allows for both), OFFSITE_KEEP_RECENT_HOURS (48),
# OFFSITE_KEEP_DAYS (30), OFFSITE_KEEP_MONTHS (12), OFFSITE_VERIFY_PERCENT (10), OFFSITE_STATE_DIR (/tmp: when the
# last verification ran, and why it failed), PITR_DIR (none: the archive is not sent), OFFSITE_PITR_INTERVAL_SECONDS
# (300).
set -eu

: "${RESTIC_REPOSITORY:?RESTIC_REPOSITORY (where the off-site copies go) is required}"
if [ -z "${RESTIC_PASSWORD:-}" ] && [ -z "${RESTIC_PASSWORD_FILE:-}" ]; then
  echo "offsite: RESTIC_PASSWORD (the repository's encryption password) is required" >&2
  exit 2
fi
BACKUP_DIR="${BACKUP_DIR:-/backups}"
OFFSITE_INTERVAL_SECONDS="${OFFSITE_INTERVAL_SECONDS:-3600}"
OFFSITE_PITR_INTERVAL_SECONDS="${OFFSITE_PITR_INTERVAL_SECONDS:-300}"
BACKUP_INTERVAL_SECONDS="${BACKUP_INTERVAL_SECONDS:-3600}"
OFFSITE_KEEP_RECENT_HOURS="${OFFSITE_KEEP_RECENT_HOURS:-48}"
OFFSITE_KEEP_DAYS="${OFFSITE_KEEP_DAYS:-30}"
OFFSITE_KEEP_MONTHS="${OFFSITE_KEEP_MONTHS:-12}"
OFFSITE_VERIFY_PERCENT="${OFFSITE_VERIFY_PERCENT:-10}"
OFFSITE_STATE_DIR="${OFFSITE_STATE_DIR:-/tmp}"
PITR_DIR="${PITR_DIR:-}"
export TZ=UTC  # restic reads --time, and groups days and months, in the local zone: ours are UTC

for knob in OFFSITE_INTERVAL_SECONDS OFFSITE_PITR_INTERVAL_SECONDS BACKUP_INTERVAL_SECONDS OFFSITE_KEEP_RECENT_HOURS \
    OFFSITE_KEEP_DAYS OFFSITE_KEEP_MONTHS OFFSITE_VERIFY_PERCENT; do
  eval "value=\${$knob}"
  # shellcheck disable=SC2154  # assigned by the eval above
  case "$value" in
    '' | 0* | *[!0-9]*)
      echo "offsite: $knob must be a positive whole number, not '$value'" >&2
      exit 2
      ;;
  esac
done

HOST=jesh            # every snapshot's host, whichever machine sent it: the retention counts them together
TAG=jesh-postgres    # what this script sends (a repository may hold other things)
PITR_TAG=jesh-pitr   # the point-in-time archive's snapshots
FOLDER_GLOB='[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]-[0-9][0-9]-[0-9][0-9]Z'  # backup.sh's names

log() { echo "offsite: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"; }

# The repository for the logs, without a password it may carry (rest:https://user:password@host/...).
repository() { printf '%s\n' "$RESTIC_REPOSITORY" | sed 's#//[^/@]*@#//***@#'; }

# "<name> <completed at, epoch seconds>" of the newest complete backup in BACKUP_DIR; status 1 if there is none.
newest_complete() {
  for folder in $(ls -1 "$BACKUP_DIR" 2>/dev/null | sort -r); do
    # shellcheck disable=SC2254
    case "$folder" in $FOLDER_GLOB) ;; *) continue ;; esac
    stamp="$(cat "$BACKUP_DIR/$folder/COMPLETE" 2>/dev/null)" || continue
    case "$stamp" in '' | *[!0-9]*) continue ;; esac
    echo "$folder $stamp"
    return 0
  done
  return 1
}

# The repository, made on first use. `init` refuses a repository that exists (a wrong password, a store that
# answered late): nothing is ever overwritten.
open_repository() {
  restic --no-lock cat config >/dev/null 2>&1 && return 0
  log "no readable repository at $(repository): making one"
  restic init >/dev/null
}

snapshots() { restic --no-lock snapshots --host "$HOST" --json "$@"; }

# Called as `send_once || ...`, where sh ignores `set -e`: every step that can fail is checked here.
send_once() {
  if ! newest="$(newest_complete)"; then
    log "no complete backup in $BACKUP_DIR yet: nothing to send"
    return 1
  fi
  name="${newest% *}"
  stamp="${newest#* }"
  if ! open_repository; then
    log "cannot open or make the repository: backup $name not sent"
    return 1
  fi
  if ! found="$(snapshots --tag "backup-$name")"; then
    log "cannot list the repository: backup $name not sent"
    return 1
  fi
  case "$found" in
    *'"id"'*) log "backup $name is already off-site" ;;
    *)
      when="$(date -u -d "@$stamp" '+%Y-%m-%d %H:%M:%S')"
      if ! restic backup --quiet --host "$HOST" --tag "$TAG" --tag "backup-$name" --tag "complete-$stamp" \
          --time "$when" "$BACKUP_DIR/$name"; then
        log "restic backup of $name failed: not sent"
        return 1
      fi
      log "backup $name sent off-site"
      ;;
  esac
  # Grouped by host only: each snapshot has a path of its own (the folder), which restic would group by.
  if ! restic forget --quiet --host "$HOST" --tag "$TAG" --group-by host \
      --keep-within "${OFFSITE_KEEP_RECENT_HOURS}h" --keep-daily "$OFFSITE_KEEP_DAYS" \
      --keep-monthly "$OFFSITE_KEEP_MONTHS" --prune >/dev/null; then
    log "restic forget --prune failed: old backups are kept until the next round"
    return 1
  fi
}

# The point-in-time archive (pitr.sh's PITR_DIR), whole: restic sends what is new. A base backup being written and
# archive-wal's temporary files are left out. Called as `send_pitr || ...`: every step that can fail is checked.
# Its old copies are forgotten by forget_pitr, once a round of the dumps (a prune rewrites the repository's index).
send_pitr() {
  [ -n "$PITR_DIR" ] || return 0
  if ! ls "$PITR_DIR"/base/*/COMPLETE >/dev/null 2>&1; then
    log "no complete base backup in $PITR_DIR yet: the archive is not sent"
    return 1
  fi
  if ! restic backup --quiet --host "$HOST" --tag "$PITR_TAG" --tag "sent-$(date +%s)" --exclude '*.partial' \
      --exclude '.*.tmp.*' "$PITR_DIR"; then
    log "restic backup of $PITR_DIR failed: the archive is not sent"
    return 1
  fi
  log "point-in-time archive sent off-site"
}

forget_pitr() {
  [ -n "$PITR_DIR" ] || return 0
  if ! restic forget --quiet --host "$HOST" --tag "$PITR_TAG" --group-by host --keep-within 1h \
      --keep-hourly "$OFFSITE_KEEP_RECENT_HOURS" --keep-last 1 --prune >/dev/null; then
    log "restic forget --prune of the archive's copies failed: they are kept until the next round"
    return 1
  fi
}

# Read a share of the repository's data back and check it all fits together (restic check): a copy that cannot be
# restored is found before it is needed. The outcome is kept in OFFSITE_STATE_DIR for `check`.
verify() {
  if out="$(restic check --read-data-subset "${OFFSITE_VERIFY_PERCENT}%" 2>&1)"; then
    rm -f "$OFFSITE_STATE_DIR/offsite-verify-failed"
    date +%s > "$OFFSITE_STATE_DIR/offsite-verified"
    log "repository verified (${OFFSITE_VERIFY_PERCENT}% of its data read back)"
    return 0
  fi
  printf '%s\n' "$out" | tail -n 5 > "$OFFSITE_STATE_DIR/offsite-verify-failed"
  date +%s > "$OFFSITE_STATE_DIR/offsite-verified"
  log "repository verification FAILED: $(tr '\n' ' ' < "$OFFSITE_STATE_DIR/offsite-verify-failed")"
  return 1
}

# Once a day, in `run`.
verify_when_due() {
  last="$(cat "$OFFSITE_STATE_DIR/offsite-verified" 2>/dev/null || echo 0)"
  case "$last" in '' | *[!0-9]*) last=0 ;; esac
  [ $(($(date +%s) - last)) -ge 86400 ] || return 0
  verify || true  # logged; `check` reports it
}

check() {
  if [ -f "$OFFSITE_STATE_DIR/offsite-verify-failed" ]; then
    echo "offsite: the last verification of the repository failed: $(tr '\n' ' ' < "$OFFSITE_STATE_DIR/offsite-verify-failed")" >&2
    return 1
  fi
  if ! listed="$(snapshots --tag "$TAG" 2>&1)"; then
    echo "offsite: cannot read the repository: $listed" >&2
    return 1
  fi
  newest="$(printf '%s\n' "$listed" | grep -o '"complete-[0-9]*"' | tr -dc '0-9\n' | sort -n | tail -n 1)"
  if [ -z "$newest" ]; then
    echo "offsite: no backup in the repository yet" >&2
    return 1
  fi
  # A backup waits up to an interval to be sent, and is sent once per round of ours.
  limit=$((BACKUP_INTERVAL_SECONDS + 2 * OFFSITE_INTERVAL_SECONDS + 600))
  age=$(($(date +%s) - newest))
  if [ "$age" -gt "$limit" ]; then
    echo "offsite: the newest backup off-site was made ${age}s ago, more than ${limit}s" >&2
    return 1
  fi
  echo "offsite: the newest backup off-site was made ${age}s ago"
  [ -n "$PITR_DIR" ] || return 0
  if ! listed="$(snapshots --tag "$PITR_TAG" 2>&1)"; then
    echo "offsite: cannot read the repository: $listed" >&2
    return 1
  fi
  newest="$(printf '%s\n' "$listed" | grep -o '"sent-[0-9]*"' | tr -dc '0-9\n' | sort -n | tail -n 1)"
  limit=$((2 * OFFSITE_PITR_INTERVAL_SECONDS + 600))
  if [ -z "$newest" ] || [ $(($(date +%s) - newest)) -gt "$limit" ]; then
    echo "offsite: no copy of the point-in-time archive sent in the last ${limit}s" >&2
    return 1
  fi
  echo "offsite: the point-in-time archive was sent $(($(date +%s) - newest))s ago"
}

# The newest snapshot tagged $1 restored under the empty folder $2 (made here); $3 said when there is none.
restore_latest() {
  rm -rf "$2"
  mkdir -p "$2"
  if ! restic restore latest --host "$HOST" --tag "$1" --target "$2" >/dev/null; then
    rm -rf "$2"
    echo "offsite: $3" >&2
    return 1
  fi
}

fetch() {
  name="${1:-}"
  if [ -n "$name" ]; then
    # shellcheck disable=SC2254
    case "$name" in $FOLDER_GLOB) ;; *)
      echo "offsite: '$name' is not a backup's name (e.g. 2026-12-04T00-30-00Z; offsite.sh list)" >&2
      return 2
      ;;
    esac
    filter="backup-$name"
  else
    filter="$TAG"
  fi
  work="$BACKUP_DIR/.offsite-fetch"  # not a backup's name: backup.sh never lists or prunes it
  restore_latest "$filter" "$work" "no backup ${name:-at all} could be brought back" || return 1
  complete="$(find "$work" -type f -name COMPLETE | head -n 1)"
  if [ -z "$complete" ]; then
    rm -rf "$work"
    echo "offsite: the snapshot holds no complete backup" >&2
    return 1
  fi
  folder="$(dirname "$complete")"
  base="$(basename "$folder")"
  if [ -e "$BACKUP_DIR/$base" ]; then
    rm -rf "$work"
    echo "offsite: $BACKUP_DIR/$base is here already" >&2
    echo "$base"
    return 0
  fi
  mv "$folder" "$BACKUP_DIR/$base"
  rm -rf "$work"
  log "backup $base brought back into $BACKUP_DIR: restore it now (restore.sh $base)" >&2
  echo "$base"
}

# The newest copy of the archive, into PITR_DIR: nothing there is replaced (a new host's, before PostgreSQL
# first starts and archives segments of its own under the same names).
fetch_pitr() {
  : "${PITR_DIR:?PITR_DIR (where pitr.sh keeps the archive) is required}"
  work="$PITR_DIR/.offsite-fetch"
  restore_latest "$PITR_TAG" "$work" "no copy of the point-in-time archive could be brought back" || return 1
  # restic recreates the path it sent (PITR_DIR on the old host) under the target.
  root="$(dirname "$(find "$work" -type d -name base | head -n 1)")"
  brought=0
  kept=0
  for part in base wal; do
    [ -d "$root/$part" ] || continue
    mkdir -p "$PITR_DIR/$part"
    for item in "$root/$part"/* "$root/$part"/.[!.]*; do
      [ -e "$item" ] || continue
      if [ -e "$PITR_DIR/$part/$(basename "$item")" ]; then
        kept=$((kept + 1))
      else
        mv "$item" "$PITR_DIR/$part/"
        brought=$((brought + 1))
      fi
    done
  done
  rm -rf "$work"
  if [ "$brought" -eq 0 ]; then
    echo "offsite: the copy brought nothing new into $PITR_DIR ($kept already there)" >&2
    return 1
  fi
  log "point-in-time archive brought back into $PITR_DIR ($brought files and folders; $kept already there): restore with pitr.sh restore"
}

case "${1:-}" in
  once)
    sent=0
    send_once || sent=1
    send_pitr || sent=1
    forget_pitr || sent=1
    exit "$sent"
    ;;
  run)
    trap 'log "stopped"; exit 0' TERM INT
    nap="$OFFSITE_INTERVAL_SECONDS"
    if [ -n "$PITR_DIR" ] && [ "$OFFSITE_PITR_INTERVAL_SECONDS" -lt "$nap" ]; then
      nap="$OFFSITE_PITR_INTERVAL_SECONDS"
    fi
    log "every ${OFFSITE_INTERVAL_SECONDS}s from $BACKUP_DIR${PITR_DIR:+, and $PITR_DIR every ${OFFSITE_PITR_INTERVAL_SECONDS}s,} to $(repository)"
    dumps_sent_at=0
    while true; do
      # each logged; the healthcheck turns unhealthy when nothing recent gets there
      if [ $(($(date +%s) - dumps_sent_at)) -ge "$OFFSITE_INTERVAL_SECONDS" ]; then
        dumps_sent_at="$(date +%s)"
        sent=0
        send_once || sent=1
        send_pitr || sent=1
        forget_pitr || sent=1
        [ "$sent" -ne 0 ] || verify_when_due
      else
        send_pitr || true
      fi
      sleep "$nap" &
      wait $!
    done
    ;;
  check) check ;;
  list) restic --no-lock snapshots --host "$HOST" --tag "$TAG" --tag "$PITR_TAG" ;;
  verify) verify ;;
  fetch) fetch "${2:-}" ;;
  fetch-pitr) fetch_pitr ;;
  *)
    echo "usage: offsite.sh run | once | check | list | verify | fetch [NAME] | fetch-pitr" >&2
    exit 2
    ;;
esac
