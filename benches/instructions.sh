#!/usr/bin/env bash
# Instructions per request of each kind, counted by callgrind (see instructions/main.rs):
# the count of a run with N=2000 requests, less that of a run with none, over 2000. Ids
# and hash seeds are random, so counts move by a few percent from run to run: each figure
# is the median of five runs.
#
#     bash benches/instructions.sh [path to the instructions binary]
#     MODES="page projected" bash benches/instructions.sh     # some modes only
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/instructions}"
[ $# -ge 1 ] || cargo build --release -p scimkit-benches --bin instructions >&2
count() {
  MODE=$1 N=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 \
    | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
for mode in ${MODES:-get lookup page projected patch post}; do
  runs=()
  for _ in 1 2 3 4 5; do
    runs+=($(( ($(count "$mode" 2000) - $(count "$mode" 0)) / 2000 )))
  done
  median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
  echo "$mode $median (runs: ${runs[*]})"
done
