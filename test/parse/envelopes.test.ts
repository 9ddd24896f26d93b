import { describe, expect, it } from 'vitest';
import { ENVELOPES } from '../../src/parse/envelopes.js';
import { newRecord, type LogRecord } from '../../src/parse/record.js';
import { PartialTimeContext } from '../../src/parse/timestamp.js';
import { RecordAssembler, type RecordSink } from '../../src/parse/record-assembler.js';
import { formatTime, logTime } from '../../src/time.js';
import { fixtureLines } from '../helpers.js';

const ctx = () => new PartialTimeContext(new Date('2023-08-07T00:00:00Z'));

/** Parse one line with whichever envelope takes it (the same fallback order the assembler uses). */
function parse(line: string): (LogRecord & { envelope: string; time: string | null }) | null {
  const rec = newRecord();
  const c = ctx();
  for (const env of ENVELOPES) {
    if (env.parse(line, rec, c)) {
      return {
        ...rec,
        envelope: env.id,
        time: rec.hasTime ? formatTime(logTime(rec.sec, rec.nsec, rec.digits)) : null,
      };
    }
  }
  return null;
}

describe('env_logger envelopes', () => {
  it('E3 µs (seed line 2)', () => {
    const r = parse(
      '[2022-04-21T22:35:27.437652Z TRACE polling::epoll] wait: running epoll_fd=4, events.len=1 events.list:',
    )!;
    expect(r).toMatchObject({
      envelope: 'env_logger',
      level: 'TRACE',
      target: 'polling::epoll',
      thread: '',
      digits: 6,
      message: 'wait: running epoll_fd=4, events.len=1 events.list:',
      time: '2022-04-21T22:35:27.437652Z',
    });
    // exact integer seconds and nanoseconds, no float rounding
    expect(r.sec).toBe(Date.UTC(2022, 3, 21, 22, 35, 27) / 1000);
    expect(r.nsec).toBe(437_652_000);
  });

  it('E1 whole seconds and the padded INFO level', () => {
    expect(parse('[2022-04-05T13:47:03Z INFO  client] Observed address: "/ip4/5.148.155.9/tcp/22907"')).toMatchObject({
      envelope: 'env_logger',
      level: 'INFO',
      target: 'client',
      digits: 0,
      time: '2022-04-05T13:47:03Z',
      message: 'Observed address: "/ip4/5.148.155.9/tcp/22907"',
    });
  });

  it('E3 ms and ns', () => {
    expect(parse('[2023-11-14T09:30:12.871Z INFO  libp2p_swarm] Local peer id: 12D3KooW')).toMatchObject({
      digits: 3,
      nsec: 871_000_000,
    });
    const r = parse('[2023-11-14T09:30:12.000000001Z TRACE polling::epoll] wait: epoll_fd=3, timeout=None')!;
    expect(r).toMatchObject({ digits: 9, nsec: 1 });
  });

  it('E4 without timestamp', () => {
    expect(
      parse('[INFO  libp2p_swarm] local_peer_id=12D3KooWb8dLcukC7edhDQ7cn5d4gEYkbUrMWeWQLGsCmrG6dLaY'),
    ).toMatchObject({
      envelope: 'env_logger',
      hasTime: false,
      level: 'INFO',
      target: 'libp2p_swarm',
      message: 'local_peer_id=12D3KooWb8dLcukC7edhDQ7cn5d4gEYkbUrMWeWQLGsCmrG6dLaY',
    });
  });

  it('E7 fork layout with source line and thread id', () => {
    expect(
      parse(
        '[2022-05-04T09:12:05.118204Z TRACE polling::epoll 183 12] wait: running epoll_fd=7, events.len=2 events.list:',
      ),
    ).toMatchObject({
      envelope: 'env_logger',
      target: 'polling::epoll',
      thread: '12',
      message: 'wait: running epoll_fd=7, events.len=2 events.list:',
    });
    expect(parse('[2022-05-04T09:12:05.118204Z TRACE polling::epoll 183  4] x')).toMatchObject({ thread: '4' });
  });

  it('E5 (0.5) and E6 (0.4)', () => {
    expect(parse(' INFO 2018-09-12T14:03:51Z: relay: listening on /ip4/0.0.0.0/tcp/4001')).toMatchObject({
      envelope: 'env_logger_0.5',
      level: 'INFO',
      target: 'relay',
      message: 'listening on /ip4/0.0.0.0/tcp/4001',
      time: '2018-09-12T14:03:51Z',
    });
    expect(parse('TRACE:polling::epoll: wait: epoll_fd=3, timeout=None')).toMatchObject({
      envelope: 'env_logger_0.4',
      target: 'polling::epoll',
      message: 'wait: epoll_fd=3, timeout=None',
      hasTime: false,
    });
  });

  it('every line of the env_logger fixtures parses', () => {
    for (const f of [
      'real/aquadoggo-25.log',
      'real/lapin-392.log',
      'real/rust-libp2p-2609.log',
      'seed/relay_v2-excerpt.log',
    ]) {
      for (const line of fixtureLines(f)) expect(parse(line)?.envelope, `${f}: ${line}`).toBe('env_logger');
    }
  });
});

describe('pretty_env_logger and wezterm', () => {
  it('E8 timed and E9 untimed', () => {
    expect(
      parse(' 2021-06-02T11:40:07.315Z TRACE polling::kqueue   > wait: kqueue_fd=5, timeout=Some(2.5s)'),
    ).toMatchObject({
      envelope: 'pretty_env_logger',
      target: 'polling::kqueue',
      message: 'wait: kqueue_fd=5, timeout=Some(2.5s)',
      digits: 3,
    });
    expect(parse(' DEBUG relay_server      > Listening for swarm events')).toMatchObject({
      envelope: 'pretty_env_logger',
      hasTime: false,
      level: 'DEBUG',
      target: 'relay_server',
      message: 'Listening for swarm events',
    });
  });

  it('E10 wezterm: time of day, date from the context', () => {
    const lines = fixtureLines('real/wezterm-4304.log');
    for (const line of lines) expect(parse(line)?.envelope, line).toBe('wezterm');
    expect(parse(lines[9])).toMatchObject({
      target: 'polling::epoll',
      message: 'wait: epoll_fd=5, timeout=None',
      time: '2023-08-07T19:44:42.662Z',
      digits: 3,
    });
  });
});

describe('tracing-subscriber', () => {
  it('T1 Full with a message-less event', () => {
    expect(
      parse(
        '2024-03-05T17:02:11.408233Z TRACE relay_server: event=NewListenAddr { listener_id: ListenerId(1), address: "/ip4/10.0.3.7/tcp/4001" }',
      ),
    ).toMatchObject({
      envelope: 'tracing_fmt',
      target: 'relay_server',
      spans: '',
      message: 'event=NewListenAddr { listener_id: ListenerId(1), address: "/ip4/10.0.3.7/tcp/4001" }',
    });
  });

  it('T1a thread ids (zero pad inside the parens), right-aligned INFO, bridged trailing spaces', () => {
    // the assembler right-trims; envelopes see trimmed lines
    expect(
      parse('2023-06-09T10:21:33.551902Z TRACE ThreadId(07) polling::epoll: new events: epoll_fd=3, res=1'),
    ).toMatchObject({
      thread: '7',
      target: 'polling::epoll',
      message: 'new events: epoll_fd=3, res=1',
    });
    expect(
      parse(
        '2025-01-08T16:45:12.093311Z  INFO ThreadId(12) relay_server::swarm: connection status num_peers=18 num_incoming=11',
      ),
    ).toMatchObject({
      level: 'INFO',
      thread: '12',
      target: 'relay_server::swarm',
    });
  });

  it('T1b thread names', () => {
    expect(
      parse('2024-03-05T17:02:11.408233Z TRACE async-io polling::epoll: new events: epoll_fd=3, res=1'),
    ).toMatchObject({
      thread: 'async-io',
      target: 'polling::epoll',
      message: 'new events: epoll_fd=3, res=1',
    });
  });

  it('T1d span context with fields, and a field-less one-span context', () => {
    expect(
      parse(
        '2024-01-10T09:00:00.123456Z TRACE Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}: polling::epoll: new events epoll_fd=3 res=1',
      ),
    ).toMatchObject({
      spans: 'Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}',
      target: 'polling::epoll',
      message: 'new events epoll_fd=3 res=1',
    });
    expect(
      parse('2024-02-19T08:15:42.100731Z DEBUG Swarm::poll: libp2p_swarm: close time.busy=41.2µs time.idle=3.10µs'),
    ).toMatchObject({
      spans: 'Swarm::poll',
      target: 'libp2p_swarm',
      message: 'close time.busy=41.2µs time.idle=3.10µs',
    });
    expect(
      parse(
        '2024-01-10T09:00:01.000210Z TRACE async_io::main_loop:react:process_timers: async_io::reactor: 0 ready wakers',
      ),
    ).toMatchObject({
      spans: 'async_io::main_loop:react:process_timers',
      target: 'async_io::reactor',
      message: '0 ready wakers',
    });
  });

  it('T2 Compact: a lowercase span name before a known target', () => {
    expect(
      parse(
        '2024-01-10T09:00:00.123456Z TRACE Poller::wait:wait: polling::epoll: new events epoll_fd=3 res=1 timeout=None epoll_fd=3 timeout=None',
      ),
    ).toMatchObject({
      spans: 'Poller::wait:wait',
      target: 'polling::epoll',
    });
    expect(parse('2024-01-10T09:00:00.123456Z TRACE wait: polling::epoll: new events epoll_fd=3 res=1')).toMatchObject({
      spans: 'wait',
      target: 'polling::epoll',
      message: 'new events epoll_fd=3 res=1',
    });
  });

  it('offsets, chrono local, uptime and no time', () => {
    const r = parse('2022-04-21T15:35:27.437652123-07:00 TRACE polling::epoll: wait: epoll_fd=4, timeout=None')!;
    expect(r.time).toBe('2022-04-21T22:35:27.437652123Z');
    expect(parse('2022-04-21T22:35:27.4+00:00 TRACE polling::epoll: x')).toMatchObject({
      digits: 1,
      nsec: 400_000_000,
    });
    expect(parse('Apr 21 22:41:09.512 TRACE polling::epoll: wait: epoll_fd=4, timeout=None')).toMatchObject({
      envelope: 'tracing_fmt',
      digits: 3,
      target: 'polling::epoll',
    });
    expect(parse('   0.123456789s TRACE polling::epoll: wait: epoll_fd=4, timeout=None')).toMatchObject({
      sec: 0,
      nsec: 123_456_789,
      digits: 9,
    });
    expect(parse(' INFO relay_server: listening')).toMatchObject({
      hasTime: false,
      level: 'INFO',
      target: 'relay_server',
    });
  });

  it('T4 JSON: fields flattened into the message, log.* dropped, spans rendered', () => {
    const lines = fixtureLines('real/quilkin-660.jsonl');
    expect(parse(lines[1])).toMatchObject({
      envelope: 'tracing_json',
      target: 'mio::poll',
      digits: 6,
      message: 'registering event source with poller: token=Token(33554435), interests=READABLE | WRITABLE',
    });
    expect(parse(lines[2])).toMatchObject({ target: 'hyper::proto::h1::conn', message: 'Conn::read_head' });
    expect(
      parse(
        '{"timestamp":"2024-01-10T09:00:00.123456Z","level":"TRACE","fields":{"message":"new events","epoll_fd":3,"res":"1"},"target":"polling::epoll","spans":[{"timeout":"None","name":"Poller::wait"},{"epoll_fd":3,"timeout":"None","name":"wait"}],"threadId":"ThreadId(7)"}',
      ),
    ).toMatchObject({
      message: 'new events epoll_fd=3 res=1',
      spans: 'Poller::wait{timeout=None}:wait{epoll_fd=3 timeout=None}',
      thread: '7',
    });
  });

  it('does not take non-log lines', () => {
    for (const l of [
      'Listening on "/ip4/127.0.0.1/tcp/4001"',
      '   0: std::backtrace_rs::backtrace::libunwind::trace',
      'ERROR: x',
      '',
      '{"not":"a log"}',
      '[broken',
    ]) {
      expect(parse(l), l).toBeNull();
    }
  });
});

describe('RecordAssembler', () => {
  function assemble(text: string) {
    const records: Array<Pick<LogRecord, 'line' | 'lines' | 'message' | 'target'>> = [];
    const bad: number[] = [];
    const sink: RecordSink = {
      record: (r) => records.push({ line: r.line, lines: r.lines, message: r.message, target: r.target }),
      malformed: (line) => bad.push(line),
      oversize: () => undefined,
    };
    const a = new RecordAssembler(sink, new Date(0));
    text.split('\n').forEach((l, i) => a.line(l, 0, i + 1));
    a.flush();
    return { records, bad, envelope: a.envelope?.id };
  }

  it('folds continuation lines, strips ANSI and trailing spaces, counts leading junk as malformed', () => {
    const { records, bad, envelope } = assemble(
      [
        'Starting relay...',
        '\x1b[2m2023-06-09T10:21:33.551902Z\x1b[0m \x1b[35mTRACE\x1b[0m ThreadId(07) polling::epoll: new events: epoll_fd=3, res=1    ',
        '[2022-04-21T22:35:27.437652Z TRACE polling::epoll] wait: backtrace',
        '   0: std::backtrace_rs::backtrace::libunwind::trace',
        '             at /rustc/abc/library/std/src/backtrace.rs:1',
        '2023-06-09T10:21:33.551999Z TRACE ThreadId(07) polling::epoll: x',
      ].join('\n'),
    );
    expect(bad).toEqual([1]);
    expect(records).toEqual([
      { line: 2, lines: 1, message: 'new events: epoll_fd=3, res=1', target: 'polling::epoll' },
      {
        line: 3,
        lines: 3,
        message:
          'wait: backtrace\n   0: std::backtrace_rs::backtrace::libunwind::trace\n             at /rustc/abc/library/std/src/backtrace.rs:1',
        target: 'polling::epoll',
      },
      { line: 6, lines: 1, message: 'x', target: 'polling::epoll' },
    ]);
    expect(envelope).toBe('tracing_fmt');
  });
});
