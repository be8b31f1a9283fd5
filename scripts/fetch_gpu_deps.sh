#!/usr/bin/env bash
# fetch_gpu_deps.sh: on a development machine (Debian bookworm, network), downloads the
# .deb files scripts/gpu_check.sh needs on the GPU machine (which has no Debian packages
# and no network) into deps/debs/, and git-ignores deps/ through .git/info/exclude.
# The list is gpu_check.sh's own (--list-deps). Nothing is installed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=$ROOT/deps/debs
mapfile -t PKGS < <("$ROOT/scripts/gpu_check.sh" --list-deps)
mkdir -p "$DEST"
rm -f "$DEST"/*.deb
(cd "$DEST" && apt-get download "${PKGS[@]}")
EXCLUDE=$(git -C "$ROOT" rev-parse --git-path info/exclude)
[[ "$EXCLUDE" = /* ]] || EXCLUDE=$ROOT/$EXCLUDE
mkdir -p "$(dirname "$EXCLUDE")"
grep -qxF 'deps/' "$EXCLUDE" 2>/dev/null || echo 'deps/' >>"$EXCLUDE"
echo "fetch_gpu_deps: ${#PKGS[@]} packages, $(du -sh "$DEST" | cut -f1) in $DEST (git-ignored via $EXCLUDE)"
