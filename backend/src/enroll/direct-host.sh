#!/bin/sh
# PatchMon: enroll this machine and install the agent. Served by the PatchMon
# server at GET /api/v1/auto-enrollment/script?type=direct-host with
# PATCHMON_URL and the enrollment token filled in above; every setting can be
# overridden from the environment.
#
# Settings (environment):
#   PATCHMON_URL, AUTO_ENROLLMENT_KEY, AUTO_ENROLLMENT_SECRET
#   CURL_FLAGS        extra curl flags (default -s; -sk for self-signed)
#   FRIENDLY_NAME     name shown in PatchMon (default: the hostname)
#   FORCE_INSTALL     true: the installer bypasses broken packages
#   DRY_RUN=true      only show what would be sent
# Exit status: 0 enrolled and installed, or already enrolled; 1 otherwise.

CURL_FLAGS="${CURL_FLAGS:--s}"
FORCE_INSTALL="${FORCE_INSTALL:-false}"
DRY_RUN="${DRY_RUN:-false}"

# @common@
if ! command -v curl >/dev/null 2>&1; then
    error "curl is required; install it first (e.g. apt-get install -y curl)"
    exit 1
fi

hn=$(hostname 2>/dev/null)
[ -n "$hn" ] || hn=$(hostnamectl --static 2>/dev/null)
[ -n "$hn" ] || hn=$(cat /etc/hostname 2>/dev/null)
[ -n "$hn" ] || hn=$(uname -n)
friendly="${FRIENDLY_NAME:-$hn}"
ip=$(hostname -I 2>/dev/null | awk '{print $1}')
[ -n "$ip" ] || ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="src"){print $(i+1); exit}}')
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") )
[ -n "$os" ] || os=$(uname -sr)
machine=$(uname -m)
case "$machine" in
    x86_64|amd64) arch=amd64 ;;
    i386|i486|i586|i686) arch=386 ;;
    aarch64|arm64) arch=arm64 ;;
    armv6l|armv7l|armhf|arm) arch=arm ;;
    *) arch=amd64 ;;
esac
mid=$(cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null)
case "$(uname -s)" in FreeBSD) os_q=freebsd ;; *) os_q=linux ;; esac

info "PatchMon server: $PATCHMON_URL"
info "Enrolling $friendly (ip ${ip:-unknown}, $os, $arch)"
body=$(printf '{"friendly_name":"%s","machine_id":"%s","metadata":{"hostname":"%s","ip_address":"%s","os_info":"%s","architecture":"%s"}}' \
    "$(json_str "$friendly")" "$(json_str "$mid")" "$(json_str "$hn")" "$(json_str "$ip")" "$(json_str "$os")" "$(json_str "$machine")")
if [ "$DRY_RUN" = "true" ]; then
    info "[DRY RUN] Would send: $body"
    exit 0
fi
resp=$(mktemp "${TMPDIR:-/tmp}/patchmon-enroll.XXXXXX") || exit 1
trap 'rm -f "$resp"' EXIT INT TERM
# shellcheck disable=SC2086
code=$(curl $CURL_FLAGS -o "$resp" -w '%{http_code}' -X POST \
    -H "X-Auto-Enrollment-Key: $AUTO_ENROLLMENT_KEY" \
    -H "X-Auto-Enrollment-Secret: $AUTO_ENROLLMENT_SECRET" \
    -H "Content-Type: application/json" \
    --data "$body" "$PATCHMON_URL/api/v1/auto-enrollment/enroll")
case "$code" in
    201) ;;
    409)
        warn "This machine is already enrolled on the server; nothing to do."
        exit 0
        ;;
    429)
        error "Daily enrollment quota of this token is used up: $(json_field message < "$resp")"
        exit 1
        ;;
    000)
        error "Could not reach $PATCHMON_URL"
        exit 1
        ;;
    *)
        error "Enrollment refused (HTTP $code): $(json_field error < "$resp")"
        exit 1
        ;;
esac
api_id=$(json_field api_id < "$resp")
api_key=$(json_field api_key < "$resp")
if [ -z "$api_id" ] || [ -z "$api_key" ]; then
    error "The server's answer had no credentials"
    exit 1
fi
info "Enrolled as $api_id; installing the agent"
force_q=""
if [ "$FORCE_INSTALL" = "true" ]; then force_q="&force=true"; fi
# shellcheck disable=SC2086
if curl $CURL_FLAGS -f -H "X-API-ID: $api_id" -H "X-API-KEY: $api_key" \
    -o "$resp" "$PATCHMON_URL/api/v1/hosts/install?arch=$arch&os=$os_q$force_q"; then
    if FORCE_INSTALL="$FORCE_INSTALL" sh "$resp"; then
        success "PatchMon agent installed and enrolled as $friendly"
        exit 0
    fi
fi
error "Agent installation failed; the host is enrolled (pending) on the server"
exit 1
