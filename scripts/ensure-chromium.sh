#!/usr/bin/env bash
# ensure-chromium.sh: make sure Debian's Chromium is installed; the email
# link pages are tested in a real headless browser (mailer's e2e test).
set -euo pipefail

for c in chromium chromium-browser; do
	if command -v "$c" >/dev/null 2>&1; then
		echo "ensure-chromium: found $(command -v "$c")"
		exit 0
	fi
done

if [ "$(id -u)" -eq 0 ]; then
	echo "ensure-chromium: Chromium not found; installing it from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y chromium
	exit 0
fi

cat >&2 <<'MSG'
ensure-chromium: Chromium is not installed. The browser tests need it:

    sudo apt-get update && sudo apt-get install -y chromium
MSG
exit 1
