#!/usr/bin/env bash
# ensure-postgres.sh: make sure PostgreSQL's server binaries (initdb, pg_ctl,
# postgres) are installed. Debian puts them in /usr/lib/postgresql/N/bin,
# not on PATH; the test harness (internal/pgtest) looks there too.
set -euo pipefail

find_initdb() {
	if command -v initdb >/dev/null 2>&1; then
		command -v initdb
		return 0
	fi
	local f
	for f in /usr/lib/postgresql/*/bin/initdb /usr/local/pgsql/bin/initdb; do
		if [ -x "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	return 1
}

if path=$(find_initdb); then
	echo "ensure-postgres: found $path"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	echo "ensure-postgres: PostgreSQL not found; installing it from Debian's packages"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y postgresql
	if path=$(find_initdb); then
		echo "ensure-postgres: installed $path"
		exit 0
	fi
	echo "ensure-postgres: apt-get installed postgresql but initdb is still missing" >&2
	exit 1
fi

cat >&2 <<'MSG'
ensure-postgres: PostgreSQL's server binaries (initdb, pg_ctl) are not installed.
Install them once, then run this again:

    sudo apt-get update && sudo apt-get install -y postgresql

(The tests and `make dev` start their own throwaway cluster from these
binaries; no PostgreSQL service needs to be running.)
MSG
exit 1
