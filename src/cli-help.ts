/**
 * `pollscope --help`. Kept in step with the flags of src/cli.ts and the keys of src/config.ts
 * (test/cli-config.test.ts checks that every flag the configuration knows is listed here).
 */
import { DEFAULT_MAX_LINE_BYTES, DEFAULT_TRACES } from './config.js';

export const HELP = `pollscope — what a Rust libp2p relay's async runtime did, from its trace log

Usage:
  pollscope replay [options] FILE...   explain finished log file(s), read in the order given;
                                       a FILE may be gzip'd, '-' (stdin), a FIFO or <(zcat …)
  pollscope run [options]              follow live log(s) as they grow and rotate (docs/live.md)
  pollscope --help | --version

Replay options:
  --json                    print the report as one JSON document instead of text
  --slow-poll DURATION      poll cycle counted as slow_poll          (default 50ms)
  --slow-connection-poll DURATION  a libp2p poll span (Connection::poll …) this busy is slow
                            (default 50us; tokio relays, docs/reactor-model.md)
  --blocked-poll DURATION   poll cycle that is a blocked_poll stall   (default 1s)
  --starved DURATION        I/O readiness with no swarm poll: starved (default 1s)
  --silent DURATION         nothing logged while running: silent      (default 1s)
  --date YYYY-MM-DD         date for logs whose lines have none (wezterm); default: file mtime
  --max-line-bytes N        longer lines are skipped and counted      (default ${DEFAULT_MAX_LINE_BYTES})
  --progress / --no-progress  progress on stderr (default: a bar when stderr is a terminal);
                            --progress elsewhere prints a plain progress line every 2 s
  --metrics-out FILE        also write the final metric values as OpenMetrics text (docs/metrics.md),
                            e.g. for promtool tsdb create-blocks-from openmetrics
  --jobs N                  1: one thread; 2+: files of 8 MiB or more are read and parsed by a
                            worker thread while the main one models them (same results)
                            (default 2 with two or more cores, else 1; 1 is faster when the
                            cores are busy with other work)
  --html FILE               also write the timeline of waits, polls and stalls as one self-contained
                            HTML page (docs/timeline.md)
  --relay NAME              relay name in those metrics and in traces     (default replay)

Traces (OpenTelemetry, off unless an endpoint is set here or in OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT):
  --otlp-endpoint URL       OTLP/HTTP collector, e.g. http://127.0.0.1:4318 (/v1/traces appended)
  --jaeger-ui URL           print a Jaeger link to each stall's trace, e.g. http://127.0.0.1:16686
  --trace-sample FRACTION   share of ordinary turns kept (default ${DEFAULT_TRACES.sample}); stalls always kept
  --trace-max-spans N       spans per second of log time at most (default ${DEFAULT_TRACES.maxSpans})
  --trace-keep-wait DURATION   keep every turn whose epoll wait blocked this long (default ${DEFAULT_TRACES.keepWaitNs / 1e9}s)
  --trace-keep-delay DURATION  keep every turn with a wake→poll delay this long (default ${DEFAULT_TRACES.keepDelayNs / 1e6}ms)

Run options (pollscope run; a config file gives the same settings, flags override it):
  --log PATH_OR_GLOB[=NAME] follow a file, or every file a glob (wildcards in the file name) matches,
                            also files that appear later; repeatable. NAME: the relay it belongs to
  --stdin                   read lines from stdin (relay 2>&1 | pollscope run --stdin)
  --relay NAME              relay name of the --log/--stdin before it (default: from the file name;
                            'stdin'); before any source: the default for all
  --from end|start          where to begin in a file seen for the first time (default end);
                            a checkpoint always wins, files appearing later are read from their start
  --config FILE             YAML or JSON settings (docs/live.md); \${NAME} in values = env variable NAME;
                            an unknown key is an error naming the nearest known one
  --checkpoint FILE         position state file, locked: one daemon per file; its directory must
                            exist (default: pollscope-checkpoint.json in $STATE_DIRECTORY, else
                            $XDG_STATE_HOME/pollscope/ or ~/.local/state/pollscope/, created)
  --checkpoint-interval DURATION  save positions this often (default 1s; also on SIGTERM/SIGINT)
  --poll-interval DURATION  stat every followed path this often (default 250ms; chokidar events
                            trigger extra looks)
  --flush-partial-after DURATION  hand a last line still missing its newline over after this long
                            (default: hold it until the newline arrives)
  --no-watch                no chokidar change hints, stat polling only
  --max-line-bytes, --slow-poll, --slow-connection-poll, --blocked-poll, --starved, --silent
                            as for replay
  --audit-records FILE      append each processed record's first line (relay TAB message), committed
                            together with the checkpoint: after kill -9 it holds each line once.
                            An existing non-empty file the checkpoint did not write is refused
  --metrics-listen HOST:PORT  serve /metrics (Prometheus/OpenMetrics), /healthz, /readyz and the
                            timeline page /timeline there
                            (default 127.0.0.1:9464; 'off': no endpoint; docs/metrics.md). Given
                            explicitly, failing to listen is fatal; the default only warns
  --timeline-window DURATION  log time /timeline shows per relay (default 900s = 15 min; docs/timeline.md)
  --web-config-file FILE    TLS and basic auth for that endpoint, in the Prometheus exporter-toolkit
                            web config format (docs/metrics.md); /healthz stays open for probes
  --otlp-endpoint URL, --trace-sample, --trace-max-spans, --trace-keep-wait, --trace-keep-delay
                            traces of each relay's turns, as for replay (docs/spans.md); the queue
                            is flushed on SIGTERM/SIGINT within the stop deadline
  Live stalls (blocked_poll, starved, silent) are printed to stderr when they start and end.
  SIGHUP re-reads --config (flags still override): the file list and thresholds change in place,
  keeping positions; other changed settings are reported as needing a restart and kept. Without
  --config there is nothing to reload. SIGTERM/SIGINT: finish the lines read, save the checkpoint,
  exit 0.

Settings are taken from the defaults, then the --config file, then OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
(traces), then the flags: a later one wins.
DURATION is a number with a unit (250ms, 1.5s, 800us) or a plain number of milliseconds, and must
be greater than 0. A negative value is an error (--blocked-poll -1s and --blocked-poll=-1s alike).

Exit status: 0 report printed (run: stopped by a signal); 1 no file had a recognisable log line;
2 bad usage or configuration, or a file that does not exist or cannot be read; run: 2 also for
a checkpoint that cannot be used (missing directory, not a checkpoint, in use by another daemon).
docs/live.md, "Failure modes", says what run does when the disk, the checkpoint, the config or a
log file is bad.
`;
