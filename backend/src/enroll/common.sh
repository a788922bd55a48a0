# --- shared helpers (inserted by the server) ---
if [ -t 1 ]; then
    C_RED=$(printf '\033[0;31m'); C_GREEN=$(printf '\033[0;32m')
    C_YELLOW=$(printf '\033[1;33m'); C_BLUE=$(printf '\033[0;34m'); C_OFF=$(printf '\033[0m')
else
    C_RED=""; C_GREEN=""; C_YELLOW=""; C_BLUE=""; C_OFF=""
fi
info() { printf '%s[INFO]%s %s\n' "$C_BLUE" "$C_OFF" "$*"; }
success() { printf '%s[SUCCESS]%s %s\n' "$C_GREEN" "$C_OFF" "$*"; }
warn() { printf '%s[WARN]%s %s\n' "$C_YELLOW" "$C_OFF" "$*"; }
error() { printf '%s[ERROR]%s %s\n' "$C_RED" "$C_OFF" "$*" >&2; }
debug() { if [ "${DEBUG:-false}" = "true" ]; then printf '[DEBUG] %s\n' "$*"; fi; }

# JSON string escaping for values put into request bodies (quotes,
# backslashes and control characters cannot break or extend the JSON).
json_str() {
    printf '%s' "$1" | awk 'BEGIN { ORS = "" } {
        gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); gsub(/\t/, "\\t"); gsub(/\r/, "")
        if (NR > 1) printf "\\n"
        printf "%s", $0 }' | tr -d '\000-\010\013\014\016-\037'
}

# Value of a string field of the server's compact JSON: json_field api_id < body
json_field() {
    sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

for v in PATCHMON_URL AUTO_ENROLLMENT_KEY AUTO_ENROLLMENT_SECRET; do
    eval "val=\${$v:-}"
    if [ -z "$val" ]; then
        error "$v is not set"
        exit 1
    fi
done
PATCHMON_URL=${PATCHMON_URL%/}
# --- end of shared helpers ---
