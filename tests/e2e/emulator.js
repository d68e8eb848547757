/*
 * Runs the Telegram Bot API emulator (npm `telegram-test-api`, pinned to 4.2.1 in package.json) for the
 * end-to-end tests: `node tests/e2e/emulator.js PORT` listens on 127.0.0.1:PORT only, prints one line
 * `READY telegram-test-api <version> http://127.0.0.1:<port>` once it accepts connections, and stops
 * cleanly on SIGTERM or SIGINT; with `--exit-on-stdin-close` also when its standard input closes, so it
 * never outlives the pytest process that started it with a pipe on stdin. Messages are kept for a day instead of the emulator's default 60 s,
 * so a long test run never loses history it still needs. Exit codes: 0 stopped, 1 failed to start, 2 usage.
 */
'use strict';

const TelegramServer = require('telegram-test-api');
const { version } = require('telegram-test-api/package.json');

const HOST = '127.0.0.1';
const STORE_TIMEOUT_SECONDS = 24 * 60 * 60;

function main() {
  const args = process.argv.slice(2);
  const watchStdin = args.includes('--exit-on-stdin-close');
  const positional = args.filter((arg) => !arg.startsWith('--'));
  const port = Number(positional[0]);
  if (positional.length !== 1 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    process.stderr.write(`usage: node emulator.js PORT [--exit-on-stdin-close] (got ${JSON.stringify(args)})\n`);
    process.exit(2);
  }
  const server = new TelegramServer({
    host: HOST, port, storage: 'RAM', storeTimeout: STORE_TIMEOUT_SECONDS,
  });
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`STOPPING (${why})\n`);
    try {
      await server.stop();
      process.exit(0);
    } catch (error) {
      process.stderr.write(`emulator stop failed: ${error && error.stack ? error.stack : error}\n`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (watchStdin) {
    process.stdin.on('end', () => stop('stdin closed'));
    process.stdin.on('error', () => stop('stdin error'));
    process.stdin.resume();
  }

  server.start().then(
    () => process.stdout.write(`READY telegram-test-api ${version} http://${HOST}:${port}\n`),
    (error) => {
      process.stderr.write(`emulator failed to start on ${HOST}:${port}: ${error && error.message}\n`);
      process.exit(1);
    },
  );
}

main();
