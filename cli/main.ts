import { CommandError, flag, parse, UsageError } from './args.ts';
import { type CommandSpec, commands, type Io, mainHelp } from './commands.ts';
import { guard, visible } from './format.ts';

/**
 * The CLI without the process: takes the arguments and an `Io`, returns the exit code
 * (0 done, 1 the work failed, 2 the CLI was called wrongly). Tests call it directly.
 */
export async function main(argv: readonly string[], terminal: Io): Promise<number> {
  // The formatters escape every value they print (`table`, `details`, `say`); this is the backstop
  // for anything that reaches the terminal without them: no output can carry a control character
  // but the line breaks the CLI writes (and the progress bar's carriage return).
  const io: Io = {
    ...terminal,
    out: (text) => terminal.out(guard(text)),
    err: (text) => terminal.err(guard(text, 'newline-and-return')),
  };
  const [name, ...args] = argv;
  if (name === undefined) {
    io.err(`error: missing command\n\n${mainHelp}`);
    return 2;
  }
  if (name === '--help' || name === '-h') {
    io.out(mainHelp);
    return 0;
  }
  if (name === 'help') {
    const topic = args[0];
    if (topic === undefined) {
      io.out(mainHelp);
      return 0;
    }
    const command = find(topic);
    if (!command) return unknownCommand(topic, io);
    io.out(command.help);
    return 0;
  }
  const command = find(name);
  if (!command) return unknownCommand(name, io);

  try {
    const parsed = parse(command.name, args, command.options);
    if (flag(parsed.values, 'help')) {
      io.out(command.help);
      return 0;
    }
    return await command.run({ ...parsed, io });
  } catch (error) {
    return report(error, command, io);
  }
}

function find(name: string): CommandSpec | undefined {
  return commands.find((c) => c.name === name);
}

function unknownCommand(name: string, io: Io): number {
  const guess = commands.find((c) => distance(c.name, name) <= 2 || c.name.startsWith(name));
  io.err(
    `error: unknown command ${visible(JSON.stringify(name))}${guess ? ` (did you mean ${guess.name}?)` : ''}\n` +
      `Commands: ${commands.map((c) => c.name).join(', ')}. Run \`npm run cli -- --help\` for more.\n`,
  );
  return 2;
}

/**
 * One line per error, escaped with `visible`: a message may carry a value from the command line, a
 * stored record or an AWS error, and a newline in it must not start a line of its own.
 */
function report(error: unknown, command: CommandSpec, io: Io): number {
  if (error instanceof UsageError) {
    io.err(`error: ${visible(error.message)}\nRun \`npm run cli -- ${command.name} --help\` for usage.\n`);
    return 2;
  }
  if (error instanceof CommandError) {
    io.err(`error: ${visible(error.message)}\n`);
    return 1;
  }
  io.err(`error: ${visible(describe(error))}\n`);
  return 1;
}

/** AWS and network failures as one line an operator can act on; no stack trace. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code === 'ECONNREFUSED') {
    return `${error.message || 'connection refused'}: nothing is listening there. Is \`npm start\` running (or pass --aws for a deployed stack)?`;
  }
  // The SDK's own words when no region is configured anywhere (environment, profile, flag).
  if (error.message === 'Region is missing') {
    return 'Region is missing: set AWS_REGION (or a profile with a region, via AWS_PROFILE), or pass --region';
  }
  const hints: Record<string, string> = {
    ResourceNotFoundException: ' (check the table name, the region and --aws)',
    'AWS.SimpleQueueService.NonExistentQueue': ' (check the queue URL and the region)',
    QueueDoesNotExist: ' (check the queue URL and the region)',
    CredentialsProviderError: ' (set AWS_PROFILE or credentials for --aws)',
    UnrecognizedClientException: ' (check the AWS credentials)',
    ExpiredTokenException: ' (refresh the AWS credentials)',
  };
  return `${error.name}: ${error.message}${hints[error.name] ?? ''}`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}
