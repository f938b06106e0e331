// node:test reporter for the lab runner (inside UML). Two outputs:
//  - what it yields goes to stdout = the UML console = the host terminal, live;
//  - one JSON line per event into $LAB_STATE/results.jsonl, fsync'ed at once,
//    so the host can still read how far the run got after a timeout kill.
// Lines: {"type":"start","suite","name"} right before a test (or group) runs,
//        {"type":"test","suite","name","status":"pass"|"fail"|"skip","durationMs","details"},
//        {"type":"end"} when the runner finished.
// It prints no "ℹ pass N" totals: the host prints the one summary line.
import { fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const fd = openSync(join(process.env.LAB_STATE ?? '.', 'results.jsonl'), 'a');

function record(obj) {
  writeSync(fd, `${JSON.stringify(obj)}\n`);
  fsyncSync(fd);
}

function errorText(error) {
  if (!error) return '';
  // node:test wraps the thrown value (ERR_TEST_FAILURE); the cause is what the test threw.
  const cause = error.cause ?? error;
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  return text.split('\n').slice(0, 20).join('\n');
}

export default async function* labReporter(source) {
  // test:start is emitted in definition order when a test starts *reporting*
  // (after it ran); test:dequeue right before it runs. The first names results,
  // the second tells the host what was running if the guest had to be killed.
  const stack = [];
  const running = [];
  for await (const event of source) {
    const data = event.data ?? {};
    const nesting = data.nesting ?? 0;
    switch (event.type) {
      case 'test:dequeue': {
        running.length = nesting;
        running[nesting] = data.name;
        if (nesting > 0) record({ type: 'start', suite: running[0], name: running.slice(1).join(' > '), time: Date.now() });
        break;
      }
      case 'test:start': {
        stack.length = nesting;
        stack[nesting] = data.name;
        if (nesting === 0) yield `▶ ${data.name}\n`;
        break;
      }
      case 'test:pass':
      case 'test:fail': {
        const path = [...stack.slice(0, nesting), data.name];
        const suite = path[0];
        const name = path.slice(1).join(' > ');
        const details = data.details ?? {};
        const durationMs = Math.round(details.duration_ms ?? 0);
        if (details.type === 'suite') {
          // A suite fails by itself only when its own code or a hook failed
          // (import error, before() threw, timeout): report that as one failure.
          const kind = details.error?.failureType;
          if (event.type === 'test:fail' && kind !== 'subtestsFailed') {
            const what = `${name || '(suite)'} [${kind ?? 'failed'}]`;
            const text = errorText(details.error);
            record({ type: 'test', suite, name: what, status: 'fail', durationMs, details: text });
            yield `  ✖ ${what}\n${indent(text)}`;
          }
          if (nesting === 0) yield `${event.type === 'test:pass' ? '✔' : '✖'} ${suite} (${durationMs} ms)\n`;
          break;
        }
        if (event.type === 'test:fail') {
          const text = errorText(details.error);
          record({ type: 'test', suite, name, status: 'fail', durationMs, details: text });
          yield `  ✖ ${name} (${durationMs} ms)\n${indent(text)}`;
        } else if (data.skip !== undefined || data.todo !== undefined) {
          const reason = typeof data.skip === 'string' ? data.skip : typeof data.todo === 'string' ? `todo: ${data.todo}` : '';
          record({ type: 'test', suite, name, status: 'skip', durationMs, details: reason });
          yield `  - ${name} # SKIP ${reason}\n`;
        } else {
          record({ type: 'test', suite, name, status: 'pass', durationMs, details: '' });
          yield `  ✔ ${name} (${durationMs} ms)\n`;
        }
        break;
      }
      default:
        break;
    }
  }
  record({ type: 'end', time: Date.now() });
}

function indent(text) {
  return text ? `${text.split('\n').map((l) => `      ${l}`).join('\n')}\n` : '';
}
