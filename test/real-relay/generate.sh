#!/usr/bin/env bash
# Regenerates the real-crate fixtures under fixtures/: builds relaygen offline against Debian's
# packaged crates (see README.md), then for each run starts the server with its log on stderr,
# drives one scenario with the client, and lets the server write its ground truth on `quit`.
#   ./generate.sh                 all runs
#   ./generate.sh NAME...         only these runs (e.g. stalls.env-micros)
set -euo pipefail
cd "$(dirname "$0")"
cargo build --offline --quiet
BIN=target/debug/relaygen
# polling and async-io at trace (the reactor), the swarm lines, a little noise of our own.
export RUST_LOG=polling=trace,async_io=trace,libp2p_swarm=trace,relaygen=debug
mkdir -p fixtures
tmp=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# name             log format     scenario
RUNS=(
  "mixed.env-micros   env-micros   mixed"
  "stalls.env-micros  env-micros   stalls"
  "stalls.tracing-full tracing-full stalls"
  "stalls.env-secs    env-secs     stalls"
)

for run in "${RUNS[@]}"; do
  read -r name format scenario <<<"$run"
  if [ $# -gt 0 ] && [[ ! " $* " == *" $name "* ]]; then continue; fi
  echo "== $name ($format, scenario $scenario)"
  rm -f "$tmp/port"
  "$BIN" serve --log "$format" --truth "fixtures/$name.truth.json" --port-file "$tmp/port" 2>"fixtures/$name.log" &
  server=$!
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
  "$BIN" client --port "$(cat "$tmp/port")" --scenario "$scenario"
  wait "$server"
  server=
  printf '   %s lines, %s bytes\n' "$(wc -l <"fixtures/$name.log")" "$(wc -c <"fixtures/$name.log")"
done
