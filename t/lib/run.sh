#!/usr/bin/env bash
# "make run": the gateway on 127.0.0.1:8080 in front of the bundled mock
# Manta, with nginx.conf.example's configuration pointed at the mock.
# Runs in the foreground; Ctrl-C stops nginx and the mock.

set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
module=${MANTA_MODULE:?}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
port=${PORT:-8080}
mock_port=${MOCK_PORT:-9000}
dir=${RUN_DIR:-$top/build/run}

mkdir -p "$dir/logs" "$dir/tmp"
chmod 755 "$dir"
chmod 777 "$dir/tmp"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# a demo JWT that expires in 2100; the mock does not check it
jwt="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
jwt="$jwt.$(printf '{"sub":"demo","exp":4102444800}' | b64url).ZGVtbw"

umask 077
cat > "$dir/credentials.json" <<JSON
{
  "token": "$jwt",
  "secret": "demo-secret",
  "bots": {
    "bot-a": {"secret": "demo-secret-a"}
  }
}
JSON
umask 022

sed -e "s|^load_module .*|load_module $module;|" \
    -e "s|/etc/nginx/manta/credentials.json|$dir/credentials.json|" \
    -e "s|/var/log/nginx/manta.log|$dir/logs/manta.log|" \
    -e "s|listen  127.0.0.1:8080;|listen  127.0.0.1:$port;|" \
    -e "s|proxy_pass  https://mantago.cc/|proxy_pass  http://127.0.0.1:$mock_port/|" \
    -e "s|worker_processes  auto;|worker_processes  2;\nerror_log  stderr notice;\npid  $dir/nginx.pid;|" \
    -e "s|^http {|http {\n    client_body_temp_path  $dir/tmp/body;\n    proxy_temp_path  $dir/tmp/proxy;\n    access_log  $dir/logs/access.log;|" \
    "$top/nginx.conf.example" > "$dir/nginx.conf"

"$nginx" -t -q -p "$dir/" -c "$dir/nginx.conf" -e stderr

perl "$top/t/lib/Manta/Mock.pm" --port "$mock_port" \
    --log "$dir/logs/mock.log" &
mock=$!

stop() {
    kill "$mock" 2>/dev/null || true
    wait "$mock" 2>/dev/null || true
}
trap stop EXIT

cat <<TXT

The gateway listens on 127.0.0.1:$port, the mock Manta on 127.0.0.1:$mock_port.
Try:

    curl -i -H 'Content-Type: application/json' \\
        -d '{"name": "  My   first\\u3000tag "}' \\
        'http://127.0.0.1:$port/openapi/clientTag?botId=bot-a'

What the mock received: $dir/logs/mock.log
Gateway log ($dir/logs/manta.log) shows bot, reason and token id.
Ctrl-C stops both.

TXT

"$nginx" -p "$dir/" -c "$dir/nginx.conf" -e stderr -g 'daemon off;'
