#!/bin/sh
# A healthcheck that also tells the operators (deploy/README.md, "Alerts"). The backups (postgres-backup,
# postgres-pitr, backup-offsite) have no metrics for Prometheus, and an unhealthy container tells nobody: compose runs
# their checks through this.
#
#   healthcheck-alert.sh NAME COMMAND [ARG...]
#
# It runs COMMAND (the service's own check), prints what it printed and exits with its status (the container's
# health). Once the check has failed for ALERT_AFTER_SECONDS (900) on end, each failing run posts the alert
# BackupFailing{service=NAME, severity=critical}, summary: the check's last line, to Alertmanager's API at
# ALERTMANAGER_API, valid for ALERT_HOLD_SECONDS (900) unless posted again; the first passing run after a failure
# resolves it at once. Without ALERTMANAGER_API it only runs the check. POSIX sh and BusyBox (restic's image has no
# bash); the failing-since time is kept in TMPDIR (/tmp).
set -u

name="${1:?usage: healthcheck-alert.sh NAME COMMAND [ARG...]}"
shift
state="${TMPDIR:-/tmp}/jesh-healthcheck-alert-$name"
out="$("$@" 2>&1)"
status=$?
[ -z "$out" ] || printf '%s\n' "$out"
[ -n "${ALERTMANAGER_API:-}" ] || exit "$status"

now="$(date +%s)"
if [ "$status" -eq 0 ]; then
  [ -f "$state" ] || exit 0
  rm -f "$state"
  ends="$now"  # resolved
else
  [ -f "$state" ] || echo "$now" > "$state"
  since="$(cat "$state")"
  [ $((now - since)) -ge "${ALERT_AFTER_SECONDS:-900}" ] || exit "$status"
  ends=$((now + ${ALERT_HOLD_SECONDS:-900}))
fi

# The check's last line, as a JSON string's content: no control characters, \ and " escaped.
summary="$(printf '%s\n' "$out" | tail -n 1 | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
body="[{\"labels\":{\"alertname\":\"BackupFailing\",\"service\":\"$name\",\"severity\":\"critical\"},"
body="$body\"annotations\":{\"summary\":\"$name: ${summary:-its check failed}\"},"
body="$body\"endsAt\":\"$(date -u -d "@$ends" +%Y-%m-%dT%H:%M:%SZ)\"}]"
if ! wget -q -T 5 -O /dev/null --header 'Content-Type: application/json' --post-data "$body" \
    "$ALERTMANAGER_API/api/v2/alerts"; then
  echo "healthcheck-alert: could not tell Alertmanager at $ALERTMANAGER_API" >&2
fi
exit "$status"
