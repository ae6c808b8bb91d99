#!/usr/bin/env bash
# Browser tests of the chat page: installs what they need on a fresh Debian (as root),
# then runs the Rust unit tests of src/page (through tests/page/render), the ES5 check of
# the page's scripts (acorn + eslint-plugin-es-x) and the scenario in headless Chromium
# and in WebKitGTK (Xvfb).
# Ends with one 'N passed, N failed' line summing every step.
#   CHAT1C_ENGINES=chromium|webkit|chromium,webkit (default both)
#   CHAT1C_PAGE_SOURCE=cli|render (default: host CLI FillChat when built and current, else render)
set -u
cd "$(dirname "$0")"
HERE=$(pwd)
REPO=$(cd ../.. && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target-page}

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/WebKitWebDriver ] || need_apt+=(webkit2gtk-driver)
command -v Xvfb >/dev/null 2>&1 || need_apt+=(xvfb)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
    { echo "apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/acorn ] || [ ! -d node_modules/eslint ] ||
  [ ! -d node_modules/eslint-plugin-es-x ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

total_pass=0
total_fail=0
step() { # name, command...
  local name=$1; shift
  local log
  log=$(mktemp)
  echo "== $name"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  # node steps: 'N passed, N failed'; cargo: 'test result: ... N passed; N failed'
  p=$(grep -Eo '([0-9]+) passed' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  f=$(grep -Eo '([0-9]+) failed' "$log" | tail -1 | grep -Eo '[0-9]+' || true)
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  rm -f "$log"
}

if command -v cargo >/dev/null 2>&1; then
  step "src/page unit tests (render: escaping, languages, hostile groups)" \
    cargo test --quiet --manifest-path "$HERE/render/Cargo.toml"
else
  echo "note: no cargo; src/page unit tests skipped here (cargo test of the crate runs them)"
fi
step "the page's scripts are ES5 (acorn, eslint-plugin-es-x)" node es5.js
step "browser scenario" node browser.js

echo "page tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
