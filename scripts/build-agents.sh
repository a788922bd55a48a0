#!/usr/bin/env bash
# Builds the agent for this machine and publishes it where the server serves
# agent binaries from, with a manifest (version, os, arch, size, SHA-256) that
# the install script and agent self-update verify against.
#
#   scripts/build-agents.sh                 build (profile agent-release) into ./agents
#   scripts/build-agents.sh --dir /srv/agents --profile release
#   scripts/build-agents.sh --manifest-only  only rewrite agents/manifest.json from the
#                                            patchmon-agent-<os>-<arch> files present
#                                            (e.g. after copying cross-compiled builds in)
#
# The directory defaults to $AGENT_BINARIES_DIR, else $AGENTS_DIR, else ./agents
# (the server's own default). Binaries for other platforms: build them with
# `cargo build -p patchmon-agent --profile agent-release --target <triple>`, copy them
# in as patchmon-agent-<os>-<arch> (amd64, 386, arm64, arm), put the version in
# patchmon-agent-<os>-<arch>.version (or let this script run --version when the
# binary runs here), then run --manifest-only.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${AGENT_BINARIES_DIR:-${AGENTS_DIR:-./agents}}"
PROFILE="agent-release"
BUILD=1
while [ "$#" -gt 0 ]; do
    case "$1" in
        --dir) DIR="$2"; shift 2 ;;
        --profile) PROFILE="$2"; shift 2 ;;
        --manifest-only) BUILD=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

case "$(uname -m)" in
    x86_64|amd64) ARCH=amd64 ;;
    i?86) ARCH=386 ;;
    aarch64|arm64) ARCH=arm64 ;;
    arm*) ARCH=arm ;;
    *) echo "unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
OS=$(uname -s | tr '[:upper:]' '[:lower:]')

mkdir -p "$DIR"
if [ "$BUILD" -eq 1 ]; then
    echo "==> building patchmon-agent (profile $PROFILE)"
    cargo build -q -p patchmon-agent --bin patchmon-agent --profile "$PROFILE"
    target_dir="${CARGO_TARGET_DIR:-target}"
    out_dir="$PROFILE"
    [ "$PROFILE" = dev ] && out_dir=debug
    src="$target_dir/$out_dir/patchmon-agent"
    dest="$DIR/patchmon-agent-$OS-$ARCH"
    # Replace atomically: a download in progress keeps the old file.
    cp "$src" "$dest.tmp.$$"
    chmod 0755 "$dest.tmp.$$"
    mv -f "$dest.tmp.$$" "$dest"
    "$dest" --version | sed -n 's/.*version \([0-9][0-9A-Za-z.+-]*\).*/\1/p' >"$dest.version"
    echo "==> $dest ($(wc -c <"$dest") bytes, version $(cat "$dest.version"))"
fi

echo "==> writing $DIR/manifest.json"
entries=()
for f in "$DIR"/patchmon-agent-*-*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    case "$name" in *.version|*.tmp.*|*.sha256) continue ;; esac
    platform=${name#patchmon-agent-}
    platform=${platform%.exe}
    os=${platform%%-*}
    arch=${platform#*-}
    case "$os" in linux|freebsd|windows) ;; *) continue ;; esac
    case "$arch" in amd64|386|arm64|arm) ;; *) continue ;; esac
    version=""
    if [ -f "$f.version" ]; then
        version=$(tr -d '[:space:]' <"$f.version")
    elif [ "$os" = "$OS" ] && [ "$arch" = "$ARCH" ]; then
        version=$("$f" --version 2>/dev/null | sed -n 's/.*version \([0-9][0-9A-Za-z.+-]*\).*/\1/p' | head -n 1)
    fi
    if [ -z "$version" ]; then
        echo "    skipping $name: unknown version (add $name.version)" >&2
        continue
    fi
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    size=$(wc -c <"$f" | tr -d ' ')
    entries+=("{\"os\":\"$os\",\"arch\":\"$arch\",\"file\":\"$name\",\"version\":\"$version\",\"sha256\":\"$sha\",\"size\":$size}")
    echo "    $name $version $sha"
done
{
    printf '{"agents":['
    sep=""
    for e in "${entries[@]+"${entries[@]}"}"; do
        printf '%s\n  %s' "$sep" "$e"
        sep=","
    done
    printf '\n]}\n'
} >"$DIR/manifest.json.tmp"
mv -f "$DIR/manifest.json.tmp" "$DIR/manifest.json"
