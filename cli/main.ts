import { Command, CommanderError, Option } from 'commander';
import {
  CommandError,
  commanderUsage,
  emptyValue,
  type OptionSpec,
  type Parsed,
  swallowedFlag,
  UsageError,
  type Values,
} from './args.ts';
import { type CommandSpec, commands, type Io, mainHelp } from './commands.ts';
import { guard, quote, visible } from './format.ts';

/**
 * The CLI without the process: takes the arguments and an `Io`, returns the exit code
 * (0 done, 1 the work failed, 2 the CLI was called wrongly). Tests call it directly.
 *
 * Parsing is commander's (chosen for its "did you mean" suggestions for commands and flags, and
 * because it is the most used and kept of Node's argument parsers); the help texts are ours,
 * written by hand in commands.ts, and so are the one-line error messages and exit codes.
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
  if (argv.length === 0) {
    io.err(`error: missing command\n\n${mainHelp}`);
    return 2;
  }
  const [first, topic, ...more] = argv;
  // `help <command>` is `<command> --help`, and `help <typo>` is `<typo>`: commander's own help
  // command shows the main help for a name it does not know, where a typo deserves the
  // unknown-command error and its suggestion.
  if (first === 'help' && topic !== undefined && more.length === 0) {
    const known = commands.some((c) => c.name === topic);
    return main(known ? [topic, '--help'] : [topic], terminal);
  }

  let code = 0;
  let running: CommandSpec | undefined;
  const program = new Command()
    .name('npm run cli --')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: () => {}, outputError: () => {} })
    .configureHelp({ formatHelp: () => mainHelp })
    .helpCommand('help [command]', 'show help')
    .showSuggestionAfterError(true);
  for (const spec of commands) {
    const command = program
      .command(spec.name)
      .summary(spec.summary)
      .argument('[arguments...]')
      .configureHelp({ formatHelp: () => spec.help })
      .exitOverride()
      .configureOutput({ writeOut: io.out, writeErr: () => {}, outputError: () => {} })
      .action(async (positionals: string[], options: Record<string, unknown>) => {
        running = spec;
        code = await spec.run({ ...valuesOf(spec.options, options, positionals), io });
      });
    for (const option of optionsOf(spec.options)) command.addOption(option);
  }
  try {
    const spec = commands.find((c) => c.name === argv[0]);
    if (spec) swallowedFlag(argv.slice(1), spec.options);
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return commanderError(error, argv, io);
    return report(error, running ?? commands.find((c) => c.name === argv[0]), io);
  }
}

/** Our flag declarations as commander options; `--help` / `-h` is commander's own. */
function optionsOf(spec: OptionSpec): Option[] {
  return Object.entries(spec)
    .filter(([name]) => name !== 'help')
    .map(([name, { type, multiple }]) => {
      if (type === 'boolean') return new Option(`--${name}`);
      const option = new Option(`--${name} <value>`);
      return multiple
        ? option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        : option;
    });
}

/**
 * commander's options (camelCase keys) back under our long names, as the commands read them.
 *
 * @throws UsageError for an empty value (`--account=`, `--status ''`): no flag takes one.
 */
function valuesOf(spec: OptionSpec, options: Record<string, unknown>, positionals: string[]): Parsed {
  const values: Values = {};
  for (const option of optionsOf(spec)) {
    const value = options[option.attributeName()];
    if (value === undefined) continue;
    const flag = option.long as string;
    emptyValue(flag, value);
    values[flag.slice(2)] = value as Values[string];
  }
  return { values, positionals };
}

/**
 * commander's parse errors in the CLI's words (one line, the flag as typed, what it expects, a
 * suggestion when commander has one), exit 2; help asked for, exit 0.
 */
function commanderError(error: CommanderError, argv: readonly string[], io: Io): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help')
    return error.exitCode === 0 ? 0 : 2;
  const command = commands.find((c) => c.name === argv[0]);
  if (error.code === 'commander.unknownCommand') {
    const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
    const suggestion = /\(Did you mean ([^?]+)\?\)/.exec(error.message)?.[1];
    io.err(
      `error: unknown command ${quote(quoted)}${suggestion ? ` (did you mean ${suggestion}?)` : ''}\n` +
        `Commands: ${commands.map((c) => c.name).join(', ')}. Run \`npm run cli -- --help\` for more.\n`,
    );
    return 2;
  }
  const message = commanderUsage(error, command?.options);
  // `send` reaches a deployed stack through its API, not its tables: say so to `send --stage prod`.
  const deployed = /^unknown option --(stage|aws)\b/.test(message) && command?.options.url !== undefined;
  return report(
    new UsageError(
      deployed ? `${message}: ${command?.name} reaches a deployed stack with --url <its API's URL>` : message,
    ),
    command,
    io,
  );
}

/**
 * One line per error, escaped with `visible`: a message may carry a value from the command line, a
 * stored record or an AWS error, and a newline in it must not start a line of its own.
 */
function report(error: unknown, command: CommandSpec | undefined, io: Io): number {
  if (error instanceof UsageError) {
    const help = command ? `${command.name} --help` : '--help';
    io.err(`error: ${visible(error.message)}\nRun \`npm run cli -- ${help}\` for usage.\n`);
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
