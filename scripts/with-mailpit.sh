#!/usr/bin/env bash
# Runs a command (make dev: `go run ./cmd/signoff dev`) with mailpit as the
# local SMTP server and mail viewer, and the email channel configured to use
# it. Settings already in the environment win, so a real SMTP server can be
# tried too. mailpit stops when the command does.
set -euo pipefail
cd "$(dirname "$0")/.."

MAILPIT=${MAILPIT:-.dev/bin/mailpit}
SMTP_ADDR=${MAILPIT_SMTP:-127.0.0.1:1025}
UI_ADDR=${MAILPIT_UI:-127.0.0.1:8025}

if [ ! -x "$MAILPIT" ]; then
	echo "with-mailpit: $MAILPIT not found; run: make $MAILPIT" >&2
	exit 1
fi
mkdir -p .dev
"$MAILPIT" --smtp "$SMTP_ADDR" --listen "$UI_ADDR" --database .dev/mailpit.db \
	--smtp-disable-rdns --disable-version-check --quiet &
mailpit_pid=$!
trap 'kill "$mailpit_pid" 2>/dev/null || true' EXIT

# One link key pair for the dev server, kept so links survive restarts.
if [ ! -s .dev/links.keys ]; then
	go run ./cmd/signoff keys generate >.dev/links.keys
fi

cat >.dev/mail.env <<ENV
export SIGNOFF_SMTP_HOST=\${SIGNOFF_SMTP_HOST:-${SMTP_ADDR%:*}}
export SIGNOFF_SMTP_PORT=\${SIGNOFF_SMTP_PORT:-${SMTP_ADDR##*:}}
export SIGNOFF_SMTP_TLS=\${SIGNOFF_SMTP_TLS:-none}
export SIGNOFF_MAIL_FROM=\${SIGNOFF_MAIL_FROM:-"Signoff <signoff@demo.example>"}
export SIGNOFF_LINKS_KEYS=\${SIGNOFF_LINKS_KEYS:-$(cat .dev/links.keys)}
ENV
# shellcheck disable=SC1091
. .dev/mail.env

cat <<MSG

Email: mailpit catches every email Signoff sends. Open http://$UI_ADDR to read
them and click their Approve / Reject links. The server delivers every
email, including those of drafts submitted from the command line.

MSG
"$@"
