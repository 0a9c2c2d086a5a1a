import { main } from '../../cli/main.ts';

/** Runs the CLI in process with captured output and a controlled environment. */
export async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    out: (text) => {
      stdout += text;
    },
    err: (text) => {
      stderr += text;
    },
    interactive: false,
    env,
  });
  return { code, stdout, stderr };
}
