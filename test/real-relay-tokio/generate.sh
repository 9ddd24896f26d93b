#!/usr/bin/env bash
# Regenerates the tokio real-crate fixtures under fixtures/: builds relaygen-tokio offline against
# Debian's packaged crates (see README.md), then for each log format starts the server with its log
# on stderr, drives the `stalls` scenario with the client, and lets the server write its truth on `quit`.
#   ./generate.sh            all formats
#   ./generate.sh NAME...    only these (e.g. stalls.json)
set -euo pipefail
cd "$(dirname "$0")"
cargo build --offline --release --quiet
BIN=target/release/relaygen-tokio
# Real-time priority where allowed (root): a loaded machine would otherwise preempt the server
# between a span's close and the formatting of its line, and the line's time would lag the truth.
RT=()
if chrt -f 10 true 2>/dev/null; then RT=(chrt -f 10); fi
mkdir -p fixtures
tmp=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# name                 log format
RUNS=(
  "stalls.full          full"
  "stalls.compact       compact"
  "stalls.json          json"
  "stalls.full-nospan   full-nospan"
  "stalls.full-threads-ansi full-threads-ansi"
)

for run in "${RUNS[@]}"; do
  read -r name format <<<"$run"
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  echo "== $name ($format)"
  rm -f "$tmp/port"
  "${RT[@]}" "$BIN" serve --log "$format" --truth "fixtures/$name.truth.json" --port-file "$tmp/port" 2>"fixtures/$name.log" &
  server=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
  "$BIN" client --port "$(cat "$tmp/port")" --scenario stalls
  wait "$server"
  server=
  printf '   %s lines, %s bytes\n' "$(wc -l <"fixtures/$name.log")" "$(wc -c <"fixtures/$name.log")"
done
