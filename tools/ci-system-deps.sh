#!/usr/bin/env bash
# System packages the test suite needs beyond Python and Node: headless Chromium for the
# GraphiQL playground test. Idempotent; needs root (CI runs as root).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
