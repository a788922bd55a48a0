#!/bin/sh
# PatchMon agent installer (POSIX sh).
#
# Served by GET /api/v1/hosts/install, which puts these exports in front:
#   PATCHMON_URL     server URL the agent will use
#   PATCHMON_OS      linux | freebsd
#   BOOTSTRAP_TOKEN  single-use token (5 minutes) traded for the host's credentials
#   CURL_FLAGS       -s, or -sk when the server allows self-signed certificates
#   SKIP_SSL_VERIFY  true | false (written to config.yml)
#   FORCE_INSTALL    true | false (reinstall even when the agent already works)
#   ARCHITECTURE     optional: amd64 | 386 | arm64 | arm (default: from uname -m)
# and the functions patchmon_systemd_unit / patchmon_openrc_script.
#
# Knobs from the environment (see docs/install.md):
#   PATCHMON_ROOT     install below this directory instead of / (tests, images);
#                     service files are written there but no service is started
#   PATCHMON_SERVICE  auto (default) | systemd | openrc | cron | none
#
# Steps: exchange the token, check the clock, detect the architecture, make
# sure curl is there, stop early when an existing installation still works,
# download the agent and verify its SHA-256, back up and write config.yml and
# credentials.yml, test with `patchmon-agent ping`, install and start the
# service. Nothing on disk changes before the binary has been verified.

set -u
umask 077

ROOT="${PATCHMON_ROOT:-}"
ROOT="${ROOT%/}"
SERVICE="${PATCHMON_SERVICE:-auto}"
ETC_DIR="$ROOT/etc/patchmon"
CONFIG_FILE="$ETC_DIR/config.yml"
CREDENTIALS_FILE="$ETC_DIR/credentials.yml"
LOG_DIR="$ETC_DIR/logs"
BIN_DIR="$ROOT/usr/local/bin"
BIN="$BIN_DIR/patchmon-agent"
CURL_FLAGS="${CURL_FLAGS:--s}"
FORCE_INSTALL="${FORCE_INSTALL:-false}"
SKIP_SSL_VERIFY="${SKIP_SSL_VERIFY:-false}"
PATCHMON_OS="${PATCHMON_OS:-linux}"
KEEP_BACKUPS=3

info() { printf '%s\n' "==> $*"; }
ok() { printf '%s\n' "OK: $*"; }
warn() { printf '%s\n' "WARNING: $*" >&2; }
die() {
	printf '%s\n' "ERROR: $*" >&2
	printf '%s\n' "PatchMon Agent installation failed" >&2
	exit 1
}

is_true() {
	case "$1" in
	true | TRUE | True | 1 | yes) return 0 ;;
	*) return 1 ;;
	esac
}

# ---- preconditions -------------------------------------------------------

[ -n "${PATCHMON_URL:-}" ] || die "PATCHMON_URL is not set: download this script from your PatchMon server (Hosts -> Install)"
case "$PATCHMON_URL" in
http://* | https://*) ;;
*) die "PATCHMON_URL must start with http:// or https://" ;;
esac
case "$PATCHMON_URL" in
*[[:space:]\"\'\\\`\$]*) die "PATCHMON_URL contains characters that are not allowed (spaces, quotes, backslashes, \` or \$)" ;;
esac
PATCHMON_URL="${PATCHMON_URL%/}"
case "${BOOTSTRAP_TOKEN:-}" in
"" | *[!0-9a-f]*) die "BOOTSTRAP_TOKEN is missing or malformed: download a fresh install script from the server" ;;
esac
case "$PATCHMON_OS" in
linux | freebsd) ;;
*) die "unsupported operating system '$PATCHMON_OS'" ;;
esac
case "$SERVICE" in
auto | systemd | openrc | cron | none) ;;
*) die "PATCHMON_SERVICE must be auto, systemd, openrc, cron or none" ;;
esac
if [ -z "$ROOT" ] && [ "$(id -u)" != "0" ]; then
	die "run this script as root (for example: curl ... | sudo sh)"
fi

TMP_DIR=$(mktemp -d 2>/dev/null || mktemp -d -t patchmon) || die "cannot create a temporary directory"
trap 'rm -rf "$TMP_DIR"' EXIT
trap 'exit 130' INT TERM

# ---- curl ----------------------------------------------------------------

install_curl() {
	[ -z "$ROOT" ] || return 1
	info "curl is missing; installing it"
	if command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null 2>&1; }
	elif command -v dnf >/dev/null 2>&1; then
		dnf install -y -q curl >/dev/null 2>&1
	elif command -v yum >/dev/null 2>&1; then
		yum install -y -q curl >/dev/null 2>&1
	elif command -v zypper >/dev/null 2>&1; then
		zypper --non-interactive install curl >/dev/null 2>&1
	elif command -v pacman >/dev/null 2>&1; then
		pacman -S --noconfirm --needed curl >/dev/null 2>&1
	elif command -v apk >/dev/null 2>&1; then
		apk add --no-cache curl >/dev/null 2>&1
	elif command -v pkg >/dev/null 2>&1; then
		ASSUME_ALWAYS_YES=yes pkg install curl >/dev/null 2>&1
	else
		return 1
	fi
}
command -v curl >/dev/null 2>&1 || install_curl || die "curl is required; install it and run this script again"

# curl_to FILE URL [curl args...]: prints the HTTP status (000 when unreachable).
curl_to() {
	out="$1"
	url="$2"
	shift 2
	# CURL_FLAGS is a list of flags on purpose.
	# shellcheck disable=SC2086
	curl $CURL_FLAGS --connect-timeout 15 --max-time 600 -o "$out" -w '%{http_code}' "$@" "$url" 2>/dev/null || true
}

# json_string FILE KEY: the value of "KEY":"..." in compact JSON.
json_string() {
	grep -o "\"$2\":\"[^\"]*\"" "$1" 2>/dev/null | head -n 1 | cut -d'"' -f4
}

# ---- 1. credentials ------------------------------------------------------

info "Exchanging the bootstrap token for this host's credentials"
printf '{"token":"%s"}' "$BOOTSTRAP_TOKEN" >"$TMP_DIR/token.json"
status=$(curl_to "$TMP_DIR/credentials.json" "$PATCHMON_URL/api/v1/hosts/bootstrap/exchange" \
	-X POST -H 'Content-Type: application/json' --data-binary "@$TMP_DIR/token.json" -D "$TMP_DIR/exchange.headers")
rm -f "$TMP_DIR/token.json"
case "$status" in
200) ;;
000) die "cannot reach $PATCHMON_URL (check the URL, DNS, firewall and TLS settings)" ;;
401) die "the bootstrap token is invalid, used or expired (it is valid once, for 5 minutes): download a fresh install script" ;;
429) die "too many requests to the server; wait a minute and download a fresh install script" ;;
*) die "the server answered HTTP $status to the token exchange" ;;
esac
API_ID=$(json_string "$TMP_DIR/credentials.json" apiId)
API_KEY=$(json_string "$TMP_DIR/credentials.json" apiKey)
rm -f "$TMP_DIR/credentials.json"
case "$API_ID" in
"" | *[!A-Za-z0-9_-]*) die "the server sent an unusable API ID" ;;
esac
case "$API_KEY" in
"" | *[!A-Za-z0-9_-]*) die "the server sent an unusable API key" ;;
esac
ok "credentials received for $API_ID"

# Agent requests authenticate with headers; keep the key off command lines.
AUTH_HEADERS="$TMP_DIR/auth.headers"
printf 'X-API-ID: %s\nX-API-KEY: %s\n' "$API_ID" "$API_KEY" >"$AUTH_HEADERS"

# ---- 2. clock ------------------------------------------------------------

server_date=$(sed -n 's/^[Dd]ate: *//p' "$TMP_DIR/exchange.headers" 2>/dev/null | tr -d '\r' | head -n 1)
server_epoch=""
if [ -n "$server_date" ]; then
	server_epoch=$(date -u -d "$server_date" +%s 2>/dev/null ||
		date -u -j -f '%a, %d %b %Y %H:%M:%S GMT' "$server_date" +%s 2>/dev/null || true)
fi
case "$server_epoch" in
'' | *[!0-9]*) info "Clock: local time is $(date -u '+%Y-%m-%d %H:%M:%S UTC') (could not compare with the server)" ;;
*)
	skew=$(($(date -u +%s) - server_epoch))
	[ "$skew" -lt 0 ] && skew=$((-skew))
	if [ "$skew" -gt 300 ]; then
		warn "this machine's clock is ${skew}s away from the server's; fix the time (NTP) or reports and logs will have wrong times"
	else
		ok "clock is in step with the server"
	fi
	;;
esac

# ---- 3. architecture -----------------------------------------------------

if [ -n "${ARCHITECTURE:-}" ]; then
	ARCH="$ARCHITECTURE"
else
	case "$(uname -m)" in
	x86_64 | amd64) ARCH=amd64 ;;
	i386 | i486 | i586 | i686 | x86) ARCH=386 ;;
	aarch64 | arm64 | armv8*) ARCH=arm64 ;;
	armv7* | armv6* | armhf | armel | arm) ARCH=arm ;;
	*) die "unsupported machine architecture '$(uname -m)'" ;;
	esac
fi
case "$ARCH" in
amd64 | 386 | arm64 | arm) ;;
*) die "unsupported architecture '$ARCH'" ;;
esac
info "Platform: $PATCHMON_OS/$ARCH"

# ---- 4. existing installation --------------------------------------------

if ! is_true "$FORCE_INSTALL" && [ -f "$CONFIG_FILE" ] && [ -f "$CREDENTIALS_FILE" ] && [ -x "$BIN" ]; then
	if "$BIN" --config "$CONFIG_FILE" ping >"$TMP_DIR/ping.out" 2>&1; then
		ok "PatchMon agent is already configured and can reach its server; nothing was changed"
		info "To reinstall anyway, download the script with force=true (or run it with FORCE_INSTALL=true)"
		exit 0
	fi
	info "An existing installation was found but its ping failed; reinstalling"
fi

# ---- 5. download and verify ----------------------------------------------

info "Looking up the agent build for $PATCHMON_OS/$ARCH"
status=$(curl_to "$TMP_DIR/version.json" "$PATCHMON_URL/api/v1/hosts/agent/version?arch=$ARCH&os=$PATCHMON_OS&type=rust" -H "@$AUTH_HEADERS")
case "$status" in
200) ;;
404) die "the server has no agent binary for $PATCHMON_OS/$ARCH (ask the server's operator to run scripts/build-agents.sh)" ;;
*) die "the server answered HTTP $status to the agent version check" ;;
esac
EXPECTED_SHA=$(json_string "$TMP_DIR/version.json" hash)
LATEST=$(json_string "$TMP_DIR/version.json" latestVersion)
case "$EXPECTED_SHA" in
"" | *[!0-9a-f]*) die "the server did not say which SHA-256 the agent binary has; refusing to install an unverified binary" ;;
esac
[ "${#EXPECTED_SHA}" -eq 64 ] || die "the server sent a malformed SHA-256"

info "Downloading patchmon-agent ${LATEST:-}"
status=$(curl_to "$TMP_DIR/patchmon-agent" "$PATCHMON_URL/api/v1/hosts/agent/download?arch=$ARCH&os=$PATCHMON_OS&force=binary" -H "@$AUTH_HEADERS")
[ "$status" = "200" ] || die "downloading the agent failed (HTTP $status)"

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	elif command -v sha256 >/dev/null 2>&1; then
		sha256 -q "$1"
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 "$1" | sed 's/^.*= *//'
	else
		return 1
	fi
}
ACTUAL_SHA=$(sha256_of "$TMP_DIR/patchmon-agent") || die "no SHA-256 tool found (sha256sum, shasum, sha256 or openssl)"
if [ "$ACTUAL_SHA" != "$EXPECTED_SHA" ]; then
	die "SHA-256 mismatch for the downloaded agent (expected $EXPECTED_SHA, got $ACTUAL_SHA); nothing was installed"
fi
ok "agent binary verified (SHA-256 $ACTUAL_SHA)"
chmod 0755 "$TMP_DIR/patchmon-agent"
"$TMP_DIR/patchmon-agent" --version >/dev/null 2>&1 || die "the downloaded agent does not run on this machine ($PATCHMON_OS/$ARCH)"

# ---- 6. files ------------------------------------------------------------

STAMP=$(date +%Y%m%d_%H%M%S)

# backup FILE: copies FILE to FILE.backup.<time> and keeps the newest three.
backup() {
	[ -e "$1" ] || return 0
	cp -p "$1" "$1.backup.$STAMP" || die "cannot back up $1"
	# Timestamped names sort oldest first.
	# shellcheck disable=SC2012
	ls -1 "$1".backup.* 2>/dev/null | sort -r | tail -n +$((KEEP_BACKUPS + 1)) | while IFS= read -r old; do
		rm -f "$old"
	done
}

mkdir -p "$ETC_DIR" "$LOG_DIR" "$BIN_DIR" || die "cannot create $ETC_DIR and $BIN_DIR"
chmod 0700 "$ETC_DIR"
backup "$CONFIG_FILE"
backup "$CREDENTIALS_FILE"
backup "$BIN"

if is_true "$SKIP_SSL_VERIFY"; then skip_ssl=true; else skip_ssl=false; fi
info "Writing $CONFIG_FILE"
cat >"$CONFIG_FILE.tmp" <<EOF || die "cannot write $CONFIG_FILE"
# PatchMon agent configuration, written by the installer on $(date -u '+%Y-%m-%d %H:%M:%S UTC').
patchmon_server: "$PATCHMON_URL"
api_version: v1
credentials_file: "$CREDENTIALS_FILE"
log_file: "$LOG_DIR/patchmon-agent.log"
log_level: info
skip_ssl_verify: $skip_ssl
update_interval: 60
integrations:
  docker: false
  compliance: false
  ssh-proxy-enabled: false
EOF
{ chmod 0600 "$CONFIG_FILE.tmp" && mv -f "$CONFIG_FILE.tmp" "$CONFIG_FILE"; } || die "cannot write $CONFIG_FILE"

info "Writing $CREDENTIALS_FILE"
cat >"$CREDENTIALS_FILE.tmp" <<EOF || die "cannot write $CREDENTIALS_FILE"
api_id: "$API_ID"
api_key: "$API_KEY"
EOF
{ chmod 0600 "$CREDENTIALS_FILE.tmp" && mv -f "$CREDENTIALS_FILE.tmp" "$CREDENTIALS_FILE"; } || die "cannot write $CREDENTIALS_FILE"

info "Installing $BIN"
{ cp "$TMP_DIR/patchmon-agent" "$BIN.new" && chmod 0755 "$BIN.new" && mv -f "$BIN.new" "$BIN"; } || die "cannot install $BIN"

# ---- 7. test -------------------------------------------------------------

info "Testing the connection with patchmon-agent ping"
if ! "$BIN" --config "$CONFIG_FILE" ping >"$TMP_DIR/ping.out" 2>&1; then
	cat "$TMP_DIR/ping.out" >&2
	die "the agent could not reach $PATCHMON_URL with its credentials; check the URL, TLS settings and firewall, then run: $BIN --config $CONFIG_FILE ping"
fi
ok "the agent reached the server and its credentials are valid"

# ---- 8. service ----------------------------------------------------------

if [ "$SERVICE" = auto ]; then
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		SERVICE=systemd
	elif command -v openrc-run >/dev/null 2>&1 || command -v rc-service >/dev/null 2>&1; then
		SERVICE=openrc
	elif command -v crontab >/dev/null 2>&1; then
		SERVICE=cron
	else
		SERVICE=none
	fi
fi
activate=true
if [ -n "$ROOT" ]; then
	activate=false
fi

case "$SERVICE" in
systemd)
	mkdir -p "$ROOT/etc/systemd/system"
	patchmon_systemd_unit >"$ROOT/etc/systemd/system/patchmon-agent.service" || die "cannot write the systemd unit"
	chmod 0644 "$ROOT/etc/systemd/system/patchmon-agent.service"
	ok "systemd unit written to $ROOT/etc/systemd/system/patchmon-agent.service"
	if $activate; then
		{ systemctl daemon-reload && systemctl enable patchmon-agent >/dev/null 2>&1 && systemctl restart patchmon-agent; } ||
			die "systemd could not start patchmon-agent; see: journalctl -u patchmon-agent"
		ok "service patchmon-agent enabled and started"
	fi
	;;
openrc)
	mkdir -p "$ROOT/etc/init.d"
	patchmon_openrc_script >"$ROOT/etc/init.d/patchmon-agent" || die "cannot write the OpenRC script"
	chmod 0755 "$ROOT/etc/init.d/patchmon-agent"
	ok "OpenRC script written to $ROOT/etc/init.d/patchmon-agent"
	if $activate; then
		rc-update add patchmon-agent default >/dev/null 2>&1
		rc-service patchmon-agent restart >/dev/null 2>&1 || die "OpenRC could not start patchmon-agent"
		ok "service patchmon-agent added to the default runlevel and started"
	fi
	;;
cron)
	if $activate; then
		line="@reboot $BIN serve >/dev/null 2>&1"
		{
			crontab -l 2>/dev/null | grep -v 'patchmon-agent'
			printf '%s\n' "$line"
		} | crontab - || die "cannot install the @reboot crontab entry"
		nohup "$BIN" serve >/dev/null 2>&1 &
		ok "no service manager found: added an @reboot crontab entry and started the agent"
	else
		info "PATCHMON_ROOT is set: no crontab entry was added"
	fi
	;;
none)
	info "No service was installed (PATCHMON_SERVICE=none); start the agent with: $BIN --config $CONFIG_FILE serve"
	;;
esac

printf '\n%s\n' "PatchMon Agent installation completed successfully"
printf '%s\n' "  Agent:         $BIN"
printf '%s\n' "  Configuration: $CONFIG_FILE"
printf '%s\n' "  Credentials:   $CREDENTIALS_FILE"
printf '%s\n' "  Server:        $PATCHMON_URL"
