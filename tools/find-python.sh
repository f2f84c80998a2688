#!/usr/bin/env bash
# Prints the newest Python the project supports (3.11 to 3.13) that actually runs here.
#   tools/find-python.sh           newest
#   tools/find-python.sh --oldest  oldest (CI runs the suite on both)
# Looks on PATH (python3.13 ... python3), then in pyenv's and uv's own install folders: a
# pyenv shim on PATH can exist for a version that is not active and fails when run, so every
# candidate is run, not just found.
set -euo pipefail

SUPPORTED=(3.13 3.12 3.11)
if [[ "${1:-}" == "--oldest" ]]; then
    SUPPORTED=(3.11 3.12 3.13)
fi

runs_as() {  # runs_as <interpreter> <major.minor>: the interpreter starts and is that version
    local found
    found=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
    [[ "$found" == "$2" ]]
}

candidates() {  # candidates <major.minor>
    command -v "python$1" 2>/dev/null || true
    command -v python3 2>/dev/null || true
    local root
    for root in "${PYENV_ROOT:-$HOME/.pyenv}/versions" "${UV_PYTHON_INSTALL_DIR:-$HOME/.local/share/uv/python}"; do
        [[ -d "$root" ]] || continue
        # Newest patch release first.
        find "$root" -maxdepth 3 -path "*$1*/bin/python$1" 2>/dev/null | sort -rV
    done
}

for version in "${SUPPORTED[@]}"; do
    while read -r interpreter; do
        [[ -n "$interpreter" ]] || continue
        if runs_as "$interpreter" "$version"; then
            echo "$interpreter"
            exit 0
        fi
    done < <(candidates "$version")
done
echo "no Python 3.11, 3.12 or 3.13 found; install one or set PYTHON=/path/to/python3.x" >&2
exit 1
