#!/bin/bash
# A server that stops sending in the middle of a module: kpatch-agent gives up after its stall
# timeout (3 s here) with exit 6 and says so; no output file, nothing half-written.
. "$(dirname "$0")/lib.sh"
new_repo
stop_nginx # this test serves the repository with a server that stalls
publish lp_one
port=$(free_port)
python3 - "$t/repo" "$port" >"$t/server.log" 2>&1 <<'PY' &
import http.server, os, sys, time
root, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path = os.path.join(root, self.path.lstrip("/"))
        if not os.path.isfile(path):
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
        data = open(path, "rb").read()
        self.send_response(200); self.send_header("Content-Length", str(len(data))); self.end_headers()
        if path.endswith(".ko"):
            self.wfile.write(data[: len(data) // 2]); self.wfile.flush()
            time.sleep(60)  # stalls; the client must give up long before
            return
        self.wfile.write(data)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
server=$!
NGINX_PID=$server # stop_nginx (at exit) stops it
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
sed -i "s|^repository = .*|repository = http://127.0.0.1:$port|" "$t/root/etc/kpatch-gen/agent.conf"
start=$(date +%s)
agent -q fetch 1 -o "$t/fetched.ko"
took=$(($(date +%s) - start))
stop_nginx
[ "$rc" = 6 ] || die "stalled download exited $rc: $(cat "$t/agent.out")"
grep -q 'level 1: .*stalled or too slow after .* bytes' "$t/agent.out" || die "$(cat "$t/agent.out")"
[ "$took" -lt 30 ] || die "took $took s to give up"
[ ! -e "$t/fetched.ko" ]
[ -z "$(find "$t/root" -name '*.tmp.*')" ]
log "PASS: stalled download given up after $took s"
