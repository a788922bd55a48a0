#!/bin/sh
# PatchMon: enroll the LXC containers of this Proxmox VE node and install the
# agent inside each. Served by the PatchMon server at
#   GET /api/v1/auto-enrollment/script?type=proxmox-lxc
# with PATCHMON_URL and the enrollment token filled in above; every setting
# can be overridden from the environment, e.g. `DRY_RUN=true sh script.sh`.
#
# Settings (environment):
#   PATCHMON_URL            server base URL
#   AUTO_ENROLLMENT_KEY     token key (patchmon_ae_…)
#   AUTO_ENROLLMENT_SECRET  token secret
#   CURL_FLAGS              extra curl flags (default -s; -sk for self-signed)
#   DRY_RUN=true            only show what would be enrolled
#   DEBUG=true              verbose logging
#   HOST_PREFIX=…           prefix for friendly names (e.g. "prod-")
#   SKIP_STOPPED=false      also enroll stopped containers (no agent install)
#   FORCE_INSTALL=true      installer bypasses broken packages
# Safe to rerun (e.g. from cron): containers whose agent already pings and
# machines the server already knows are skipped. Exit status is 1 when any
# container failed, 0 otherwise.

CURL_FLAGS="${CURL_FLAGS:--s}"
DRY_RUN="${DRY_RUN:-false}"
DEBUG="${DEBUG:-false}"
HOST_PREFIX="${HOST_PREFIX:-}"
SKIP_STOPPED="${SKIP_STOPPED:-true}"
FORCE_INSTALL="${FORCE_INSTALL:-false}"
PATH="${PATH}:/usr/local/sbin:/usr/sbin:/sbin"
export PATH

# @common@

for cmd in pct curl awk sed; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        error "required command not found: $cmd (run this on a Proxmox VE node as root)"
        exit 1
    fi
done
if command -v timeout >/dev/null 2>&1; then TIMEOUT="timeout"; else TIMEOUT=""; fi
# stdin is /dev/null: pct exec would otherwise eat the container list we loop over.
run_timeout() { secs=$1; shift; if [ -n "$TIMEOUT" ]; then timeout "$secs" "$@" </dev/null; else "$@" </dev/null; fi; }

# One run at a time (cron-safe).
LOCK_DIR="${TMPDIR:-/tmp}/patchmon-lxc-enroll.lock"
if ! mkdir "$LOCK_DIR" 2>/dev/null; then
    error "another enrollment run is in progress ($LOCK_DIR exists; remove it if no run is active)"
    exit 1
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/patchmon-enroll.XXXXXX") || exit 1
trap 'rm -rf "$WORK"; rmdir "$LOCK_DIR" 2>/dev/null' EXIT INT TERM

NODE=$(hostname 2>/dev/null || echo unknown)
ENROLLED=0; SKIPPED=0; FAILED=0; QUOTA_HIT=false
: > "$WORK/failures"

# Facts from inside a container, one `key=value` per line, in one exec.
FACTS_PROBE='# patchmon-facts
h=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null)
echo "hostname=$h"
ip=$(hostname -I 2>/dev/null | awk "{print \$1}")
[ -n "$ip" ] || ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk "{for(i=1;i<NF;i++) if(\$i==\"src\"){print \$(i+1); exit}}")
echo "ip=${ip:-unknown}"
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
echo "os=${os:-unknown}"
echo "arch=$(uname -m 2>/dev/null)"
mid=$(cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null)
echo "machine_id=$mid"
if [ -f /etc/patchmon/config.yml ] && [ -f /etc/patchmon/credentials.yml ]; then
  if [ -x /usr/local/bin/patchmon-agent ]; then
    if /usr/local/bin/patchmon-agent ping >/dev/null 2>&1; then echo "agent=ping_success"; else echo "agent=ping_failed"; fi
  else echo "agent=binary_missing"; fi
else echo "agent=not_configured"; fi'

fact() { sed -n "s/^$1=//p" "$2" | head -n 1; }

map_arch() {
    case "$1" in
        x86_64|amd64) echo amd64 ;;
        i386|i486|i586|i686) echo 386 ;;
        aarch64|arm64) echo arm64 ;;
        armv6l|armv7l|armhf|arm) echo arm ;;
        *) echo amd64 ;;
    esac
}

fail() { FAILED=$((FAILED + 1)); printf '%s\n' "$1" >> "$WORK/failures"; error "$1"; }

install_agent() { # vmid name api_id api_key arch
    vmid=$1; name=$2; api_id=$3; api_key=$4; arch=$5
    force_q=""
    if [ "$FORCE_INSTALL" = "true" ]; then force_q="&force=true"; fi
    # curl inside the container (best effort; the installer needs it).
    run_timeout 120 pct exec "$vmid" -- sh -c '# patchmon-ensure-curl
command -v curl >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates >/dev/null 2>&1
elif command -v dnf >/dev/null 2>&1; then dnf install -y -q curl >/dev/null 2>&1
elif command -v yum >/dev/null 2>&1; then yum install -y -q curl >/dev/null 2>&1
elif command -v apk >/dev/null 2>&1; then apk add --no-cache curl >/dev/null 2>&1
elif command -v pacman >/dev/null 2>&1; then pacman -Sy --noconfirm curl >/dev/null 2>&1; fi
command -v curl >/dev/null 2>&1' >/dev/null 2>&1 || warn "LXC $vmid: could not install curl inside the container"
    cmd="# patchmon-install
curl $CURL_FLAGS -f -H 'X-API-ID: $api_id' -H 'X-API-KEY: $api_key' -o /tmp/patchmon-install.sh '$PATCHMON_URL/api/v1/hosts/install?arch=$arch$force_q' && FORCE_INSTALL=$FORCE_INSTALL sh /tmp/patchmon-install.sh; rc=\$?; rm -f /tmp/patchmon-install.sh; exit \$rc"
    attempt=1
    while :; do
        run_timeout 180 pct exec "$vmid" -- sh -c "$cmd" > "$WORK/install.$vmid" 2>&1
        rc=$?
        debug "LXC $vmid installer exit $rc"
        if [ "$rc" -eq 0 ] || grep -q "PatchMon Agent installation completed successfully" "$WORK/install.$vmid"; then
            return 0
        fi
        if [ "$attempt" -eq 1 ] && grep -q "dpkg was interrupted" "$WORK/install.$vmid"; then
            warn "LXC $vmid: dpkg was interrupted; running dpkg --configure -a and retrying"
            run_timeout 300 pct exec "$vmid" -- sh -c 'DEBIAN_FRONTEND=noninteractive dpkg --configure -a' >/dev/null 2>&1
            attempt=2
            continue
        fi
        if [ "$rc" -eq 124 ]; then
            fail "LXC $vmid ($name): agent installation timed out after 180 s"
        else
            fail "LXC $vmid ($name): agent installation failed (exit $rc): $(tail -n 3 "$WORK/install.$vmid" | tr '\n' ' ')"
        fi
        return 1
    done
}

info "PatchMon server: $PATCHMON_URL"
if [ "$DRY_RUN" = "true" ]; then info "Dry run: nothing will be enrolled or installed"; fi

if ! pct list > "$WORK/list" 2> "$WORK/list.err"; then
    error "pct list failed: $(cat "$WORK/list.err")"
    exit 1
fi
tail -n +2 "$WORK/list" | awk 'NF >= 2 { print $1, $2, $NF }' > "$WORK/containers"
COUNT=$(wc -l < "$WORK/containers" | tr -d ' ')
info "Found $COUNT LXC container(s)"

while read -r vmid status cname; do
    [ -n "$vmid" ] || continue
    info "Processing LXC $vmid: $cname (status: $status)"
    if [ "$status" != "running" ] && [ "$SKIP_STOPPED" = "true" ]; then
        warn "LXC $vmid: skipped (not running)"
        SKIPPED=$((SKIPPED + 1))
        continue
    fi
    facts="$WORK/facts.$vmid"
    : > "$facts"
    if [ "$status" = "running" ]; then
        run_timeout 15 pct exec "$vmid" -- sh -c "$FACTS_PROBE" > "$facts" 2>/dev/null
    fi
    hn=$(fact hostname "$facts"); [ -n "$hn" ] || hn=$cname
    ip=$(fact ip "$facts"); os=$(fact os "$facts")
    arch=$(map_arch "$(fact arch "$facts")")
    mid=$(fact machine_id "$facts"); agent=$(fact agent "$facts")
    [ -n "$mid" ] || mid="proxmox-lxc-$vmid-$(cat /proc/sys/kernel/random/uuid 2>/dev/null || date +%s)"
    friendly="${HOST_PREFIX}${hn}"
    debug "LXC $vmid: hostname=$hn ip=$ip os=$os arch=$arch machine_id=$mid agent=${agent:-unknown}"
    if [ "$agent" = "ping_success" ]; then
        warn "LXC $vmid ($friendly): skipped (agent already installed and reporting)"
        SKIPPED=$((SKIPPED + 1))
        continue
    fi
    if [ "$DRY_RUN" = "true" ]; then
        info "[DRY RUN] Would enroll: $friendly"
        ENROLLED=$((ENROLLED + 1))
        continue
    fi
    if [ "$QUOTA_HIT" = "true" ]; then
        fail "LXC $vmid ($friendly): not enrolled, the token's daily quota is used up"
        continue
    fi
    body=$(printf '{"friendly_name":"%s","machine_id":"%s","metadata":{"vmid":"%s","proxmox_node":"%s","ip_address":"%s","os_info":"%s"}}' \
        "$(json_str "$friendly")" "$(json_str "$mid")" "$(json_str "$vmid")" "$(json_str "$NODE")" "$(json_str "$ip")" "$(json_str "$os")")
    # shellcheck disable=SC2086
    code=$(curl $CURL_FLAGS -o "$WORK/resp" -w '%{http_code}' -X POST \
        -H "X-Auto-Enrollment-Key: $AUTO_ENROLLMENT_KEY" \
        -H "X-Auto-Enrollment-Secret: $AUTO_ENROLLMENT_SECRET" \
        -H "Content-Type: application/json" \
        --data "$body" "$PATCHMON_URL/api/v1/auto-enrollment/enroll" </dev/null)
    debug "LXC $vmid: enroll answered HTTP $code: $(cat "$WORK/resp" 2>/dev/null)"
    case "$code" in
        201)
            api_id=$(json_field api_id < "$WORK/resp")
            api_key=$(json_field api_key < "$WORK/resp")
            if [ -z "$api_id" ] || [ -z "$api_key" ]; then
                fail "LXC $vmid ($friendly): enrolled but the answer had no credentials"
                continue
            fi
            info "LXC $vmid: enrolled as $friendly ($api_id)"
            if [ "$status" != "running" ]; then
                fail "LXC $vmid ($friendly): enrolled, but the agent cannot be installed in a stopped container"
                continue
            fi
            if install_agent "$vmid" "$friendly" "$api_id" "$api_key" "$arch"; then
                success "LXC $vmid ($friendly): agent installed"
                ENROLLED=$((ENROLLED + 1))
            fi
            ;;
        409)
            warn "LXC $vmid ($friendly): skipped (already enrolled on the server)"
            SKIPPED=$((SKIPPED + 1))
            ;;
        429)
            QUOTA_HIT=true
            fail "LXC $vmid ($friendly): $(json_field message < "$WORK/resp") (daily quota exhausted)"
            ;;
        000)
            fail "LXC $vmid ($friendly): could not reach $PATCHMON_URL"
            ;;
        *)
            fail "LXC $vmid ($friendly): enrollment refused (HTTP $code): $(json_field error < "$WORK/resp")"
            ;;
    esac
done < "$WORK/containers"

echo
info "Summary"
if [ "$DRY_RUN" = "true" ]; then
    info "Successfully Enrolled: $ENROLLED (dry run)"
else
    info "Successfully Enrolled: $ENROLLED"
fi
info "Skipped: $SKIPPED"
info "Failed: $FAILED"
if [ "$FAILED" -gt 0 ]; then
    while read -r line; do error "  $line"; done < "$WORK/failures"
    exit 1
fi
exit 0
