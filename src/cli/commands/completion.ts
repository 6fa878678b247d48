/**
 * `baton completion bash|zsh`: a completion script generated from the command tree (every
 * command, subcommand and option), so it never lags behind the commands. zsh uses the bash
 * script through bashcompinit.
 */
import type { Command, Option } from "commander";
import { BatonError } from "../../core/errors.ts";

/** Each command path ("", " flow-run", " flow-run ls") and the words that may follow it. */
function wordsByPath(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const visit = (cmd: Command, at: string) => {
    const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
    const options = (cmd.options as readonly Option[]).filter((o) => !o.hidden).flatMap((o) => [o.long ?? o.short ?? ""]).filter(Boolean);
    table.set(at, [...visible.map((c) => c.name()), ...options, "--help"]);
    for (const sub of visible) visit(sub, `${at} ${sub.name()}`);
  };
  visit(program, "");
  return table;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(program: Command): string {
  const table = wordsByPath(program);
  const known = [...table.keys()].filter(Boolean).map(quote).join("|");
  const cases = [...table].map(([at, words]) => `    ${quote(at)}) words=${quote(words.join(" "))} ;;`).join("\n");
  return `# baton completion (bash): source it, e.g. in ~/.bashrc: source <(baton completion bash)
_baton() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" at="" words="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$at $w" in
      ${known}) at="$at $w" ;;
    esac
  done
  case "$at" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _baton baton
`;
}

export function zshCompletion(program: Command): string {
  return `# baton completion (zsh): source it, e.g. in ~/.zshrc: source <(baton completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program).split("\n").slice(1).join("\n")}`;
}

export function registerCompletion(program: Command, wholeProgram: () => Promise<Command>): void {
  program
    .command("completion")
    .description("print a shell completion script: baton completion bash|zsh")
    .argument("<shell>", "bash or zsh")
    .addHelpText("after", "\nInstall: add `source <(baton completion bash)` to ~/.bashrc, or `source <(baton completion zsh)` to ~/.zshrc.")
    .action(async (shell: string) => {
      if (shell !== "bash" && shell !== "zsh") throw new BatonError(`completion: shell must be bash or zsh, got "${shell}"`);
      const whole = await wholeProgram();
      process.stdout.write(shell === "bash" ? bashCompletion(whole) : zshCompletion(whole));
    });
}
