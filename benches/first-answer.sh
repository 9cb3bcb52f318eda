#!/usr/bin/env bash
# From a fresh clone to the example server's first answer: clones this repository (at a
# commit, default HEAD) into a temporary directory, runs the README's first command there
# with a target directory of its own (crates.io downloads already cached are reused), and
# times it until GET /scim/v2/ServiceProviderConfig answers 200.
#
#     bash benches/first-answer.sh [commit]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
commit="${1:-HEAD}"
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git clone -q "$repo" "$dir/scimkit"
cd "$dir/scimkit"
git checkout -q "$commit"
key=first-answer-key-0123456789
start=$(date +%s.%N)
SCIM_ADDR="127.0.0.1:$port" SCIM_DB=:memory: SCIM_API_KEY="$key" \
  cargo run --example server >"$dir/run.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; pkill -f "$dir/scimkit/target" 2>/dev/null; rm -rf "$dir"' EXIT
until curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
    "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig" 2>/dev/null | grep -q 200; do
  kill -0 $pid 2>/dev/null || { cat "$dir/run.log"; exit 1; }
  sleep 0.5
done
end=$(date +%s.%N)
echo "$(grep -c Compiling "$dir/run.log") crates compiled, $(echo "$end - $start" | bc) s to the first answer"
