#!/usr/bin/env bash
# "make run": the gateway on 127.0.0.1:$PORT (8080) in front of the bundled
# mock Manta on 127.0.0.1:$MOCK_PORT (a free port unless set), with
# nginx.conf.example's configuration pointed at the mock.  Runs in the
# foreground; Ctrl-C stops nginx and the mock.

set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
module=${MANTA_MODULE:?}
nginx=${NGINX_BIN:-/usr/sbin/nginx}
port=${PORT:-8080}
dir=${RUN_DIR:-$top/build/run}

# a port is taken when something accepts connections on it
taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(LocalAddr => "127.0.0.1:0",
                                     Listen => 1)->sockport'
}

if taken "$port"; then
    echo "make run: 127.0.0.1:$port is in use; choose another port:" \
         "make run PORT=8081" >&2
    exit 1
fi

mock_port=${MOCK_PORT:-$(free_port)}

if taken "$mock_port"; then
    echo "make run: the mock's port 127.0.0.1:$mock_port is in use;" \
         "choose another: make run MOCK_PORT=9001" >&2
    exit 1
fi

mkdir -p "$dir/logs" "$dir/tmp"
chmod 755 "$dir"
chmod 777 "$dir/tmp"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# a demo JWT that expires in 2100; the mock does not check it
jwt="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
jwt="$jwt.$(printf '{"sub":"demo","exp":4102444800}' | b64url).ZGVtbw"

# bots only, no default: any other botId is unknown_bot; bot-slow has a
# tiny limit to show a 429
umask 077
cat > "$dir/credentials.json" <<JSON
{
  "bots": {
    "bot-a":    {"token": "$jwt", "secret": "demo-secret-a"},
    "bot-slow": {"token": "$jwt", "secret": "demo-secret-slow",
                 "rate": "1r/m", "burst": 1}
  }
}
JSON
umask 022

MODULE=$module DIR=$dir PORT=$port MOCK_PORT=$mock_port perl -0pe '
    my ($m, $d, $p, $mp) = @ENV{qw(MODULE DIR PORT MOCK_PORT)};
    s#^load_module\s+[^;]*;#load_module $m;#m;
    s#/etc/nginx/manta/credentials\.json#$d/credentials.json#g;
    s#/var/log/nginx/#$d/logs/#g;
    s#listen\s+127\.0\.0\.1:8080;#listen  127.0.0.1:$p;#;
    s#server\s+mantago\.cc:443;#server  127.0.0.1:$mp;#;
    s#proxy_pass\s+https://#proxy_pass  http://#g;
    s#worker_processes\s+auto;#worker_processes  2;\nerror_log  $d/logs/error.log  notice;\npid  $d/nginx.pid;#;
    s#^http \{#http {\n    client_body_temp_path  $d/tmp/body;\n    proxy_temp_path  $d/tmp/proxy;\n    access_log  $d/logs/access.log;#m;
' "$top/nginx.conf.example" > "$dir/nginx.conf"

if grep -q 'mantago\.cc:443' "$dir/nginx.conf"; then
    echo "make run: could not point nginx.conf.example at the mock" >&2
    exit 1
fi

"$nginx" -t -q -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log"

perl "$top/t/lib/Manta/Mock.pm" --port "$mock_port" \
    --log "$dir/logs/mock.log" --mask &
mock=$!

"$nginx" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
    -g 'daemon off;' &
gw=$!

stop() {
    kill "$gw" "$mock" 2>/dev/null || true
    wait "$gw" "$mock" 2>/dev/null || true
}
trap stop EXIT INT TERM

for _ in $(seq 50); do
    taken "$port" && taken "$mock_port" && break
    sleep 0.1
done

if ! taken "$port"; then
    echo "make run: nginx did not start; see $dir/logs/error.log" >&2
    tail -n 5 "$dir/logs/error.log" >&2
    exit 1
fi

url="http://127.0.0.1:$port/openapi/clientTag"

cat <<TXT

The gateway listens on 127.0.0.1:$port, the mock Manta on 127.0.0.1:$mock_port
(make run PORT=N MOCK_PORT=N to choose).  Try, from another terminal:

  # forwarded: the name is normalized, the token and secret added
  curl -i -H 'Content-Type: application/json' \\
      -d '{"name": "  My   first\\u3000tag "}' '$url?botId=bot-a'

  # rejected locally: 403 unknown_bot, 400 invalid_name
  curl -i -H 'Content-Type: application/json' -d '{"name": "x"}' \\
      '$url?botId=bot-z'
  curl -i -H 'Content-Type: application/json' -d '{"name": ""}' \\
      '$url?botId=bot-a'

  # rate limited: bot-slow may send 2 at once, then 1 a minute (429)
  for i in 1 2 3; do curl -s -H 'Content-Type: application/json' \\
      -d '{"name": "x"}' '$url?botId=bot-slow'; echo; done

Below, one line per request the mock received (token and secret masked).
Logs: $dir/logs/ (manta.log: bot, reason, token id).  Ctrl-C stops both.

TXT

wait "$gw"
