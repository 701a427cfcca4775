# shellcheck shell=bash
# Host-side repository tests (label `repo`): a repository written by `kpatch-gen repo`,
# served by nginx on 127.0.0.1 (started and stopped by the test, on a free port), read by
# kpatch-agent on a fake machine root, and by tuf-js. Sourced by tests/repo/*.sh.
#
#   start_nginx DOCROOT     nginx in the foreground of a background job; sets NGINX_URL, NGINX_LOG
#   stop_nginx
#   poll_requests           the requests nginx logged since the last call ("GET /path STATUS"),
#                           into $t/requests (not in a subshell: it remembers where it stopped)
#   agent ARGS...           kpatch-agent with --root $t/root; sets $rc, output in $t/agent.out
#   new_repo                init $t/repo (keys in $t/repo.keys) and a machine root $t/root that
#                           follows it over nginx
# Environment: KPATCH_GEN, KPATCH_AGENT (CMake sets them), KPG_TEST_TMP.
# SPDX-License-Identifier: GPL-2.0-only
set -o errexit -o nounset -o pipefail
name=$(basename "$0" .sh)
: "${KPATCH_GEN:?set KPATCH_GEN to the kpatch-gen binary}"
: "${KPATCH_AGENT:?set KPATCH_AGENT to the kpatch-agent binary}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../functional/lib/repo.sh
. "$here/../functional/lib/repo.sh"
tmproot=${KPG_TEST_TMP:-/tmp/kpg-repo-tests}
mkdir -p "$tmproot"
t=$(mktemp -d "$tmproot/$name.XXXXXX")
NGINX_PID=
stop_nginx() {
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
		NGINX_PID=
	fi
}
trap 'rc_=$?; stop_nginx; if [ $rc_ -eq 0 ]; then rm -rf "$t"; else echo "FAILED: $name at line $LINENO (files kept in $t)" >&2; fi; exit $rc_' EXIT
log() { echo "$name: $*"; }
die() { echo "$name: FAIL: $*" >&2; exit 1; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_nginx() {
	local docroot=$1 port user=
	command -v nginx >/dev/null || die "nginx is not installed (ci/install-deps.sh installs it)"
	port=$(free_port)
	mkdir -p "$t/nginx/tmp"
	# As root, nginx's workers would switch to nobody, who cannot enter a 0700 temp dir.
	[ "$(id -u)" = 0 ] && user="user root root;"
	NGINX_LOG=$t/nginx/access.log
	cat >"$t/nginx/nginx.conf" <<CONF
$user
worker_processes 1;
error_log $t/nginx/error.log;
pid $t/nginx/nginx.pid;
events { worker_connections 1024; }
http {
	log_format kpg '\$request_method \$uri \$status \$bytes_sent';
	access_log $NGINX_LOG kpg;
	client_body_temp_path $t/nginx/tmp/body;
	proxy_temp_path $t/nginx/tmp/proxy;
	fastcgi_temp_path $t/nginx/tmp/fastcgi;
	uwsgi_temp_path $t/nginx/tmp/uwsgi;
	scgi_temp_path $t/nginx/tmp/scgi;
	default_type application/octet-stream;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$port;
		root $docroot;
		# The one unversioned file must not be cached by anything in between.
		location = /metadata/timestamp.json { add_header Cache-Control "no-store"; }
	}
}
CONF
	nginx -p "$t/nginx" -c "$t/nginx/nginx.conf" -g 'daemon off;' &
	NGINX_PID=$!
	NGINX_URL=http://127.0.0.1:$port
	local i
	for i in $(seq 100); do
		if curl -s -o /dev/null "$NGINX_URL/"; then
			: >"$NGINX_LOG"
			POLL_MARK=0
			return 0
		fi
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx did not start: $(cat "$t/nginx/error.log")"
		sleep 0.05
	done
	die "nginx did not answer on $NGINX_URL"
}

POLL_MARK=0
poll_requests() {
	local n
	n=$(wc -l <"$NGINX_LOG")
	sed -n "$((POLL_MARK + 1)),${n}p" "$NGINX_LOG" | awk '{print $1, $2, $3}' >"$t/requests"
	POLL_MARK=$n
}

rc=0
agent() {
	rc=0
	"$KPATCH_AGENT" --root "$t/root" "$@" >"$t/agent.out" 2>&1 || rc=$?
}

new_repo() {
	"$KPATCH_GEN" repo init "$t/repo" "$@" >/dev/null
	fake_root "$t/root"
	start_nginx "$t/repo"
	"$KPATCH_AGENT" --root "$t/root" install --repository "$NGINX_URL" --trusted-root "$t/repo/metadata/1.root.json" \
		--no-start --exec /usr/sbin/kpatch-agent >/dev/null 2>&1
	# Tests want one answer per poll, not a retry after 2 s.
	printf 'retries = 0\nstall_timeout = 3s\n' >>"$t/root/etc/kpatch-gen/agent.conf"
}

publish() { # publish NAME [kpatch-gen repo add options...]
	local n=$1
	shift
	fake_module "$t/m" "$n" "$FAKE_RELEASE" "$FAKE_BUILD_ID"
	"$KPATCH_GEN" repo add "$t/repo" "$t/m/$n.ko" "$@" >/dev/null
}
