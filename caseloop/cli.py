"""The `caseloop` command line: one parser, command groups registered from caseloop.commands.

Exit codes scripts can rely on: 0 done, 1 failed, 2 rejected by a rule (bad input), 3 not found,
4 unreachable, 5 timed out (retry with the same command id), 6 forbidden (credential refused or role not held).
Output into a pipe whose reader has gone (`caseloop deadline … | head -1`) ends quietly, with the command's own
exit code (0, not the shell's 141 for SIGPIPE): the reader took what it wanted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import io
import os
import sys
from collections.abc import Coroutine, Sequence

from caseloop.errors import CommandError, InputRejected

# Each verb and the module that registers it, in the order `caseloop --help` lists them. A command line naming one
# of them builds the parser from that module alone, so `caseloop deadline` does not import the stack, the SDK or the
# store; with no verb, an unknown one or a leading option, every module registers and the help lists them all.
VERBS = {
    "up": "caseloop.commands.stack",
    "worker": "caseloop.commands.stack",
    "db": "caseloop.commands.db",
    "inbox": "caseloop.commands.inbox",
    "registry": "caseloop.commands.registry",
    "credentials": "caseloop.commands.credentials",
    "deadline": "caseloop.commands.clock",
    "calendar": "caseloop.commands.clock",
    "case": "caseloop.commands.case",
    "handoff": "caseloop.commands.handoff",
    "demo": "caseloop.commands.demo",
    "api": "caseloop.commands.api",
    "codec-server": "caseloop.commands.codec",
    "report": "caseloop.commands.report",
}
COMMAND_MODULES = tuple(dict.fromkeys(VERBS.values()))
# The verbs whose module registers one of its own verbs alone, `register(subparsers, only=…)`, when the command line
# names it (`caseloop case show …`: no launch request, no command models); any other word registers them all.
NESTED_ALONE = frozenset({"case"})

# `import httpx` imports httpx's own command line (click, rich, pygments: about 70 ms) whenever those happen to be
# installed; this process is caseloop's command line and never runs httpx's, so httpx gets its stub instead.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# The verbs that only read or send (a client of the door or of the store, never a worker, a server or the demo's
# stack): their process uses a few of the hundreds of pydantic models the schemas define, so there each model builds
# its validator on first use (pydantic's defer_build) instead of while its module is imported.
CLIENT_VERBS = frozenset(
    {"db", "inbox", "registry", "credentials", "deadline", "calendar", "case", "handoff", "report"}
)


def _models_built_on_use() -> None:
    """Every pydantic model defined from now on in this process defers building its validator and serializer to its
    first use (the same validation, later); set only in the console script's own process, before the schemas load."""
    from pydantic import BaseModel

    BaseModel.model_config["defer_build"] = True


def _imports_settled() -> None:
    """The verb's modules are imported: the collector, off while they loaded (their classes and models are tens of
    thousands of objects, none of them garbage, which it would traverse again and again: about 20 ms of a short
    command), goes back on with them frozen, so that it traverses only what the command itself allocates."""
    gc.freeze()
    gc.enable()


def build_parser(verb: str | None = None, then: str | None = None) -> argparse.ArgumentParser:
    """The parser with every command, or with only the commands of `verb`'s module when `verb` is one of VERBS:
    that verb parses, helps and refuses exactly as in the whole parser. `then`, the word after the verb, narrows a
    verb of NESTED_ALONE to that one of its own verbs when its module registers it alone (only if it is one)."""
    parser = argparse.ArgumentParser(
        prog="caseloop",
        description="Cross-department case collaboration on Temporal: launch, commit, supervise, close.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = VERBS.get(verb or "")
    if chosen and verb in NESTED_ALONE and then is not None:
        importlib.import_module(chosen).register(subparsers, only=then)
        return parser
    for name in (chosen,) if chosen else COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command and answers its exit code.

    A reader that stops reading (`caseloop calendar show 2026 | head -1`) ends the command quietly with the exit
    code it would have had (0 when it succeeded), not with a BrokenPipeError: the output it took is the output
    it wanted. Scripts that must know the rest was not written can compare line counts.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    console = argv is None and bool(arguments) and arguments[0] in CLIENT_VERBS  # the console script's own process
    if console:
        gc.disable()  # while the verb's modules load: see _imports_settled
        _models_built_on_use()
    try:
        try:
            parser = build_parser(*arguments[:2])
        finally:
            if console:
                _imports_settled()
        code = _run(parser, arguments)
    except BrokenPipeError:
        code = 0  # raised while printing a result: the command did its work
    try:
        sys.stdout.flush()  # here, not at exit, so a closed pipe is seen while it can still be handled
    except BrokenPipeError:
        _discard_stdout()
    return code


def _run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse's own refusals (exit 2) and --help (exit 0)
        return int(exit.code or 0)
    try:
        result = args.handler(args)
        if isinstance(result, Coroutine):
            import asyncio  # here, not with this module: `caseloop deadline` runs without it

            result = asyncio.run(result)
    except CommandError as error:
        with contextlib.suppress(BrokenPipeError):  # `2>&1 | head`: the exit code still tells
            print(f"caseloop: {_said(error)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    finally:
        # A Temporal client first freed while the interpreter finalizes aborts the process from the SDK's Rust
        # threads (temporalio/sdk-python#300, about one short command in five here): free it now. Without the
        # Temporal SDK loaded there is no such client, and the collection would only cost time (about 20 ms).
        if "temporalio" in sys.modules:
            gc.collect()
    return int(result or 0)


def _said(error: CommandError) -> str:
    """The message, ending with the rule and the field of a rejection when it does not name them already."""
    message = str(error)
    if not isinstance(error, InputRejected) or not error.rule or f"rule {error.rule}" in message:
        return message
    named = ", ".join([f"rule {error.rule}"] + ([f"field {error.field}"] if error.field else []))
    return f"{message} ({named})"


def _discard_stdout() -> None:
    """Points stdout at /dev/null, so the interpreter's last flush does not raise into a closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # stdout is no file (a test's capture): nothing will flush into the pipe


if __name__ == "__main__":
    sys.exit(main())
