#!/bin/sh
# PatchMon agent removal (POSIX sh), served by GET /api/v1/hosts/remove.
#
#   curl -s https://patchmon.example.com/api/v1/hosts/remove | sudo sh
#
# Stops and disables the service (systemd, OpenRC, crontab), removes the
# unit / init script / crontab entries, /usr/local/bin/patchmon-agent*,
# /etc/patchmon and the agent's logs.
#
# Environment:
#   REMOVE_BACKUPS=1  also remove backups (*.backup.*); by default they are kept
#   SILENT=1          print only errors
#   PATCHMON_ROOT     remove below this directory instead of / (tests, images);
#                     no service manager is called and no process is stopped
#
# The host record stays on the PatchMon server: delete the host in the web UI
# (Hosts) to remove its data and invalidate its API key.

set -u

ROOT="${PATCHMON_ROOT:-}"
ROOT="${ROOT%/}"
SILENT="${SILENT:-0}"
REMOVE_BACKUPS="${REMOVE_BACKUPS:-0}"
ETC_DIR="$ROOT/etc/patchmon"
BIN_DIR="$ROOT/usr/local/bin"

say() { [ "$SILENT" = 1 ] || printf '%s\n' "$*"; }
err() { printf '%s\n' "ERROR: $*" >&2; }

if [ -z "$ROOT" ] && [ "$(id -u)" != "0" ]; then
	err "run this script as root (for example: curl ... | sudo sh)"
	exit 1
fi

say "==> Removing the PatchMon agent"

# ---- service ------------------------------------------------------------

if [ -z "$ROOT" ]; then
	if command -v systemctl >/dev/null 2>&1; then
		if systemctl list-unit-files patchmon-agent.service >/dev/null 2>&1 ||
			[ -f /etc/systemd/system/patchmon-agent.service ]; then
			systemctl stop patchmon-agent >/dev/null 2>&1 || true
			systemctl disable patchmon-agent >/dev/null 2>&1 || true
			say "OK: systemd service stopped and disabled"
		fi
	fi
	if [ -f /etc/init.d/patchmon-agent ] && command -v rc-service >/dev/null 2>&1; then
		rc-service patchmon-agent stop >/dev/null 2>&1 || true
		rc-update del patchmon-agent >/dev/null 2>&1 || true
		say "OK: OpenRC service stopped and removed from its runlevels"
	fi
	if command -v crontab >/dev/null 2>&1 && crontab -l 2>/dev/null | grep -q 'patchmon-agent'; then
		remaining=$(crontab -l 2>/dev/null | grep -v 'patchmon-agent')
		if [ -n "$remaining" ]; then
			printf '%s\n' "$remaining" | crontab -
		else
			crontab -r 2>/dev/null || printf '' | crontab -
		fi
		say "OK: crontab entries removed"
	fi
fi

rm -f "$ROOT/etc/systemd/system/patchmon-agent.service" "$ROOT/etc/init.d/patchmon-agent"
if [ -z "$ROOT" ] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi

# Agents started by hand or by the crontab entry.
if [ -z "$ROOT" ] && command -v pkill >/dev/null 2>&1; then
	pkill -x patchmon-agent >/dev/null 2>&1 || true
fi

# ---- files --------------------------------------------------------------

is_backup() {
	case "$1" in
	*.backup.*) return 0 ;;
	*) return 1 ;;
	esac
}

for f in "$BIN_DIR"/patchmon-agent*; do
	[ -e "$f" ] || continue
	if is_backup "$f" && [ "$REMOVE_BACKUPS" != 1 ]; then
		continue
	fi
	rm -f "$f"
done
say "OK: agent binary removed from $BIN_DIR"

if [ -d "$ETC_DIR" ]; then
	if [ "$REMOVE_BACKUPS" = 1 ]; then
		rm -rf "$ETC_DIR"
		say "OK: $ETC_DIR removed"
	else
		rm -rf "$ETC_DIR/logs"
		for f in "$ETC_DIR"/* "$ETC_DIR"/.[!.]*; do
			[ -e "$f" ] || continue
			is_backup "$f" && continue
			rm -rf "$f"
		done
		rmdir "$ETC_DIR" 2>/dev/null || say "OK: configuration removed; backups kept in $ETC_DIR (REMOVE_BACKUPS=1 removes them)"
	fi
fi

rm -f "$ROOT"/var/log/patchmon-agent*.log

say "PatchMon agent removed."
say "The host is still registered on the PatchMon server: delete it in the web UI (Hosts) to remove its data and API key."
