#!/usr/bin/env bash
# Set up and run the whole test suite: the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
# The widget's browser test drives Debian's Chromium and the shared-state tests a real redis-server;
# install what is missing where we can (root with apt). Tests that need one skip cleanly without it.
missing=""
[ -x /usr/bin/chromium ] || missing="chromium fonts-noto-cjk"
command -v redis-server >/dev/null || missing="$missing redis-server"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null) \
    || echo "无法安装 $missing：需要它们的测试将跳过" >&2
fi
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest 没有收集到任何测试" >&2
  exit 1
fi
exit "$status"
